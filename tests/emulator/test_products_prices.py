"""Product and Price round trips, validation and lookup through the real stripe SDK."""

import time
from decimal import Decimal

import pytest
import stripe


@pytest.fixture(scope="module")
def client(emulator):
    return stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": emulator.url}, max_network_retries=0
    )


@pytest.fixture
def product(client):
    return client.v1.products.create({"name": "Pro"})


MONTHLY = {"interval": "month"}
GRADUATED = [{"up_to": 10, "unit_amount": 100}, {"up_to": "inf", "unit_amount": 50}]


def _price(client, product_id, **params):
    return client.v1.prices.create(
        {"currency": "usd", "product": product_id, "unit_amount": 1000, **params}
    )


def _invalid(call, *args):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call(*args)
    assert excinfo.value.http_status == 400
    return excinfo.value


# -- products -----------------------------------------------------------------------------


def test_product_create_retrieve_update_round_trip(client, emulator):
    before = int(time.time())
    created = client.v1.products.create(
        {
            "name": "Pro plan",
            "description": "Everything",
            "metadata": {"plan_id": "pro", "tier": "2"},
            "unit_label": "seat",
            "tax_code": "txcd_10103000",
        }
    )
    assert created.id.startswith("prod_")
    assert len(created.id) == len("prod_") + 14
    assert created.object == "product"
    assert created.created >= before
    assert created.updated == created.created
    assert (created.name, created.description, created.unit_label) == (
        "Pro plan",
        "Everything",
        "seat",
    )
    assert created.active is True
    assert created.livemode is False
    assert created.default_price is None
    assert created.images == []
    assert created.marketing_features == []
    assert created.type == "service"
    assert (created.url, created.shippable, created.package_dimensions) == (None, None, None)

    updated = client.v1.products.update(
        created.id, {"name": "Pro 2", "active": False, "metadata": {"tier": "", "x": "y"}}
    )
    assert updated.metadata.to_dict() == {"plan_id": "pro", "x": "y"}
    fetched = client.v1.products.retrieve(created.id)
    assert (fetched.name, fetched.active) == ("Pro 2", False)
    assert fetched.description == "Everything"
    assert emulator.count("product") == 1


def test_product_with_chosen_id_and_duplicate_id_error(client, emulator):
    created = client.v1.products.create({"id": "plan_pro", "name": "Pro"})
    assert created.id == "plan_pro"
    assert client.v1.products.retrieve("plan_pro").name == "Pro"
    error = _invalid(client.v1.products.create, {"id": "plan_pro", "name": "Pro again"})
    assert error.code == "resource_already_exists"
    assert error.param == "id"
    assert error.error.type == "invalid_request_error"
    assert emulator.count("product") == 1
    assert client.v1.products.retrieve("plan_pro").name == "Pro"


def test_product_name_is_required_and_cannot_be_emptied(client, product):
    assert _invalid(client.v1.products.create, {"description": "x"}).param == "name"
    error = _invalid(client.v1.products.update, product.id, {"name": ""})
    assert (error.param, error.code) == ("name", "parameter_invalid_empty")


