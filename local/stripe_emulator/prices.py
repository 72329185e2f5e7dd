"""The Price resource: ``/v1/prices``.

Prices are immutable apart from a few bookkeeping fields and are never deleted (there is
no ``DELETE`` route); they are archived with ``active=false``.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from local.stripe_emulator import pagination, pricing, products, search
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import StripeError, invalid_param, missing_param, no_such
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "price"
URL = "/v1/prices"

_MUTABLE = frozenset({"active", "lookup_key", "metadata", "nickname", "tax_behavior"})
_UPDATABLE = _MUTABLE | {"transfer_lookup_key"}
_CREATABLE = _UPDATABLE | {
    "billing_scheme",
    "currency",
    "product",
    "product_data",
    "recurring",
    "tiers",
    "tiers_mode",
    "transform_quantity",
    "unit_amount",
    "unit_amount_decimal",
}
_LIST_FILTERS = frozenset({"active", "currency", "lookup_keys", "product", "recurring", "type"})
_TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")
# Stripe caps a billing period at three years, whatever the unit.
_MAX_INTERVAL_COUNT = {"day": 3 * 365, "week": 3 * 52, "month": 3 * 12, "year": 3}
_RECURRING_FIELDS = ("interval", "interval_count", "meter", "trial_period_days", "usage_type")
_TIER_FIELDS = ("flat_amount", "flat_amount_decimal", "unit_amount", "unit_amount_decimal", "up_to")
_LOOKUP_KEY_MAX_LENGTH = 200
_MAX_LOOKUP_KEYS = 10
_CURRENCY = re.compile(r"[a-z]{3}")


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_prices)
    router.add("GET", f"{URL}/search", search_prices)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)


def create(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, _CREATABLE)
    if "currency" not in params:
        raise missing_param("currency")
    currency = p.string(params, "currency").lower()
    if not _CURRENCY.fullmatch(currency):
        raise invalid_param("currency", f"Invalid currency: {params['currency']}")
    recurring = _recurring(params)
    price: JsonObject = {
        "id": store.new_id("price", 24),
        "object": OBJECT,
        "active": True,
        "billing_scheme": "per_unit",
        "created": request.now,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": None,
        "recurring": recurring,
        "tax_behavior": "unspecified",
        # Stored always, shown only when expanded, as Stripe does.
        "tiers": None,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time" if recurring is None else "recurring",
        "unit_amount": None,
        "unit_amount_decimal": None,
    }
    if "billing_scheme" in params:
        price["billing_scheme"] = p.choice(params, "billing_scheme", ("per_unit", "tiered"))
    if price["billing_scheme"] == "tiered":
        _apply_tiers(price, params)
    else:
        for name in ("tiers", "tiers_mode"):
            if name in params:
                raise invalid_param(name, f"`{name}` can only be set when `billing_scheme=tiered`.")
        price["unit_amount"], price["unit_amount_decimal"] = _amount(params, "unit_amount")
        if price["unit_amount_decimal"] is None:
            raise invalid_param(
                "unit_amount",
                "Prices require an `unit_amount` or `unit_amount_decimal` parameter to be set.",
            )
    if "transform_quantity" in params:
        price["transform_quantity"] = _transform_quantity(params, price["billing_scheme"])
    _apply_mutable(price, params)
    product_id, new_product = _product(request)
    price["product"] = product_id
    holder = _lookup_key_holder(store, price, params)
    # Everything is validated: only now touch the store, so a 400 changes nothing.
    if new_product is not None:
        store.insert(new_product)
    if holder is not None:
        holder["lookup_key"] = None
    store.insert(price)
    return _render(store, price, _expansions(params))


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    price = _require(request.store, request.path_params["id"])
    return _render(request.store, price, _expansions(request.params))


def update(request: ApiRequest) -> JsonObject:
    price = _require(request.store, request.path_params["id"])
    # Amounts, currency, recurring... are not in the allowed set: Stripe answers
    # parameter_unknown, and the way to change them is a new price.
    p.reject_unknown(request.params, _UPDATABLE)
    updated = dict(price)
    _apply_mutable(updated, request.params)
    holder = _lookup_key_holder(request.store, updated, request.params)
    if holder is not None:
        holder["lookup_key"] = None
    price.update(updated)
    return _render(request.store, price, _expansions(request.params))


def list_prices(request: ApiRequest) -> JsonObject:
    params, store = request.params, request.store
    p.reject_unknown(params, pagination.LIST_PARAMS | _LIST_FILTERS)
    in_range = pagination.created_filter(params)
    wanted: dict[str, object] = {}
    if "active" in params:
        wanted["active"] = p.boolean(params, "active")
    if "currency" in params:
        wanted["currency"] = p.string(params, "currency").lower()
    if "product" in params:
        wanted["product"] = _existing_product(store, p.string(params, "product"))
    if "type" in params:
        wanted["type"] = p.choice(params, "type", ("one_time", "recurring"))
    lookup_keys = _lookup_keys(params)
    recurring = _recurring_filter(params)
    prices = [
        price
        for price in store.live(OBJECT)
        if in_range(price)
        and all(price[field] == value for field, value in wanted.items())
        and (lookup_keys is None or price["lookup_key"] in lookup_keys)
        and (
            not recurring
            or (
                price["recurring"] is not None
                and all(price["recurring"][field] == value for field, value in recurring.items())
            )
        )
    ]
    expand = _expansions(params, "data.")
    shown = [_render(store, price, expand) for price in prices]
    return pagination.list_page(store, OBJECT, shown, params, URL)


def search_prices(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, search.SEARCH_PARAMS)
    expand = _expansions(request.params, "data.")
    return search.search_page(
        [_render(request.store, price, expand) for price in request.store.live(OBJECT)],
        request.params,
        f"{URL}/search",
        resource="prices",
        string_fields=("active", "currency", "lookup_key", "product", "type"),
    )


# -- validation -------------------------------------------------------------------------


def _amount(params: Params, name: str) -> tuple[int | None, str | None]:
    """The ``name`` / ``name_decimal`` pair as (integer or None, decimal string or None)."""
    decimal_name = f"{name}_decimal"
    if name in params and decimal_name in params:
        raise invalid_param(
            name, f"You may only specify one of these parameters: {name}, {decimal_name}."
        )
    if name in params:
        amount = p.integer(params, name, minimum=0, maximum=pricing.MAX_AMOUNT)
        return amount, str(amount)
    if decimal_name in params:
        value = p.decimal(params, decimal_name)
        if value >= pricing.MAX_AMOUNT + 1:
            # Stripe's eight digits before the decimal point, whatever follows it.
            raise invalid_param(
                decimal_name, f"This value must be less than {pricing.MAX_AMOUNT + 1}."
            )
        # Stripe fills the integer field too when the decimal is a whole number.
        whole = int(value) if value == value.to_integral_value() else None
        return whole, format(value, "f")
    return None, None


def _recurring(params: Params) -> JsonObject | None:
    raw = p.hash_or_null(params, "recurring") if "recurring" in params else None
    if raw is None:
        return None
    with p.nested("recurring"):
        p.reject_unknown(raw, _RECURRING_FIELDS, prefix="recurring")
        if "interval" not in raw:
            raise missing_param("interval")
        interval = p.choice(raw, "interval", _MAX_INTERVAL_COUNT)
        interval_count = (
            p.integer(raw, "interval_count", minimum=1, maximum=_MAX_INTERVAL_COUNT[interval])
            if "interval_count" in raw
            else 1
        )
        usage_type = (
            p.choice(raw, "usage_type", ("licensed", "metered"))
            if "usage_type" in raw
            else "licensed"
        )
        meter = p.nullable_string(raw, "meter") if "meter" in raw else None
        trial_days = (
            p.integer(raw, "trial_period_days", minimum=0, maximum=730)
            if "trial_period_days" in raw
            else None
        )
    # The emulator pins an API version after 2025-03-31, where usage records are gone and
    # a metered price must name the billing meter that reports its usage.
    if usage_type == "metered" and meter is None:
        raise invalid_param(
            "recurring[meter]",
            "Starting with Stripe version `2025-03-31.basil`, metered prices must be backed "
            "by meters.",
        )
    if usage_type == "licensed" and meter is not None:
        raise invalid_param(
            "recurring[meter]", "A meter can only be set on prices with `usage_type=metered`."
        )
    return {
        "interval": interval,
        "interval_count": interval_count,
        "meter": meter,
        "trial_period_days": trial_days,
        "usage_type": usage_type,
    }


def _apply_tiers(price: JsonObject, params: Params) -> None:
    for name in ("unit_amount", "unit_amount_decimal"):
        if name in params:
            raise invalid_param(
                name, f"`{name}` cannot be used with `billing_scheme=tiered`; set it per tier."
            )
    for name in ("tiers_mode", "tiers"):
        if name not in params:
            raise missing_param(name)
    price["tiers_mode"] = p.choice(params, "tiers_mode", ("graduated", "volume"))
    price["tiers"] = _tiers(params)
    if price["recurring"] is None:
        # Stripe's own choice of param for this error, odd as it looks.
        raise invalid_param(
            "interval", "Prices with `type=one_time` are not supported with tiered billing."
        )


def _tiers(params: Params) -> list[JsonObject]:
    raw = params["tiers"]
    if not isinstance(raw, list) or not raw:
        raise invalid_param("tiers", "Invalid array: tiers must be a non-empty list of hashes.")
    tiers: list[JsonObject] = []
    previous = 0
    for index, tier in enumerate(raw):
        name = f"tiers[{index}]"
        if not isinstance(tier, dict):
            raise invalid_param(name, f"Invalid hash: {name}", "parameter_invalid_hash")
        with p.nested(name):
            p.reject_unknown(tier, _TIER_FIELDS, prefix=name)
            if "up_to" not in tier:
                raise missing_param("up_to")
            # The SDK sends the last tier's bound as the literal string ``inf``.
            up_to = None if tier["up_to"] == "inf" else p.integer(tier, "up_to", minimum=1)
            unit_amount, unit_amount_decimal = _amount(tier, "unit_amount")
            flat_amount, flat_amount_decimal = _amount(tier, "flat_amount")
        is_last = index == len(raw) - 1
        if is_last and up_to is not None:
            raise invalid_param(f"{name}[up_to]", "The last tier must have `up_to` set to `inf`.")
        if not is_last and up_to is None:
            raise invalid_param(f"{name}[up_to]", "Only the last tier can have `up_to=inf`.")
        if up_to is not None and up_to <= previous:
            raise invalid_param(
                f"{name}[up_to]", "Tiers must be in increasing order of `up_to`, without repeats."
            )
        if unit_amount_decimal is None and flat_amount_decimal is None:
            raise invalid_param(name, "Each tier needs a `unit_amount` or a `flat_amount`.")
        previous = up_to or previous
        tiers.append(
            {
                "flat_amount": flat_amount,
                "flat_amount_decimal": flat_amount_decimal,
                "unit_amount": unit_amount,
                "unit_amount_decimal": unit_amount_decimal,
                "up_to": up_to,
            }
        )
    return tiers


def _transform_quantity(params: Params, billing_scheme: str) -> JsonObject | None:
    raw = p.hash_or_null(params, "transform_quantity")
    if raw is None:
        return None
    if billing_scheme == "tiered":
        raise invalid_param(
            "transform_quantity",
            "`transform_quantity` cannot be used with `billing_scheme=tiered`.",
        )
    with p.nested("transform_quantity"):
        p.reject_unknown(raw, ("divide_by", "round"), prefix="transform_quantity")
        for name in ("divide_by", "round"):
            if name not in raw:
                raise missing_param(name)
        return {
            "divide_by": p.integer(raw, "divide_by", minimum=1),
            "round": p.choice(raw, "round", ("down", "up")),
        }


def _apply_mutable(price: JsonObject, params: Params) -> None:
    """The fields both create and update accept; ``price`` may be a working copy."""
    if "active" in params:
        price["active"] = p.boolean(params, "active")
    if "metadata" in params:
        price["metadata"] = p.apply_metadata(price["metadata"], params["metadata"])
    if "nickname" in params:
        price["nickname"] = p.nullable_string(params, "nickname")
    if "lookup_key" in params:
        price["lookup_key"] = p.nullable_string(
            params, "lookup_key", max_length=_LOOKUP_KEY_MAX_LENGTH
        )
    if "transfer_lookup_key" in params:
        p.boolean(params, "transfer_lookup_key")
    if "tax_behavior" in params:
        behavior = p.choice(params, "tax_behavior", _TAX_BEHAVIORS)
        if price["tax_behavior"] != "unspecified" and behavior != price["tax_behavior"]:
            raise invalid_param(
                "tax_behavior",
                "Once specified as either `inclusive` or `exclusive`, `tax_behavior` cannot "
                "be changed.",
            )
        price["tax_behavior"] = behavior


def _lookup_key_holder(store: ObjectStore, price: JsonObject, params: Params) -> JsonObject | None:
    """Another price holding ``price``'s lookup key, which must give it up.

    Archived prices keep their keys, so they conflict too; ``transfer_lookup_key`` is
    the caller saying "move it", and is refused otherwise.
    """
    key = price["lookup_key"]
    if key is None:
        return None
    holder = next(
        (other for other in store.live(OBJECT) if other["lookup_key"] == key),
        None,
    )
    if holder is None or holder["id"] == price["id"]:
        return None
    if "transfer_lookup_key" not in params or not p.boolean(params, "transfer_lookup_key"):
        raise invalid_param(
            "lookup_key", f"A price (`{holder['id']}`) already uses that lookup key."
        )
    return holder


def _product(request: ApiRequest) -> tuple[str, JsonObject | None]:
    """The price's product id, and the product to store when ``product_data`` made one."""
    params = request.params
    if "product" in params and "product_data" in params:
        raise invalid_param(
            "product", "You may only specify one of these parameters: product, product_data."
        )
    if "product" in params:
        return _existing_product(request.store, p.string(params, "product")), None
    raw = p.hash_or_null(params, "product_data") if "product_data" in params else None
    if raw is None:
        raise invalid_param(
            "product", "You must specify either `product` or `product_data` when creating a price."
        )
    with p.nested("product_data"):
        p.reject_unknown(raw, products.DATA_FIELDS, prefix="product_data")
        product = products.build(request.store, request.now, raw)
    return product["id"], product


