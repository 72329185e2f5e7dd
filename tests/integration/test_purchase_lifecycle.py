"""A purchase's lifecycle against the local stack (the Stripe emulator behind it, its events
delivered to the stack's webhook): one purchase per thing bought and attempt, its terms
frozen once the customer is asked to pay, and nothing paid twice or granted stale."""

from __future__ import annotations

from typing import Any

import httpx

from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.integration.test_attach_api import (  # noqa: F401 (fixtures)
    PAGE_TIMEOUT_S,
    SEATS,
    SUCCESS_URL,
    TEAM,
    attach,
    catalog,
    customer,
    pay_on_checkout_page,
    webhooks,
    with_card_on_file,
)


def update(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/v1/billing.update", json={"customer_id": "c1", **body})


def held(api: httpx.Client) -> list[tuple[str, str]]:
    return [(s["plan_id"], s["status"]) for s in customer(api)["subscriptions"]]


def test_two_tabs_attaching_one_plan_get_one_checkout_page_and_one_subscription(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    first = attach(catalog, plan_id="pro", success_url=SUCCESS_URL, metadata={"tab": "1"})
    second = attach(
        catalog, plan_id="pro", success_url=f"{SUCCESS_URL}?tab=2", metadata={"tab": "2"}
    )

    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["payment_url"] == second.json()["payment_url"]
    stripe = stripe_client(webhooks)
    (session,) = stripe.v1.checkout.sessions.list().data
    assert session.success_url == SUCCESS_URL, "made with what the first tab sent"

    paid = pay_on_checkout_page(second.json()["payment_url"], "4242424242424242")

    assert paid.status_code == 303
    assert held(catalog) == [("pro", "active")]
    stripe_customer = customer(catalog)["stripe_id"]
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert subscription.status == "active"
    invoices = stripe.v1.invoices.list({"customer": stripe_customer}).data
    assert [(i.status, i.total) for i in invoices] == [("paid", 2000)], "charged once"


def test_other_quantities_in_a_second_tab_supersede_the_first_page(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    catalog.post("/v1/features.create", json=SEATS)
    assert catalog.post("/v1/plans.create", json=TEAM).status_code == 200
    seats = [{"feature_id": "seats", "quantity": 7}]
    first = attach(catalog, plan_id="team", success_url=SUCCESS_URL, feature_quantities=seats)
    more = [{"feature_id": "seats", "quantity": 12}]
    second = attach(catalog, plan_id="team", success_url=SUCCESS_URL, feature_quantities=more)

    assert first.json()["payment_url"] != second.json()["payment_url"]
    stripe = stripe_client(webhooks)
    sessions = {s.url or s.id: s.status for s in stripe.v1.checkout.sessions.list().data}
    assert sorted(sessions.values()) == ["expired", "open"], "the first page can't be paid"
    old = httpx.post(
        first.json()["payment_url"],
        data={"card_number": "4242424242424242"},
        timeout=PAGE_TIMEOUT_S,
    )
    assert old.status_code != 303
    pay_on_checkout_page(second.json()["payment_url"], "4242424242424242")
    assert held(catalog) == [("team", "active")]
    assert customer(catalog)["balances"]["seats"]["granted"] == 12


def test_a_plan_edited_while_its_checkout_is_open_is_sold_on_the_terms_shown(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    asked = attach(catalog, plan_id="pro", success_url=SUCCESS_URL).json()

    edited = catalog.post(
        "/v1/plans.update",
        json={
            "plan_id": "pro",
            "price": {"amount": 30, "interval": "month"},
            "items": [{"feature_id": "messages", "included": 3000}, {"feature_id": "sso"}],
        },
    )

    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2, "the version a checkout shows is never edited"
    shown = catalog.post("/v1/plans.get", json={"plan_id": "pro", "version": 1}).json()
    assert shown["price"]["amount"] == 20
    pay_on_checkout_page(asked["payment_url"], "4242424242424242")
    assert held(catalog) == [("pro", "active")]
    assert customer(catalog)["balances"]["messages"]["granted"] == 1000, "version 1's terms"
    stripe = stripe_client(webhooks)
    stripe_customer = customer(catalog)["stripe_id"]
    (invoice,) = stripe.v1.invoices.list({"customer": stripe_customer}).data
    assert invoice.total == 2000, "charged the price shown"

    cancelled = update(catalog, plan_id="pro", cancel_action="cancel_immediately")

    assert cancelled.status_code == 200, cancelled.text
    assert held(catalog) == []
    found = stripe.v1.subscriptions.list({"customer": stripe_customer, "status": "all"}).data
    assert [s.status for s in found] == ["canceled"]


def test_a_plan_attached_again_after_cancelling_it_now_is_bought_again(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    assert attach(catalog, plan_id="pro").json()["invoice"]["status"] == "paid"
    assert update(catalog, plan_id="pro", cancel_action="cancel_immediately").status_code == 200
    assert held(catalog) == []

    again = attach(catalog, plan_id="pro")

    assert again.status_code == 200, again.text
    assert again.json()["invoice"]["status"] == "paid"
    assert held(catalog) == [("pro", "active")]
    assert customer(catalog)["balances"]["messages"]["granted"] == 1000
    stripe = stripe_client(webhooks)
    found = stripe.v1.subscriptions.list({"customer": stripe_customer, "status": "all"}).data
    assert sorted(s.status for s in found) == ["active", "canceled"]


def test_a_plans_free_trial_is_given_once_per_customer(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    trial = {"duration_length": 14, "duration_type": "day"}
    plan = {
        "plan_id": "trialed",
        "name": "Trialed",
        "price": {"amount": 20, "interval": "month"},
        "items": [{"feature_id": "messages", "included": 1000}],
        "free_trial": trial,
    }
    assert catalog.post("/v1/plans.create", json=plan).status_code == 200
    with_card_on_file(catalog, webhooks, "pm_card_visa")
    first = attach(catalog, plan_id="trialed").json()
    assert customer(catalog)["subscriptions"][0]["trial_ends_at"] is not None
    assert first["invoice"]["total"] == 0
    assert update(catalog, plan_id="trialed", cancel_action="cancel_immediately").status_code == 200

    again = attach(catalog, plan_id="trialed")

    assert again.status_code == 200, again.text
    assert (again.json()["invoice"]["status"], again.json()["invoice"]["total"]) == ("paid", 20)
    (sub,) = customer(catalog)["subscriptions"]
    assert sub["trial_ends_at"] is None, "no second trial: paid from the start"


def test_a_card_saved_on_an_old_setup_page_runs_no_stale_plan_change(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    old_page = catalog.post(
        "/v1/billing.setup_payment",
        json={"customer_id": "c1", "success_url": SUCCESS_URL, "plan_id": "pro"},
    ).json()["url"]
    # Meanwhile the customer bought premium on a checkout page.
    bought = attach(catalog, plan_id="premium", success_url=SUCCESS_URL).json()
    pay_on_checkout_page(bought["payment_url"], "4242424242424242")
    assert held(catalog) == [("premium", "active")]

    saved = pay_on_checkout_page(old_page, "4242424242424242")

    assert saved.status_code == 303, "the card is saved all the same"
    assert held(catalog) == [("premium", "active")], "no downgrade to pro scheduled"
    stripe = stripe_client(webhooks)
    (subscription,) = stripe.v1.subscriptions.list({"customer": customer(catalog)["stripe_id"]})
    assert subscription.schedule is None


def test_a_declined_upgrade_retried_with_a_new_card_charges_once_and_its_old_invoice_is_void(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")
    stripe = stripe_client(webhooks)
    failing = stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": stripe_customer}
    )
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": failing.id})
    declined = attach(catalog, plan_id="premium").json()
    assert declined["required_action"]["code"] == "payment_failed"
    good = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": stripe_customer})
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": good.id})

    retried = attach(catalog, plan_id="premium")

    assert retried.status_code == 200, retried.text
    assert retried.json()["invoice"]["status"] == "paid"
    (old,) = [
        i
        for i in stripe.v1.invoices.list({"customer": stripe_customer}).data
        if i.hosted_invoice_url == declined["invoice"]["hosted_invoice_url"]
    ]
    assert old.status == "void", "the declined attempt's invoice can no longer be paid"
    paid_later = httpx.post(
        old.hosted_invoice_url or "",
        data={"action": "pay", "card_number": "4242424242424242"},
        timeout=PAGE_TIMEOUT_S,
    )
    assert paid_later.status_code != 200 or stripe.v1.invoices.retrieve(old.id).status == "void"
    assert held(catalog) == [("premium", "active")]
    assert customer(catalog)["balances"]["messages"]["granted"] == 5000, "held once"
    upgrades = [
        i
        for i in stripe.v1.invoices.list({"customer": stripe_customer}).data
        if i.billing_reason == "subscription_update" and i.status == "paid"
    ]
    assert len(upgrades) == 1, "the proration charged once"


def test_a_quantity_change_retried_after_a_decline_buys_the_seats_and_voids_the_old_invoice(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    catalog.post("/v1/features.create", json=SEATS)
    assert catalog.post("/v1/plans.create", json=TEAM).status_code == 200
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 7}])
    stripe = stripe_client(webhooks)
    failing = stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": stripe_customer}
    )
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": failing.id})
    more = [{"feature_id": "seats", "quantity": 17}]
    declined = update(catalog, plan_id="team", feature_quantities=more).json()
    assert declined["required_action"]["code"] == "payment_failed"
    good = stripe.v1.payment_methods.attach("pm_card_visa", {"customer": stripe_customer})
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": good.id})

    retried = update(catalog, plan_id="team", feature_quantities=more)

    assert retried.status_code == 200, retried.text
    assert retried.json()["invoice"]["status"] == "paid"
    assert customer(catalog)["balances"]["seats"]["granted"] == 17
    invoices = stripe.v1.invoices.list({"customer": stripe_customer}).data
    statuses = sorted(i.status for i in invoices if i.billing_reason == "subscription_update")
    assert statuses == ["paid", "void"], "the declined attempt's invoice can't be paid too"


def test_prepaid_seats_cut_below_those_in_use_are_refused_and_nothing_is_credited(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    catalog.post("/v1/features.create", json=SEATS)
    assert catalog.post("/v1/plans.create", json=TEAM).status_code == 200
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 12}])
    used = {"customer_id": "c1", "feature_id": "seats", "value": 6}
    assert catalog.post("/v1/balances.track", json=used).status_code == 200

    cut = update(
        catalog, plan_id="team", feature_quantities=[{"feature_id": "seats", "quantity": 2}]
    )

    assert cut.status_code == 400, cut.text
    assert cut.json()["details"][0]["field"] == "feature_quantities.seats"
    assert customer(catalog)["balances"]["seats"]["granted"] == 12
    stripe = stripe_client(webhooks)
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    assert sorted(i.quantity for i in subscription["items"].data) == [1, 2]
    assert len(stripe.v1.invoices.list({"customer": stripe_customer}).data) == 1


def test_a_declined_upgrades_invoice_paid_after_the_plan_was_cancelled_is_refunded_not_granted(
    catalog: httpx.Client,  # noqa: F811
    webhooks: LocalStack,  # noqa: F811
) -> None:
    stripe_customer = with_card_on_file(catalog, webhooks, "pm_card_visa")
    attach(catalog, plan_id="pro")
    stripe = stripe_client(webhooks)
    failing = stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": stripe_customer}
    )
    (subscription,) = stripe.v1.subscriptions.list({"customer": stripe_customer}).data
    stripe.v1.subscriptions.update(subscription.id, {"default_payment_method": failing.id})
    declined = attach(catalog, plan_id="premium").json()
    assert declined["required_action"]["code"] == "payment_failed"
    assert update(catalog, plan_id="pro", cancel_action="cancel_immediately").status_code == 200

    httpx.post(
        declined["invoice"]["hosted_invoice_url"],
        data={"action": "pay", "card_number": "4242424242424242"},
        timeout=PAGE_TIMEOUT_S,
    )

    assert held(catalog) == [], "no upgrade granted in place of a plan already gone"
    assert "messages" not in customer(catalog)["balances"]
    (old,) = [
        i
        for i in stripe.v1.invoices.list({"customer": stripe_customer}).data
        if i.hosted_invoice_url == declined["invoice"]["hosted_invoice_url"]
    ]
    # Cancelling voided the upgrade's open invoice: it can no longer be paid at all.
    assert (old.status, old.amount_paid) == ("void", 0)
    assert stripe.v1.refunds.list().data == [], "nothing taken, nothing to give back"