def test_unknown_product_is_404(client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.retrieve("prod_missing")
    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"


def test_delete_product_unless_it_has_prices(client, emulator, product):
    lonely = client.v1.products.create({"name": "Lonely"})
    deleted = client.v1.products.delete(lonely.id)
    assert (deleted.id, deleted.deleted) == (lonely.id, True)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.retrieve(lonely.id)
    assert excinfo.value.http_status == 404

    price = _price(client, product.id)
    client.v1.prices.update(price.id, {"active": False})
    error = _invalid(client.v1.products.delete, product.id)
    assert "one or more user-created prices" in error.user_message
    assert client.v1.products.retrieve(product.id).id == product.id
    assert emulator.count("product") == 1


def test_product_list_filters_and_search(client):
    pro = client.v1.products.create({"name": "Pro", "metadata": {"plan_id": "pro"}})
    free = client.v1.products.create({"name": "Free", "metadata": {"plan_id": "free"}})
    old = client.v1.products.create({"name": "Legacy", "active": False})

    assert [p.id for p in client.v1.products.list({"active": True}).data] == [free.id, pro.id]
    assert [p.id for p in client.v1.products.list({"ids": [old.id, pro.id]}).data] == [
        old.id,
        pro.id,
    ]
    page = client.v1.products.list({"limit": 1, "starting_after": free.id})
    assert [p.id for p in page.data] == [pro.id]

    by_metadata = client.v1.products.search({"query": "metadata['plan_id']:'pro'"})
    assert [p.id for p in by_metadata.data] == [pro.id]
    inactive = client.v1.products.search({"query": "active:'false'"})
    assert [p.id for p in inactive.data] == [old.id]
    assert [p.id for p in client.v1.products.search({"query": "name:'free'"}).data] == [free.id]


# -- prices -------------------------------------------------------------------------------


def test_one_time_price_shape(client, product):
    price = _price(client, product.id, nickname="Once", metadata={"k": "v"})
    assert price.id.startswith("price_")
    assert price.object == "price"
    assert price.type == "one_time"
    assert price.recurring is None
    assert price.billing_scheme == "per_unit"
    assert (price.currency, price.unit_amount) == ("usd", 1000)
    # The SDK turns the wire's decimal string into a Decimal.
    assert price.unit_amount_decimal == Decimal("1000")
    assert price.product == product.id
    assert (price.active, price.livemode, price.lookup_key) == (True, False, None)
    assert price.tax_behavior == "unspecified"
    assert price.tiers_mode is None
    assert price.transform_quantity is None
    assert price.custom_unit_amount is None
    assert "tiers" not in price
    assert client.v1.prices.retrieve(price.id).to_dict() == price.to_dict()


def test_recurring_price_with_decimal_amount_and_transform(client, product):
    price = client.v1.prices.create(
        {
            "currency": "EUR",
            "product": product.id,
            "unit_amount_decimal": Decimal("0.25"),
            "recurring": {"interval": "month", "interval_count": 3},
            "transform_quantity": {"divide_by": 1000, "round": "up"},
            "tax_behavior": "exclusive",
        }
    )
    assert price.type == "recurring"
    assert price.currency == "eur"
    assert price.unit_amount is None
    assert price.unit_amount_decimal == Decimal("0.25")
    # No `aggregate_usage`: Stripe's types for this API version have none.
    assert price.recurring.to_dict() == {
        "interval": "month",
        "interval_count": 3,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }
    assert price.transform_quantity.to_dict() == {"divide_by": 1000, "round": "up"}
    whole = client.v1.prices.create(
        {"currency": "usd", "product": product.id, "unit_amount_decimal": "150.00"}
    )
    assert (whole.unit_amount, whole.unit_amount_decimal) == (150, Decimal("150"))


def test_metered_price_with_meter(client, product):
    price = _price(
        client,
        product.id,
        recurring={"interval": "month", "usage_type": "metered", "meter": "mtr_123"},
    )
    assert (price.recurring.usage_type, price.recurring.meter) == ("metered", "mtr_123")


def test_product_data_creates_the_product(client, emulator):
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 500,
            "product_data": {"id": "plan_team", "name": "Team", "metadata": {"plan": "team"}},
        }
    )
    assert price.product == "plan_team"
    assert client.v1.products.retrieve("plan_team").metadata.to_dict() == {"plan": "team"}
    assert (emulator.count("product"), emulator.count("price")) == (1, 1)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"currency": None}, "currency"),
        ({"currency": "dollars"}, "currency"),
        ({"unit_amount_decimal": "10.5"}, "unit_amount"),
        ({"unit_amount": None}, "unit_amount"),
        ({"unit_amount": -1}, "unit_amount"),
        ({"unit_amount": None, "unit_amount_decimal": "1.1234567890123"}, "unit_amount_decimal"),
        ({"product": "prod_missing"}, "product"),
        ({"product_data": {"name": "Extra"}}, "product"),
        (
            {"unit_amount": None, "billing_scheme": "tiered", "tiers_mode": "graduated"},
            "tiers",
        ),
        (
            {
                "unit_amount": None,
                "billing_scheme": "tiered",
                "tiers_mode": "volume",
                "tiers": GRADUATED,
            },
            # Stripe names ``interval`` (of the missing recurring) for a one-time tiered price.
            "interval",
        ),
        (
            {
                "unit_amount": None,
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "recurring": MONTHLY,
                "tiers": [{"up_to": 10, "unit_amount": 100}, {"up_to": 20, "unit_amount": 50}],
            },
            "tiers[1][up_to]",
        ),
        (
            {
                "unit_amount": None,
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "recurring": MONTHLY,
                "tiers": [
                    {"up_to": 10, "unit_amount": 100},
                    {"up_to": 10, "unit_amount": 90},
                    {"up_to": "inf", "unit_amount": 50},
                ],
            },
            "tiers[1][up_to]",
        ),
        (
            {
                "unit_amount": None,
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "recurring": MONTHLY,
                "tiers": [{"up_to": "inf", "unit_amount": 1, "unit_amount_decimal": "1"}],
            },
            "tiers[0][unit_amount]",
        ),
        (
            {
                "unit_amount": None,
                "billing_scheme": "tiered",
                "tiers_mode": "volume",
                "recurring": MONTHLY,
                "tiers": GRADUATED,
                "transform_quantity": {"divide_by": 10, "round": "up"},
            },
            "transform_quantity",
        ),
        ({"recurring": {"interval": "month", "usage_type": "metered"}}, "recurring[meter]"),
        ({"recurring": {"interval": "fortnight"}}, "recurring[interval]"),
        ({"recurring": {"interval_count": 2}}, "recurring[interval]"),
        ({"recurring": {"interval": "month", "interval_count": 37}}, "recurring[interval_count]"),
        ({"transform_quantity": {"divide_by": 0, "round": "up"}}, "transform_quantity[divide_by]"),
        ({"lookup_key": "k" * 201}, "lookup_key"),
        ({"tax_behavior": "sometimes"}, "tax_behavior"),
        ({"colour": "red"}, "colour"),
        ({"recurring": {"interval": "month", "colour": "red"}}, "recurring[colour]"),
        (
            {"product": None, "product_data": {"name": "Inline", "colour": "red"}},
            "product_data[colour]",
        ),
        ({"product": None, "product_data": {"metadata": {"k": "v"}}}, "product_data[name]"),
    ],
)
def test_price_validation_errors_name_the_param(client, emulator, product, params, param):
    request = {"currency": "usd", "product": product.id, "unit_amount": 1000, **params}
    # ``None`` values are dropped by the SDK: a way to leave a default parameter out.
    error = _invalid(client.v1.prices.create, request)
    assert error.param == param, error.user_message
    assert emulator.count("price") == 0
    assert emulator.count("product") == 1


