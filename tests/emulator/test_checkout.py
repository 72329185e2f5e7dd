"""Checkout Sessions through the SDK, and their hosted page driven like a browser."""

import time
from urllib.parse import urlsplit

import httpx
import pytest
import stripe

from tests.emulator.conftest import CLASSIC_BILLING, WEBHOOK_SECRET
from tests.stripe_clocks import advance

SUCCEEDS = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
INSUFFICIENT_FUNDS = "4000 0000 0000 9995"
AUTHENTICATION_REQUIRED = "4000 0027 6000 3184"
ATTACHES_BUT_CHARGES_FAIL = "4000 0000 0000 0341"


@pytest.fixture
def one_time_price(client):
    return client.v1.prices.create(
        {"currency": "usd", "unit_amount": 1500, "product_data": {"name": "Credits pack"}}
    )


@pytest.fixture
def monthly_price(client):
    return client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Pro"},
        }
    )


@pytest.fixture
def customer(client):
    return client.v1.customers.create({"email": "buyer@example.com"})


def _payment_session(client, customer, price, **extra):
    return client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "customer": customer.id,
            "line_items": [{"price": price.id, "quantity": 2}],
            "success_url": "https://app.example/done?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://app.example/cancel",
            **extra,
        }
    )


def _pay(session, number):
    """What a browser does: load the page, then post its form."""
    page = httpx.get(session.url)
    assert page.status_code == 200
    assert "name='card_number'" in page.text
    action = urlsplit(session.url).path
    return httpx.post(f"{_origin(session.url)}{action}", data={"card_number": number})


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_created_session_is_open_with_a_page_on_the_emulator(
    client, emulator, customer, one_time_price
):
    session = _payment_session(
        client, customer, one_time_price, metadata={"order": "o_1"}, client_reference_id="u_1"
    )
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert (session.amount_subtotal, session.amount_total, session.currency) == (3000, 3000, "usd")
    assert session.url.startswith(emulator.url)
    assert session.metadata.to_dict() == {"order": "o_1"}
    assert session.client_reference_id == "u_1"
    assert session.payment_intent is None
    assert session.expires_at - session.created == 24 * 3600
    assert "line_items" not in session

    page = httpx.get(session.url)
    assert "Credits pack" in page.text
    assert "30.00 USD" in page.text


def test_line_items_come_expanded_or_from_their_own_list(client, customer, one_time_price):
    session = _payment_session(client, customer, one_time_price)
    expanded = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["line_items"]})
    (item,) = expanded.line_items.data
    assert (item.object, item.quantity, item.amount_total) == ("item", 2, 3000)
    assert item.price.id == one_time_price.id
    assert item.description == "Credits pack"
    listed = client.v1.checkout.sessions.line_items.list(session.id)
    assert [i.id for i in listed.data] == [item.id]


def test_paying_with_a_good_card_completes_and_redirects_to_the_success_url(
    client, emulator, receiver, customer, one_time_price
):
    session = _payment_session(
        client, customer, one_time_price, payment_intent_data={"metadata": {"order": "o_2"}}
    )
    answer = _pay(session, SUCCEEDS)

    assert answer.status_code == 303
    assert answer.headers["location"] == f"https://app.example/done?session={session.id}"
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status, done.url) == ("complete", "paid", None)
    assert done.customer == customer.id
    assert done.customer_details.email == "buyer@example.com"
    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    assert (intent.status, intent.amount, intent.customer) == ("succeeded", 3000, customer.id)
    assert intent.metadata.to_dict() == {"order": "o_2"}
    # Delivered (signed) before the page answered; the completion comes after its objects.
    types = receiver.types()
    assert types[-1] == "checkout.session.completed"
    assert {"payment_intent.created", "payment_intent.succeeded", "charge.succeeded"} <= set(types)
    completed = stripe.Webhook.construct_event(
        receiver.received[-1].body,
        receiver.received[-1].headers["Stripe-Signature"],
        WEBHOOK_SECRET,
    )
    assert completed.data.object.id == session.id
    assert completed.data.object.payment_status == "paid"
    assert "_private" not in completed.data.object


def test_without_setup_future_usage_the_card_is_not_saved_to_the_customer(
    client, customer, one_time_price
):
    _pay(_payment_session(client, customer, one_time_price), SUCCEEDS)
    assert client.v1.customers.payment_methods.list(customer.id).data == []


