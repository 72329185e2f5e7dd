"""`make load`: mixed traffic on the local stack from several processes, then an exact audit.

Bounded in time and count, loopback only. The processes send checks, tracks, queued tracks and
get_or_create calls, a share of them all to one hot customer, and report each answer's status
and latency. Afterwards, with the queue drained, every customer's balance must equal its grant
minus the values of its recorded events, and those events must be exactly the uses the
processes were told were recorded: to the last decimal, nothing lost, nothing doubled.

    make load                                     # 4 processes, 20 s, at most 6,000 calls
    .venv/bin/python -m bench.load --processes 2 --seconds 5 --requests 500

The figures are the local stack's (one Python process serves every function, over moto):
they compare runs and show where contention starts, they are not AWS's throughput.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from local.stack import LocalStack, StackConfig, ensure_path, quiet_metrics

SECRET = "am_sk_load"  # noqa: S105 (a throwaway key for an in-process stack)
GRANT = Decimal(1_000_000_000)  # large enough that no use is ever refused for want of balance
HOT = "load_hot"
HOT_SHARE = 0.3
# (operation, weight)
MIX = (("check", 40), ("track", 30), ("queued track", 15), ("get_or_create", 15))
VALUES = (Decimal(1), Decimal("0.5"), Decimal("2.25"), Decimal("0.001"), Decimal(7))


@dataclass
class Tally:
    """What one process saw: per operation, statuses and latencies; per customer, the uses
    the API said it recorded (200 for a track, 202 for a queued one)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    recorded: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    uses: Counter[str] = field(default_factory=Counter)
    # Wall-clock bounds of the calls (not of starting the processes).
    first: float = float("inf")
    last: float = 0.0

    def merge(self, other: Tally) -> None:
        for operation, times in other.latencies.items():
            self.latencies[operation] += times
        for operation, counts in other.statuses.items():
            self.statuses[operation].update(counts)
        for customer, value in other.recorded.items():
            self.recorded[customer] += value
        self.uses.update(other.uses)
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)


def _worker(
    api_url: str, key: str, customers: list[str], seconds: float, requests: int, seed: int
) -> Tally:
    ensure_path()
    from billing import numbers  # writes a decimal as a JSON number, exactly

    chooser = random.Random(seed)
    operations = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    tally = Tally()
    deadline = time.monotonic() + seconds
    tally.first = time.time()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=300) as api:
        for _ in range(requests):
            if time.monotonic() > deadline:
                break
            operation = chooser.choices(operations, weights)[0]
            customer = HOT if chooser.random() < HOT_SHARE else chooser.choice(customers)
            value = chooser.choice(VALUES)
            path, body = _request(operation, customer, value)
            started = time.perf_counter()
            answer = api.post(path, content=numbers.dumps(body))
            tally.latencies[operation].append((time.perf_counter() - started) * 1000)
            tally.statuses[operation][answer.status_code] += 1
            if operation.endswith("track") and answer.status_code in (200, 202):
                tally.recorded[customer] += value
                tally.uses[customer] += 1
    tally.last = time.time()
    return tally


def _request(operation: str, customer: str, value: Decimal) -> tuple[str, dict[str, Any]]:
    use: dict[str, Any] = {"customer_id": customer, "feature_id": "messages"}
    if operation == "check":
        return "/v1/balances.check", use
    if operation == "track":
        return "/v1/balances.track", {**use, "value": value}
    if operation == "queued track":
        return "/v1/balances.track", {**use, "value": value, "async": True}
    return "/v1/customers.get_or_create", {"customer_id": customer}


def _run_worker(args: tuple[str, str, list[str], float, int, int], out: Any) -> None:
    out.put(_worker(*args))


def _seed(api: httpx.Client, customers: list[str]) -> None:
    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    ).raise_for_status()
    api.post(
        "/v1/plans.create",
        json={
            "plan_id": "free",
            "name": "Free",
            "auto_enable": True,
            "items": [{"feature_id": "messages", "included": int(GRANT)}],
        },
    ).raise_for_status()
    for customer in [HOT, *customers]:
        api.post("/v1/customers.get_or_create", json={"customer_id": customer}).raise_for_status()


