"""The map of Stripe event handlers, and the customer every handler is given."""

from __future__ import annotations

from typing import Any

from billing.services.stripe_events import (
    checkout_session,
    customer,
    handlers,
    invoice,
    subscription,
)
from billing.services.stripe_events.command import StripeEventCommand, stripe_customer_of


def event(object_type: str, obj: dict[str, Any], object_id: str = "obj_1") -> StripeEventCommand:
    return StripeEventCommand(
        event_id="evt_1",
        type="unit_test.any",
        created=1,
        livemode=False,
        object_id=object_id,
        object_type=object_type,
        payload_object=obj,
    )


def test_each_type_is_handled_in_the_module_of_its_stripe_object():
    modules = {
        "checkout.session": checkout_session,
        "customer.subscription": subscription,
        "invoice": invoice,
        "customer": customer,
    }
    for event_type, handler in handlers.HANDLERS.items():
        stripe_object = event_type.rsplit(".", 1)[0]
        assert handler.__module__ == modules[stripe_object].__name__, event_type


def test_types_that_behave_alike_share_one_handler():
    assert handlers.HANDLERS["customer.subscription.created"] is subscription.synced
    # An end also bills the last period's overage when the period ran its course.
    assert handlers.HANDLERS["customer.subscription.deleted"] is subscription.deleted
    assert handlers.HANDLERS["customer.subscription.updated"] is subscription.updated
    assert handlers.HANDLERS["invoice.updated"] is handlers.HANDLERS["invoice.voided"]
    assert len(set(handlers.HANDLERS.values())) == 12


def test_a_type_nobody_handles_has_no_handler():
    assert handlers.HANDLERS.get("unit_test.nobody_handles_this") is None


def test_the_stripe_customer_behind_an_event_is_the_customer_itself_or_its_customer_field():
    assert stripe_customer_of(event("customer", {"id": "cus_1"}, "cus_1")) == "cus_1"
    assert stripe_customer_of(event("invoice", {"customer": "cus_2"})) == "cus_2"
    assert stripe_customer_of(event("subscription", {"customer": {"id": "cus_3"}})) == "cus_3"
    assert stripe_customer_of(event("charge", {"amount": 999})) is None
    assert stripe_customer_of(event("checkout.session", {"customer": None})) is None
