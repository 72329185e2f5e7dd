"""customers.* over HTTP against the local stack: the behaviours a caller relies on."""

from __future__ import annotations

import httpx

from local.stack import LocalStack
from tests.conftest import stripe_client, table_items


def get_or_create(api: httpx.Client, **body: object) -> httpx.Response:
    return api.post("/v1/customers.get_or_create", json=body)


class TestGetOrCreate:
    def test_creates_a_new_customer_in_the_customer_shape(self, api: httpx.Client) -> None:
        response = get_or_create(api, customer_id="user_1", name="Ada", email="ada@example.com")

        assert response.status_code == 200
        customer = response.json()
        assert customer["id"] == "user_1"
        assert customer["name"] == "Ada"
        assert customer["email"] == "ada@example.com"
        assert customer["env"] == "sandbox"
        assert customer["stripe_id"] is None  # Stripe customers are created lazily
        assert customer["subscriptions"] == []
        assert customer["balances"] == {}
        assert isinstance(customer["created_at"], int)

    def test_returns_the_existing_customer_unchanged(self, api: httpx.Client) -> None:
        first = get_or_create(api, customer_id="user_1", name="Ada", metadata={"a": 1}).json()

        second = get_or_create(api, customer_id="user_1", name="Other", metadata={"b": 2}).json()

        assert second == first

    def test_fills_in_an_empty_name_and_email_only(self, api: httpx.Client) -> None:
        get_or_create(api, customer_id="user_1", name="Ada")

        filled = get_or_create(api, customer_id="user_1", name="Bob", email="a@example.com").json()

        assert filled["name"] == "Ada"
        assert filled["email"] == "a@example.com"

    def test_create_in_stripe_creates_and_links_one_stripe_customer(
        self, api: httpx.Client, clean_stack: LocalStack
    ) -> None:
        customer = get_or_create(
            api, customer_id="user_1", email="ada@example.com", name="Ada", create_in_stripe=True
        ).json()
        again = get_or_create(api, customer_id="user_1", create_in_stripe=True).json()

        assert customer["stripe_id"].startswith("cus_")
        assert again["stripe_id"] == customer["stripe_id"]
        in_stripe = stripe_client(clean_stack).v1.customers.retrieve(customer["stripe_id"])
        assert in_stripe.email == "ada@example.com"
        assert in_stripe.name == "Ada"
        assert in_stripe.metadata["billing_customer_id"] == "user_1"
        assert clean_stack.emulator is not None
        assert clean_stack.emulator.count("customer") == 1

    def test_links_an_existing_stripe_customer(
        self, api: httpx.Client, clean_stack: LocalStack
    ) -> None:
        existing = stripe_client(clean_stack).v1.customers.create({"email": "x@example.com"})

        customer = get_or_create(api, customer_id="user_1", stripe_id=existing.id).json()

        assert customer["stripe_id"] == existing.id

    def test_refuses_a_stripe_customer_that_does_not_exist(
        self, api: httpx.Client, clean_stack: LocalStack
    ) -> None:
        response = get_or_create(api, customer_id="user_1", stripe_id="cus_doesnotexist")

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "stripe_id"
        assert table_items(clean_stack) == []

    def test_refuses_a_stripe_customer_linked_to_another_customer(
        self, api: httpx.Client, clean_stack: LocalStack
    ) -> None:
        existing = stripe_client(clean_stack).v1.customers.create({})
        get_or_create(api, customer_id="user_1", stripe_id=existing.id)

        response = get_or_create(api, customer_id="user_2", stripe_id=existing.id)

        assert response.status_code == 409
        assert response.json()["code"] == "customer_already_exists"
        assert api.post("/v1/customers.get", json={"customer_id": "user_2"}).status_code == 404


