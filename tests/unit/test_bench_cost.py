"""The cost model (bench.cost): its arithmetic for a fixed input, and the README's cost table
being exactly the model's output for the recorded measurement (not figures typed in)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from bench import cost
from bench.capacity import Units
from bench.warm import Timing

ROOT = Path(__file__).resolve().parents[2]


def test_a_million_calls_cost_their_requests_duration_and_units_at_the_named_prices() -> None:
    function = cost.Function(memory_mb=1024, architecture="arm64")
    op = cost.Operation(
        "track",
        read_units=Decimal(3),
        write_units=Decimal(4),
        lambda_ms=Decimal(10),
        lambda_requests=Decimal(1),
        api_requests=Decimal(1),
        sqs_requests=Decimal("1.2"),
    )
    found = cost.per_million(op, function)
    # 1 GB x 10 ms x 1,000,000 = 10,000 GB-s at the Arm price, plus a million requests.
    assert found.lambda_usd == Decimal("0.20") + Decimal(10_000) * Decimal("0.0000133334")
    assert found.api_usd == Decimal("1.00")
    assert found.dynamodb_usd == 3 * Decimal("0.125") + 4 * Decimal("0.625")
    assert found.sqs_usd == Decimal("1.2") * Decimal("0.40")
    assert found.total == found.lambda_usd + found.api_usd + found.dynamodb_usd + found.sqs_usd


def test_billed_duration_scales_our_code_to_the_cpu_share_and_adds_each_call() -> None:
    function = cost.Function(memory_mb=1769, architecture="arm64")
    # A full vCPU: our 1.2 ms as measured, plus two DynamoDB calls, rounded up to the ms.
    assert cost.billed_ms(1.2, 2, function) == 2 + 2 * cost.DYNAMODB_CALL_MS
    half = cost.Function(memory_mb=1769 * 2, architecture="arm64")
    assert cost.billed_ms(4.0, 0, half) == 2


def test_queued_uses_share_the_worker_and_a_hot_customer_meets_its_busiest_partition() -> None:
    one = Units(read=Fraction(1), calls=1)
    measured = cost.Measured(
        units={
            "balances.check": one,
            "balances.track": Units(read=Fraction(3), write=Fraction(4), calls=2),
            "customers.get_or_create (existing)": one,
        },
        partitions={
            "balances.check": {"CUS#u": Units(read=Fraction(1))},
            "balances.track": {
                "CUS#u": Units(read=Fraction(3), write=Fraction(2)),
                "EVT#c#202612": Units(write=Fraction(2)),
            },
            "customers.get_or_create (existing)": {"CUS#u": Units(read=Fraction(1))},
        },
        timings={
            "balances_check": Timing(1.0, 1),
            "balances_track": Timing(1.0, 2),
            "balances_track (async)": Timing(0.5, 1),
            "customers_get_or_create": Timing(1.0, 1),
        },
        queued_uses=1000,
        worker_units=Units(read=Fraction(20), write=Fraction(600), calls=12),
        worker_partitions={"EVT#c#202612": Units(write=Fraction(500))},
        worker_invocations=1,
    )
    ops = {op.name: op for op in cost.operations(measured, cost.Function(1024, "arm64"))}
    queued = ops["balances.track (queued)"]
    assert queued.read_units == Decimal("0.02")
    assert queued.write_units == Decimal("0.6")
    assert queued.lambda_requests == Decimal("1.001")
    assert queued.sqs_requests == Decimal("1.2")
    # Sync tracks: each partition takes 2 write units a call, so 500 a second.
    assert cost.hot_customer_ceiling(ops["balances.track"])[0] == 500
    # Queued: half a write unit a use on the event partition, so 2,000 a second.
    assert cost.hot_customer_ceiling(queued) == (Decimal(2000), "EVT#… writes")


def test_the_readme_cost_table_is_the_model_of_the_recorded_measurement() -> None:
    measured = cost.from_json(cost.RECORDED.read_text())
    function = cost.function_config()
    rows = cost.table_rows(cost.operations(measured, function), function)
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Cost and scale")
    end = readme.find("\n## ", start + 1)
    section = readme[start : end if end != -1 else len(readme)]
    assert "\n".join(rows) in section
    for op in cost.operations(measured, function):
        ceiling, _ = cost.hot_customer_ceiling(op)
        assert f"| {ceiling:,} |" in section, op.name
    rate, _ = cost.queued_ceiling_by_applied_ids()
    assert f"| {rate:,} |" in section
    # The prose's breakdown of the queued uses' write units is the recorded one too.
    (queued,) = [o for o in cost.operations(measured, function) if "queued" in o.name]
    for partition, _, write in queued.partitions:
        if write:
            assert f"{cost.units_text(write)} a use" in section or (
                f"{cost.units_text(write)} the" in section
            ), partition


def test_a_hot_customers_queued_uses_are_bound_by_its_per_second_applied_ids_writes() -> None:
    rate, why = cost.queued_ceiling_by_applied_ids()
    # At the ceiling a second's ids still fit in one item and its rewrites in the partition;
    # one use a second more and one of them does not.
    assert cost.applied_ids_bytes(rate) <= cost.ITEM_LIMIT_BYTES
    assert cost.applied_ids_write_units_per_s(rate) <= cost.PARTITION_WRITE_UNITS_PER_S
    assert (
        cost.applied_ids_bytes(rate + 1) > cost.ITEM_LIMIT_BYTES
        or cost.applied_ids_write_units_per_s(rate + 1) > cost.PARTITION_WRITE_UNITS_PER_S
    )
    # A minute's item held the ids at 243 uses a second until 400 KB; a second's item is far
    # from it at the new ceiling, which the partition's write units set instead.
    assert rate > 243
    assert cost.applied_ids_bytes(rate) < cost.ITEM_LIMIT_BYTES // 5
    assert why.startswith("APPLIED#… writes")
    # Each chunk rewrites its second's item whole: twice the uses take more than three times
    # the units.
    assert cost.applied_ids_write_units_per_s(1000) > 3 * cost.applied_ids_write_units_per_s(500)


def test_a_chunk_is_charged_for_each_queue_second_it_spans_as_that_item_then_is() -> None:
    # 100 uses a second: each chunk is one second's item, 100 ids (under 3 KB), twice.
    assert cost.applied_ids_bytes(100) <= 3 * 1024
    assert cost.applied_ids_write_units_per_s(100) == 6
    # 150 a second: chunks of 100 meet second edges every 2 seconds. Second 0 takes 100 ids
    # (6 units), then 50 more beside 50 of second 1 (its 150 ids: 10; their 50: 4), then
    # second 1 takes its other 100 (150 ids: 10): 30 units in 2 seconds.
    assert cost.applied_ids_bytes(150) > 4 * 1024
    assert cost.applied_ids_write_units_per_s(150) == 15
