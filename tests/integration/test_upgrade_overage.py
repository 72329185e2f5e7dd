"""The old plan's overage on an immediate upgrade, billed on the upgrade's own invoice (as
Autumn bills it): Pro ($20, 100 messages included, then $0.10 each) with 150 used, upgraded
to Premium ($50) at the start of its period, is one invoice of $35 (the $30 prorated
difference and the $5 overage), whoever pays it and whenever: the card on file now, the
customer after 3-D Secure, another card on the hosted page after a decline. An upgrade never
paid bills none of it: Pro stays, and its renewal bills the whole period's overage once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_overage_invoices import (
    CENT,
    PREMIUM,
    messages,
    pro_with_overage,
    redelivered_unseen,
    subscribe,
)
from tests.integration.test_trial_overage import on_trial
from tests.stripe_clocks import advance

pytestmark = pytest.mark.slow

PAGE_TIMEOUT_S = 120
UPGRADE = {"customer_id": "c1", "plan_id": "premium"}


def dollars(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def invoices(api: httpx.Client) -> list[tuple[Decimal, str]]:
    """The customer's invoices as (total, status), sorted (invoices made at one test-clock
    instant have no order among them)."""
    listed = api.post("/v1/invoices.list", json={"customer_id": "c1"})
    assert listed.status_code == 200, listed.text
    return sorted((dollars(i["total"]), i["status"]) for i in listed.json()["list"])


def held(api: httpx.Client) -> list[tuple[str, str]]:
    answer = api.post("/v1/customers.get", json={"customer_id": "c1"}).json()
    return sorted((s["plan_id"], s["status"]) for s in answer["subscriptions"])


def track(api: httpx.Client, value: int) -> None:
    used = {"customer_id": "c1", "feature_id": "messages", "value": value}
    assert api.post("/v1/balances.track", json=used).status_code == 200


def paying_with(stack: LocalStack, subscribed: dict[str, Any], card: str) -> None:
    """The customer's card (its default, and its subscription's) is now `card`."""
    stripe = stripe_client(stack)
    customer = subscribed["stripe_customer"]
    method = stripe.v1.payment_methods.attach(card, {"customer": customer})
    stripe.v1.customers.update(
        customer, {"invoice_settings": {"default_payment_method": method.id}}
    )
    (subscription,) = stripe.v1.subscriptions.list({"customer": customer}).data
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": method.id})


def test_an_immediate_upgrade_bills_the_old_plans_overage_on_its_own_invoice_once(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM)
    track(api, 150)

    preview = api.post("/v1/billing.preview_attach", json=UPGRADE)
    assert preview.status_code == 200, preview.text
    assert dollars(preview.json()["total"]) == Decimal("35.00")
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text
    assert dollars(attached.json()["invoice"]["total"]) == Decimal("35.00")
    # A retried attach bills nothing more.
    assert api.post("/v1/billing.attach", json=UPGRADE).status_code in (200, 409)

    # One invoice for the upgrade: the proration and the overage together.
    assert invoices(api) == [(Decimal("20.00"), "paid"), (Decimal("35.00"), "paid")]
    assert held(api) == [("premium", "active")]
    assert (messages(api)["usage"], messages(api)["remaining"]) == (0, 1000)


@pytest.mark.realistic_delivery
@pytest.mark.parametrize(
    ("card", "asked", "on_the_page"),
    [
        ("pm_card_authenticationRequired", "3ds_required", {"action": "authenticate"}),
        (
            "pm_card_chargeCustomerFail",
            "payment_failed",
            {"action": "pay", "card_number": "4242424242424242"},
        ),
    ],
    ids=["authenticated_later", "paid_on_the_hosted_page_after_a_decline"],
)
def test_an_upgrade_paid_later_bills_the_old_plans_overage_with_it(
    api: httpx.Client,
    clean_stack: LocalStack,
    card: str,
    asked: str,
    on_the_page: dict[str, str],
) -> None:
    subscribed = subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM)
    track(api, 150)
    paying_with(clean_stack, subscribed, card)

    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text
    answer = attached.json()
    assert answer["required_action"]["code"] == asked
    assert dollars(answer["invoice"]["total"]) == Decimal("35.00")
    assert held(api) == [("pro", "active")], "nothing granted before it is paid"

    page = httpx.post(answer["payment_url"], data=on_the_page, timeout=PAGE_TIMEOUT_S)
    assert page.status_code == 200, page.text

    # Paid once, both together, and the plan granted by the invoice's payment.
    assert invoices(api) == [(Decimal("20.00"), "paid"), (Decimal("35.00"), "paid")]
    assert held(api) == [("premium", "active")]
    assert (messages(api)["usage"], messages(api)["remaining"]) == (0, 1000)


def test_an_upgrade_never_paid_leaves_the_old_plan_whose_renewal_bills_the_whole_overage(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    subscribed = subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM)
    track(api, 150)
    paying_with(clean_stack, subscribed, "pm_card_chargeCustomerFail")

    declined = api.post("/v1/billing.attach", json=UPGRADE)
    assert declined.status_code == 200, declined.text
    assert declined.json()["required_action"]["code"] == "payment_failed"
    # The upgrade's invoice asks for both; nothing of it is paid.
    assert invoices(api) == [(Decimal("20.00"), "paid"), (Decimal("35.00"), "open")]
    assert held(api) == [("pro", "active")]

    # Pro goes on: 50 more used, then its renewal, paid with a working card.
    track(api, 50)
    paying_with(clean_stack, subscribed, "pm_card_visa")
    advance(stripe_client(clean_stack), subscribed["clock"], subscribed["period_end"] + 86400)

    # The renewal bills Pro's $20 and the whole period's 100 messages past the allowance,
    # once; the upgrade's invoice can no longer be paid for a period that has closed.
    assert invoices(api) == [
        (Decimal("20.00"), "paid"),
        (Decimal("30.00"), "paid"),
        (Decimal("35.00"), "void"),
    ]
    assert held(api) == [("pro", "active")]


def test_an_upgrade_without_proration_leaves_the_old_plans_overage_for_the_next_invoice(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    subscribed = subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM)
    track(api, 150)
    unprorated = {**UPGRADE, "proration_behavior": "none"}

    preview = api.post("/v1/billing.preview_attach", json=unprorated)
    assert preview.status_code == 200, preview.text
    assert dollars(preview.json()["total"]) == Decimal("0.00")
    assert dollars(preview.json()["next_cycle"]["total"]) == Decimal("55.00")
    attached = api.post("/v1/billing.attach", json=unprorated)
    assert attached.status_code == 200, attached.text

    # Nothing invoiced now; Premium granted at once.
    assert invoices(api) == [(Decimal("20.00"), "paid")]
    assert held(api) == [("premium", "active")]

    advance(stripe_client(clean_stack), subscribed["clock"], subscribed["period_end"] + 86400)

    # The next invoice: Premium's $50 and Pro's $5 overage, once.
    assert invoices(api) == [(Decimal("20.00"), "paid"), (Decimal("55.00"), "paid")]


def test_an_upgrade_during_a_trial_bills_none_of_the_trials_overage(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    on_trial(api, clean_stack, PREMIUM)
    track(api, 150)

    # The trial ends with the upgrade: Premium's $50 now, no line for Pro's usage (see
    # test_trial_upgrade.py for the rest of the scenario).
    preview = api.post("/v1/billing.preview_attach", json=UPGRADE)
    assert preview.status_code == 200, preview.text
    assert [dollars(line["total"]) for line in preview.json()["line_items"]] == [Decimal("50.00")]
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text
    assert invoices(api) == [(Decimal("0.00"), "paid"), (Decimal("50.00"), "paid")]


def test_attaching_again_after_a_decline_bills_the_old_plans_overage_once(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    subscribed = subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM)
    track(api, 150)
    paying_with(clean_stack, subscribed, "pm_card_chargeCustomerFail")
    declined = api.post("/v1/billing.attach", json=UPGRADE)
    assert declined.json()["required_action"]["code"] == "payment_failed"

    # Another card, and the same upgrade asked again: a new attempt, the declined one's
    # invoice voided first.
    paying_with(clean_stack, subscribed, "pm_card_visa")
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text
    assert "required_action" not in attached.json() or not attached.json()["required_action"]

    assert invoices(api) == [
        (Decimal("20.00"), "paid"),
        (Decimal("35.00"), "paid"),
        (Decimal("35.00"), "void"),
    ]
    assert held(api) == [("premium", "active")]


def test_the_upgrade_preview_is_what_its_invoice_charges_to_the_cent(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    # 3 messages past the allowance at $0.125: Stripe charges the line $0.38.
    subscribe(api, clean_stack, pro_with_overage(0.125, 1), PREMIUM)
    track(api, 103)

    preview = api.post("/v1/billing.preview_attach", json=UPGRADE)
    assert preview.status_code == 200, preview.text
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text

    charged = Decimal(str(attached.json()["invoice"]["total"]))
    assert charged == Decimal("30.38")
    assert Decimal(str(preview.json()["total"])) == charged


@pytest.mark.realistic_delivery
def test_usage_on_the_old_plan_until_a_late_paid_upgrade_is_billed_once_on_the_next_invoice(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    subscribed = subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM)
    track(api, 150)
    paying_with(clean_stack, subscribed, "pm_card_authenticationRequired")
    attached = api.post("/v1/billing.attach", json=UPGRADE)
    assert attached.status_code == 200, attached.text
    answer = attached.json()
    assert answer["required_action"]["code"] == "3ds_required"

    # Still on Pro until the upgrade is paid: 30 more past its allowance ($3).
    track(api, 30)
    authenticated = {"action": "authenticate"}
    page = httpx.post(answer["payment_url"], data=authenticated, timeout=PAGE_TIMEOUT_S)
    assert page.status_code == 200, page.text
    assert invoices(api) == [(Decimal("20.00"), "paid"), (Decimal("35.00"), "paid")]
    assert held(api) == [("premium", "active")]
    # Stripe delivers the payment again after we forgot we saw it: nothing more is added.
    redelivered_unseen(clean_stack, "invoice.paid")

    # The next invoice: Premium's $50 and the 30 messages used before the upgrade was paid.
    paying_with(clean_stack, subscribed, "pm_card_visa")
    advance(stripe_client(clean_stack), subscribed["clock"], subscribed["period_end"] + 86400)
    assert invoices(api) == [
        (Decimal("20.00"), "paid"),
        (Decimal("35.00"), "paid"),
        (Decimal("53.00"), "paid"),
    ]


def test_late_usage_recorded_by_the_grant_is_billed_by_the_payments_redelivery_after_a_stop(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    emulator = clean_stack.emulator
    assert emulator is not None
    subscribed = subscribe(api, clean_stack, pro_with_overage(0.1, 1), PREMIUM)
    track(api, 150)
    paying_with(clean_stack, subscribed, "pm_card_authenticationRequired")
    answer = api.post("/v1/billing.attach", json=UPGRADE).json()
    assert answer["required_action"]["code"] == "3ds_required"
    track(api, 30)

    # The grant lands, then the invoice item can't be made (the SDK's try and its retries
    # all fail): the delivery fails, and Stripe delivers the payment again.
    emulator.fail_next("POST", "/v1/invoiceitems", status=500, times=3)
    authenticated = {"action": "authenticate"}
    page = httpx.post(answer["payment_url"], data=authenticated, timeout=PAGE_TIMEOUT_S)
    assert page.status_code == 200, page.text
    clean_stack.settle()
    assert emulator.requests_made("POST", "/v1/invoiceitems") == 4
    assert held(api) == [("premium", "active")]

    paying_with(clean_stack, subscribed, "pm_card_visa")
    advance(stripe_client(clean_stack), subscribed["clock"], subscribed["period_end"] + 86400)
    assert invoices(api) == [
        (Decimal("20.00"), "paid"),
        (Decimal("35.00"), "paid"),
        (Decimal("53.00"), "paid"),
    ]
