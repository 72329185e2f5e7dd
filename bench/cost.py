"""`make cost`: what each hot operation costs on AWS, per million calls, on paper.

Measured here: the DynamoDB request units of each operation (bench.capacity, on the local
stack through the HTTP API, from the real items) and our code's warm time per invocation
(bench.warm). Assumed, and named below: the latency of a DynamoDB or SQS call from Lambda, the
CPU share of the function's memory size, the SQS requests Lambda's poller makes per message.
Prices: AWS's published on-demand prices in us-east-1, each with where it is published.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from bench import capacity, warm

ROOT = Path(__file__).resolve().parent.parent
MILLION = Decimal(1_000_000)

# --- prices: on demand, us-east-1 (US East, N. Virginia), first pricing tier -----------------
REGION = "us-east-1"
# https://aws.amazon.com/lambda/pricing/ : per request, and per GB-second on Arm (Graviton)
# for the first 7.5 billion GB-seconds a month.
LAMBDA_PER_MILLION_REQUESTS = Decimal("0.20")
LAMBDA_ARM_PER_GB_SECOND = Decimal("0.0000133334")
# https://aws.amazon.com/api-gateway/pricing/ : HTTP APIs, first 300 million requests a month.
HTTP_API_PER_MILLION_REQUESTS = Decimal("1.00")
# https://aws.amazon.com/dynamodb/pricing/on-demand/ : on-demand throughput, Standard table
# class, since the price cut of 1 November 2024.
DYNAMODB_PER_MILLION_WRITE_UNITS = Decimal("0.625")
DYNAMODB_PER_MILLION_READ_UNITS = Decimal("0.125")
# https://aws.amazon.com/sqs/pricing/ : standard queues, first 100 billion requests a month
# (each 64 KB of a message is one request; our messages are far smaller).
SQS_PER_MILLION_REQUESTS = Decimal("0.40")

# --- assumptions -----------------------------------------------------------------------------
# A DynamoDB or SQS call from a Lambda function in the same region: AWS describes DynamoDB
# as single-digit milliseconds; we assume this much per call, not measured here.
DYNAMODB_CALL_MS = Decimal(5)
SQS_SEND_MS = Decimal(8)
# Lambda gives a function a full vCPU at 1,769 MB and CPU in proportion below it: our code's
# time measured on one core of this machine is scaled by 1,769 / MemorySize.
FULL_VCPU_MB = 1769
# Lambda's SQS poller receives up to 10 messages a ReceiveMessage and deletes them in
# batches of up to 10: a tenth of a request each per message, besides its SendMessage.
SQS_MESSAGES_PER_RECEIVE = 10
SQS_MESSAGES_PER_DELETE = 10

# --- peers: what the same volume costs elsewhere ----------------------------------------------
# https://stripe.com/billing/pricing and support.stripe.com ("July 2024 changes to Stripe
# Billing"): usage-based billing is part of Stripe Billing, 0.7% of billing volume on
# pay-as-you-go; meter events themselves carry no per-event price.
STRIPE_BILLING_SHARE_OF_VOLUME = Decimal("0.007")


@dataclass(frozen=True)
class Function:
    memory_mb: int
    architecture: str


def function_config(path: Path = ROOT / "template.yaml") -> Function:
    """MemorySize and Architectures of the functions (the template's Globals)."""

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (SafeLoader subclass)
    globals_ = template["Globals"]["Function"]
    return Function(int(globals_["MemorySize"]), str(globals_["Architectures"][0]))


@dataclass(frozen=True)
class Operation:
    """One call of a hot operation: what it consumes on AWS."""

    name: str
    read_units: Decimal
    write_units: Decimal  # the table's and its indexes'
    lambda_ms: Decimal  # billed duration of its invocations, summed (1 ms granularity each)
    lambda_requests: Decimal
    api_requests: Decimal
    sqs_requests: Decimal = Decimal(0)
    # (partition, read units, write units) per call: what each partition key it touches takes.
    partitions: tuple[tuple[str, Decimal, Decimal], ...] = ()


@dataclass(frozen=True)
class Cost:
    lambda_usd: Decimal
    api_usd: Decimal
    dynamodb_usd: Decimal
    sqs_usd: Decimal

    @property
    def total(self) -> Decimal:
        return self.lambda_usd + self.api_usd + self.dynamodb_usd + self.sqs_usd


def per_million(op: Operation, function: Function) -> Cost:
    """The on-demand cost of a million calls of `op`, in USD."""
    gb = Decimal(function.memory_mb) / Decimal(1024)
    gb_seconds = gb * op.lambda_ms / Decimal(1000) * MILLION
    lambda_usd = op.lambda_requests * LAMBDA_PER_MILLION_REQUESTS + gb_seconds * (
        LAMBDA_ARM_PER_GB_SECOND
    )
    dynamodb_usd = (
        op.read_units * DYNAMODB_PER_MILLION_READ_UNITS
        + op.write_units * DYNAMODB_PER_MILLION_WRITE_UNITS
    )
    return Cost(
        lambda_usd=lambda_usd,
        api_usd=op.api_requests * HTTP_API_PER_MILLION_REQUESTS,
        dynamodb_usd=dynamodb_usd,
        sqs_usd=op.sqs_requests * SQS_PER_MILLION_REQUESTS,
    )


def billed_ms(
    compute_ms: float, dynamodb_calls: int, function: Function, sqs_sends: int = 0
) -> Decimal:
    """One invocation's billed duration: our code scaled to the function's CPU share, plus the
    assumed latency of its calls, rounded up to the millisecond as Lambda bills."""
    scale = Decimal(FULL_VCPU_MB) / Decimal(function.memory_mb)
    ms = Decimal(str(compute_ms)) * scale + dynamodb_calls * DYNAMODB_CALL_MS
    return Decimal(math.ceil(ms + sqs_sends * SQS_SEND_MS))


@dataclass(frozen=True)
class Measured:
    """What the local stack and the warm bench measured: units per call (by DynamoDB's rules)
    and DynamoDB calls per call, for each hot operation, and the usage worker's figures."""

    units: dict[str, capacity.Units]
    partitions: dict[str, dict[str, capacity.Units]]
    timings: dict[str, warm.Timing]
    queued_uses: int
    worker_units: capacity.Units  # for all `queued_uses`
    worker_partitions: dict[str, capacity.Units]
    worker_invocations: int


RECORDED = Path(__file__).resolve().parent / "cost_measured.json"


def _units_json(units: capacity.Units) -> dict[str, Any]:
    return {
        "read": str(units.read),
        "write": str(units.write),
        "index_write": str(units.index_write),
        "calls": units.calls,
    }


def _units_of(data: dict[str, Any]) -> capacity.Units:
    return capacity.Units(
        Fraction(data["read"]),
        Fraction(data["write"]),
        Fraction(data["index_write"]),
        data["calls"],
    )


def to_json(measured: Measured) -> str:
    """The measured inputs, so that the README's table can be derived again from them."""
    return json.dumps(
        {
            "units": {k: _units_json(u) for k, u in measured.units.items()},
            "partitions": {
                k: {pk: _units_json(u) for pk, u in found.items()}
                for k, found in measured.partitions.items()
            },
            "timings": {k: {"ms": t.ms, "calls": t.calls} for k, t in measured.timings.items()},
            "queued_uses": measured.queued_uses,
            "worker_units": _units_json(measured.worker_units),
            "worker_partitions": {
                pk: _units_json(u) for pk, u in measured.worker_partitions.items()
            },
            "worker_invocations": measured.worker_invocations,
        },
        indent=2,
        sort_keys=True,
    )


def from_json(text: str) -> Measured:
    data = json.loads(text)
    return Measured(
        units={k: _units_of(u) for k, u in data["units"].items()},
        partitions={
            k: {pk: _units_of(u) for pk, u in found.items()}
            for k, found in data["partitions"].items()
        },
        timings={k: warm.Timing(t["ms"], t["calls"]) for k, t in data["timings"].items()},
        queued_uses=data["queued_uses"],
        worker_units=_units_of(data["worker_units"]),
        worker_partitions={pk: _units_of(u) for pk, u in data["worker_partitions"].items()},
        worker_invocations=data["worker_invocations"],
    )


def _dec(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def partition_kind(pk: str) -> str:
    """A partition key without its ids: `CUS#u_1` is `CUS#…`, `GSI2 HOLDS#messages` stays."""
    if " " in pk:
        return pk
    head, _, rest = pk.partition("#")
    return f"{head}#…" if rest else head


def _partitions(
    found: dict[str, capacity.Units], calls: int = 1
) -> tuple[tuple[str, Decimal, Decimal], ...]:
    return tuple(
        (partition_kind(pk), _dec(u.read) / calls, _dec(u.all_writes) / calls)
        for pk, u in sorted(found.items())
    )


def operations(measured: Measured, function: Function) -> list[Operation]:
    """The four hot operations as the cost model charges them."""
    found: list[Operation] = []
    for name, timing_key in (
        ("balances.check", "balances_check"),
        ("balances.track", "balances_track"),
        ("customers.get_or_create (existing)", "customers_get_or_create"),
    ):
        units = measured.units[name]
        ms = billed_ms(measured.timings[timing_key].ms, units.calls, function)
        found.append(
            Operation(
                name,
                _dec(units.read),
                _dec(units.all_writes),
                ms,
                lambda_requests=Decimal(1),
                api_requests=Decimal(1),
                partitions=_partitions(measured.partitions[name]),
            )
        )
    uses = measured.queued_uses
    worker = measured.worker_units
    enqueue_ms = billed_ms(measured.timings["balances_track (async)"].ms, 0, function, sqs_sends=1)
    # The worker decides each use as a sync track would (our code's time for it), and makes
    # its DynamoDB calls per batch; its invocations are shared by the uses of their batches.
    per_use_compute = measured.timings["balances_track"].ms
    batches = max(1, measured.worker_invocations)
    worker_ms_total = (
        sum(billed_ms(per_use_compute * uses / batches, 0, function) for _ in range(batches))
        + worker.calls * DYNAMODB_CALL_MS
    )
    sqs = Decimal(1) + Decimal(1) / SQS_MESSAGES_PER_RECEIVE + Decimal(1) / SQS_MESSAGES_PER_DELETE
    found.append(
        Operation(
            "balances.track (queued)",
            _dec(worker.read) / uses,
            _dec(worker.all_writes) / uses,
            enqueue_ms + worker_ms_total / uses,
            lambda_requests=Decimal(1) + Decimal(batches) / uses,
            api_requests=Decimal(1),
            sqs_requests=sqs,
            partitions=_partitions(measured.worker_partitions, uses),
        )
    )
    return found


def money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def units_text(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001'), rounding=ROUND_HALF_UP).normalize():f}"


def table_rows(ops: list[Operation], function: Function) -> list[str]:
    """The README's cost table (Markdown), one row per operation."""
    rows = [
        "| operation | read units | write units | Lambda ms | Lambda | API Gateway | DynamoDB"
        " | SQS | total per million |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for op in ops:
        cost = per_million(op, function)
        rows.append(
            f"| {op.name} | {units_text(op.read_units)} | {units_text(op.write_units)}"
            f" | {units_text(op.lambda_ms)} | {money(cost.lambda_usd)} | {money(cost.api_usd)}"
            f" | {money(cost.dynamodb_usd)} | {money(cost.sqs_usd)} | {money(cost.total)} |"
        )
    return rows


# --- scale on paper ---------------------------------------------------------------------------
PARTITION_WRITE_UNITS_PER_S = 1000
PARTITION_READ_UNITS_PER_S = 3000


def hot_customer_ceiling(op: Operation) -> tuple[Decimal, str]:
    """Calls a second of `op` for one customer before one of the partitions it touches
    reaches its per-partition limit, and which partition that is."""
    limits = []
    for partition, read, write in op.partitions:
        if read:
            limits.append((Decimal(PARTITION_READ_UNITS_PER_S) / read, f"{partition} reads"))
        if write:
            limits.append((Decimal(PARTITION_WRITE_UNITS_PER_S) / write, f"{partition} writes"))
    ceiling, where = min(limits)
    return ceiling.quantize(Decimal(1), rounding=ROUND_HALF_UP), where


# DynamoDB's largest item, and how many queued uses the worker writes per transaction.
ITEM_LIMIT_BYTES = 400 * 1024
WORKER_CHUNK_USES = 100


def applied_ids_bytes(ids: int) -> int:
    """The size of the usage worker's item of applied use ids (one per customer and queue
    second, store.usage) holding `ids` ids, by DynamoDB's item-size rules."""
    from billing import clock
    from billing.store import keys

    one = clock.new_internal_id("evt")
    item: dict[str, Any] = {
        "PK": {"S": keys.applied_pk(clock.new_internal_id("cus"))},
        "SK": {"S": keys.applied_sk(1_700_000_000)},
        "ttl": {"N": "1700000000"},
        "applied_ids": {"SS": [one]},
    }
    return capacity.item_size(item) + (ids - 1) * len(one.encode())


def applied_ids_write_units_per_s(uses_per_s: int, chunk: int = WORKER_CHUNK_USES) -> Fraction:
    """Write units a second on one customer's applied-ids partition when it queues
    `uses_per_s` steadily. The worker takes the uses in queue order, `chunk` to a
    transaction; a chunk adds its ids to the item of each queue second it spans, and each
    such write is charged for that item as it then is, whole, twice. Chunk edges meet second
    edges again after `chunk / gcd` seconds: the average over that period is the steady one."""
    period = chunk // math.gcd(uses_per_s, chunk)
    total = Fraction(0)
    for start in range(0, uses_per_s * period, chunk):
        end = start + chunk  # the chunk's uses are start .. end - 1, queued in order
        for second in range(start // uses_per_s, (end - 1) // uses_per_s + 1):
            ids = min(end, (second + 1) * uses_per_s) - second * uses_per_s
            total += capacity.write_units(applied_ids_bytes(ids), transactional=True)
    return total / period


def queued_ceiling_by_applied_ids() -> tuple[int, str]:
    """The most queued uses a second one customer can sustain before its applied-ids items
    either take more than a partition's 1,000 write units a second (they share one partition
    key) or one second's item outgrows 400 KB."""
    low, high = 1, 100_000
    while low < high:
        rate = (low + high + 1) // 2
        fits = applied_ids_bytes(rate) <= ITEM_LIMIT_BYTES
        if fits and applied_ids_write_units_per_s(rate) <= PARTITION_WRITE_UNITS_PER_S:
            low = rate
        else:
            high = rate - 1
    if applied_ids_bytes(low + 1) > ITEM_LIMIT_BYTES:
        return low, "the applied-ids item of a queue second reaches 400 KB"
    return low, "APPLIED#… writes (each second's applied-ids item, rewritten whole per chunk)"


# --- measuring ----------------------------------------------------------------------------------
SECRET = "am_sk_cost"  # noqa: S105 (a throwaway key for an in-process stack)
QUEUED_USES = 1000


def measure(queued_uses: int = QUEUED_USES) -> Measured:
    from local.stack import LocalStack, StackConfig, ensure_path, quiet_metrics

    ensure_path()
    import httpx

    config = StackConfig(secret_key=SECRET, table_name="billing-cost", queue_window_s=30)
    quiet_metrics()
    stack = LocalStack(config).start()
    try:
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {SECRET}"}, timeout=300
        ) as api:
            units, partitions, worker, worker_partitions, invocations = _units(
                stack, api, queued_uses
            )
    finally:
        stack.stop()
    return Measured(
        units, partitions, warm.timings(), queued_uses, worker, worker_partitions, invocations
    )


def _units(
    stack: Any, api: Any, queued_uses: int
) -> tuple[
    dict[str, capacity.Units],
    dict[str, dict[str, capacity.Units]],
    capacity.Units,
    dict[str, capacity.Units],
    int,
]:
    def post(path: str, body: dict[str, Any]) -> None:
        api.post(path, json=body).raise_for_status()

    post("/v1/features.create", {"feature_id": "messages", "name": "Messages", "type": "metered"})
    post(
        "/v1/plans.create",
        {
            "plan_id": "free",
            "name": "Free",
            "auto_enable": True,
            "items": [{"feature_id": "messages", "included": 10**9}],
        },
    )
    for customer in ("cost_1", "cost_2"):
        post("/v1/customers.get_or_create", {"customer_id": customer, "email": "c@example.com"})
    use = {"customer_id": "cost_1", "feature_id": "messages"}
    # Warm: each function keeps the catalog's features in memory between calls.
    post("/v1/balances.check", use)
    post("/v1/balances.track", use)
    table = capacity.table_from_template()
    calls = {
        "balances.check": ("/v1/balances.check", use),
        "balances.track": ("/v1/balances.track", use),
        "customers.get_or_create (existing)": (
            "/v1/customers.get_or_create",
            {"customer_id": "cost_1"},
        ),
    }
    units: dict[str, capacity.Units] = {}
    partitions: dict[str, dict[str, capacity.Units]] = {}
    for name, (path, body) in calls.items():
        with stack.stripe_webhooks_paused(), capacity.metering(table) as meter:
            post(path, body)
        units[name], partitions[name] = meter.total, meter.by_partition
    # Queued: the uses wait in the queue, then the worker takes them as Lambda's poller hands
    # them over (batches of up to the template's 1,000).
    stack.drain_queues()
    (poller,) = [p for p in stack.pollers if p.queue == "TrackQueue"]
    queued = {**use, "customer_id": "cost_2", "async": True}
    post("/v1/balances.track", queued)  # warm, as the others
    stack.drain_queues(timeout_s=300)
    with poller.held(), capacity.metering(table) as enqueue:
        for _ in range(queued_uses):
            post("/v1/balances.track", queued)
    before = poller.invocations
    with capacity.metering(table) as worker:
        stack.drain_queues(timeout_s=300)
    # A warm enqueue reads nothing (its catalog is in memory); whatever it did read is
    # charged to the queued uses with the worker's units.
    worker_partitions = dict(worker.by_partition)
    for pk, each in enqueue.by_partition.items():
        worker_partitions[pk] = worker_partitions.get(pk, capacity.Units()) + each
    return (
        units,
        partitions,
        enqueue.total + worker.total,
        worker_partitions,
        poller.invocations - before,
    )


def report(measured: Measured, function: Function | None = None) -> list[str]:
    function = function or function_config()
    ops = operations(measured, function)
    lines = [
        f"AWS cost per million calls, on-demand prices, {REGION};"
        f" Lambda {function.memory_mb} MB {function.architecture}",
        "",
        *table_rows(ops, function),
        "",
        "DynamoDB calls and units per call (units from DynamoDB's rules over the real items):",
    ]
    for name, units in measured.units.items():
        lines.append(
            f"  {name:36} {units.calls} call(s): {capacity.as_decimal(units.read)} read,"
            f" {capacity.as_decimal(units.write)} write + {capacity.as_decimal(units.index_write)}"
            " index write units"
        )
    worker = measured.worker_units
    lines.append(
        f"  usage worker, {measured.queued_uses} queued uses in {measured.worker_invocations}"
        f" invocation(s): {worker.calls} DynamoDB calls, {capacity.as_decimal(worker.read)} read,"
        f" {capacity.as_decimal(worker.write)} write + {capacity.as_decimal(worker.index_write)}"
        " index write units"
    )
    lines += ["", "Units per call by partition (read / write):"]
    for op in ops:
        by = ", ".join(f"{p} {units_text(r)} / {units_text(w)}" for p, r, w in op.partitions)
        lines.append(f"  {op.name:36} {by}")
    lines += ["", "One customer, one partition key each (1,000 write / 3,000 read units a second):"]
    for op in ops:
        ceiling, where = hot_customer_ceiling(op)
        lines.append(f"  {op.name:36} {ceiling:>8} calls a second (first: {where})")
    rate, why = queued_ceiling_by_applied_ids()
    lines.append(
        f"  {'balances.track (queued), sustained':36} {rate:>8} calls a second (first: {why})"
    )
    lines += [
        "",
        f"Stripe Billing (meters): {STRIPE_BILLING_SHARE_OF_VOLUME:.1%} of the volume billed,"
        " no per-event price.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--record", action="store_true", help=f"write the measured inputs to {RECORDED.name}"
    )
    parser.add_argument(
        "--recorded",
        action="store_true",
        help=f"print the model of {RECORDED.name}, measuring nothing",
    )
    parser.add_argument("--uses", type=int, default=QUEUED_USES, help="queued uses to measure")
    args = parser.parse_args(argv)
    from local.stack import ensure_path  # the billing package, as the functions import it

    ensure_path()
    measured = from_json(RECORDED.read_text()) if args.recorded else measure(args.uses)
    if args.record:
        RECORDED.write_text(to_json(measured) + "\n")
    print("\n".join(report(measured)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
