"""Test clocks: ``/v1/test_helpers/test_clocks``.

Customers created with ``test_clock=`` live on the clock's time. Advancing answers at once
with the clock ``advancing``, as Stripe does; the work runs after the answer (the server's
background job) and the clock is ``ready`` (``test_helpers.test_clock.ready``) once done, so
callers poll the clock. Advancing a clock that is still advancing is refused. The advance
replays what would have happened in between, boundary by boundary in time order:
schedule phases start (before a renewal on the same second, so the renewal charges the
new phase), subscriptions cancel or renew, trials end. A renewal's invoice stays a draft for
an hour, as Stripe's does, and the webhooks emitted so far are delivered before the clock
moves on, so an ``invoice.created`` handler can add invoice items to it (usage billed in
arrears); then it is finalized and charged to the card on file (paid, or failed and the
subscription ``past_due``, and tried again 3, 5 and 7 days after each failure with the card
on file then, as Stripe's retries do).
"""

from __future__ import annotations

from collections.abc import Callable

from local.stripe_emulator import (
    events,
    hooks,
    invoices,
    pagination,
    prorations,
    subscription_billing,
    subscription_objects,
    subscription_schedules,
)
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import CLOCK_OBJECT, add_interval

OBJECT = CLOCK_OBJECT
URL = "/v1/test_helpers/test_clocks"

_LIFETIME = 30 * 86400
# Far more boundaries than any test needs; a guard against a runaway loop.
_MAX_STEPS = 10_000
_RUNNING = ("active", "trialing", "past_due")
# How long a renewal's draft invoice waits before it is finalized and charged (Stripe: ~1 h).
DRAFT_WAIT_S = 3600


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_clocks)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("DELETE", f"{URL}/{{id}}", delete)
    router.add("POST", f"{URL}/{{id}}/advance", advance_route)


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, ("frozen_time", "name"))
    if "frozen_time" not in params:
        raise missing_param("frozen_time")
    frozen_time = p.integer(params, "frozen_time", minimum=0)
    clock: JsonObject = {
        "id": store.new_id("clock", 24),
        "object": OBJECT,
        "created": request.now,
        "deletes_after": request.now + _LIFETIME,
        "frozen_time": frozen_time,
        "livemode": False,
        "name": p.nullable_string(params, "name", max_length=300) if "name" in params else None,
        "status": "ready",
        "status_details": {},
    }
    store.insert(clock)
    events.emit(store, "test_helpers.test_clock.created", clock, frozen_time)
    return clock


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"], "test_clock")


def delete(request: ApiRequest) -> JsonObject:
    store = request.store
    clock = store.require(OBJECT, request.path_params["id"], "test_clock")
    store.delete(OBJECT, clock["id"])
    # Stripe deletes what lives on the clock along with it.
    for customer in store.live("customer"):
        if customer["test_clock"] == clock["id"]:
            store.delete("customer", customer["id"])
    events.emit(store, "test_helpers.test_clock.deleted", clock, clock["frozen_time"])
    return {"id": clock["id"], "object": OBJECT, "deleted": True}


def list_clocks(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, pagination.LIST_PARAMS)
    return pagination.list_page(
        request.store, OBJECT, request.store.live(OBJECT), request.params, URL
    )


