"""GET /v1/events: every state change is an event, listed and filtered as Stripe does."""

import pytest
import stripe

from local.stripe_emulator.server import API_VERSION


@pytest.fixture(scope="module")
def client(emulator):
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": emulator.url})


def test_customer_changes_are_recorded_as_events_newest_first(client):
    customer = client.v1.customers.create({"email": "ev@example.com"})
    client.v1.customers.update(customer.id, {"name": "Eve"})
    client.v1.customers.delete(customer.id)

    events = client.v1.events.list().data
    assert [e.type for e in events] == ["customer.deleted", "customer.updated", "customer.created"]
    assert all(e.id.startswith("evt_") and e.object == "event" for e in events)
    assert all(e.data.object.id == customer.id for e in events)
    assert events[2].data.object.email == "ev@example.com"
    assert events[2].data.object.name is None


def test_an_update_event_carries_the_previous_attributes(client):
    customer = client.v1.customers.create({"name": "Before", "metadata": {"a": "1"}})
    client.v1.customers.update(customer.id, {"name": "After", "metadata": {"b": "2"}})

    (updated,) = client.v1.events.list({"type": "customer.updated"}).data
    assert updated.data.object.name == "After"
    assert updated.data.previous_attributes.to_dict() == {
        "name": "Before",
        "metadata": {"a": "1"},
    }


def test_an_update_that_changes_nothing_records_no_event(client):
    customer = client.v1.customers.create({"name": "Same"})
    client.v1.customers.update(customer.id, {"name": "Same"})
    assert client.v1.events.list({"type": "customer.updated"}).data == []


def test_retrieve_answers_the_event_and_404s_an_unknown_id(client):
    customer = client.v1.customers.create({})
    (created,) = client.v1.events.list().data
    fetched = client.v1.events.retrieve(created.id)
    assert fetched.type == "customer.created"
    assert fetched.data.object.id == customer.id
    assert fetched.livemode is False
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.retrieve("evt_missing")
    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"


def test_type_filter_takes_a_wildcard_and_types_takes_several(client):
    customer = client.v1.customers.create({})
    client.v1.customers.update(customer.id, {"name": "x"})
    client.v1.customers.delete(customer.id)

    assert len(client.v1.events.list({"type": "customer.*"}).data) == 3
    assert client.v1.events.list({"type": "invoice.*"}).data == []
    both = client.v1.events.list({"types": ["customer.created", "customer.deleted"]}).data
    assert [e.type for e in both] == ["customer.deleted", "customer.created"]


def test_type_and_types_together_are_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.list({"type": "customer.created", "types": ["customer.deleted"]})
    assert excinfo.value.http_status == 400


def test_created_range_and_cursor_pagination(client):
    for _ in range(5):
        client.v1.customers.create({})
    everything = client.v1.events.list({"limit": 100}).data
    assert len(everything) == 5
    # Newest first; the five may straddle a second.
    oldest, newest = everything[-1].created, everything[0].created
    assert len(client.v1.events.list({"created": {"gte": oldest}}).data) == 5
    assert client.v1.events.list({"created": {"gt": newest}}).data == []

    first = client.v1.events.list({"limit": 2})
    assert first.has_more is True
    second = client.v1.events.list({"limit": 2, "starting_after": first.data[-1].id})
    assert [e.id for e in [*first.data, *second.data]] == [e.id for e in everything[:4]]
    paged = [e.id for e in client.v1.events.list({"limit": 2}).auto_paging_iter()]
    assert paged == [e.id for e in everything]


def test_unknown_list_parameter_is_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.list({"object": "customer"})  # type: ignore[typeddict-unknown-key]
    assert excinfo.value.code == "parameter_unknown"


def test_an_event_names_the_api_request_and_idempotency_key_that_caused_it(client):
    raw = client.v1.customers.create({}, {"idempotency_key": "signup-42"})
    (event,) = client.v1.events.list().data
    assert event.request.idempotency_key == "signup-42"
    assert event.request.id == raw.last_response.request_id


def test_events_carry_the_accounts_api_version(client):
    client.v1.customers.create({})
    (event,) = client.v1.events.list().data
    assert event.api_version == API_VERSION
