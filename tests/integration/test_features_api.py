"""features.* over HTTP against the local stack."""

from __future__ import annotations

import httpx
import pytest


def create(api: httpx.Client, **body: object) -> httpx.Response:
    return api.post("/v1/features.create", json=body)


@pytest.fixture
def messages(api: httpx.Client) -> dict[str, object]:
    response = create(api, feature_id="messages", name="Messages", type="metered")
    assert response.status_code == 200
    return response.json()


def test_a_metered_feature_is_consumable_unless_said_otherwise(api: httpx.Client) -> None:
    messages = create(api, feature_id="messages", name="Messages", type="metered").json()
    seats = create(api, feature_id="seats", name="Seats", type="metered", consumable=False).json()
    sso = create(api, feature_id="sso", name="SSO", type="boolean").json()

    assert messages["consumable"] is True
    assert seats["consumable"] is False
    assert sso["consumable"] is False
    assert messages["archived"] is False


def test_a_credit_system_prices_metered_features_in_credits(
    api: httpx.Client, messages: dict[str, object]
) -> None:
    credits = create(
        api,
        feature_id="credits",
        name="Credits",
        type="credit_system",
        credit_schema=[{"metered_feature_id": "messages", "credit_cost": 2.5}],
        display={"singular": "credit", "plural": "credits"},
    )

    assert credits.status_code == 200
    assert credits.json()["credit_schema"] == [
        {"metered_feature_id": "messages", "credit_cost": 2.5}
    ]
    assert credits.json()["display"] == {"singular": "credit", "plural": "credits"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"credit_schema": [{"metered_feature_id": "nope", "credit_cost": 1}]},
            "credit_schema.0.metered_feature_id",
        ),
        (
            {"credit_schema": [{"metered_feature_id": "messages", "credit_cost": 0}]},
            "credit_schema.0.credit_cost",
        ),
        (
            {"credit_schema": [{"metered_feature_id": "messages", "credit_cost": -1}]},
            "credit_schema.0.credit_cost",
        ),
        ({"credit_schema": []}, "credit_schema"),
        (
            {"credit_schema": [{"metered_feature_id": "sso", "credit_cost": 1}]},
            "credit_schema.0.metered_feature_id",
        ),
    ],
)
def test_a_bad_credit_schema_is_a_400_naming_the_field(
    api: httpx.Client, messages: dict[str, object], body: dict[str, object], field: str
) -> None:
    create(api, feature_id="sso", name="SSO", type="boolean")

    response = create(api, feature_id="credits", name="Credits", type="credit_system", **body)

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field
    assert api.post("/v1/features.get", json={"feature_id": "credits"}).status_code == 404


def test_an_existing_id_is_a_409(api: httpx.Client, messages: dict[str, object]) -> None:
    response = create(api, feature_id="messages", name="Again", type="metered")

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_feature_id"


def test_get_list_update_and_delete(api: httpx.Client, messages: dict[str, object]) -> None:
    create(api, feature_id="seats", name="Seats", type="metered", consumable=False)

    fetched = api.post("/v1/features.get", json={"feature_id": "messages"}).json()
    listed = api.post("/v1/features.list", json={}).json()["list"]
    updated = api.post(
        "/v1/features.update",
        json={"feature_id": "messages", "name": "AI messages", "event_names": ["chat"]},
    ).json()
    deleted = api.post("/v1/features.delete", json={"feature_id": "seats"})

    assert fetched == messages
    assert [f["id"] for f in listed] == ["messages", "seats"]
    assert updated["name"] == "AI messages"
    assert updated["event_names"] == ["chat"]
    assert updated["type"] == "metered"
    assert deleted.json() == {"success": True}
    assert api.post("/v1/features.get", json={"feature_id": "seats"}).status_code == 404


def test_an_unused_feature_can_be_renamed(api: httpx.Client, messages: dict[str, object]) -> None:
    renamed = api.post(
        "/v1/features.update", json={"feature_id": "messages", "new_feature_id": "msgs"}
    )

    assert renamed.json()["id"] == "msgs"
    assert api.post("/v1/features.get", json={"feature_id": "messages"}).status_code == 404


def test_a_feature_a_credit_system_uses_is_archived_not_deleted(
    api: httpx.Client, messages: dict[str, object]
) -> None:
    create(
        api,
        feature_id="credits",
        name="Credits",
        type="credit_system",
        credit_schema=[{"metered_feature_id": "messages", "credit_cost": 1}],
    )

    deleted = api.post("/v1/features.delete", json={"feature_id": "messages"})
    changed_type = api.post(
        "/v1/features.update", json={"feature_id": "messages", "type": "boolean"}
    )

    assert deleted.status_code == 200
    assert api.post("/v1/features.get", json={"feature_id": "messages"}).json()["archived"] is True
    assert changed_type.status_code == 409
    assert changed_type.json()["code"] == "invalid_feature"
    assert "credit system 'credits'" in changed_type.json()["message"]


def test_unknown_features_are_404(api: httpx.Client) -> None:
    for path in ("/v1/features.get", "/v1/features.update", "/v1/features.delete"):
        response = api.post(path, json={"feature_id": "ghost"})
        assert response.status_code == 404
        assert response.json()["code"] == "feature_not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"feature_id": "x", "name": "X", "type": "ai_credit_system"},
        {"feature_id": "x", "name": "X"},
        {"feature_id": "x", "name": "", "type": "metered"},
        {"feature_id": "x", "name": "X", "type": "boolean", "consumable": True},
        {
            "feature_id": "x",
            "name": "X",
            "type": "metered",
            "credit_schema": [{"metered_feature_id": "y", "credit_cost": 1}],
        },
        {"feature_id": "x", "name": "X", "type": "metered", "event_names": ["a", "a"]},
    ],
)
def test_invalid_features_are_400s(api: httpx.Client, body: dict[str, object]) -> None:
    response = create(api, **body)

    assert response.status_code == 400
    assert response.json()["details"]