def test_tiered_price_and_tier_expansion(client, product):
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "product": product.id,
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": "mtr_1"},
            "tiers": [
                {"up_to": 1000, "unit_amount": 0, "flat_amount": 500},
                {"up_to": "inf", "unit_amount_decimal": "0.5"},
            ],
        }
    )
    assert (price.billing_scheme, price.tiers_mode) == ("tiered", "graduated")
    assert (price.unit_amount, price.unit_amount_decimal) == (None, None)
    assert "tiers" not in price
    assert "tiers" not in client.v1.prices.retrieve(price.id)

    expanded = client.v1.prices.retrieve(price.id, {"expand": ["tiers"]})
    assert [tier.to_dict() for tier in expanded.tiers] == [
        {
            "flat_amount": 500,
            "flat_amount_decimal": Decimal("500"),
            "unit_amount": 0,
            "unit_amount_decimal": Decimal("0"),
            "up_to": 1000,
        },
        {
            "flat_amount": None,
            "flat_amount_decimal": None,
            "unit_amount": None,
            "unit_amount_decimal": Decimal("0.5"),
            "up_to": None,
        },
    ]
    listed = client.v1.prices.list({"expand": ["data.tiers", "data.product"]})
    assert [len(p.tiers) for p in listed.data] == [2]
    assert listed.data[0].product.name == "Pro"
    unexpanded = client.v1.prices.list()
    assert "tiers" not in unexpanded.data[0]


def test_lookup_key_is_unique_and_transfers(client, product):
    first = _price(client, product.id, lookup_key="pro_monthly")
    error = _invalid(
        client.v1.prices.create,
        {
            "currency": "usd",
            "product": product.id,
            "unit_amount": 2000,
            "lookup_key": "pro_monthly",
        },
    )
    assert error.param == "lookup_key"
    assert f"A price (`{first.id}`) already uses that lookup key." == error.user_message

    # Archiving does not release the key: it still conflicts.
    client.v1.prices.update(first.id, {"active": False})
    _invalid(client.v1.prices.update, _price(client, product.id).id, {"lookup_key": "pro_monthly"})

    second = _price(
        client, product.id, unit_amount=2000, lookup_key="pro_monthly", transfer_lookup_key=True
    )
    assert second.lookup_key == "pro_monthly"
    assert client.v1.prices.retrieve(first.id).lookup_key is None

    third = _price(client, product.id, unit_amount=3000)
    moved = client.v1.prices.update(
        third.id, {"lookup_key": "pro_monthly", "transfer_lookup_key": True}
    )
    assert moved.lookup_key == "pro_monthly"
    assert client.v1.prices.retrieve(second.id).lookup_key is None
    # Re-sending a price's own key is no conflict.
    assert client.v1.prices.update(third.id, {"lookup_key": "pro_monthly"}).id == third.id


