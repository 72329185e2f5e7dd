"""The fault matrix's driver: an operation run once to learn its steps (every AWS call it makes,
in order), then once per step with a fault at that step, each time on a subject of its own
(a customer), then retried as a caller would. Each run must end where the run without a
fault ended: the same balances, plans, events, items in the table and objects in Stripe.

What a faulty run may answer is checked here for every run: a success (the fault was absorbed
by a retry inside the billing layer or botocore), or an error the caller can retry, with the
API's error body. The tests say which of those they expect for each fault.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import table_items
from tests.reliability.aws_faults import Kind, Service, Step, fault, recording

# Errors that tell the caller to try again later: DynamoDB or SQS unavailable (503), Stripe
# unavailable (502), another change of the customer under way (423).
RETRYABLE = {423: "billing_in_progress", 502: "stripe_error", 503: "service_unavailable"}
_STRIPE_OBJECTS = ("customer", "subscription", "invoice", "payment_intent", "checkout.session")


@dataclass
class Scenario:
    """One operation on a subject: `prepare` gets the subject ready (unfaulted), `act` is
    the operation a caller retries (its idempotency key, if any, derived from the subject),
    `state` what it left, without ids or times."""

    prepare: Callable[[str], None]
    act: Callable[[str], httpx.Response]
    state: Callable[[str], Any]
    # Runs after `act` while the fault is still armed (queued work, webhooks to deliver).
    after: Callable[[], None] = lambda: None
    # What a caller's retry is, when not `act` again (Stripe retries its webhooks itself).
    retry: Callable[[str], httpx.Response] | None = None


@dataclass
class Outcome:
    step: Step
    status: int
    code: str | None
    retried: int | None


@pytest.fixture(autouse=True)
def steady_catalog_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hot path's catalog cache kept for the whole test (the catalog does not change in
    it): a reload at its 30 s mark would add a read to one run and not to the others, so a
    step of the faultless run would not be the same step in the faulty one."""
    from billing.services.balances import catalog_cache

    catalog_cache.forget()
    monkeypatch.setattr(catalog_cache, "CACHE_MS", 3_600_000)


# The suite tries a long operation's fault at this many of its steps, spread over it (the
# first and last always); FAULT_MATRIX=all tries every step.
MOST_STEPS = None if os.environ.get("FAULT_MATRIX") == "all" else 6


def spread(steps: list[Step], most: int | None) -> list[Step]:
    """`most` of `steps`, evenly spread, the first and the last included."""
    if most is None or len(steps) <= most:
        return steps
    picks = {round(at * (len(steps) - 1) / (most - 1)) for at in range(most)}
    return [step for at, step in enumerate(steps) if at in picks]


