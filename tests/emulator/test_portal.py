"""The customer portal: configurations, sessions and the portal page driven like a browser."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING


@pytest.fixture
def customer(client):
    return client.v1.customers.create({"email": "portal@example.com"})


@pytest.fixture
def monthly_price(client):
    return client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Pro plan"},
        }
    )


@pytest.fixture
def subscription(client, customer, monthly_price):
    return client.v1.subscriptions.create(
        {
            "billing_mode": CLASSIC_BILLING,
            "customer": customer.id,
            "items": [{"price": monthly_price.id}],
            "default_payment_method": _saved_card(client, customer),
        }
    )


def _saved_card(client, customer):
    card = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": card.id}}
    )
    return card.id


def _portal(client, customer, **extra):
    return client.v1.billing_portal.sessions.create(
        {"customer": customer.id, "return_url": "https://app.example/account", **extra}
    )


def _post(session, **form):
    return httpx.post(session.url, data=form)


def test_a_session_opens_a_page_for_its_customer_with_the_default_configuration(
    client, emulator, customer
):
    session = _portal(client, customer)
    assert session.id.startswith("bps_")
    assert session.object == "billing_portal.session"
    assert (session.customer, session.return_url) == (customer.id, "https://app.example/account")
    assert session.url.startswith(emulator.url)
    (default,) = client.v1.billing_portal.configurations.list().data
    assert default.is_default is True
    assert session.configuration == default.id

    page = httpx.get(session.url)
    assert page.status_code == 200
    assert "portal@example.com" in page.text
    assert "No subscriptions." in page.text
    assert "https://app.example/account" in page.text
    assert "name='card_number'" in page.text


def test_session_parameters_are_checked(client, emulator, customer):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.billing_portal.sessions.create({})  # type: ignore[typeddict-item]
    assert missing.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.billing_portal.sessions.create({"customer": "cus_nobody"})
    assert unknown.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as configuration:
        _portal(client, customer, configuration="bpc_missing")
    assert configuration.value.param == "configuration"
    assert emulator.count("billing_portal.session") == 0


def test_configurations_are_created_updated_and_chosen_per_session(client, customer):
    configuration = client.v1.billing_portal.configurations.create(
        {
            "business_profile": {"headline": "Acme billing"},
            "default_return_url": "https://app.example/home",
            "features": {
                "subscription_cancel": {"enabled": True, "mode": "immediately"},
                "invoice_history": {"enabled": False},
            },
            "metadata": {"k": "v"},
        }
    )
    assert configuration.id.startswith("bpc_")
    assert configuration.is_default is False
    assert configuration.features.subscription_cancel.mode == "immediately"
    assert configuration.features.invoice_history.enabled is False
    assert configuration.business_profile.headline == "Acme billing"

    session = client.v1.billing_portal.sessions.create(
        {"customer": customer.id, "configuration": configuration.id}
    )
    assert session.configuration == configuration.id
    assert session.return_url == "https://app.example/home"
    assert "Invoices" not in httpx.get(session.url).text

    updated = client.v1.billing_portal.configurations.update(configuration.id, {"active": False})
    assert updated.active is False
    with pytest.raises(stripe.InvalidRequestError):
        _portal(client, customer, configuration=configuration.id)
    with pytest.raises(stripe.InvalidRequestError) as bad_mode:
        client.v1.billing_portal.configurations.create(
            {"features": {"subscription_cancel": {"mode": "whenever"}}}
        )
    assert bad_mode.value.param == "features[subscription_cancel][mode]"


def test_changing_the_card_saves_it_as_the_customers_default(client, emulator, receiver, customer):
    session = _portal(client, customer)
    answer = _post(session, action="update_card", card_number="5555 5555 5555 4444")

    assert answer.status_code == 200
    assert "ending in 4444 is now your default" in answer.text
    (card,) = client.v1.customers.payment_methods.list(customer.id).data
    assert card.card.last4 == "4444"
    assert (
        client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method == card.id
    )
    assert {"payment_method.attached", "customer.updated"} <= set(receiver.types())
    assert "mastercard ending in 4444 (default)" in httpx.get(session.url).text


@pytest.mark.parametrize(
    ("number", "message"),
    [("4000 0000 0000 0002", "Your card was declined."), ("12", "Your card number is incorrect.")],
)
def test_a_card_that_cannot_be_saved_changes_nothing(client, emulator, customer, number, message):
    session = _portal(client, customer)
    before = emulator.counts()
    answer = _post(session, action="update_card", card_number=number)
    assert answer.status_code == 402
    assert message in answer.text
    assert emulator.counts() == before
    assert client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None


def test_an_unknown_action_is_a_400_page(client, customer):
    session = _portal(client, customer)
    assert _post(session, action="delete_everything").status_code == 400


def test_the_page_lists_subscriptions_invoices_and_cards(client, customer, subscription):
    page = httpx.get(_portal(client, customer).url).text
    assert subscription.id in page
    assert "Pro plan" in page
    assert "visa ending in 4242 (default)" in page
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert invoice.number in page
    assert urlsplit(invoice.hosted_invoice_url).path in page


def test_cancel_at_period_end_and_renew_again(client, receiver, customer, subscription):
    session = _portal(client, customer)
    canceled = _post(session, action="cancel", subscription=subscription.id)
    assert canceled.status_code == 200
    assert "canceled at the end of the period" in canceled.text
    after = client.v1.subscriptions.retrieve(subscription.id)
    assert (after.status, after.cancel_at_period_end) == ("active", True)
    assert after.cancel_at is not None
    assert "Renew subscription" in canceled.text
    assert receiver.events("customer.subscription.updated")[-1]["data"]["object"][
        "cancel_at_period_end"
    ]

    again = _post(session, action="cancel", subscription=subscription.id)
    assert again.status_code == 409

    renewed = _post(session, action="renew", subscription=subscription.id)
    assert renewed.status_code == 200
    after = client.v1.subscriptions.retrieve(subscription.id)
    assert (after.cancel_at_period_end, after.cancel_at) == (False, None)


def test_cancel_immediately_when_the_configuration_says_so(client, customer, subscription):
    configuration = client.v1.billing_portal.configurations.create(
        {"features": {"subscription_cancel": {"enabled": True, "mode": "immediately"}}}
    )
    session = _portal(client, customer, configuration=configuration.id)
    answer = _post(session, action="cancel", subscription=subscription.id)
    assert "Your subscription is canceled." in answer.text
    assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"
    assert subscription.id not in answer.text


def test_another_customers_subscription_cannot_be_touched(client, customer, subscription):
    stranger = client.v1.customers.create({})
    answer = _post(_portal(client, stranger), action="cancel", subscription=subscription.id)
    assert answer.status_code == 404
    assert client.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end is False


def test_changing_the_card_also_moves_subscriptions_that_name_a_card(
    client, customer, subscription
):
    session = _portal(client, customer)
    _post(session, action="update_card", card_number="5555555555554444")
    default = client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method
    assert client.v1.subscriptions.retrieve(subscription.id).default_payment_method == default


def _day(epoch_s: int) -> str:
    at = datetime.fromtimestamp(epoch_s, UTC)
    return f"{at:%B} {at.day}, {at.year}"


def test_the_pages_show_dates_as_dates_not_epoch_seconds(client, customer, subscription):
    period_end = subscription["items"].data[0].current_period_end
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    session = _portal(client, customer)

    page = httpx.get(session.url).text
    canceled = _post(session, action="cancel", subscription=subscription.id).text
    invoice_page = httpx.get(invoice.hosted_invoice_url).text

    assert (
        f"renews on <time datetime='{datetime.fromtimestamp(period_end, UTC).isoformat()}'>" in page
    )
    assert f">{_day(period_end)}</time>" in page
    assert "cancels on <time" in canceled
    assert _day(period_end) in canceled
    assert _day(invoice.created) in page
    assert _day(invoice.created) in invoice_page
    for shown in (page, canceled, invoice_page):
        assert str(period_end) not in shown
        assert str(invoice.created) not in shown