def _recorded_events(api: httpx.Client, customer: str) -> tuple[int, Decimal]:
    count, total = 0, Decimal(0)
    body: dict[str, Any] = {"customer_id": customer, "limit": 1000}
    while True:
        page = json.loads(api.post("/v1/events.list", json=body).text, parse_float=Decimal)
        count += len(page["list"])
        total += sum((Decimal(str(e["value"])) for e in page["list"]), Decimal(0))
        if not page["next_cursor"]:
            return count, total
        body["start_cursor"] = page["next_cursor"]


def _remaining(api: httpx.Client, customer: str) -> Decimal:
    answer = json.loads(
        api.post("/v1/customers.get", json={"customer_id": customer}).text, parse_float=Decimal
    )
    return Decimal(str(answer["balances"]["messages"]["remaining"]))


def audit(api: httpx.Client, customers: list[str], tally: Tally) -> list[str]:
    """Every way the balances disagree with what the API said it recorded (empty: exact)."""
    problems = []
    for customer in [HOT, *customers]:
        count, total = _recorded_events(api, customer)
        remaining = _remaining(api, customer)
        told = tally.recorded.get(customer, Decimal(0))
        if count != tally.uses[customer] or total != told:
            problems.append(
                f"{customer}: {count} events worth {total},"
                f" told {tally.uses[customer]} worth {told}"
            )
        if remaining != GRANT - total:
            problems.append(f"{customer}: remaining {remaining} != {GRANT} - {total}")
    return problems


def _percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(tally: Tally, elapsed: float) -> list[str]:
    lines = [f"{'operation':15} {'calls':>6} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses"]
    total = 0
    for operation, _ in MIX:
        times = tally.latencies.get(operation, [])
        total += len(times)
        if not times:
            continue
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses[operation].items()))
        lines.append(
            f"{operation:15} {len(times):>6} {len(times) / elapsed:>7.1f}"
            f" {_percentile(times, 0.5):>8.1f} {_percentile(times, 0.99):>8.1f}  {statuses}"
        )
    lines.append(f"{'all':15} {total:>6} {total / elapsed:>7.1f}")
    return lines


def server_errors(tally: Tally) -> int:
    return sum(n for counts in tally.statuses.values() for s, n in counts.items() if s >= 500)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--requests", type=int, default=6000, help="at most, over all processes")
    parser.add_argument("--customers", type=int, default=40)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    ensure_path()
    config = StackConfig(secret_key=SECRET, table_name="billing-load", queue_window_s=1)
    quiet_metrics()
    stack = LocalStack(config).start()
    try:
        tally, elapsed, problems = run(stack, SECRET, args)
    finally:
        stack.stop()
    print(f"Mixed load: {args.processes} processes, {elapsed:.1f} s,", end=" ")
    print(f"{HOT_SHARE:.0%} of the calls to one hot customer\n")
    print("\n".join(report(tally, elapsed)))
    errors = server_errors(tally)
    print(f"\n5xx answers: {errors}")
    print(f"Balances audited: {args.customers + 1}, disagreements: {len(problems)}")
    print("\n".join(problems))
    return 1 if errors or problems else 0


def run(stack: LocalStack, key: str, args: argparse.Namespace) -> tuple[Tally, float, list[str]]:
    """Seeds the catalog and the customers, sends the traffic, drains the queue and audits."""
    customers = [f"load_{n}" for n in range(args.customers)]
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=300) as api:
        _seed(api, customers)
        tally, elapsed = _traffic(stack, key, customers, args)
        stack.drain_queues(timeout_s=600)
        return tally, elapsed, audit(api, customers, tally)


def _traffic(
    stack: LocalStack, key: str, customers: list[str], args: argparse.Namespace
) -> tuple[Tally, float]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    share = max(1, args.requests // args.processes)
    processes = [
        context.Process(
            target=_run_worker, args=((stack.api_url, key, customers, args.seconds, share, n), out)
        )
        for n in range(args.processes)
    ]
    for process in processes:
        process.start()
    tally = Tally()
    for _ in processes:
        tally.merge(out.get())
    for process in processes:
        process.join()
    return tally, tally.last - tally.first


if __name__ == "__main__":
    sys.exit(main())
