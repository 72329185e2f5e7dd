"""Subscriptions: payment behaviours, trials, prorations, pending updates, cancellation."""

import calendar
from datetime import UTC, datetime

import httpx
import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING


def _customer(client, card="pm_card_visa"):
    return client.v1.customers.create(
        {"payment_method": card, "invoice_settings": {"default_payment_method": card}}
    )


def _subscribe(client, customer_id, price, **extra):
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer_id,
            "items": [{"price": price, "quantity": 1}],
            "expand": ["latest_invoice.payments"],
            **extra,
        }
    )


def _intent_of(client, invoice):
    return client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)


def test_card_on_file_makes_it_active_with_a_paid_first_invoice(client, emulator, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"], metadata={"plan": "basic"})
    assert sub.status == "active"
    assert sub.metadata.to_dict() == {"plan": "basic"}
    invoice = sub.latest_invoice
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (
        "paid",
        1000,
        "subscription_create",
    )
    assert invoice.parent.subscription_details.subscription == sub.id
    item = sub["items"].data[0]
    start = datetime.fromtimestamp(item.current_period_start, UTC)
    days = calendar.monthrange(start.year, start.month)[1]
    assert item.current_period_end - item.current_period_start in {
        d * 86400 for d in (28, 29, 30, 31)
    }
    assert days >= 28
    assert item.price.id == prices["basic"]
    assert _intent_of(client, invoice).status == "succeeded"
    [created] = emulator.events("customer.subscription.created")
    assert created["data"]["object"]["status"] == "active"
    assert len(emulator.events("invoice.paid")) == 1
    listed = client.v1.subscriptions.list({"customer": customer.id})
    assert [s.id for s in listed.data] == [sub.id]


def test_allow_incomplete_with_a_failing_card_is_incomplete_until_paid(client, emulator, prices):
    customer = _customer(client, "pm_card_chargeCustomerFail")
    sub = _subscribe(client, customer.id, prices["basic"])
    assert sub.status == "incomplete"
    assert sub.latest_invoice.status == "open"
    assert sub.latest_invoice.attempt_count == 1
    assert len(emulator.events("invoice.payment_failed")) == 1
    paid = httpx.post(
        sub.latest_invoice.hosted_invoice_url,
        data={"action": "pay", "card_number": "4242424242424242"},
    )
    assert paid.status_code == 200
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    [updated] = emulator.events("customer.subscription.updated")
    assert updated["data"]["previous_attributes"]["status"] == "incomplete"


def test_authentication_required_card_waits_for_the_hosted_page(client, prices):
    customer = _customer(client, "pm_card_authenticationRequired")
    sub = _subscribe(client, customer.id, prices["basic"])
    assert sub.status == "incomplete"
    assert _intent_of(client, sub.latest_invoice).status == "requires_action"
    httpx.post(sub.latest_invoice.hosted_invoice_url, data={"action": "authenticate"})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_default_incomplete_leaves_payment_to_the_caller(client, emulator, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"], payment_behavior="default_incomplete")
    assert sub.status == "incomplete"
    intent = _intent_of(client, sub.latest_invoice)
    assert intent.status == "requires_confirmation"
    assert emulator.events("charge.succeeded") == []
    client.v1.payment_intents.confirm(intent.id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.invoices.retrieve(sub.latest_invoice.id).status == "paid"


def test_error_if_incomplete_refuses_and_keeps_nothing(client, emulator, prices):
    customer = _customer(client, "pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as excinfo:
        _subscribe(client, customer.id, prices["basic"], payment_behavior="error_if_incomplete")
    assert excinfo.value.code == "card_declined"
    assert client.v1.subscriptions.list({"customer": customer.id, "status": "all"}).data == []
    assert emulator.events("customer.subscription.created") == []
    [invoice] = client.v1.invoices.list({"customer": customer.id}).data
    assert invoice.status == "void"


def test_error_if_incomplete_refuses_a_card_needing_authentication(client, prices):
    customer = _customer(client, "pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as excinfo:
        _subscribe(client, customer.id, prices["basic"], payment_behavior="error_if_incomplete")
    assert excinfo.value.code == "subscription_payment_intent_requires_action"


def test_pending_if_incomplete_is_refused_on_create(client, prices):
    customer = _customer(client)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        _subscribe(client, customer.id, prices["basic"], payment_behavior="pending_if_incomplete")
    assert excinfo.value.param == "payment_behavior"


def test_trial_starts_trialing_with_a_zero_invoice(client, emulator, prices):
    customer = client.v1.customers.create()
    sub = _subscribe(client, customer.id, prices["basic"], trial_period_days=14)
    assert sub.status == "trialing"
    assert sub.trial_end - sub.trial_start == 14 * 86400
    assert sub.latest_invoice.amount_due == 0
    assert sub.latest_invoice.status == "paid"
    assert sub["items"].data[0].current_period_end == sub.trial_end
    assert emulator.count("payment_intent") == 0


def _half_way(sub):
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    return start, end, start + (end - start) // 2


def _change(client, sub, price, **extra):
    return client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": price}],
            "expand": ["latest_invoice"],
            **extra,
        },
    )


def test_create_prorations_leaves_proration_items_for_the_next_invoice(client, emulator, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    start, end, at = _half_way(sub)
    updated = _change(client, sub, prices["pro"], proration_date=at)
    assert updated["items"].data[0].price.id == prices["pro"]
    assert updated["items"].data[0].id == sub["items"].data[0].id
    assert updated.latest_invoice.id == sub.latest_invoice.id
    fraction = (end - at) / (end - start)
    pending = client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data
    assert sorted(item.amount for item in pending) == [
        -round(1000 * fraction),
        round(3000 * fraction),
    ]
    assert all(item.proration for item in pending)
    [event] = emulator.events("customer.subscription.updated")
    assert "items" in event["data"]["previous_attributes"]


def test_always_invoice_charges_the_proration_now(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    start, end, at = _half_way(sub)
    updated = _change(
        client, sub, prices["pro"], proration_date=at, proration_behavior="always_invoice"
    )
    invoice = updated.latest_invoice
    assert invoice.id != sub.latest_invoice.id
    assert (invoice.status, invoice.billing_reason) == ("paid", "subscription_update")
    lines = invoice.lines.data
    assert all(line.parent.invoice_item_details.proration for line in lines)
    assert sorted(line.amount for line in lines)[0] < 0
    fraction = (end - at) / (end - start)
    assert invoice.total == round(3000 * fraction) - round(1000 * fraction)
    assert updated.status == "active"


@pytest.mark.parametrize("proration", ["create_prorations", "always_invoice"])
def test_a_price_of_another_interval_starts_a_new_period_billed_at_once(client, prices, proration):
    """As Stripe: moving to a yearly price resets the billing cycle anchor to the change and
    invoices at once the unused month's credit and the whole first year."""
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    start, end, at = _half_way(sub)
    updated = _change(
        client, sub, prices["yearly"], proration_date=at, proration_behavior=proration
    )
    item = updated["items"].data[0]
    assert updated.billing_cycle_anchor == at
    assert item.current_period_start == at
    assert item.current_period_end - at in {365 * 86400, 366 * 86400}
    invoice = updated.latest_invoice
    assert (invoice.status, invoice.billing_reason) == ("paid", "subscription_update")
    fraction = (end - at) / (end - start)
    assert sorted(line.amount for line in invoice.lines.data) == [-round(1000 * fraction), 10000]
    assert client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data == []


def test_proration_none_changes_the_price_without_money(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    updated = _change(client, sub, prices["pro"], proration_behavior="none")
    assert updated["items"].data[0].price.id == prices["pro"]
    assert client.v1.invoice_items.list({"customer": customer.id}).data == []


def test_pending_if_incomplete_applies_the_upgrade_only_once_paid(client, emulator, prices):
    customer = _customer(client, "pm_card_authenticationRequired")
    sub = _subscribe(client, customer.id, prices["basic"], payment_behavior="default_incomplete")
    intent = _intent_of(client, sub.latest_invoice)
    client.v1.payment_intents.confirm(intent.id)
    httpx.post(sub.latest_invoice.hosted_invoice_url, data={"action": "authenticate"})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"

    updated = _change(
        client,
        sub,
        prices["pro"],
        payment_behavior="pending_if_incomplete",
        proration_behavior="always_invoice",
    )
    assert updated["items"].data[0].price.id == prices["basic"]
    assert updated.pending_update.subscription_items[0].price.id == prices["pro"]
    assert updated.status == "active"
    assert updated.latest_invoice.status == "open"

    httpx.post(updated.latest_invoice.hosted_invoice_url, data={"action": "authenticate"})
    applied = client.v1.subscriptions.retrieve(sub.id)
    assert applied.pending_update is None
    assert applied["items"].data[0].price.id == prices["pro"]


def test_allow_incomplete_upgrade_that_fails_makes_it_past_due(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": customer.id}
    )
    client.v1.subscriptions.update(sub.id, {"default_payment_method": failing.id})
    updated = _change(client, sub, prices["pro"], proration_behavior="always_invoice")
    assert updated["items"].data[0].price.id == prices["pro"]
    assert updated.status == "past_due"
    assert updated.latest_invoice.status == "open"


def test_error_if_incomplete_upgrade_that_fails_changes_nothing(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": customer.id}
    )
    client.v1.subscriptions.update(sub.id, {"default_payment_method": failing.id})
    with pytest.raises(stripe.CardError):
        _change(
            client,
            sub,
            prices["pro"],
            proration_behavior="always_invoice",
            payment_behavior="error_if_incomplete",
            metadata={"changed": "yes"},
        )
    kept = client.v1.subscriptions.retrieve(sub.id)
    assert kept.metadata.to_dict() == {}
    assert kept["items"].data[0].price.id == prices["basic"]
    assert kept.status == "active"
    assert client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data == []


def test_quantity_change_and_added_item(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    item_id = sub["items"].data[0].id
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": item_id, "quantity": 3}, {"price": prices["pro"], "quantity": 2}],
            "proration_behavior": "none",
        },
    )
    assert [(i.price.id, i.quantity) for i in updated["items"].data] == [
        (prices["basic"], 3),
        (prices["pro"], 2),
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(sub.id, {"items": [{"price": prices["yearly"]}]})


def test_cancel_at_period_end_and_back(client, emulator, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    end = sub["items"].data[0].current_period_end
    canceling = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert (canceling.cancel_at_period_end, canceling.cancel_at) == (True, end)
    assert canceling.status == "active"
    resumed = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False})
    assert (resumed.cancel_at_period_end, resumed.cancel_at) == (False, None)
    assert len(emulator.events("customer.subscription.updated")) == 2


def test_cancel_now_ends_it(client, emulator, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled"
    assert canceled.ended_at is not None
    assert len(emulator.events("customer.subscription.deleted")) == 1
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []
    every = client.v1.subscriptions.list({"customer": customer.id, "status": "all"}).data
    assert [s.id for s in every] == [sub.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(sub.id)


def test_one_time_price_is_refused(client):
    customer = _customer(client)
    one_off = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Top-up"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        _subscribe(client, customer.id, one_off.id)
    assert "recurring" in excinfo.value.user_message


def test_trial_end_now_bills_at_once_and_a_later_one_starts_a_trial_period_invoiced_at_zero(
    client, prices
):
    customer = _customer(client)
    ending = _subscribe(client, customer.id, prices["basic"], trial_period_days=14)
    ended = client.v1.subscriptions.update(
        ending.id, {"trial_end": "now", "expand": ["latest_invoice"]}
    )
    assert ended.status == "active"
    assert ended.latest_invoice.amount_paid == 1000
    other = client.v1.customers.create(
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    extended = _subscribe(client, other.id, prices["basic"], trial_period_days=14)
    later = extended.trial_end + 7 * 86400
    moved = client.v1.subscriptions.update(
        extended.id, {"trial_end": later, "expand": ["latest_invoice"]}
    )
    assert moved.trial_end == later
    assert moved["items"].data[0].current_period_end == later
    # Its period changed: a zero invoice for the new trial period, as Stripe makes one.
    assert moved.latest_invoice.id != extended.latest_invoice.id
    assert (moved.latest_invoice.billing_reason, moved.latest_invoice.total) == (
        "subscription_update",
        0,
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(ended.id, {"trial_end": later})


def test_the_payment_intent_is_reached_through_expansions(client, prices):
    customer = _customer(client, "pm_card_authenticationRequired")
    sub = client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": prices["basic"]}],
            "expand": ["latest_invoice.payments", "latest_invoice.confirmation_secret"],
        }
    )
    intent = _intent_of(client, sub.latest_invoice)
    assert intent.status == "requires_action"
    invoice = client.v1.invoices.retrieve(
        sub.latest_invoice.id, {"expand": ["payments.data.payment.payment_intent"]}
    )
    assert invoice.payments.data[0].payment.payment_intent.id == intent.id
    assert sub.latest_invoice.confirmation_secret.client_secret == intent.client_secret
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice.payment_intent"]})
    assert excinfo.value.param == "expand"


def test_removing_every_item_is_refused(client, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscriptions.update(
            sub.id, {"items": [{"id": sub["items"].data[0].id, "deleted": True}]}
        )
    assert excinfo.value.param == "items"


def _ten_days_in(client, prices):
    """A subscription to the 10.00 price on a test clock moved ten days into its period."""
    from tests.stripe_clocks import advance

    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": 1_780_000_000})
    customer = client.v1.customers.create(
        {
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    sub = _subscribe(client, customer.id, prices["basic"])
    advance(client, clock.id, 1_780_000_000 + 10 * 86400)
    item = sub["items"].data[0]
    return customer, sub, item.current_period_start, item.current_period_end


def test_cancel_with_prorate_and_invoice_now_credits_the_unused_time_on_a_final_invoice(
    client, emulator, prices
):
    customer, sub, start, end = _ten_days_in(client, prices)
    at = 1_780_000_000 + 10 * 86400

    canceled = client.v1.subscriptions.cancel(sub.id, {"prorate": True, "invoice_now": True})

    assert canceled.status == "canceled"
    credit = -round(1000 * (end - at) / (end - start))
    final = client.v1.invoices.retrieve(canceled.latest_invoice)
    assert final.id != sub.latest_invoice.id
    assert (final.status, final.total, final.amount_due) == ("paid", credit, 0)
    (line,) = final.lines.data
    assert line.parent.invoice_item_details.proration
    assert line.amount == credit
    # What the invoice could not take is the customer's credit for the next one.
    assert client.v1.customers.retrieve(customer.id).balance == credit
    assert final.ending_balance == credit


def test_a_cancel_now_preview_is_the_final_invoice_the_cancel_then_makes(client, prices):
    _, sub, _, _ = _ten_days_in(client, prices)
    preview = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {"cancel_now": True}}
    )
    unprorated = client.v1.invoices.create_preview(
        {
            "subscription": sub.id,
            "subscription_details": {"cancel_now": True, "proration_behavior": "none"},
        }
    )

    canceled = client.v1.subscriptions.cancel(sub.id, {"prorate": True, "invoice_now": True})

    final = client.v1.invoices.retrieve(canceled.latest_invoice)
    assert preview.total == final.total < 0
    assert [line.amount for line in preview.lines.data] == [final.total]
    assert (unprorated.total, unprorated.lines.data) == (0, [])


def test_cancel_with_prorate_alone_leaves_the_credit_pending(client, prices):
    customer, sub, start, end = _ten_days_in(client, prices)
    at = 1_780_000_000 + 10 * 86400

    canceled = client.v1.subscriptions.cancel(sub.id, {"prorate": True})

    assert canceled.latest_invoice == sub.latest_invoice.id
    pending = client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data
    assert [i.amount for i in pending] == [-round(1000 * (end - at) / (end - start))]


def test_cancel_without_prorate_credits_nothing(client, prices):
    customer, sub, _, _ = _ten_days_in(client, prices)

    canceled = client.v1.subscriptions.cancel(sub.id, {"invoice_now": True})

    assert canceled.latest_invoice == sub.latest_invoice.id
    assert client.v1.invoice_items.list({"customer": customer.id}).data == []
    assert client.v1.customers.retrieve(customer.id).balance == 0


def test_deleting_the_customer_cancels_its_subscriptions(client, emulator, prices):
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["basic"])
    client.v1.customers.delete(customer.id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert len(emulator.events("customer.subscription.deleted")) == 1


def _end_trial_with(client, sub, price, **extra):
    return client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "deleted": True}, {"price": price}],
            "trial_end": "now",
            "proration_behavior": "create_prorations",
            "payment_behavior": "pending_if_incomplete",
            "expand": ["latest_invoice"],
            **extra,
        },
    )


def test_ending_a_trial_with_new_items_charges_their_first_period_on_one_update_invoice(
    client, prices
):
    customer = _customer(client)
    trialing = _subscribe(client, customer.id, prices["basic"], trial_period_days=7)
    product = trialing["items"].data[0].price.product
    added = {"price_data": {"product": product, "unit_amount": 500, "currency": "usd"}}
    ended = _end_trial_with(client, trialing, prices["pro"], add_invoice_items=[added])
    assert ended.status == "active"
    assert ended.trial_end == ended.billing_cycle_anchor
    assert ended.pending_update is None
    [item] = ended["items"].data
    assert item.price.id == prices["pro"]
    assert item.current_period_start == ended.trial_end
    assert item.current_period_end > trialing.trial_end
    invoice = ended.latest_invoice
    assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == (
        "subscription_update",
        "paid",
        3500,
    )


def test_a_declined_trial_end_with_new_items_keeps_the_trial_until_its_invoice_is_paid(
    client, prices
):
    customer = _customer(client)
    trialing = _subscribe(client, customer.id, prices["basic"], trial_period_days=7)
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": customer.id}
    )
    client.v1.subscriptions.update(trialing.id, {"default_payment_method": failing.id})
    declined = _end_trial_with(client, trialing, prices["pro"])
    assert declined.status == "trialing"
    assert declined.trial_end == trialing.trial_end
    assert declined["items"].data[0].price.id == prices["basic"]
    assert declined.pending_update.trial_end is not None
    assert declined.pending_update.subscription_items[0].price.id == prices["pro"]
    assert (declined.latest_invoice.status, declined.latest_invoice.amount_due) == ("open", 3000)

    client.v1.invoices.pay(declined.latest_invoice.id, {"payment_method": "pm_card_visa"})
    paid = client.v1.subscriptions.retrieve(trialing.id)
    assert (paid.status, paid.pending_update) == ("active", None)
    assert paid["items"].data[0].price.id == prices["pro"]
    assert paid.trial_end == declined.pending_update.trial_end


def test_the_preview_of_ending_a_trial_with_new_items_is_the_invoice_the_update_makes(
    client, prices
):
    customer = _customer(client)
    trialing = _subscribe(client, customer.id, prices["basic"], trial_period_days=7)
    items = [{"id": trialing["items"].data[0].id, "deleted": True}, {"price": prices["pro"]}]
    preview = client.v1.invoices.create_preview(
        {
            "subscription": trialing.id,
            "subscription_details": {
                "items": items,
                "trial_end": "now",
                "proration_behavior": "create_prorations",
            },
        }
    )
    ended = _end_trial_with(client, trialing, prices["pro"])
    assert (preview.billing_reason, preview.total) == ("subscription_update", 3000)
    assert preview.total == ended.latest_invoice.total
