"""The Product resource: ``/v1/products``."""

from __future__ import annotations

from local.stripe_emulator import pagination, search
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import StripeError, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.routing import ApiRequest, Router
from local.stripe_emulator.store import JsonObject, ObjectStore

OBJECT = "product"
URL = "/v1/products"
# Prices are looked up by type name here; importing prices would be circular.
PRICE_OBJECT = "price"

_UPDATABLE = frozenset({"active", "description", "metadata", "name", "tax_code", "unit_label"})
# What ``POST /v1/prices`` accepts under ``product_data``.
DATA_FIELDS = frozenset({"active", "id", "metadata", "name", "tax_code", "unit_label"})
_CREATABLE = _UPDATABLE | {"id"}
_UNIT_LABEL_MAX_LENGTH = 12


def register(router: Router) -> None:
    router.object_types.add(OBJECT)
    router.add("POST", URL, create)
    router.add("GET", URL, list_products)
    router.add("GET", f"{URL}/search", search_products)
    router.add("GET", f"{URL}/{{id}}", retrieve)
    router.add("POST", f"{URL}/{{id}}", update)
    router.add("DELETE", f"{URL}/{{id}}", delete)


def create(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, _CREATABLE)
    return request.store.insert(build(request.store, request.now, request.params))


def build(store: ObjectStore, now: int, params: Params) -> JsonObject:
    """A validated product that is not stored yet, so a caller can still fail cleanly."""
    if "id" in params:
        product_id = p.non_empty_string(params, "id")
        # Any existing object (even a deleted product, or another type sharing the id)
        # blocks the id: the store keys creation order by id alone.
        if store.sequence(product_id) is not None:
            raise StripeError(
                400, "Product already exists.", code="resource_already_exists", param="id"
            )
    else:
        product_id = store.new_id("prod")
    if "name" not in params:
        raise missing_param("name")
    product: JsonObject = {
        "id": product_id,
        "object": OBJECT,
        "active": True,
        "created": now,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": "",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }
    _apply(product, params)
    return product


def retrieve(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, ())
    return request.store.require(OBJECT, request.path_params["id"])


def update(request: ApiRequest) -> JsonObject:
    product = request.store.require(OBJECT, request.path_params["id"])
    p.reject_unknown(request.params, _UPDATABLE)
    updated = dict(product)
    _apply(updated, request.params)
    updated["updated"] = request.now
    product.update(updated)
    return product


def delete(request: ApiRequest) -> JsonObject:
    product_id = request.path_params["id"]
    request.store.require(OBJECT, product_id)
    # Prices cannot be deleted, so a product that ever had one can only be archived.
    if any(price["product"] == product_id for price in request.store.live(PRICE_OBJECT)):
        raise StripeError(
            400, "This product cannot be deleted because it has one or more user-created prices."
        )
    request.store.delete(OBJECT, product_id)
    return {"id": product_id, "object": OBJECT, "deleted": True}


def list_products(request: ApiRequest) -> JsonObject:
    params = request.params
    p.reject_unknown(params, {*pagination.LIST_PARAMS, "active", "ids"})
    in_range = pagination.created_filter(params)
    active = p.boolean(params, "active") if "active" in params else None
    ids = set(p.string_list(params, "ids")) if "ids" in params else None
    products = [
        product
        for product in request.store.live(OBJECT)
        if in_range(product)
        and (active is None or product["active"] == active)
        and (ids is None or product["id"] in ids)
    ]
    return pagination.list_page(request.store, OBJECT, products, params, URL)


def search_products(request: ApiRequest) -> JsonObject:
    p.reject_unknown(request.params, search.SEARCH_PARAMS)
    return search.search_page(
        request.store.live(OBJECT),
        request.params,
        f"{URL}/search",
        resource="products",
        string_fields=("active", "description", "name", "shippable", "url"),
    )


def _apply(product: JsonObject, params: Params) -> None:
    if "name" in params:
        product["name"] = p.non_empty_string(params, "name")
    if "description" in params:
        product["description"] = p.nullable_string(params, "description", max_length=40000)
    if "active" in params:
        product["active"] = p.boolean(params, "active")
    if "metadata" in params:
        product["metadata"] = p.apply_metadata(product["metadata"], params["metadata"])
    if "tax_code" in params:
        product["tax_code"] = p.nullable_string(params, "tax_code")
    if "unit_label" in params:
        product["unit_label"] = p.nullable_string(
            params, "unit_label", max_length=_UNIT_LABEL_MAX_LENGTH
        )