def test_with_setup_future_usage_the_card_is_saved_to_the_customer(
    client, customer, one_time_price
):
    session = _payment_session(
        client,
        customer,
        one_time_price,
        payment_intent_data={"setup_future_usage": "off_session"},
    )
    _pay(session, SUCCEEDS)
    (card,) = client.v1.customers.payment_methods.list(customer.id).data
    assert card.card.last4 == "4242"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (DECLINED, "Your card was declined."),
        (INSUFFICIENT_FUNDS, "Your card has insufficient funds."),
        (ATTACHES_BUT_CHARGES_FAIL, "Your card was declined."),
    ],
)
def test_a_declined_card_shows_the_decline_and_creates_nothing(
    client, emulator, receiver, customer, one_time_price, number, message
):
    session = _payment_session(client, customer, one_time_price)
    before, delivered = emulator.counts(), len(receiver.received)
    answer = _pay(session, number)

    assert answer.status_code == 402
    assert message in answer.text
    assert "name='card_number'" in answer.text
    still = client.v1.checkout.sessions.retrieve(session.id)
    assert (still.status, still.payment_status, still.payment_intent) == ("open", "unpaid", None)
    assert emulator.counts() == before
    assert len(receiver.received) == delivered

    assert _pay(session, SUCCEEDS).status_code == 303
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"


def test_an_incorrect_number_is_refused_on_the_page(client, customer, one_time_price):
    session = _payment_session(client, customer, one_time_price)
    answer = _pay(session, "1234")
    assert answer.status_code == 402
    assert "Your card number is incorrect." in answer.text
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_a_card_requiring_authentication_completes_after_the_authentication_step(
    client, receiver, customer, one_time_price
):
    session = _payment_session(client, customer, one_time_price)
    delivered = len(receiver.received)
    challenge = _pay(session, AUTHENTICATION_REQUIRED)
    assert challenge.status_code == 200
    assert "Complete authentication" in challenge.text
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert len(receiver.received) == delivered

    answer = httpx.post(session.url, data={"action": "authenticate"})
    assert answer.status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.status == "complete"
    assert client.v1.payment_intents.retrieve(done.payment_intent).status == "succeeded"
    assert "payment_intent.requires_action" in receiver.types()
    assert receiver.types()[-1] == "checkout.session.completed"


def test_failing_authentication_leaves_the_session_open(client, emulator, customer, one_time_price):
    session = _payment_session(client, customer, one_time_price)
    _pay(session, AUTHENTICATION_REQUIRED)
    answer = httpx.post(session.url, data={"action": "fail_authentication"})
    assert answer.status_code == 402
    assert "unable to authenticate" in answer.text
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert emulator.count("payment_intent") == 0
    # The confirm step cannot be replayed once abandoned.
    assert httpx.post(session.url, data={"action": "authenticate"}).status_code == 402


def test_a_completed_session_cannot_be_paid_twice(client, emulator, customer, one_time_price):
    session = _payment_session(client, customer, one_time_price)
    assert _pay(session, SUCCEEDS).status_code == 303
    again = httpx.post(session.url, data={"card_number": SUCCEEDS})
    assert again.status_code == 409
    assert emulator.count("payment_intent") == 1
    assert emulator.count("charge") == 1


def test_without_a_customer_payment_mode_creates_none_unless_asked(
    client, emulator, one_time_price
):
    guest = client.v1.checkout.sessions.create(
        {"mode": "payment", "line_items": [{"price": one_time_price.id, "quantity": 1}]}
    )
    assert guest.customer_creation == "if_required"
    answer = _pay(guest, SUCCEEDS)
    assert answer.status_code == 200
    assert "Your payment is complete." in answer.text
    assert client.v1.checkout.sessions.retrieve(guest.id).customer is None
    assert emulator.count("customer") == 0

    always = client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "customer_creation": "always",
            "customer_email": "new@example.com",
            "line_items": [{"price": one_time_price.id, "quantity": 1}],
        }
    )
    _pay(always, SUCCEEDS)
    created = client.v1.checkout.sessions.retrieve(always.id).customer
    assert client.v1.customers.retrieve(created).email == "new@example.com"


