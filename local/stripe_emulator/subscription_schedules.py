"""The SubscriptionSchedule resource: ``/v1/subscription_schedules``.

A schedule drives a subscription through phases (items, an end date or a number of
iterations). The next phase takes effect when the customer's test clock passes its
start (`due` / `transition`, called by test clocks); at the end of the last phase the
schedule releases the subscription or cancels it, as ``end_behavior`` says.
"""

from __future__ import annotations

import copy

from local.stripe_emulator import (
    billing_modes,
    events,
    expand,
    pagination,
    prorations,
    subscription_billing,
    subscription_objects,
)
from local.stripe_emulator import params as p
from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import add_interval, now_for

OBJECT = "subscription_schedule"
URL = "/v1/subscription_schedules"

_END_BEHAVIORS = ("cancel", "release")
_PHASE_FIELDS = (
    "items",
    "start_date",
    "end_date",
    "iterations",
    "proration_behavior",
    "metadata",
    "trial_end",
    "default_payment_method",
)
_PHASE_ITEM_FIELDS = ("price", "quantity", "metadata")
_OPEN = ("not_started", "active")


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_schedules)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("POST", f"{URL}/{{id}}/release", release_route)
    router.add("POST", f"{URL}/{{id}}/cancel", cancel_route)


# -- what test clocks call -----------------------------------------------------------------


def due(schedule: JsonObject) -> int | None:
    """When this schedule next changes something, if it is still running."""
    if schedule["status"] == "not_started":
        return int(schedule["phases"][0]["start_date"])
    if schedule["status"] == "active" and schedule["current_phase"] is not None:
        return int(schedule["current_phase"]["end_date"])
    return None


def transition(store: ObjectStore, schedule: JsonObject, now: int, base_url: str) -> None:
    """Starts the subscription, moves to the next phase, or ends the schedule, at ``now``."""
    if schedule["status"] == "not_started":
        _start(store, schedule, schedule["phases"][0], now, base_url)
        return
    phases = schedule["phases"]
    index = next(
        i
        for i, phase in enumerate(phases)
        if phase["start_date"] == schedule["current_phase"]["start_date"]
    )
    subscription = store.require(subscription_objects.OBJECT, schedule["subscription"])
    if subscription["status"] in ("canceled", "incomplete_expired"):
        schedule.update(status="canceled", canceled_at=now, current_phase=None)
        events.emit(store, "subscription_schedule.canceled", schedule, now)
        return
    if index + 1 < len(phases):
        phase = phases[index + 1]
        previous = subscription_objects.snapshot(subscription)
        subscription_billing.apply_items(
            store, subscription, _specs(store, phase, subscription), now
        )
        subscription_objects.emit_updated(store, subscription, previous, now)
        _enter(store, schedule, phase, now)
        return
    if schedule["end_behavior"] == "cancel":
        subscription_billing.cancel(store, subscription, now, reason="cancellation_requested")
        schedule.update(status="completed", completed_at=now, current_phase=None)
        events.emit(store, "subscription_schedule.completed", schedule, now)
    else:
        _release(store, schedule, now)


# -- routes ------------------------------------------------------------------------------


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(
        params,
        (
            "billing_mode",
            "customer",
            "from_subscription",
            "phases",
            "start_date",
            "end_behavior",
            "metadata",
        ),
    )
    if "from_subscription" in params:
        extra = set(params) - {"from_subscription", "expand", "metadata"}
        if extra:
            raise invalid_param(
                sorted(extra)[0],
                "You cannot set other parameters when creating a schedule from_subscription; "
                "update the schedule instead.",
            )
        return _render(request, _from_subscription(request))
    if "customer" not in params:
        raise missing_param("customer")
    customer = methods.require_customer(store, p.string(params, "customer"))
    now = now_for(store, customer["id"], request.now)
    billing_mode = billing_modes.of_new(params)
    start = now
    if "start_date" in params and params["start_date"] != "now":
        start = p.integer(params, "start_date")
    if "phases" not in params:
        raise missing_param("phases")
    phases = _phases(store, params, start)
    schedule = _new(store, customer["id"], now, phases, params)
    schedule["billing_mode"] = billing_mode
    store.insert(schedule)
    events.emit(store, "subscription_schedule.created", schedule, now)
    if start <= now:
        _start(store, schedule, phases[0], now, request.base_url)
    return _render(request, schedule)


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return _render(request, request.store.require(OBJECT, request.path_params["id"], "schedule"))


