"""An upgrade whose payment is declined, over the local stack and the Stripe emulator: what
it took back first (a downgrade scheduled, a cancellation at the period end) is put back,
in Stripe and here, so the customer ends where it was; and a cancellation while its invoice
is still open voids that invoice, so it cannot be paid later for a stale upgrade."""

from __future__ import annotations

import httpx
import pytest
import stripe

from local.stack import LocalStack
from tests.integration.test_billing_update_api import (  # noqa: F401 (fixtures)
    attach,
    catalog,
    customer,
    update,
)
from tests.integration.test_plan_changes_converge import (  # noqa: F401 (fixtures)
    after_the_period_end,
    more_plans,
)
from tests.integration.test_uncancel_scheduled_downgrade import OnPremium, held

pytestmark = pytest.mark.realistic_delivery


def declining(on: OnPremium) -> None:
    """The subscription's card now declines every charge."""
    failing = on.stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": on.stripe_customer}
    )
    on.stripe.v1.subscriptions.update(on.subscription().id, {"default_payment_method": failing.id})


def declined_upgrade(api: httpx.Client) -> dict[str, object]:
    answer = attach(api, plan_id="ultra")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    assert body["required_action"] == {
        "code": "payment_failed",
        "reason": "The card on file was declined.",
    }
    return body


def test_a_declined_upgrade_puts_back_the_downgrade_it_took_back(
    more_plans: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    on = OnPremium(more_plans, clean_stack)
    declining(on)

    declined_upgrade(more_plans)

    assert held(more_plans) == [("premium", "active"), ("pro", "scheduled")]
    assert on.subscription().schedule is not None, "Stripe still switches to pro"
    assert after_the_period_end(on, more_plans)[:2] == ([("pro", "active")], [2000])


def test_a_declined_upgrade_puts_back_the_cancellation_it_took_back(
    more_plans: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    on = OnPremium(more_plans, clean_stack, downgrade=False)
    assert update(more_plans, plan_id="premium", cancel_action="cancel_end_of_cycle").is_success
    declining(on)

    declined_upgrade(more_plans)

    assert on.subscription().cancel_at_period_end is True, "Stripe still ends it"
    (premium,) = customer(more_plans)["subscriptions"]
    assert premium["plan_id"] == "premium"
    assert premium["canceled_at"] is not None
    assert premium["expires_at"] is not None
    on.advance_past_the_period_end()
    assert held(more_plans) == [("free", "active")]
    assert on.statuses() == ["canceled"]


@pytest.mark.parametrize("action", ["cancel_end_of_cycle", "cancel_immediately"])
def test_cancelling_voids_a_declined_upgrades_open_invoice(
    more_plans: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
    action: str,
) -> None:
    on = OnPremium(more_plans, clean_stack, downgrade=False)
    declining(on)
    upgrade = declined_upgrade(more_plans)
    invoice = upgrade["invoice"]
    assert isinstance(invoice, dict)

    assert update(more_plans, plan_id="premium", cancel_action=action).is_success

    assert on.stripe.v1.invoices.retrieve(invoice["stripe_id"]).status == "void"
    good = on.stripe.v1.payment_methods.attach("pm_card_visa", {"customer": on.stripe_customer})
    with pytest.raises(stripe.InvalidRequestError):
        on.stripe.v1.invoices.pay(invoice["stripe_id"], {"payment_method": good.id})
    assert [s["plan_id"] for s in customer(more_plans)["subscriptions"]] in (
        ["premium"],
        ["free"],
    ), "no stale upgrade granted"
