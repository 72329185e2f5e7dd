"""The card-on-file flows of billing.attach, against Stripe's test mode (opt-in: see
conftest.py). Stripe answers them within the attach call, so no webhook forwarding is
needed; the Checkout flows need a person at Stripe's page and stay with the emulator."""

from __future__ import annotations

from typing import Any

import httpx
import stripe

from local.stack import LocalStack


def paid_plan(api: httpx.Client, run_id: str) -> str:
    plan_id = f"pro_{run_id}"
    feature = api.post(
        "/v1/features.create",
        json={"feature_id": f"messages_{run_id}", "name": "Messages", "type": "metered"},
    )
    assert feature.status_code == 200, feature.text
    plan = api.post(
        "/v1/plans.create",
        json={
            "plan_id": plan_id,
            "name": "Pro",
            "price": {"amount": 20, "interval": "month"},
            "items": [{"feature_id": f"messages_{run_id}", "included": 1000}],
        },
    )
    assert plan.status_code == 200, plan.text
    return plan_id


def customer_with_card(
    api: httpx.Client, stack: LocalStack, run_id: str, payment_method: str
) -> tuple[str, str]:
    customer_id = f"c_{run_id}"
    linked = api.post(
        "/v1/customers.get_or_create", json={"customer_id": customer_id, "create_in_stripe": True}
    ).json()
    client = stripe_client(stack)
    card = client.v1.payment_methods.attach(payment_method, {"customer": linked["stripe_id"]})
    client.v1.customers.update(
        linked["stripe_id"], {"invoice_settings": {"default_payment_method": card.id}}
    )
    return customer_id, str(linked["stripe_id"])


def stripe_client(stack: LocalStack) -> stripe.StripeClient:
    assert stack.config.stripe_secret_key is not None
    return stripe.StripeClient(stack.config.stripe_secret_key)


def attach(api: httpx.Client, key: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/v1/billing.attach", json=body, headers=headers)


def test_a_paid_plan_on_a_card_on_file_is_one_paid_invoice_and_granted(
    live_api: httpx.Client, live_stack: LocalStack, run_id: str
) -> None:
    plan_id = paid_plan(live_api, run_id)
    customer_id, stripe_customer = customer_with_card(live_api, live_stack, run_id, "pm_card_visa")

    answer = attach(live_api, customer_id=customer_id, plan_id=plan_id)

    assert answer.status_code == 200, answer.text
    assert answer.json()["invoice"]["status"] == "paid"
    held = live_api.post("/v1/customers.get", json={"customer_id": customer_id}).json()
    assert [s["plan_id"] for s in held["subscriptions"]] == [plan_id]
    assert held["balances"][f"messages_{run_id}"]["granted"] == 1000
    invoices = stripe_client(live_stack).v1.invoices.list({"customer": stripe_customer}).data
    assert [(i.status, i.total) for i in invoices] == [("paid", 2000)]


def test_a_declined_card_on_file_answers_payment_failed_and_grants_nothing(
    live_api: httpx.Client, live_stack: LocalStack, run_id: str
) -> None:
    plan_id = paid_plan(live_api, run_id)
    customer_id, _ = customer_with_card(live_api, live_stack, run_id, "pm_card_chargeCustomerFail")

    answer = attach(live_api, customer_id=customer_id, plan_id=plan_id)

    assert answer.status_code == 200, answer.text
    assert answer.json()["required_action"]["code"] == "payment_failed"
    held = live_api.post("/v1/customers.get", json={"customer_id": customer_id}).json()
    assert held["subscriptions"] == []


def test_a_card_needing_authentication_answers_3ds_required_and_grants_nothing(
    live_api: httpx.Client, live_stack: LocalStack, run_id: str
) -> None:
    plan_id = paid_plan(live_api, run_id)
    customer_id, _ = customer_with_card(
        live_api, live_stack, run_id, "pm_card_authenticationRequired"
    )

    answer = attach(live_api, customer_id=customer_id, plan_id=plan_id)

    assert answer.status_code == 200, answer.text
    assert answer.json()["required_action"]["code"] == "3ds_required"
    assert answer.json()["payment_url"]
    held = live_api.post("/v1/customers.get", json={"customer_id": customer_id}).json()
    assert held["subscriptions"] == []


def test_the_same_attach_retried_with_one_key_makes_one_subscription(
    live_api: httpx.Client, live_stack: LocalStack, run_id: str
) -> None:
    plan_id = paid_plan(live_api, run_id)
    customer_id, stripe_customer = customer_with_card(live_api, live_stack, run_id, "pm_card_visa")

    answers = [
        attach(live_api, key=f"attach-{run_id}", customer_id=customer_id, plan_id=plan_id)
        for _ in range(3)
    ]

    assert {a.status_code for a in answers} == {200}
    subscriptions = stripe_client(live_stack).v1.subscriptions.list({"customer": stripe_customer})
    assert len(subscriptions.data) == 1