def test_expire_closes_an_open_session_with_an_event(client, emulator, customer, one_time_price):
    session = _payment_session(client, customer, one_time_price)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    assert [e["data"]["object"]["id"] for e in emulator.events("checkout.session.expired")] == [
        session.id
    ]
    assert httpx.get(session.url).status_code == 410
    assert httpx.post(session.url, data={"card_number": SUCCEEDS}).status_code == 410
    assert emulator.count("payment_intent") == 0
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.checkout.sessions.expire(session.id)
    assert "can be expired" in str(excinfo.value)


def test_list_filters_by_customer_and_status(client, customer, one_time_price):
    first = _payment_session(client, customer, one_time_price)
    second = _payment_session(client, customer, one_time_price)
    client.v1.checkout.sessions.expire(first.id)
    other = client.v1.customers.create({})
    _payment_session(client, other, one_time_price)

    mine = client.v1.checkout.sessions.list({"customer": customer.id}).data
    assert [s.id for s in mine] == [second.id, first.id]
    opened = client.v1.checkout.sessions.list({"customer": customer.id, "status": "open"}).data
    assert [s.id for s in opened] == [second.id]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"line_items": [{"price": "price_x", "quantity": 1}]}, "mode"),
        ({"mode": "payment"}, "line_items"),
        (
            {"mode": "payment", "line_items": [{"price": "price_missing", "quantity": 1}]},
            "line_items[0][price]",
        ),
        (
            {"mode": "setup", "currency": "usd", "line_items": [{"price": "p", "quantity": 1}]},
            "line_items",
        ),
        ({"mode": "setup"}, "currency"),
        ({"mode": "payment", "customer": "cus_missing", "line_items": []}, "customer"),
        (
            {"mode": "subscription", "payment_method_collection": "sometimes"},
            "payment_method_collection",
        ),
    ],
)
def test_invalid_parameters_are_400s_that_create_nothing(client, emulator, params, param):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.checkout.sessions.create(params)
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == param
    assert emulator.count("checkout.session") == 0


def test_payment_mode_refuses_a_recurring_price_and_quantities_are_checked(
    client, customer, one_time_price, monthly_price
):
    with pytest.raises(stripe.InvalidRequestError) as recurring:
        _payment_session(client, customer, monthly_price)
    assert "recurring price" in str(recurring.value)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.create(
            {"mode": "payment", "line_items": [{"price": one_time_price.id}]}
        )
    assert missing.value.param == "line_items[0][quantity]"
    with pytest.raises(stripe.InvalidRequestError) as trial:
        _payment_session(
            client, customer, one_time_price, subscription_data={"trial_period_days": 3}
        )
    assert trial.value.param == "subscription_data"


def test_expires_at_must_be_between_30_minutes_and_24_hours(client, customer, one_time_price):
    now = int(time.time())
    for expires_at in (now + 60, now + 25 * 3600):
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            _payment_session(client, customer, one_time_price, expires_at=expires_at)
        assert excinfo.value.param == "expires_at"
    session = _payment_session(client, customer, one_time_price, expires_at=now + 3600)
    assert session.expires_at == now + 3600


def _subscription_session(client, customer, price, subscription_data=None, **extra):
    return client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "https://app.example/done?session={CHECKOUT_SESSION_ID}",
            "subscription_data": {"billing_mode": CLASSIC_BILLING, **(subscription_data or {})},
            **extra,
        }
    )


def test_subscription_mode_creates_an_active_subscription_paid_by_the_card(
    client, receiver, customer, monthly_price
):
    session = _subscription_session(
        client, customer, monthly_price, subscription_data={"metadata": {"plan": "pro"}}
    )
    assert (session.amount_total, session.mode) == (2000, "subscription")
    assert _pay(session, SUCCEEDS).status_code == 303

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    subscription = client.v1.subscriptions.retrieve(done.subscription)
    assert (subscription.status, subscription.customer) == ("active", customer.id)
    assert subscription.metadata.to_dict() == {"plan": "pro"}
    assert subscription.billing_mode.type == "classic"  # subscription_data[billing_mode]
    assert subscription["items"].data[0].price.id == monthly_price.id
    invoice = client.v1.invoices.retrieve(done.invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 2000)
    (card,) = client.v1.customers.payment_methods.list(customer.id).data
    assert subscription.default_payment_method == card.id
    # Checkout makes the card the subscription's default, not the customer's.
    assert client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None
    types = receiver.types()
    assert types[-1] == "checkout.session.completed"
    assert {"customer.subscription.created", "invoice.paid", "payment_method.attached"} <= set(
        types
    )