def advance_route(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    clock = store.require(OBJECT, request.path_params["id"], "test_clock")
    p.reject_unknown(params, ("frozen_time",))
    if "frozen_time" not in params:
        raise missing_param("frozen_time")
    target = p.integer(params, "frozen_time")
    if target <= clock["frozen_time"]:
        raise invalid_param(
            "frozen_time",
            "The frozen_time must be after the test clock's current frozen_time "
            f"({clock['frozen_time']}).",
        )
    if clock["status"] == "advancing":
        raise StripeError(
            400,
            f"The test clock {clock['id']} is advancing: wait until its status is `ready` "
            "before advancing it again.",
            code="test_clock_advancing",
        )
    limit = _advance_limit(store, clock)
    if limit is not None and target > limit:
        raise invalid_param(
            "frozen_time",
            "A test clock can advance at most two intervals of its shortest subscription at a "
            f"time: advance to {limit} or earlier, then again.",
        )
    begin(store, clock, target)
    if request.run_later is None:
        advance(store, clock, target, request.base_url, request.deliver_pending)
        return clock
    clock_id, base_url = clock["id"], request.base_url

    def finish(deliver_pending: Callable[[], None]) -> None:
        # The clock may be gone by now (deleted while it waited for the store).
        current = store.find(OBJECT, clock_id)
        if current is None or store.is_deleted(clock_id) or current["status"] != "advancing":
            return
        advance(store, current, target, base_url, deliver_pending)

    # As Stripe: the answer says "advancing"; the clock is "ready" once all is replayed.
    request.run_later(finish)
    return clock


def _advance_limit(store: ObjectStore, clock: JsonObject) -> int | None:
    """Stripe's rule: one advance covers at most two periods of the shortest subscription."""
    intervals = [
        sub["items"]["data"][0]["price"]["recurring"] for sub in _subscriptions(store, clock["id"])
    ]
    for schedule in _schedules(store, clock["id"]):
        for phase in schedule["phases"]:
            price = store.find("price", phase["items"][0]["price"])
            if price is not None and price["recurring"] is not None:
                intervals.append(price["recurring"])
    limits = [
        add_interval(clock["frozen_time"], r["interval"], 2 * r["interval_count"])
        for r in intervals
    ]
    return min(limits, default=None)


def begin(store: ObjectStore, clock: JsonObject, target: int) -> None:
    """The clock starts moving to ``target`` (``advancing``, until `advance` is done)."""
    clock["status"] = "advancing"
    clock["status_details"] = {"advancing": {"target_frozen_time": target}}
    events.emit(store, "test_helpers.test_clock.advancing", clock, clock["frozen_time"])


def advance(
    store: ObjectStore,
    clock: JsonObject,
    target: int,
    base_url: str,
    deliver_pending: Callable[[], None] | None = None,
) -> None:
    """Moves an advancing clock to ``target``, running every boundary on the way in time
    order and delivering each boundary's webhooks (with ``deliver_pending``) before the
    next; then it is ``ready``. A failure leaves it ``internal_failure``, as Stripe's."""
    try:
        _replay(store, clock, target, base_url, deliver_pending)
    except Exception:
        clock.update(status="internal_failure", status_details={})
        events.emit(store, "test_helpers.test_clock.internal_failure", clock, clock["frozen_time"])
        raise
    clock["frozen_time"] = target
    hooks.announce(store, hooks.TEST_CLOCK_ADVANCED, clock, target)
    # The ready event shows the clock ready, but the clock is seen ready only once every
    # webhook of the advance, that one included, is delivered: a caller polling for ready
    # then never meets a webhook of this advance arriving later.
    ready = {"status": "ready", "status_details": {}}
    events.emit(store, "test_helpers.test_clock.ready", clock | ready, target)
    if deliver_pending is not None:
        deliver_pending()
    clock.update(ready)


def _replay(
    store: ObjectStore,
    clock: JsonObject,
    target: int,
    base_url: str,
    deliver_pending: Callable[[], None] | None,
) -> None:
    for _ in range(_MAX_STEPS):
        moment = _next_boundary(store, clock["id"])
        if moment is None or moment > target:
            break
        clock["frozen_time"] = max(moment, clock["frozen_time"])
        _run_boundary(store, clock["id"], moment, base_url)
        if deliver_pending is not None and store.undelivered:
            deliver_pending()
    else:
        raise StripeError(500, "The test clock found too many billing events to replay.")


def _customers(store: ObjectStore, clock_id: str) -> set[str]:
    return {c["id"] for c in store.live("customer") if c["test_clock"] == clock_id}


def _subscriptions(store: ObjectStore, clock_id: str) -> list[JsonObject]:
    customers = _customers(store, clock_id)
    return [
        sub
        for sub in store.live(subscription_objects.OBJECT)[::-1]
        if sub["customer"] in customers and sub["status"] in _RUNNING
    ]


def _schedules(store: ObjectStore, clock_id: str) -> list[JsonObject]:
    customers = _customers(store, clock_id)
    return [
        schedule
        for schedule in store.live(subscription_schedules.OBJECT)[::-1]
        if schedule["customer"] in customers and subscription_schedules.due(schedule) is not None
    ]


def _sub_due(subscription: JsonObject) -> int:
    end = prorations.current_period(subscription)[1]
    cancel_at = subscription["cancel_at"]
    return min(end, cancel_at) if cancel_at is not None else end


def _drafts(store: ObjectStore, clock_id: str) -> list[JsonObject]:
    """Renewal drafts waiting to be finalized, oldest first."""
    return [
        invoice
        for invoice in store.live(invoices.OBJECT)[::-1]
        if invoice["test_clock"] == clock_id
        and invoice["status"] == "draft"
        and invoice["automatically_finalizes_at"] is not None
    ]


def _retries(store: ObjectStore, clock_id: str) -> list[JsonObject]:
    """Failed renewals waiting for their next automatic payment attempt, oldest first."""
    return [
        invoice
        for invoice in store.live(invoices.OBJECT)[::-1]
        if invoice["test_clock"] == clock_id
        and invoice["status"] == "open"
        and invoice["next_payment_attempt"] is not None
    ]


def _next_boundary(store: ObjectStore, clock_id: str) -> int | None:
    moments = [_sub_due(sub) for sub in _subscriptions(store, clock_id)]
    moments += [d["automatically_finalizes_at"] for d in _drafts(store, clock_id)]
    moments += [r["next_payment_attempt"] for r in _retries(store, clock_id)]
    moments += [
        moment
        for schedule in _schedules(store, clock_id)
        if (moment := subscription_schedules.due(schedule)) is not None
    ]
    return min(moments, default=None)


def _run_boundary(store: ObjectStore, clock_id: str, moment: int, base_url: str) -> None:
    for invoice in _retries(store, clock_id):
        if invoice["next_payment_attempt"] == moment:
            # With the card the subscription or customer has now (it may have been changed).
            invoice["next_payment_attempt"] = None
            invoices.pay(store, invoice, moment, base_url)
    for invoice in _drafts(store, clock_id):
        if invoice["automatically_finalizes_at"] == moment:
            subscription = store.find(
                subscription_objects.OBJECT, invoices.subscription_of(invoice) or ""
            )
            card = subscription["default_payment_method"] if subscription else None
            invoices.collect(store, invoice, moment, base_url, card)
    for schedule in _schedules(store, clock_id):
        if subscription_schedules.due(schedule) == moment:
            subscription_schedules.transition(store, schedule, moment, base_url)
    for subscription in _subscriptions(store, clock_id):
        if _sub_due(subscription) != moment:
            continue
        cancel_at = subscription["cancel_at"]
        if cancel_at is not None and cancel_at <= moment:
            subscription_billing.cancel(
                store, subscription, cancel_at, reason="cancellation_requested"
            )
        else:
            subscription_billing.renew(store, subscription, base_url, draft_wait_s=DRAFT_WAIT_S)