class TestIdlessCustomersAndClaims:
    def test_an_idless_customer_is_found_again_by_its_email(self, api: httpx.Client) -> None:
        first = get_or_create(api, customer_id=None, email="Buyer@Example.com").json()
        again = get_or_create(api, customer_id=None, email="buyer@example.com").json()

        assert first["id"] is None
        assert again == first

    def test_an_idless_customer_needs_an_email(self, api: httpx.Client) -> None:
        response = get_or_create(api, customer_id=None, name="Nobody")

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "email"

    def test_first_get_or_create_with_that_email_claims_the_precreated_customer(
        self, api: httpx.Client
    ) -> None:
        precreated = get_or_create(
            api, customer_id=None, email="cfo@bigco.com", name="BigCo", create_in_stripe=True
        ).json()

        claimed = get_or_create(api, customer_id="org_42", email="CFO@BigCo.com").json()

        assert claimed["id"] == "org_42"
        assert claimed["created_at"] == precreated["created_at"]
        assert claimed["stripe_id"] == precreated["stripe_id"]
        assert claimed["name"] == "BigCo"
        listed = api.post("/v1/customers.list", json={}).json()["list"]
        assert [c["id"] for c in listed] == ["org_42"]

    def test_a_claimed_email_is_not_claimed_twice(self, api: httpx.Client) -> None:
        get_or_create(api, customer_id=None, email="cfo@bigco.com")
        first = get_or_create(api, customer_id="org_1", email="cfo@bigco.com").json()

        second = get_or_create(api, customer_id="org_2", email="cfo@bigco.com").json()

        assert second["created_at"] != first["created_at"]
        assert len(api.post("/v1/customers.list", json={}).json()["list"]) == 2


class TestGetUpdateDelete:
    def test_get_answers_404_for_an_unknown_customer(self, api: httpx.Client) -> None:
        response = api.post("/v1/customers.get", json={"customer_id": "nobody"})

        assert response.status_code == 404
        assert response.json()["code"] == "customer_not_found"

    def test_get_expands_the_lists_asked_for(self, api: httpx.Client) -> None:
        get_or_create(api, customer_id="user_1")

        customer = api.post(
            "/v1/customers.get", json={"customer_id": "user_1", "expand": ["invoices"]}
        ).json()

        assert customer["invoices"] == []
        assert "entities" not in customer

    def test_update_changes_only_the_fields_sent(self, api: httpx.Client) -> None:
        get_or_create(api, customer_id="user_1", name="Ada", email="ada@example.com")

        updated = api.post("/v1/customers.update", json={"customer_id": "user_1", "name": "Ada K"})

        assert updated.status_code == 200
        assert updated.json()["name"] == "Ada K"
        assert updated.json()["email"] == "ada@example.com"

    def test_update_with_null_clears_a_field(self, api: httpx.Client) -> None:
        get_or_create(api, customer_id="user_1", name="Ada", metadata={"a": 1})

        updated = api.post(
            "/v1/customers.update", json={"customer_id": "user_1", "name": None, "metadata": None}
        ).json()

        assert updated["name"] is None
        assert updated["metadata"] == {}

    def test_update_copies_name_and_email_to_stripe(
        self, api: httpx.Client, clean_stack: LocalStack
    ) -> None:
        stripe_id = get_or_create(api, customer_id="user_1", create_in_stripe=True).json()[
            "stripe_id"
        ]

        api.post("/v1/customers.update", json={"customer_id": "user_1", "email": "n@example.com"})

        assert stripe_client(clean_stack).v1.customers.retrieve(stripe_id).email == "n@example.com"

    def test_update_renames_a_customer_keeping_everything_else(self, api: httpx.Client) -> None:
        before = get_or_create(api, customer_id="user_1", name="Ada").json()

        renamed = api.post(
            "/v1/customers.update", json={"customer_id": "user_1", "new_customer_id": "user_9"}
        ).json()

        assert renamed["id"] == "user_9"
        assert renamed["created_at"] == before["created_at"]
        assert api.post("/v1/customers.get", json={"customer_id": "user_1"}).status_code == 404
        assert api.post("/v1/customers.get", json={"customer_id": "user_9"}).status_code == 200

    def test_update_refuses_to_rename_onto_an_existing_customer(self, api: httpx.Client) -> None:
        get_or_create(api, customer_id="user_1")
        get_or_create(api, customer_id="user_2")

        response = api.post(
            "/v1/customers.update", json={"customer_id": "user_1", "new_customer_id": "user_2"}
        )

        assert response.status_code == 409
        assert api.post("/v1/customers.get", json={"customer_id": "user_1"}).status_code == 200

    def test_update_of_an_unknown_customer_is_404(self, api: httpx.Client) -> None:
        response = api.post("/v1/customers.update", json={"customer_id": "nobody", "name": "x"})

        assert response.status_code == 404

    def test_delete_removes_the_customer_and_frees_its_stripe_link(
        self, api: httpx.Client, clean_stack: LocalStack
    ) -> None:
        stripe_id = get_or_create(api, customer_id="user_1", create_in_stripe=True).json()[
            "stripe_id"
        ]

        response = api.post("/v1/customers.delete", json={"customer_id": "user_1"})

        assert response.status_code == 200
        assert response.json() == {"success": True}
        # Only the webhook's record of the Stripe events it received stays (not the customer's).
        left = [i for i in table_items(clean_stack) if i.get("entity") != {"S": "stripe_event"}]
        assert left == []
        relinked = get_or_create(api, customer_id="user_2", stripe_id=stripe_id)
        assert relinked.status_code == 200

    def test_delete_in_stripe_deletes_the_stripe_customer(
        self, api: httpx.Client, clean_stack: LocalStack
    ) -> None:
        get_or_create(api, customer_id="user_1", create_in_stripe=True)

        api.post("/v1/customers.delete", json={"customer_id": "user_1", "delete_in_stripe": True})

        assert clean_stack.emulator is not None
        assert clean_stack.emulator.count("customer") == 0

    def test_delete_of_an_unknown_customer_is_404(self, api: httpx.Client) -> None:
        response = api.post("/v1/customers.delete", json={"customer_id": "nobody"})

        assert response.status_code == 404