def test_subscription_mode_with_a_trial_needs_no_payment_now(client, customer, monthly_price):
    session = _subscription_session(
        client, customer, monthly_price, subscription_data={"trial_period_days": 14}
    )
    assert session.amount_total == 0
    assert "Free trial until <time datetime=" in httpx.get(session.url).text, "a date, not seconds"
    # A card whose charges fail still saves: the trial charges nothing yet.
    assert _pay(session, ATTACHES_BUT_CHARGES_FAIL).status_code == 303

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "no_payment_required")
    subscription = client.v1.subscriptions.retrieve(done.subscription)
    assert subscription.status == "trialing"
    assert subscription.trial_end - subscription.trial_start == 14 * 86400


def test_a_trial_without_payment_method_collection_needs_no_card(
    client, emulator, customer, monthly_price
):
    session = _subscription_session(
        client,
        customer,
        monthly_price,
        subscription_data={"trial_period_days": 7},
        payment_method_collection="if_required",
    )
    answer = httpx.post(session.url, data={"card_number": ""})
    assert answer.status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    subscription = client.v1.subscriptions.retrieve(done.subscription)
    assert (subscription.status, subscription.default_payment_method) == ("trialing", None)
    assert emulator.count("payment_method") == 0


def test_subscription_mode_decline_leaves_no_subscription(
    client, emulator, customer, monthly_price
):
    session = _subscription_session(client, customer, monthly_price)
    answer = _pay(session, DECLINED)
    assert answer.status_code == 402
    assert emulator.count("subscription") == 0
    assert emulator.count("invoice") == 0
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_subscription_mode_with_authentication_activates_after_the_confirm_step(
    client, customer, monthly_price
):
    session = _subscription_session(client, customer, monthly_price)
    assert "Complete authentication" in _pay(session, AUTHENTICATION_REQUIRED).text
    assert httpx.post(session.url, data={"action": "authenticate"}).status_code == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert client.v1.subscriptions.retrieve(done.subscription).status == "active"
    assert client.v1.invoices.retrieve(done.invoice).status == "paid"


def test_subscription_mode_without_a_customer_creates_one(client, monthly_price):
    session = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "subscription_data": {"billing_mode": CLASSIC_BILLING},
            "customer_email": "fresh@example.com",
            "line_items": [{"price": monthly_price.id, "quantity": 3}],
        }
    )
    assert session.amount_total == 6000
    _pay(session, SUCCEEDS)
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert client.v1.customers.retrieve(done.customer).email == "fresh@example.com"
    subscription = client.v1.subscriptions.retrieve(done.subscription)
    assert subscription["items"].data[0].quantity == 3


def test_subscription_mode_needs_a_recurring_price(client, customer, one_time_price):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        _subscription_session(client, customer, one_time_price)
    assert "at least one recurring price" in str(excinfo.value)


