"""Customer round trips through the real stripe SDK against a live emulator."""

import time

import pytest
import stripe


@pytest.fixture(scope="module")
def client(emulator):
    return stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": emulator.url}, max_network_retries=2
    )


def test_create_returns_stripe_shaped_customer(client, emulator):
    before = int(time.time())
    customer = client.v1.customers.create(
        {
            "email": "ada@example.com",
            "name": "Ada",
            "phone": "+15555550100",
            "metadata": {"user_id": "u_1"},
            "address": {"line1": "1 Main St", "country": "US"},
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    assert customer.id.startswith("cus_")
    assert len(customer.id) == len("cus_") + 14
    assert customer.object == "customer"
    assert customer.created >= before
    assert (customer.email, customer.name, customer.phone) == (
        "ada@example.com",
        "Ada",
        "+15555550100",
    )
    assert customer.metadata.to_dict() == {"user_id": "u_1"}
    assert customer.address.line1 == "1 Main St"
    assert customer.address.city is None
    default = customer.invoice_settings.default_payment_method
    assert default.startswith("pm_")
    assert default != "pm_card_visa"
    assert client.v1.payment_methods.retrieve(default).customer == customer.id
    assert customer.livemode is False
    assert customer.balance == 0
    assert customer.currency is None
    assert customer.tax_exempt == "none"
    assert customer.preferred_locales == []
    assert customer.test_clock is None
    assert emulator.count("customer") == 1


def test_retrieve_and_update_merge_metadata(client):
    created = client.v1.customers.create({"metadata": {"plan": "pro", "seats": "3"}})
    updated = client.v1.customers.update(
        created.id, {"name": "Renamed", "metadata": {"seats": "", "region": "eu"}}
    )
    assert updated.metadata.to_dict() == {"plan": "pro", "region": "eu"}
    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.name == "Renamed"
    assert fetched.metadata.to_dict() == {"plan": "pro", "region": "eu"}


def test_empty_metadata_clears_everything_and_empty_string_unsets_fields(client):
    created = client.v1.customers.create(
        {"email": "x@example.com", "description": "vip", "metadata": {"a": "1", "b": "2"}}
    )
    updated = client.v1.customers.update(created.id, {"metadata": "", "description": ""})
    assert updated.metadata.to_dict() == {}
    assert updated.description is None
    assert updated.email == "x@example.com"


def test_delete_then_retrieve_returns_tombstone(client, emulator):
    created = client.v1.customers.create({"email": "gone@example.com"})
    deleted = client.v1.customers.delete(created.id)
    assert deleted.deleted is True
    assert deleted.id == created.id
    tombstone = client.v1.customers.retrieve(created.id)
    assert tombstone.deleted is True
    assert emulator.count("customer") == 0
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(created.id, {"name": "zombie"})
    assert excinfo.value.http_status == 404


def test_unknown_customer_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.retrieve("cus_doesnotexist00")
    error = excinfo.value
    assert error.http_status == 404
    assert error.code == "resource_missing"
    assert error.param == "id"
    assert error.user_message == "No such customer: 'cus_doesnotexist00'"
    assert (error.request_id or "").startswith("req_")


def test_unknown_parameter_is_rejected_without_creating(client, emulator):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create({"email": "a@example.com", "colour": "red"})
    assert excinfo.value.code == "parameter_unknown"
    assert excinfo.value.param == "colour"
    assert emulator.count("customer") == 0


def test_bad_api_key_is_authentication_error(emulator):
    for key in ("sk_live_realkey123456", "pk_test_publishable"):
        bad = stripe.StripeClient(key, base_addresses={"api": emulator.url})
        with pytest.raises(stripe.AuthenticationError) as excinfo:
            bad.v1.customers.list()
        assert excinfo.value.http_status == 401
    restricted = stripe.StripeClient("rk_test_restricted", base_addresses={"api": emulator.url})
    assert restricted.v1.customers.list().data == []


def test_list_is_newest_first_and_paginates(client):
    ids = [client.v1.customers.create({"name": f"c{i}"}).id for i in range(5)]
    newest_first = list(reversed(ids))

    first = client.v1.customers.list({"limit": 2})
    assert [c.id for c in first.data] == newest_first[:2]
    assert first.has_more is True
    assert first.url == "/v1/customers"

    second = client.v1.customers.list({"limit": 2, "starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == newest_first[2:4]

    back = client.v1.customers.list({"limit": 2, "ending_before": second.data[0].id})
    assert [c.id for c in back.data] == newest_first[:2]
    assert back.has_more is False

    walked = [c.id for c in client.v1.customers.list({"limit": 2}).auto_paging_iter()]
    assert walked == newest_first


def test_list_filters_by_exact_email_and_skips_deleted(client):
    keep = client.v1.customers.create({"email": "dup@example.com"})
    dropped = client.v1.customers.create({"email": "dup@example.com"})
    client.v1.customers.create({"email": "DUP@example.com"})
    client.v1.customers.delete(dropped.id)
    listed = client.v1.customers.list({"email": "dup@example.com"})
    assert [c.id for c in listed.data] == [keep.id]


def test_list_limit_is_validated(client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.list({"limit": 101})
    assert excinfo.value.param == "limit"


def test_search_by_email_and_metadata(client):
    target = client.v1.customers.create(
        {"email": "Sam@Example.com", "metadata": {"user_id": "u_42", "tier": "gold"}}
    )
    client.v1.customers.create({"email": "sam@example.com", "metadata": {"user_id": "u_43"}})
    client.v1.customers.create({"email": "other@example.com", "metadata": {"user_id": "u_42"}})

    result = client.v1.customers.search(
        {"query": "email:'sam@example.com' AND metadata['user_id']:'u_42'"}
    )
    assert result.object == "search_result"
    assert [c.id for c in result.data] == [target.id]
    assert result.has_more is False
    assert result.next_page is None
    assert result.url == "/v1/customers/search"

    by_metadata = client.v1.customers.search({"query": 'metadata["user_id"]:"u_42"'})
    assert len(by_metadata.data) == 2


def test_search_pages_through_results(client):
    for i in range(3):
        client.v1.customers.create({"metadata": {"batch": "b1", "n": str(i)}})
    first = client.v1.customers.search({"query": "metadata['batch']:'b1'", "limit": 2})
    assert first.has_more is True
    walked = list(first.auto_paging_iter())
    assert len({c.id for c in walked}) == 3


def test_search_rejects_unsupported_fields(client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.search({"query": "colour:'red'"})
    assert excinfo.value.param == "query"
