"""Our copy converges on what Stripe bills, whatever made the change and in whatever order
its events come, over the local stack and the Stripe emulator: a plan switched in Stripe
itself (the portal, the dashboard) becomes the plan held."""

from __future__ import annotations

import httpx
import pytest

from local.stack import LocalStack
from tests.integration.test_billing_update_api import (  # noqa: F401 (fixtures)
    catalog,
    customer,
)
from tests.integration.test_plan_changes_converge import (  # noqa: F401 (fixtures)
    more_plans,
)
from tests.integration.test_uncancel_scheduled_downgrade import OnPremium, held

pytestmark = pytest.mark.realistic_delivery


def test_a_plan_switched_in_stripe_to_another_plans_price_becomes_the_plan_held(
    more_plans: httpx.Client,  # noqa: F811
    clean_stack: LocalStack,
) -> None:
    on = OnPremium(more_plans, clean_stack, downgrade=False)
    subscription = on.subscription()
    (item,) = subscription["items"].data
    pro = more_plans.post("/v1/plans.get", json={"plan_id": "pro"}).json()
    pro_price = next(
        p.id
        for p in on.stripe.v1.prices.list({"limit": 100}).data
        if p.unit_amount == 2000 and p.recurring is not None
    )
    assert pro["price"]["amount"] == 20

    # The customer moves to pro in Stripe's portal (or an operator in its dashboard).
    on.stripe.v1.subscriptions.update(
        subscription.id,
        {"items": [{"id": item.id, "price": pro_price}], "proration_behavior": "none"},
    )

    assert held(more_plans) == [("pro", "active")]
    assert customer(more_plans)["balances"]["messages"]["granted"] == 1000
    assert [i.price.id for i in on.subscription()["items"].data] == [pro_price]
    on.advance_past_the_period_end()
    assert held(more_plans) == [("pro", "active")]
    latest = on.stripe.v1.invoices.list({"customer": on.stripe_customer}).data[0]
    assert (latest.status, latest.total) == ("paid", 2000)
