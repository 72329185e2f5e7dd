"""Checking the parameters of a new Checkout Session, and what its line items cost.

Every check runs before anything is stored, so a refused session changes nothing (what
``price_data`` made is removed again by the caller, see ``checkout_sessions.create``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from local.stripe_emulator import billing_modes, payment_methods, prices, pricing, products
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest
from local.stripe_emulator.store import JsonObject, ObjectStore

MODES = ("payment", "setup", "subscription")
_MIN_LIFETIME = 30 * 60
_MAX_LIFETIME = 24 * 60 * 60
_MAX_TRIAL_DAYS = 730
_MIN_TRIAL_END_AHEAD = 2 * 24 * 60 * 60
_LINE_ITEM_FIELDS = ("price", "price_data", "quantity")
_PRICE_DATA_FIELDS = (
    "currency",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
    "unit_amount",
    "unit_amount_decimal",
)
_PRODUCT_DATA_FIELDS = ("description", "images", "metadata", "name", "tax_code", "unit_label")
SUBSCRIPTION_DATA = ("billing_mode", "description", "metadata", "trial_end", "trial_period_days")
PAYMENT_INTENT_DATA = ("description", "metadata", "setup_future_usage")
SETUP_INTENT_DATA = ("description", "metadata")


def customer(store: ObjectStore, params: Params) -> str | None:
    if "customer" not in params:
        return None
    if "customer_email" in params:
        raise invalid_param(
            "customer_email",
            "You may only specify one of these parameters: customer, customer_email.",
        )
    customer_id = p.non_empty_string(params, "customer")
    return str(payment_methods.require_customer(store, customer_id)["id"])


def customer_creation(params: Params, mode: str, customer_id: str | None) -> str | None:
    if "customer_creation" not in params:
        return "if_required" if mode == "payment" and customer_id is None else None
    if mode != "payment":
        raise invalid_param(
            "customer_creation",
            "`customer_creation` can only be used in `payment` mode.",
        )
    if customer_id is not None:
        raise invalid_param(
            "customer_creation",
            "You may only specify one of these parameters: customer, customer_creation.",
        )
    return p.choice(params, "customer_creation", ("always", "if_required"))


def line_items(request: ApiRequest, mode: str, made: list[JsonObject]) -> list[JsonObject]:
    params = request.params
    if mode == "setup":
        if "line_items" in params:
            raise invalid_param("line_items", "You cannot pass `line_items` in `setup` mode.")
        return []
    if "line_items" not in params:
        raise missing_param("line_items")
    raw = params["line_items"]
    if not isinstance(raw, list) or not raw or not all(isinstance(i, dict) for i in raw):
        raise invalid_param("line_items", "Invalid array: line_items must be a list of hashes.")
    items = []
    for index, item in enumerate(raw):
        assert isinstance(item, dict)
        items.append(_line_item(request, item, index, mode, made))
    if len({item["currency"] for item in items}) > 1:
        raise invalid_param(
            "line_items", "All line items must have the same currency in a Checkout Session."
        )
    recurring = [item["recurring"] for item in items if item["recurring"]]
    if mode == "payment" and recurring:
        raise invalid_param(
            "line_items",
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
        )
    if mode == "subscription":
        if not recurring:
            raise invalid_param(
                "line_items",
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
            )
        if len({(r["interval"], r["interval_count"]) for r in recurring}) > 1:
            raise invalid_param(
                "line_items",
                "Checkout does not support multiple prices with different billing intervals.",
            )
    return items


def _line_item(
    request: ApiRequest, item: Params, index: int, mode: str, made: list[JsonObject]
) -> JsonObject:
    store = request.store
    prefix = f"line_items[{index}]"
    p.reject_unknown(item, _LINE_ITEM_FIELDS, prefix=prefix)
    if "price" in item and "price_data" in item:
        raise invalid_param(
            f"{prefix}[price]", "You may only specify one of these parameters: price, price_data."
        )
    if "price" not in item and "price_data" not in item:
        raise missing_param(f"{prefix}[price]")
    with p.nested(prefix):
        if "price_data" in item:
            price = _adhoc_price(request, item, made)
        else:
            price_id = p.non_empty_string(item, "price")
            found = store.find(prices.OBJECT, price_id)
            if found is None:
                raise invalid_param("price", f"No such price: '{price_id}'", "resource_missing")
            price = found
        price_id = price["id"]
        if not price["active"]:
            raise invalid_param(
                "price",
                "The price specified is inactive. This field only accepts active prices.",
            )
        metered = (price.get("recurring") or {}).get("usage_type") == "metered"
        quantity: int | None = None
        if metered:
            if "quantity" in item:
                raise invalid_param(
                    "quantity",
                    f"Quantity should not be specified where usage_type is `metered`. Remove "
                    f"quantity from `{prefix}`.",
                )
        elif "quantity" not in item:
            raise missing_param("quantity")
        else:
            quantity = p.integer(item, "quantity", minimum=1)
    return {
        "id": store.new_id("li", 24),
        "price": price_id,
        "quantity": quantity,
        "amount": line_amount(price, quantity, f"{prefix}[quantity]"),
        "currency": price["currency"],
        "recurring": price["recurring"],
    }


def _adhoc_price(request: ApiRequest, item: Params, made: list[JsonObject]) -> JsonObject:
    """The Price (and Product) a line item's ``price_data`` describes, stored at once.

    Stripe archives such prices; here they stay active, because the subscription that
    Checkout creates from them refuses inactive prices.
    """
    raw = p.hash_or_null(item, "price_data") or {}
    p.reject_unknown(raw, _PRICE_DATA_FIELDS, prefix="price_data")
    product_raw = p.hash_or_null(raw, "product_data") if "product_data" in raw else None
    price_params: Params = {k: v for k, v in raw.items() if k != "product_data"}
    extra: JsonObject = {}
    if product_raw is not None:
        with p.nested("price_data[product_data]"):
            p.reject_unknown(product_raw, _PRODUCT_DATA_FIELDS, prefix="")
            if "description" in product_raw:
                extra["description"] = p.nullable_string(product_raw, "description")
            if "images" in product_raw:
                extra["images"] = p.string_list(product_raw, "images")
        price_params["product_data"] = {
            k: v for k, v in product_raw.items() if k not in ("description", "images")
        }
    with p.nested("price_data"):
        shown = prices.create(
            ApiRequest("POST", prices.URL, price_params, {}, request.store, request.now)
        )
    price = request.store.require(prices.OBJECT, shown["id"])
    made.append(price)
    product = request.store.require(products.OBJECT, price["product"])
    if product_raw is not None:
        product.update(extra)
        made.append(product)
    return price


def currency(params: Params, items: list[JsonObject], mode: str) -> str | None:
    given = p.string(params, "currency").lower() if "currency" in params else None
    if mode == "setup":
        if given is None and "payment_method_types" not in params:
            raise invalid_param(
                "currency",
                "`currency` is required in `setup` mode when `payment_method_types` is not passed.",
                "parameter_missing",
            )
        return given
    items_currency = str(items[0]["currency"])
    if given is not None and given != items_currency:
        raise invalid_param(
            "currency", f"The currency {given} does not match the line items' ({items_currency})."
        )
    return items_currency


def trial(params: Params, mode: str, now: int) -> JsonObject | None:
    """The trial, as ``{"trial_end": ts}``, or None."""
    only_in_mode(params, "subscription_data", "subscription", mode)
    raw = hash_param(params, "subscription_data", SUBSCRIPTION_DATA)
    if not raw:
        return None
    with p.nested("subscription_data"):
        if "trial_end" in raw and "trial_period_days" in raw:
            raise invalid_param(
                "trial_end",
                "You may only specify one of these parameters: trial_end, trial_period_days.",
            )
        if "trial_period_days" in raw:
            days = p.integer(raw, "trial_period_days", minimum=1, maximum=_MAX_TRIAL_DAYS)
            return {"trial_end": now + days * 86400, "trial_period_days": days}
        if "trial_end" in raw:
            end = p.integer(raw, "trial_end")
            if end < now + _MIN_TRIAL_END_AHEAD:
                raise invalid_param(
                    "trial_end",
                    "`subscription_data[trial_end]` must be at least 48 hours in the future.",
                )
            return {"trial_end": end, "trial_period_days": None}
    return None


def check_billing_mode(params: Params, mode: str) -> None:
    """The subscription a subscription-mode session makes is flexible unless
    ``subscription_data[billing_mode][type]=classic``: refused otherwise (see
    ``billing_modes``). The completion passes the mode on to the subscription."""
    if mode == "subscription":
        data = hash_param(params, "subscription_data", SUBSCRIPTION_DATA)
        billing_modes.of_new(data, "subscription_data[billing_mode]")


def payment_method_collection(params: Params, mode: str) -> str:
    if "payment_method_collection" not in params:
        return "always"
    if mode != "subscription":
        raise invalid_param(
            "payment_method_collection",
            "`payment_method_collection` can only be used in `subscription` mode.",
        )
    return p.choice(params, "payment_method_collection", ("always", "if_required"))


def mode_data(params: Params, mode: str) -> dict[str, JsonObject]:
    """``subscription_data``, ``payment_intent_data`` and ``setup_intent_data``, each
    allowed in its own mode only (``{}`` when absent)."""
    only_in_mode(params, "payment_intent_data", "payment", mode)
    only_in_mode(params, "setup_intent_data", "setup", mode)
    intent_data = hash_param(params, "payment_intent_data", PAYMENT_INTENT_DATA)
    if "setup_future_usage" in intent_data:
        with p.nested("payment_intent_data"):
            p.choice(intent_data, "setup_future_usage", ("off_session", "on_session"))
    return {
        "subscription_data": hash_param(params, "subscription_data", SUBSCRIPTION_DATA),
        "payment_intent_data": intent_data,
        "setup_intent_data": hash_param(params, "setup_intent_data", SETUP_INTENT_DATA),
    }


INVOICE_CREATION = ("enabled", "invoice_data")
INVOICE_DATA = ("description", "footer", "metadata")


def invoice_creation(params: Params, mode: str) -> JsonObject | None:
    """``invoice_creation``: a payment-mode session's post-payment invoice (Stripe shows the
    setting, off by default, on every payment-mode session; other modes have none)."""
    only_in_mode(params, "invoice_creation", "payment", mode)
    if mode != "payment":
        return None
    raw = hash_param(params, "invoice_creation", INVOICE_CREATION)
    enabled = False
    data: JsonObject = {}
    if "invoice_creation" in params:
        with p.nested("invoice_creation"):
            if "enabled" not in raw:
                raise missing_param("enabled")
            enabled = p.boolean(raw, "enabled")
        data = hash_param(raw, "invoice_data", INVOICE_DATA)
    with p.nested("invoice_creation[invoice_data]"):
        description = p.nullable_string(data, "description") if "description" in data else None
        footer = p.nullable_string(data, "footer") if "footer" in data else None
        metadata = p.apply_metadata({}, data["metadata"]) if "metadata" in data else {}
    return {
        "enabled": enabled,
        "invoice_data": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": description,
            "footer": footer,
            "issuer": None,
            "metadata": metadata,
            "rendering_options": None,
        },
    }


def only_in_mode(params: Params, name: str, allowed_mode: str, mode: str) -> None:
    if name in params and mode != allowed_mode:
        raise invalid_param(name, f"You can not pass `{name}` in `{mode}` mode.")


def hash_param(params: Params, name: str, fields: tuple[str, ...]) -> JsonObject:
    if name not in params:
        return {}
    raw = p.hash_or_null(params, name) or {}
    p.reject_unknown(raw, fields, prefix=name)
    shown: JsonObject = dict(raw)
    if "metadata" in raw:
        with p.nested(name):
            shown["metadata"] = p.apply_metadata({}, raw["metadata"])
    return shown


def expires_at(params: Params, now: int) -> int:
    if "expires_at" not in params:
        return now + _MAX_LIFETIME
    at = p.integer(params, "expires_at")
    if at - now > _MAX_LIFETIME:
        raise invalid_param(
            "expires_at",
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
        )
    if at - now < _MIN_LIFETIME:
        raise invalid_param(
            "expires_at",
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
        )
    return at


def optional_url(params: Params, name: str) -> str | None:
    if name not in params:
        return None
    url = p.nullable_string(params, name, max_length=5000)
    if url is None:
        return None
    parts = urlsplit(url.replace("{CHECKOUT_SESSION_ID}", "x"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_param(name, "Not a valid URL", "url_invalid")
    return url


# -- amounts -----------------------------------------------------------------------------


def line_amount(price: JsonObject, quantity: int | None, param: str) -> int:
    """What ``quantity`` of ``price`` costs, in the currency's minor unit, rounded once
    (0 for a metered price, billed by usage later)."""
    if quantity is None:
        return 0
    return pricing.check_line(pricing.line_amount(price, quantity), param)


def amount_due(items: list[JsonObject], mode: str, trial_terms: JsonObject | None) -> int | None:
    if mode == "setup":
        return None
    # During a trial only the one-time items are charged at once.
    return sum(int(item["amount"]) for item in items if not (trial_terms and item["recurring"]))