def test_list_by_lookup_keys_returns_exactly_the_matches(client, product):
    keyed = {key: _price(client, product.id, lookup_key=key).id for key in ("a", "b", "c")}
    _price(client, product.id)
    listed = client.v1.prices.list({"lookup_keys": ["a", "c", "missing"]})
    assert sorted(p.id for p in listed.data) == sorted([keyed["a"], keyed["c"]])
    assert client.v1.prices.list({"lookup_keys": ["missing"]}).data == []
    error = _invalid(client.v1.prices.list, {"lookup_keys": [f"k{i}" for i in range(11)]})
    assert error.param == "lookup_keys"


def test_list_filters(client, product):
    other = client.v1.products.create({"name": "Other"})
    one_time = _price(client, product.id)
    monthly = _price(client, product.id, recurring=MONTHLY)
    yearly_eur = _price(client, other.id, currency="eur", recurring={"interval": "year"})
    client.v1.prices.update(one_time.id, {"active": False})

    def ids(params):
        return [p.id for p in client.v1.prices.list(params).data]

    assert ids({"product": product.id}) == [monthly.id, one_time.id]
    assert ids({"type": "one_time"}) == [one_time.id]
    assert ids({"active": True}) == [yearly_eur.id, monthly.id]
    assert ids({"currency": "eur"}) == [yearly_eur.id]
    assert ids({"recurring": {"interval": "month"}}) == [monthly.id]
    error = _invalid(client.v1.prices.list, {"product": "prod_missing"})
    assert (error.param, error.code) == ("product", "resource_missing")


def test_search_prices(client, product):
    target = _price(client, product.id, lookup_key="team_yearly", metadata={"plan": "team"})
    other = client.v1.products.create({"name": "Other"})
    _price(client, other.id, metadata={"plan": "solo"})

    def ids(query):
        return [p.id for p in client.v1.prices.search({"query": query}).data]

    assert ids("lookup_key:'team_yearly'") == [target.id]
    assert ids("metadata['plan']:'team'") == [target.id]
    assert ids(f"product:'{product.id}' AND active:'true'") == [target.id]
    assert len(ids("active:'true'")) == 2


def test_idempotent_price_create_returns_the_same_price(client, emulator, product):
    params = {"currency": "usd", "product": product.id, "unit_amount": 900}
    options = {"idempotency_key": "price-pro-900"}
    first = client.v1.prices.create(params, options)
    second = client.v1.prices.create(params, options)
    assert second.id == first.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert emulator.count("price") == 1


def test_price_update_allows_only_mutable_fields(client, product):
    price = _price(client, product.id, tax_behavior="unspecified")
    updated = client.v1.prices.update(
        price.id,
        {
            "nickname": "Legacy",
            "active": False,
            "metadata": {"a": "1"},
            "tax_behavior": "inclusive",
        },
    )
    assert (updated.nickname, updated.active, updated.tax_behavior) == (
        "Legacy",
        False,
        "inclusive",
    )
    assert updated.metadata.to_dict() == {"a": "1"}

    for field, value in (("unit_amount", 5), ("currency", "eur"), ("recurring", MONTHLY)):
        error = _invalid(client.v1.prices.update, price.id, {field: value})
        assert (error.code, error.param) == ("parameter_unknown", field)
    error = _invalid(client.v1.prices.update, price.id, {"tax_behavior": "exclusive"})
    assert error.param == "tax_behavior"
    fetched = client.v1.prices.retrieve(price.id)
    assert (fetched.unit_amount, fetched.currency, fetched.tax_behavior) == (
        1000,
        "usd",
        "inclusive",
    )


def test_unknown_price_and_no_delete_route(client, product):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.retrieve("price_missing")
    assert (excinfo.value.http_status, excinfo.value.param) == (404, "price")
    price = _price(client, product.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.raw_request("delete", f"/v1/prices/{price.id}")
    assert excinfo.value.http_status == 404


def test_pushing_a_catalog_twice_leaves_one_object_per_priced_thing(client, emulator):
    catalog = {
        "plan_free": [("free_monthly", 0)],
        "plan_pro": [("pro_monthly", 2000), ("pro_yearly", 20000)],
    }

    def push():
        for plan_id, prices in catalog.items():
            try:
                client.v1.products.retrieve(plan_id)
            except stripe.InvalidRequestError:
                client.v1.products.create({"id": plan_id, "name": plan_id})
            existing = client.v1.prices.list({"lookup_keys": [key for key, _ in prices]})
            found = {price.lookup_key for price in existing.data}
            for key, amount in prices:
                if key not in found:
                    _price(client, plan_id, unit_amount=amount, lookup_key=key, recurring=MONTHLY)

    push()
    push()
    assert (emulator.count("product"), emulator.count("price")) == (2, 3)
    assert {"product": 2, "price": 3}.items() <= emulator.counts().items()