def test_a_session_under_a_test_clock_expires_when_the_clock_passes_expires_at(
    client, emulator, receiver, one_time_price
):
    start = int(time.time()) - 86400 * 30
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": start})
    customer = client.v1.customers.create({"test_clock": clock.id})
    session = _payment_session(client, customer, one_time_price)
    assert session.created == start
    assert session.expires_at == start + 24 * 3600

    advance(client, clock.id, start + 25 * 3600)
    # Expired by the advance itself, so its webhook went out before the advance answered.
    assert [e["data"]["object"]["id"] for e in receiver.events("checkout.session.expired")] == [
        session.id
    ]
    expired = client.v1.checkout.sessions.retrieve(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    assert len(emulator.events("checkout.session.expired")) == 1
    assert httpx.post(session.url, data={"card_number": SUCCEEDS}).status_code == 410


def _setup_session(client, customer, **extra):
    return client.v1.checkout.sessions.create(
        {
            "mode": "setup",
            "currency": "usd",
            "customer": customer.id,
            "success_url": "https://app.example/saved?session={CHECKOUT_SESSION_ID}",
            **extra,
        }
    )


def test_setup_mode_has_a_setup_intent_from_the_start(client, customer):
    session = _setup_session(client, customer, setup_intent_data={"metadata": {"why": "card"}})
    assert (session.mode, session.payment_status, session.amount_total) == (
        "setup",
        "no_payment_required",
        None,
    )
    intent = client.v1.setup_intents.retrieve(session.setup_intent)
    assert (intent.status, intent.customer) == ("requires_payment_method", customer.id)
    assert intent.metadata.to_dict() == {"why": "card"}
    page = httpx.get(session.url).text
    assert "Save card" in page
    assert "Total due" not in page


def test_setup_mode_saves_the_card_to_the_customer(client, receiver, customer):
    session = _setup_session(client, customer)
    answer = _pay(session, SUCCEEDS)
    assert answer.headers["location"] == f"https://app.example/saved?session={session.id}"

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "no_payment_required")
    intent = client.v1.setup_intents.retrieve(done.setup_intent)
    assert intent.status == "succeeded"
    (card,) = client.v1.customers.payment_methods.list(customer.id).data
    assert intent.payment_method == card.id
    # Saved, not made the default: the application decides that.
    assert client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None
    types = receiver.types()
    assert types[-1] == "checkout.session.completed"
    assert {"payment_method.attached", "setup_intent.succeeded"} <= set(types)


def test_setup_mode_saves_a_card_whose_later_charges_fail(client, customer):
    session = _setup_session(client, customer)
    assert _pay(session, ATTACHES_BUT_CHARGES_FAIL).status_code == 303
    (card,) = client.v1.customers.payment_methods.list(customer.id).data
    assert card.card.last4 == "0341"


def test_setup_mode_decline_leaves_the_intent_waiting(client, emulator, customer):
    session = _setup_session(client, customer)
    answer = _pay(session, DECLINED)
    assert answer.status_code == 402
    assert "Your card was declined." in answer.text
    assert client.v1.setup_intents.retrieve(session.setup_intent).status == (
        "requires_payment_method"
    )
    assert emulator.count("payment_method") == 0


def test_setup_mode_with_authentication(client, customer):
    session = _setup_session(client, customer)
    assert "Complete authentication" in _pay(session, AUTHENTICATION_REQUIRED).text
    assert httpx.post(session.url, data={"action": "authenticate"}).status_code == 303
    intent = client.v1.setup_intents.retrieve(session.setup_intent)
    assert intent.status == "succeeded"
    assert client.v1.payment_methods.retrieve(intent.payment_method).customer == customer.id


def test_price_data_makes_an_ad_hoc_price_and_product(client, customer):
    session = client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "customer": customer.id,
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 1250,
                        "product_data": {"name": "Top-up", "description": "500 credits"},
                    },
                    "quantity": 2,
                }
            ],
        }
    )
    assert (session.amount_total, session.currency) == (2500, "eur")
    (item,) = client.v1.checkout.sessions.line_items.list(session.id).data
    assert item.description == "Top-up"
    product = client.v1.products.retrieve(item.price.product)
    assert (product.name, product.description) == ("Top-up", "500 credits")
    assert _pay(session, SUCCEEDS).status_code == 200
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert client.v1.payment_intents.retrieve(done.payment_intent).amount == 2500


def test_price_data_with_recurring_works_in_subscription_mode(client, customer):
    session = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "subscription_data": {"billing_mode": CLASSIC_BILLING},
            "customer": customer.id,
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 900,
                        "recurring": {"interval": "month"},
                        "product_data": {"name": "Starter"},
                    },
                    "quantity": 1,
                }
            ],
        }
    )
    _pay(session, SUCCEEDS)
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert client.v1.subscriptions.retrieve(done.subscription).status == "active"


def test_a_refused_session_leaves_no_ad_hoc_price_behind(client, emulator, customer):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.checkout.sessions.create(
            {
                "mode": "payment",
                "customer": customer.id,
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 500,
                            "product_data": {"name": "Fine"},
                        },
                        "quantity": 1,
                    },
                    {"price_data": {"currency": "usd", "product_data": {"name": "No amount"}}},
                ],
            }
        )
    assert excinfo.value.param.startswith("line_items[1]")
    assert (emulator.count("price"), emulator.count("product")) == (0, 0)
    assert emulator.count("checkout.session") == 0