def update(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    schedule = store.require(OBJECT, request.path_params["id"], "schedule")
    p.reject_unknown(params, ("phases", "end_behavior", "metadata", "proration_behavior"))
    if schedule["status"] not in _OPEN:
        raise StripeError(
            400,
            f"You cannot update a subscription schedule that is {schedule['status']}.",
        )
    now = now_for(store, schedule["customer"], request.now)
    previous = {k: schedule[k] for k in ("phases", "end_behavior", "metadata", "current_phase")}
    changes: JsonObject = {}
    if "end_behavior" in params:
        changes["end_behavior"] = p.choice(params, "end_behavior", _END_BEHAVIORS)
    if "metadata" in params:
        changes["metadata"] = p.apply_metadata(schedule["metadata"], params["metadata"])
    if "phases" in params:
        first_start = int(schedule["phases"][0]["start_date"])
        if schedule["current_phase"] is not None:
            first_start = int(schedule["current_phase"]["start_date"])
        phases = _phases(store, params, first_start)
        if schedule["status"] == "active" and phases[0]["start_date"] != first_start:
            raise invalid_param(
                "phases[0][start_date]",
                "You cannot change the start date of the current phase.",
            )
        changes["phases"] = phases
    schedule.update(changes)
    if "phases" in changes and schedule["status"] == "active":
        phase = changes["phases"][0]
        subscription = store.require(subscription_objects.OBJECT, schedule["subscription"])
        specs = _specs(store, phase, subscription)
        before = subscription_objects.snapshot(subscription)
        if prorations.changes_items(subscription, specs):
            subscription_billing.apply_items(store, subscription, specs, now)
        subscription_objects.emit_updated(store, subscription, before, now)
        schedule["current_phase"] = {
            "end_date": phase["end_date"],
            "start_date": phase["start_date"],
        }
    changed = {k: v for k, v in previous.items() if schedule[k] != v}
    if changed:
        events.emit(store, "subscription_schedule.updated", schedule, now, changed)
    return _render(request, schedule)


def release_route(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ("preserve_cancel_date",))
    store = request.store
    schedule = store.require(OBJECT, request.path_params["id"], "schedule")
    _require_open(schedule, "release")
    _release(store, schedule, now_for(store, schedule["customer"], request.now))
    return _render(request, schedule)


def cancel_route(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ("invoice_now", "prorate"))
    store = request.store
    schedule = store.require(OBJECT, request.path_params["id"], "schedule")
    _require_open(schedule, "cancel")
    now = now_for(store, schedule["customer"], request.now)
    if schedule["subscription"]:
        subscription = store.require(subscription_objects.OBJECT, schedule["subscription"])
        if subscription["status"] not in ("canceled", "incomplete_expired"):
            subscription_billing.cancel(store, subscription, now, reason="cancellation_requested")
    schedule.update(status="canceled", canceled_at=now, current_phase=None)
    events.emit(store, "subscription_schedule.canceled", schedule, now)
    return _render(request, schedule)


def list_schedules(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, pagination.LIST_PARAMS | {"customer"})
    customer = p.string(params, "customer") if "customer" in params else None
    in_range = pagination.created_filter(params)
    found = [
        s
        for s in request.store.live(OBJECT)
        if in_range(s) and (customer is None or s["customer"] == customer)
    ]
    page = pagination.list_page(request.store, OBJECT, found, params, URL)
    return expand.render(request.store, page, expand.requested(params))


# -- helpers -----------------------------------------------------------------------------


def _from_subscription(request: ApiRequest) -> JsonObject:
    store = request.store
    sub_id = p.string(request.params, "from_subscription")
    subscription = store.find(subscription_objects.OBJECT, sub_id)
    if subscription is None:
        raise invalid_param(
            "from_subscription", f"No such subscription: '{sub_id}'", "resource_missing"
        )
    if subscription["schedule"] is not None:
        raise invalid_param(
            "from_subscription",
            f"You cannot migrate a subscription that is already attached to a schedule: "
            f"`{subscription['schedule']}`.",
        )
    if subscription["status"] in ("canceled", "incomplete_expired"):
        raise invalid_param("from_subscription", "The subscription has ended.")
    now = now_for(store, subscription["customer"], request.now)
    start, end = prorations.current_period(subscription)
    phase = _phase(
        start,
        end,
        [
            {
                "price": item["price"]["id"],
                "quantity": item["quantity"],
                "metadata": item["metadata"],
            }
            for item in subscription["items"]["data"]
        ],
        subscription["currency"],
    )
    schedule = _new(store, subscription["customer"], now, [phase], request.params)
    # The schedule manages the subscription in the subscription's own billing mode.
    schedule["billing_mode"] = copy.deepcopy(subscription["billing_mode"])
    schedule.update(
        status="active",
        subscription=subscription["id"],
        current_phase={"end_date": end, "start_date": start},
    )
    subscription["schedule"] = schedule["id"]
    store.insert(schedule)
    events.emit(store, "subscription_schedule.created", schedule, now)
    return schedule


def _new(
    store: ObjectStore, customer_id: str, now: int, phases: list[JsonObject], params: Params
) -> JsonObject:
    customer = store.require("customer", customer_id, "customer")
    return {
        "id": store.new_id("sub_sched", 24),
        "object": OBJECT,
        "application": None,
        # Set by the creation: the mode asked for, or the migrated subscription's.
        "billing_mode": None,
        "canceled_at": None,
        "completed_at": None,
        "created": now,
        "current_phase": None,
        "customer": customer_id,
        "customer_account": None,
        "default_settings": {
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": "automatic",
            "billing_thresholds": None,
            "collection_method": "charge_automatically",
            "default_payment_method": None,
            "description": None,
            "invoice_settings": {
                "account_tax_ids": None,
                "days_until_due": None,
                "issuer": {"type": "self"},
            },
            "on_behalf_of": None,
            "transfer_data": None,
        },
        "end_behavior": (
            p.choice(params, "end_behavior", _END_BEHAVIORS)
            if "end_behavior" in params
            else "release"
        ),
        "livemode": False,
        "metadata": p.apply_metadata({}, params["metadata"]) if "metadata" in params else {},
        "phases": phases,
        "released_at": None,
        "released_subscription": None,
        "status": "not_started",
        "subscription": None,
        "test_clock": customer["test_clock"],
    }


def _phases(store: ObjectStore, params: Params, first_start: int) -> list[JsonObject]:
    raw_phases = params["phases"]
    if not isinstance(raw_phases, list) or not raw_phases:
        raise invalid_param("phases", "A schedule needs at least one phase.")
    phases: list[JsonObject] = []
    start = first_start
    for index, raw in enumerate(raw_phases):
        if not isinstance(raw, dict):
            raise invalid_param(f"phases[{index}]", "Invalid hash")
        with p.nested(f"phases[{index}]"):
            p.reject_unknown(raw, _PHASE_FIELDS, prefix=f"phases[{index}]")
            if "start_date" in raw and raw["start_date"] != "now":
                start = p.integer(raw, "start_date")
            if "items" not in raw:
                raise missing_param("items")
            items = _phase_items(store, raw)
            prices = [store.require("price", item["price"]) for item in items]
            recurring = prices[0]["recurring"]
            if "end_date" in raw:
                end = p.integer(raw, "end_date")
            else:
                iterations = p.integer(raw, "iterations", minimum=1) if "iterations" in raw else 1
                end = add_interval(
                    start, recurring["interval"], recurring["interval_count"] * iterations
                )
            if end <= start:
                raise invalid_param("end_date", "A phase must end after it starts.")
            phase = _phase(start, end, items, prices[0]["currency"])
            if "proration_behavior" in raw:
                phase["proration_behavior"] = p.choice(
                    raw, "proration_behavior", ("always_invoice", "create_prorations", "none")
                )
            if "metadata" in raw:
                phase["metadata"] = p.apply_metadata({}, raw["metadata"])
        phases.append(phase)
        start = end
    return phases


def _phase_items(store: ObjectStore, raw: Params) -> list[JsonObject]:
    raw_items = raw["items"]
    if not isinstance(raw_items, list) or not raw_items:
        raise invalid_param("items", "A phase needs at least one item.")
    items = []
    for index, item in enumerate(raw_items):
        if not isinstance(item, dict):
            raise invalid_param(f"items[{index}]", "Invalid hash")
        with p.nested(f"items[{index}]"):
            p.reject_unknown(item, _PHASE_ITEM_FIELDS, prefix=f"items[{index}]")
            if "price" not in item:
                raise missing_param("price")
            price_id = p.string(item, "price")
            price = store.find("price", price_id)
            if price is None or price["recurring"] is None:
                raise invalid_param(
                    "price", f"No such recurring price: '{price_id}'", "resource_missing"
                )
            items.append(
                {
                    "price": price_id,
                    "quantity": p.integer(item, "quantity", minimum=0) if "quantity" in item else 1,
                    "metadata": p.apply_metadata({}, item["metadata"])
                    if "metadata" in item
                    else {},
                }
            )
    return items


def _phase(start: int, end: int, items: list[JsonObject], currency: str) -> JsonObject:
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": None,
        "billing_thresholds": None,
        "collection_method": None,
        "currency": currency,
        "default_payment_method": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "end_date": end,
        "invoice_settings": None,
        "items": [
            {
                "billing_thresholds": None,
                "discounts": [],
                "metadata": dict(item["metadata"]),
                "plan": item["price"],
                "price": item["price"],
                "quantity": item["quantity"],
                "tax_rates": [],
            }
            for item in items
        ],
        "metadata": {},
        "on_behalf_of": None,
        "proration_behavior": "create_prorations",
        "start_date": start,
        "transfer_data": None,
        "trial_end": None,
    }


