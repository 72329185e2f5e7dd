"""Nothing a caller sends is silently ignored: on every route, a field the API does not take,
at the top of the body or inside one of its objects, is a 400 naming it (`items.0.x`, the
path every validation error gives) and changes nothing; so is a query parameter.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from local import openapi
from local.stack import LocalStack
from tests.conftest import table_items

UNKNOWN = "zz_not_a_field"
_CUSTOMER = {"customer_id": "u1"}
_PURCHASE = {"customer_id": "u1", "plan_id": "free"}
_FEATURE_QUANTITIES = {**_PURCHASE, "feature_quantities": [{"feature_id": "messages"}]}

# Each route: a body its model takes as it is, and where inside it an object can carry an
# unknown field (None: the route's fields are all scalars or free-form JSON).
CASES: dict[str, tuple[dict[str, Any], str | None]] = {
    "/v1/balances.check": ({**_CUSTOMER, "feature_id": "messages"}, None),
    "/v1/balances.create": (
        {**_CUSTOMER, "feature_id": "messages", "reset": {"interval": "month"}},
        "reset",
    ),
    "/v1/balances.track": ({**_CUSTOMER, "feature_id": "messages", "value": 1}, None),
    "/v1/balances.update": ({**_CUSTOMER, "feature_id": "messages", "remaining": 5}, None),
    "/v1/billing.attach": (_FEATURE_QUANTITIES, "feature_quantities.0"),
    "/v1/billing.open_customer_portal": (_CUSTOMER, None),
    "/v1/billing.preview_attach": (_FEATURE_QUANTITIES, "feature_quantities.0"),
    "/v1/billing.preview_update": (_FEATURE_QUANTITIES, "feature_quantities.0"),
    "/v1/billing.setup_payment": (_FEATURE_QUANTITIES, "feature_quantities.0"),
    "/v1/billing.update": (_FEATURE_QUANTITIES, "feature_quantities.0"),
    "/v1/customers.advance_test_clock": ({**_CUSTOMER, "frozen_time": 1_700_000_000_000}, None),
    "/v1/customers.delete": (_CUSTOMER, None),
    "/v1/customers.get": (_CUSTOMER, None),
    "/v1/customers.get_or_create": ({"customer_id": "u2", "config": {}}, "config"),
    "/v1/customers.list": ({"created_at_range": {"start": 0}}, "created_at_range"),
    "/v1/customers.update": ({**_CUSTOMER, "config": {}}, "config"),
    "/v1/events.aggregate": (
        {**_CUSTOMER, "feature_id": "messages", "custom_range": {"start": 0}},
        "custom_range",
    ),
    "/v1/events.list": ({**_CUSTOMER, "custom_range": {"start": 0}}, "custom_range"),
    "/v1/features.create": (
        {"feature_id": "seats", "name": "Seats", "type": "metered", "display": {}},
        "display",
    ),
    "/v1/features.delete": ({"feature_id": "messages"}, None),
    "/v1/features.get": ({"feature_id": "messages"}, None),
    "/v1/features.list": ({}, None),
    "/v1/features.update": ({"feature_id": "messages", "display": {}}, "display"),
    "/v1/invoices.list": (_CUSTOMER, None),
    "/v1/plans.create": (
        {"plan_id": "pro", "name": "Pro", "items": [{"feature_id": "messages", "price": {}}]},
        "items.0.price",
    ),
    "/v1/plans.delete": ({"plan_id": "free"}, None),
    "/v1/plans.get": ({"plan_id": "free"}, None),
    "/v1/plans.list": ({}, None),
    "/v1/plans.update": ({"plan_id": "free", "items": [{"feature_id": "messages"}]}, "items.0"),
    "/v1/webhooks.create": ({"id": "hook", "url": "https://example.com/hook"}, None),
    "/v1/webhooks.delete": ({"id": "hook"}, None),
    "/v1/webhooks.get": ({"id": "hook"}, None),
    "/v1/webhooks.list": ({}, None),
    "/v1/webhooks.update": ({"id": "hook", "disabled": True}, None),
}


def _seed(api: httpx.Client) -> None:
    """A feature, a free plan and a customer, so that a route reaching past validation would
    find something to change."""
    for path, body in [
        ("/v1/features.create", {"feature_id": "messages", "name": "Messages", "type": "metered"}),
        (
            "/v1/plans.create",
            {
                "plan_id": "free",
                "name": "Free",
                "items": [{"feature_id": "messages", "included": 5}],
            },
        ),
        ("/v1/customers.get_or_create", _CUSTOMER),
    ]:
        api.post(path, json=body).raise_for_status()


def _with_unknown(body: dict[str, Any], inside: str | None) -> tuple[dict[str, Any], str]:
    """`body` with the unknown field added at `inside` (the top when None), and its path."""
    sent = copy.deepcopy(body)
    place: Any = sent
    for part in (inside or "").split(".") if inside else []:
        place = place[int(part)] if isinstance(place, list) else place[part]
    place[UNKNOWN] = {"a": 1}
    return sent, f"{inside}.{UNKNOWN}" if inside else UNKNOWN


def test_every_route_with_a_body_is_covered() -> None:
    routes = {route.path for route in openapi.routes() if route.request is not None}

    assert set(CASES) == routes


@pytest.mark.parametrize("route", sorted(CASES))
def test_an_unknown_field_is_a_400_naming_it_and_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack, route: str
) -> None:
    _seed(api)
    before = table_items(clean_stack)
    body, inside = CASES[route]
    places = [None] if inside is None else [None, inside]

    for place in places:
        sent, path = _with_unknown(body, place)
        answer = api.post(route, json=sent)

        assert answer.status_code == 400, (path, answer.text)
        error = answer.json()
        assert error["code"] == "invalid_inputs"
        assert path in error["message"]
        assert error["details"] == [
            {"field": path, "message": error["details"][0]["message"], "type": "extra_forbidden"}
        ]
        assert "not supported" in error["details"][0]["message"]
    assert table_items(clean_stack) == before


def test_a_query_parameter_is_a_400_naming_it_and_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    _seed(api)
    before = table_items(clean_stack)

    deleted = api.post("/v1/customers.delete", params={"customer_id": "u1"}, json=_CUSTOMER)
    listed = api.post("/v1/features.list", params={"include_archived": "true"})

    assert deleted.status_code == 400, deleted.text
    assert [d["field"] for d in deleted.json()["details"]] == ["customer_id"]
    assert listed.status_code == 400, listed.text
    assert [d["field"] for d in listed.json()["details"]] == ["include_archived"]
    assert table_items(clean_stack) == before


def test_a_field_the_sdks_send_at_its_default_is_taken_there_and_refused_elsewhere(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    _seed(api)
    before = table_items(clean_stack)
    plan = {"plan_id": "team", "name": "Team", "create_in_stripe": True}

    pooled = api.post(
        "/v1/plans.create", json={**plan, "items": [{"feature_id": "messages", "pooled": True}]}
    )
    unchanged = table_items(clean_stack)
    created = api.post(
        "/v1/plans.create", json={**plan, "items": [{"feature_id": "messages", "pooled": False}]}
    )

    assert pooled.status_code == 400, pooled.text
    assert [(d["field"], d["type"]) for d in pooled.json()["details"]] == [
        ("items.0.pooled", "not_supported")
    ]
    assert unchanged == before
    assert created.status_code == 200, created.text
    assert created.json()["items"][0]["feature_id"] == "messages"