@dataclass
class Matrix:
    stack: LocalStack
    scenario: Scenario
    outcomes: list[Outcome] = field(default_factory=list)
    # Kinds of table items left out of the comparison (`pk/sk/entity` prefixes), each with
    # the test's reason.
    uncounted: tuple[str, ...] = ()
    # At most this many steps per family (None: every step).
    most: int | None = None

    def steps(self, *services: Service) -> tuple[list[Step], Any, Counter[str], Counter[str]]:
        """The steps of the operation on a warm stack (the catalog cache filled by a first
        run), what it leaves and what it adds to the table and to Stripe."""
        self._prepare("warm")
        self.scenario.act("warm")
        self.scenario.after()
        self._prepare("base")
        before = (self._table(), self._stripe())
        with recording(*services) as steps:
            answer = self.scenario.act("base")
            self.scenario.after()
        assert answer.is_success, answer.text
        return (
            list(steps),
            self.scenario.state("base"),
            self._table() - before[0],
            self._stripe() - before[1],
        )

    def run(
        self,
        subject: str,
        armed: Callable[[], AbstractContextManager[Any]],
        expected: tuple[Any, Counter[str], Counter[str]],
        step: Step | None = None,
    ) -> Outcome:
        """The operation on `subject` with a fault armed, then retried until it succeeds
        (at most twice); it must leave what the faultless run left."""
        self._prepare(subject)
        before = (self._table(), self._stripe())
        with armed() as injected:
            first = self.scenario.act(subject)
            self.scenario.after()
        if hasattr(injected, "fired"):
            assert injected.fired >= 1, f"{subject}: the fault at {step} never fired"
        where = f"{subject} (fault at {step}): {first.status_code} {first.text[:300]}"
        code = _checked_error(first, where)
        retried = None
        if not first.is_success:
            again = (self.scenario.retry or self.scenario.act)(subject)
            self.scenario.after()
            retried = again.status_code
            assert again.is_success, f"{where}; the retry answered {again.text[:300]}"
        state, table, stripe = expected
        assert self.scenario.state(subject) == state, where
        added = self._table() - before[0]
        assert added == table, f"{where}: the table differs: {_difference(added, table)}"
        made = self._stripe() - before[1]
        assert made == stripe, f"{where}: Stripe differs: {_difference(made, stripe)}"
        outcome = Outcome(step or Step("dynamodb", "-", 0), first.status_code, code, retried)
        self.outcomes.append(outcome)
        return outcome

    def each_step(
        self,
        service: Service,
        kinds: list[Kind],
        wanted: Callable[[Step], bool],
        every_kind: bool = False,
    ) -> None:
        """A faultless run to learn the steps, then one run per wanted step with a fault
        there, every attempt of that call failing (botocore gives up). The kinds take turns
        over the steps (they share one path in the billing layer; each still meets several
        steps)."""
        steps, state, table, stripe = self.steps(service)
        chosen = spread([step for step in steps if wanted(step)], self.most)
        assert chosen, f"no {service} step to fault among {[str(s) for s in steps]}"
        for at, step in enumerate(chosen):
            kind = kinds[at % len(kinds)]
            self.run(
                f"s{at}-{kind}",
                lambda step=step, kind=kind: fault(step, kind),  # type: ignore[misc]
                (state, table, stripe),
                step,
            )

    def _prepare(self, subject: str) -> None:
        """The subject made ready and settled: what preparing it queued (an application
        event, say) is handled before the operation's calls are counted, not among them."""
        self.scenario.prepare(subject)
        self.stack.settle()

    def _table(self) -> Counter[str]:
        """How many items of each kind the table holds (the key prefixes and the entity)."""
        kinds = (_item_kind(item) for item in table_items(self.stack))
        return Counter(kind for kind in kinds if not kind.startswith(self.uncounted))

    def _stripe(self) -> Counter[str]:
        emulator = self.stack.emulator
        assert emulator is not None
        return Counter({kind: emulator.count(kind) for kind in _STRIPE_OBJECTS})


def _difference(found: Counter[str], expected: Counter[str]) -> str:
    more, fewer = found - expected, expected - found
    return f"more {dict(more)}, fewer {dict(fewer)}"


def _item_kind(item: dict[str, Any]) -> str:
    pk, sk = (_kind_of_key(item[key]["S"]) for key in ("PK", "SK"))
    entity = item.get("entity", {}).get("S", "")
    return f"{pk}/{sk}/{entity}"


def _kind_of_key(key: str) -> str:
    """A key's first part, a time or number in it as `n` (they differ between subjects)."""
    first = key.split("#", 1)[0]
    return "n" if first.isdigit() else first


def _checked_error(answer: httpx.Response, where: str) -> str | None:
    """A failed answer is a retryable status with the API's error body: its code."""
    if answer.is_success:
        return None
    assert answer.status_code in RETRYABLE, where
    body = answer.json()
    assert set(body) <= {"code", "message", "details"}, where
    assert body["code"] == RETRYABLE[answer.status_code], where
    assert isinstance(body["message"], str), where
    assert body["message"], where
    assert "Injected" not in answer.text, f"{where}: the cause's text reached the caller"
    return str(body["code"])


def customer_state(api: httpx.Client, customer_id: str) -> dict[str, Any]:
    """What a customer holds, without ids or times: balances, plans, purchases. (Its usage
    events are counted with the table's items.)"""
    answer = api.post("/v1/customers.get", json={"customer_id": customer_id})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    return {
        "balances": {
            feature: (b["granted"], b["remaining"], b["usage"])
            for feature, b in sorted(found["balances"].items())
        },
        "flags": sorted(found.get("flags", {})),
        "plans": sorted((s["plan_id"], s["status"]) for s in found["subscriptions"]),
        "purchases": sorted(p["plan_id"] for p in found["purchases"]),
        "linked": found["stripe_id"] is not None,
    }