def grant(api: httpx.Client, customer_id: str, feature_id: str, **body: object) -> None:
    api.post("/v1/customers.get_or_create", json={"customer_id": customer_id})
    response = api.post(
        "/v1/balances.create",
        json={"customer_id": customer_id, "feature_id": feature_id, **body},
    )
    assert response.status_code == 200, response.text


def remaining(api: httpx.Client, customer_id: str, feature_id: str) -> object:
    customer = api.post("/v1/customers.get", json={"customer_id": customer_id}).json()
    return customer["balances"][feature_id]["remaining"]


def test_a_feature_customers_hold_cannot_be_renamed_and_the_refusal_names_them(
    api: httpx.Client, messages: dict[str, object]
) -> None:
    for customer_id in ("ada", "bob"):
        grant(api, customer_id, "messages", included_grant=10)

    renamed = api.post(
        "/v1/features.update", json={"feature_id": "messages", "new_feature_id": "msgs"}
    )

    assert renamed.status_code == 409
    body = renamed.json()
    assert body["code"] == "invalid_feature"
    (detail,) = body["details"]
    assert detail["field"] == "new_feature_id"
    assert sorted(detail["customer_ids"]) == ["ada", "bob"]
    assert "'ada'" in body["message"]
    assert api.post("/v1/features.get", json={"feature_id": "messages"}).status_code == 200
    tracked = api.post(
        "/v1/balances.track", json={"customer_id": "ada", "feature_id": "messages", "value": 3}
    )
    assert tracked.status_code == 200
    assert remaining(api, "ada", "messages") == 7, "the grant still deducts"


def test_a_feature_customers_hold_cannot_change_type(
    api: httpx.Client, messages: dict[str, object]
) -> None:
    grant(api, "ada", "messages", included_grant=10)

    retyped = api.post("/v1/features.update", json={"feature_id": "messages", "type": "boolean"})
    unconsumable = api.post(
        "/v1/features.update", json={"feature_id": "messages", "consumable": False}
    )
    renamed_label = api.post(
        "/v1/features.update", json={"feature_id": "messages", "name": "Chat messages"}
    )

    assert retyped.status_code == unconsumable.status_code == 409
    assert unconsumable.json()["details"][0]["field"] == "consumable"
    assert retyped.json()["details"][0] == {
        "field": "type",
        "message": "'messages' is used by customers 'ada'",
        "customer_ids": ["ada"],
    }
    assert renamed_label.status_code == 200, "a change that strands nothing is allowed"
    assert api.post("/v1/features.get", json={"feature_id": "messages"}).json()["type"] == "metered"


def test_a_boolean_feature_a_customer_has_a_flag_of_cannot_change_type(
    api: httpx.Client,
) -> None:
    create(api, feature_id="sso", name="SSO", type="boolean")
    grant(api, "ada", "sso")

    retyped = api.post("/v1/features.update", json={"feature_id": "sso", "type": "metered"})

    assert retyped.status_code == 409
    assert retyped.json()["details"][0]["customer_ids"] == ["ada"]


def test_deleting_a_feature_customers_hold_archives_it_and_their_grants_keep_working(
    api: httpx.Client, messages: dict[str, object]
) -> None:
    grant(api, "ada", "messages", included_grant=10)

    deleted = api.post("/v1/features.delete", json={"feature_id": "messages"})
    check = api.post(
        "/v1/balances.check",
        json={"customer_id": "ada", "feature_id": "messages", "required_balance": 5},
    )

    assert deleted.status_code == 200
    assert api.post("/v1/features.get", json={"feature_id": "messages"}).json()["archived"] is True
    assert check.json()["allowed"] is True


def test_once_nobody_holds_a_feature_it_can_be_renamed_and_deleted(
    api: httpx.Client, messages: dict[str, object]
) -> None:
    grant(api, "ada", "messages", included_grant=10)
    assert api.post("/v1/customers.delete", json={"customer_id": "ada"}).status_code == 200

    renamed = api.post(
        "/v1/features.update", json={"feature_id": "messages", "new_feature_id": "msgs"}
    )
    deleted = api.post("/v1/features.delete", json={"feature_id": "msgs"})

    assert renamed.status_code == 200
    assert deleted.status_code == 200
    assert api.post("/v1/features.get", json={"feature_id": "msgs"}).status_code == 404


def test_a_renamed_customer_is_named_by_its_new_id(
    api: httpx.Client, messages: dict[str, object]
) -> None:
    grant(api, "ada", "messages", included_grant=10)
    moved = api.post(
        "/v1/customers.update", json={"customer_id": "ada", "new_customer_id": "ada_2"}
    )
    assert moved.status_code == 200, moved.text

    renamed = api.post(
        "/v1/features.update", json={"feature_id": "messages", "new_feature_id": "msgs"}
    )

    assert renamed.json()["details"][0]["customer_ids"] == ["ada_2"]


def test_an_unused_metered_feature_can_become_boolean(
    api: httpx.Client, messages: dict[str, object]
) -> None:
    retyped = api.post("/v1/features.update", json={"feature_id": "messages", "type": "boolean"})

    assert retyped.status_code == 200
    assert (retyped.json()["type"], retyped.json()["consumable"]) == ("boolean", False)
