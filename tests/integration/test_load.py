"""`make load` on a small scale: mixed traffic from several processes leaves every balance
exactly its grant minus its recorded events, and the audit after it catches a use that the
processes were not told about."""

from __future__ import annotations

import httpx
import pytest

from bench import load
from local.stack import LocalStack
from tests.conftest import SECRET_KEY

pytestmark = pytest.mark.slow


def test_mixed_traffic_from_several_processes_leaves_every_balance_exact(
    clean_stack: LocalStack,
) -> None:
    args = load.arguments(["--processes", "2", "--requests", "40", "--customers", "3"])

    tally, elapsed, problems = load.run(clean_stack, SECRET_KEY, args)

    assert problems == []
    assert load.server_errors(tally) == 0
    assert sum(len(times) for times in tally.latencies.values()) == 40
    assert sum(tally.uses.values()) > 0, "some tracks were sent"
    assert elapsed > 0


def test_the_audit_reports_a_use_the_processes_were_not_told_about(
    clean_stack: LocalStack,
) -> None:
    args = load.arguments(["--processes", "1", "--requests", "10", "--customers", "2"])
    tally, _, problems = load.run(clean_stack, SECRET_KEY, args)
    assert problems == []

    with httpx.Client(
        base_url=clean_stack.api_url, headers={"Authorization": f"Bearer {SECRET_KEY}"}
    ) as api:
        use = {"customer_id": "load_0", "feature_id": "messages", "value": 3}
        assert api.post("/v1/balances.track", json=use).status_code == 200
        problems = load.audit(api, ["load_0", "load_1"], tally)

    (problem,) = problems
    assert problem.startswith(f"load_0: {tally.uses['load_0'] + 1} events worth")
    assert problem.endswith(f"told {tally.uses['load_0']} worth {tally.recorded['load_0']}")
