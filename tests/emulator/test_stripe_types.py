"""The check of emulator answers against Stripe's published types: pinned to the SDK's API
version, and each kind of difference is caught and named (path, expected, got)."""

import copy
import json
from typing import Any

import pytest
import stripe

from local.stripe_emulator import StripeEmulator
from local.stripe_emulator.server import API_VERSION, HttpResponse
from tests.emulator.conftest import CLASSIC_BILLING
from tests.emulator.stripe_types.conformance import published_types
from tests.emulator.stripe_types.recorder import ShapeRecorder


def test_schemas_are_for_the_api_version_the_python_sdk_and_the_emulator_pin() -> None:
    types = published_types()
    assert types.api_version == stripe.api_version == API_VERSION
    assert types.npm_version == "23.1.0"


@pytest.fixture
def customer(client: stripe.StripeClient) -> dict[str, Any]:
    """A customer exactly as the emulator sent it."""
    created = client.v1.customers.create({"email": "a@example.com"})
    body: dict[str, Any] = json.loads(created.last_response.body)
    assert published_types().problems(body) == []
    return body


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.pop("balance"), "$: missing required 'balance' [Customer]"),
        (lambda c: c.update(total_spend=5), "$: total_spend not in Stripe's type [Customer]"),
        (
            lambda c: c.update(balance="0"),
            '$.balance: expected type "integer", got "0" [Customer]',
        ),
        (
            lambda c: c.update(balance=1.5),
            '$.balance: expected type "integer", got 1.5 [Customer]',
        ),
        # Optional but never null: Stripe leaves it out instead.
        (
            lambda c: c.update(business_name=None),
            '$.business_name: expected type "string", got null [Customer]',
        ),
        (
            lambda c: c.update(discount={"id": "di_1", "object": "discount"}),
            '$.discount: expected null | Discount, got {"id": "di_1", "object": "discount"}; '
            "Stripe's Discount, which the emulator does not serve [Customer]",
        ),
        # An expanded object is checked in full, inside the id-or-object union.
        (
            lambda c: c["invoice_settings"].update(default_payment_method={"object": "x"}),
            '$.invoice_settings.default_payment_method.object: expected const "payment_method"',
        ),
        (
            lambda c: c.update(object="customers"),
            "$: object 'customers' is none of the types the emulator serves",
        ),
    ],
)
def test_each_kind_of_difference_is_named_with_path_expectation_and_value(
    customer: dict[str, Any], change: Any, expected: str
) -> None:
    broken = copy.deepcopy(customer)
    change(broken)
    problems = published_types().problems(broken)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_list_items_and_an_events_object_are_checked_by_their_own_type(
    customer: dict[str, Any],
) -> None:
    stray = {**customer, "shoe_size": 44}
    listed = {"object": "list", "data": [customer, stray], "has_more": False, "url": "/v1/x"}
    assert published_types().problems(listed) == [
        "$.data[1]: shoe_size not in Stripe's type [Customer]"
    ]
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": API_VERSION,
        "created": 1,
        "data": {
            "object": customer,
            # A changed hash lists only its changed keys; null was "not there".
            "previous_attributes": {
                "mood": "sad",
                "amount_due": "5",
                "status_transitions": {"paid_at": None},
                "due_date": None,
            },
        },
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": "invoice.paid",
    }
    assert published_types().problems(event) == [
        "$.data.object: a invoice.paid event carries a Invoice, got object 'customer'",
        "$.data.previous_attributes.mood: Invoice has no such property",
        '$.data.previous_attributes.amount_due: expected type "integer", got "5" '
        "[Invoice.amount_due]",
    ]


def test_an_error_envelope_is_checked_as_stripes_error_object() -> None:
    ok = {"error": {"type": "card_error", "message": "Declined", "code": "card_declined"}}
    assert published_types().problems(ok) == []
    with_null = {"error": {"type": "card_error", "message": "Declined", "charge": None}}
    assert published_types().problems(with_null) == [
        '$.error.charge: expected type "string", got null [StripeRawError]'
    ]
    assert published_types().problems({**ok, "status": 402}) == [
        "$.status: not in Stripe's error envelope"
    ]


def test_the_recorder_checks_what_an_emulator_answers_and_skips_pages_and_controls(
    emulator: StripeEmulator,
) -> None:
    answers = {
        "/v1/customers/cus_1": HttpResponse(200, b'{"id": "cus_1", "object": "customer"}'),
        "/_emulator/counts": HttpResponse(200, b'{"customer": 1}'),
        "/checkout/cs_1": HttpResponse(200, b"<html></html>", {"Content-Type": "text/html"}),
    }
    recorder = ShapeRecorder()
    handle = recorder.wrap(lambda _emulator, _method, target, _headers, _body: answers[target])
    for target in answers:
        handle(emulator, "GET", target, {}, b"")
    assert recorder.problems
    answer = "GET /v1/customers/cus_1 -> 200: $: missing required"
    assert all(problem.startswith(answer) for problem in recorder.problems)


def test_an_invoice_item_for_a_subscription_but_no_item_leaves_the_item_out(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    # Stripe's types: subscription_details.subscription_item is optional, never null.
    card = "pm_card_visa"
    customer = client.v1.customers.create(
        {"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    )
    subscription = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
        }
    )
    item = client.v1.invoice_items.create(
        {"customer": customer.id, "subscription": subscription.id, "amount": 500, "currency": "usd"}
    )
    body = json.loads(item.last_response.body)
    assert body["parent"]["subscription_details"] == {"subscription": subscription.id}
    assert published_types().problems(body) == []