def _existing_product(store: ObjectStore, product_id: str) -> str:
    if store.find(products.OBJECT, product_id) is None or store.is_deleted(product_id):
        # A bad reference in the body is a 400, unlike a bad id in the URL.
        raise StripeError(
            400,
            f"No such product: '{product_id}'",
            code="resource_missing",
            param="product",
            replayable=False,
        )
    return product_id


def _lookup_keys(params: Params) -> set[str] | None:
    if "lookup_keys" not in params:
        return None
    keys = p.string_list(params, "lookup_keys")
    if len(keys) > _MAX_LOOKUP_KEYS:
        raise invalid_param(
            "lookup_keys", f"Invalid array: lookup_keys can have at most {_MAX_LOOKUP_KEYS} items."
        )
    return set(keys)


def _recurring_filter(params: Params) -> dict[str, str]:
    raw = p.hash_or_null(params, "recurring") if "recurring" in params else None
    if raw is None:
        return {}
    with p.nested("recurring"):
        p.reject_unknown(raw, ("interval", "meter", "usage_type"), prefix="recurring")
        return {name: p.string(raw, name) for name in raw}


def _require(store: ObjectStore, price_id: str) -> JsonObject:
    price = store.find(OBJECT, price_id)
    if price is None:
        # Stripe names the URL placeholder, ``{price}``, as the param.
        raise no_such(OBJECT, price_id, "price")
    return price


# -- rendering --------------------------------------------------------------------------


def _expansions(params: Params, prefix: str = "") -> set[str]:
    """Requested expansions of a price's own fields (``data.tiers`` on a list → ``tiers``)."""
    requested = p.string_list(params, "expand") if "expand" in params else []
    return {path.removeprefix(prefix) for path in requested if path.startswith(prefix)}


def _render(store: ObjectStore, price: JsonObject, expand: Collection[str]) -> JsonObject:
    shown = {name: value for name, value in price.items() if name != "tiers"}
    if "tiers" in expand:
        shown["tiers"] = price["tiers"]
    if "product" in expand:
        shown["product"] = store.find(products.OBJECT, price["product"])
    return shown