def _specs(
    store: ObjectStore, phase: JsonObject, subscription: JsonObject | None
) -> list[prorations.ItemSpec]:
    """A phase's items as subscription items, keeping the id of an item whose price stays."""
    by_price = {}
    if subscription is not None:
        by_price = {item["price"]["id"]: item["id"] for item in subscription["items"]["data"]}
    return [
        prorations.ItemSpec(
            by_price.get(item["price"]),
            store.require("price", item["price"]),
            int(item["quantity"]),
            item["metadata"],
        )
        for item in phase["items"]
    ]


def _start(
    store: ObjectStore, schedule: JsonObject, phase: JsonObject, now: int, base_url: str
) -> None:
    customer = store.require("customer", schedule["customer"], "customer")
    subscription = subscription_billing.start(
        store, now, base_url, customer, _specs(store, phase, None)
    )
    subscription["schedule"] = schedule["id"]
    subscription["billing_mode"] = copy.deepcopy(schedule["billing_mode"])
    store.insert(subscription)
    events.emit(store, "customer.subscription.created", subscription, now)
    schedule["subscription"] = subscription["id"]
    _enter(store, schedule, phase, now)


def _enter(store: ObjectStore, schedule: JsonObject, phase: JsonObject, now: int) -> None:
    previous = {"status": schedule["status"], "current_phase": schedule["current_phase"]}
    schedule.update(
        status="active",
        current_phase={"end_date": phase["end_date"], "start_date": phase["start_date"]},
    )
    events.emit(store, "subscription_schedule.updated", schedule, now, previous)


def _release(store: ObjectStore, schedule: JsonObject, now: int) -> None:
    subscription = store.find(subscription_objects.OBJECT, schedule["subscription"] or "")
    if subscription is not None:
        subscription["schedule"] = None
    schedule.update(
        status="released",
        released_at=now,
        released_subscription=schedule["subscription"],
        subscription=None,
        current_phase=None,
    )
    events.emit(store, "subscription_schedule.released", schedule, now)


def _require_open(schedule: JsonObject, action: str) -> None:
    if schedule["status"] not in _OPEN:
        raise StripeError(
            400,
            f"You cannot {action} a subscription schedule that is {schedule['status']}.",
        )


def _render(request: ApiRequest, schedule: JsonObject) -> JsonObject:
    return expand.render(request.store, schedule, expand.requested(request.params))