class TestList:
    def test_pages_through_every_customer_once_newest_first(self, api: httpx.Client) -> None:
        for n in range(5):
            get_or_create(api, customer_id=f"user_{n}", name=f"User {n}")

        seen, cursor = [], None
        while True:
            page = api.post("/v1/customers.list", json={"limit": 2, "start_cursor": cursor}).json()
            seen += [c["id"] for c in page["list"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break

        assert seen == [f"user_{n}" for n in reversed(range(5))]

    def test_sorts_oldest_first_when_asked(self, api: httpx.Client) -> None:
        for n in range(3):
            get_or_create(api, customer_id=f"user_{n}")

        page = api.post("/v1/customers.list", json={"sort_order": "asc"}).json()

        assert [c["id"] for c in page["list"]] == ["user_0", "user_1", "user_2"]

    def test_search_matches_id_name_or_email_case_insensitively(self, api: httpx.Client) -> None:
        get_or_create(api, customer_id="user_1", email="ada@lovelace.org")
        get_or_create(api, customer_id="user_2", name="Grace Hopper")
        get_or_create(api, customer_id="user_3")

        by_email = api.post("/v1/customers.list", json={"search": "LOVELACE"}).json()["list"]
        by_name = api.post("/v1/customers.list", json={"search": "hopper", "limit": 1}).json()

        assert [c["id"] for c in by_email] == ["user_1"]
        assert [c["id"] for c in by_name["list"]] == ["user_2"]

    def test_a_search_page_is_cut_after_filtering_so_limit_one_walks_every_match(
        self, api: httpx.Client
    ) -> None:
        for n in range(25):
            get_or_create(api, customer_id=f"user_{n:02d}", name="Acme" if n in (0, 24) else None)

        pages, cursor = [], None
        while True:
            body = {"search": "acme", "limit": 1, "start_cursor": cursor}
            page = api.post("/v1/customers.list", json=body).json()
            pages.append([c["id"] for c in page["list"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break

        assert pages == [["user_24"], ["user_00"]]

    def test_a_forged_cursor_is_a_400(self, api: httpx.Client) -> None:
        response = api.post("/v1/customers.list", json={"start_cursor": "bm90LWEtY3Vyc29y"})

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "start_cursor"

    def test_limit_out_of_range_is_a_400(self, api: httpx.Client) -> None:
        response = api.post("/v1/customers.list", json={"limit": 1000})

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "limit"
