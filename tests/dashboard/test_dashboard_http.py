"""The dashboard over HTTP on the local stack: sign-in, sessions, CSRF and the headers."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import SECRET_KEY, stripe_client, table_items, with_metered_balance
from tests.dashboard.conftest import Dashboard


def customer_profiles(stack: LocalStack) -> list[dict]:
    return [i for i in table_items(stack) if i["SK"]["S"] == "PROFILE"]


def test_the_right_key_signs_in_with_a_strict_http_only_cookie_for_12_hours(visitor: Dashboard):
    answer = visitor.sign_in()

    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/customers"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Max-Age=43200" in cookie
    assert "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # on localhost only
    assert visitor.get("/customers").status_code == 200


def test_the_cookie_is_secure_anywhere_but_localhost(visitor: Dashboard):
    answer = visitor.http.get("/dashboard/sign-in", headers={"host": "abc.example.com"})

    assert "Secure" in answer.headers["set-cookie"]


def test_a_wrong_key_shows_the_sign_in_page_again_with_a_message(visitor: Dashboard):
    answer = visitor.sign_in("am_sk_wrong")

    assert answer.status_code == 401
    assert "not one this deployment accepts" in answer.text
    assert 'name="secret_key"' in answer.text
    assert visitor.get("/customers").headers["location"] == "/dashboard/sign-in"


def test_a_sign_in_with_a_field_the_form_has_not_is_refused_on_the_sign_in_page(
    visitor: Dashboard,
):
    form = {"secret_key": SECRET_KEY, "remember": "on", "csrf": visitor.csrf("/sign-in")}

    answer = visitor.http.post("/dashboard/sign-in", data=form)

    assert answer.status_code == 400
    assert "remember: not a field of this form" in answer.text
    assert 'name="secret_key"' in answer.text
    assert visitor.get("/customers").headers["location"] == "/dashboard/sign-in"


def test_pages_need_a_session_and_send_a_visitor_to_sign_in(visitor: Dashboard):
    for path in ("", "/customers", "/customer", "/plans"):
        answer = visitor.get(path)

        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/dashboard/sign-in"


def test_a_tampered_session_cookie_is_refused(operator: Dashboard):
    cookie = operator.http.cookies["dashboard_session"]
    version, payload, tag = cookie.split(".")
    operator.http.cookies.clear()
    operator.http.cookies.set("dashboard_session", f"{version}.{payload}x.{tag}")

    assert operator.get("/customers").status_code == 303


def test_a_post_without_a_valid_csrf_token_is_403_and_changes_nothing(
    operator: Dashboard, clean_stack: LocalStack
):
    form = {"customer_id": "u9", "email": "u9@example.com"}
    before = customer_profiles(clean_stack)

    missing = operator.http.post("/dashboard/customers", data=form)
    wrong = operator.post("/customers", form, csrf="not-the-token")

    assert missing.status_code == 403
    assert wrong.status_code == 403
    assert "nothing was changed" in missing.text
    assert customer_profiles(clean_stack) == before


def test_a_csrf_token_of_another_session_is_refused(operator: Dashboard, clean_stack: LocalStack):
    other = Dashboard(clean_stack)
    other.sign_in()
    their_token = other.csrf("/customers")

    answer = operator.post("/customers", {"customer_id": "u9"}, csrf=their_token)

    assert answer.status_code == 403
    assert customer_profiles(clean_stack) == []


def test_signing_out_clears_the_session(operator: Dashboard):
    answer = operator.post("/sign-out", {})

    assert answer.status_code == 303
    assert "Max-Age=0" in answer.headers["set-cookie"]
    assert operator.get("/customers").headers["location"] == "/dashboard/sign-in"


def test_every_page_forbids_inline_script_other_origins_and_framing(operator: Dashboard):
    for path in ("/sign-in", "/customers", "/plans"):
        headers = operator.get(path).headers

        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"


def test_static_files_have_content_hashed_names_cached_for_a_year(operator: Dashboard):
    page = operator.get("/customers").text
    script = page.split('<script src="')[1].split('"')[0]

    answer = operator.http.get(script)
    renamed = operator.http.get(script.replace(script.rsplit("/", 1)[1][:4], "0000"))

    assert answer.status_code == 200
    assert "htmx" in answer.text[:200]
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert renamed.status_code == 404


def test_a_blank_id_pre_creates_a_customer_that_get_or_create_with_its_email_claims(
    operator: Dashboard, api: httpx.Client
):
    created = operator.post(
        "/customers", {"name": "Ada", "customer_id": "", "email": "ada@example.com"}
    )

    claimed = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "u1", "email": "Ada@Example.com"}
    ).json()

    assert created.headers["location"].startswith("/dashboard/customer?email=ada%40example.com")
    assert claimed["name"] == "Ada"
    assert "u1" in operator.get("/customers").text


def test_an_invalid_form_shows_its_page_again_with_the_field_and_changes_nothing(
    operator: Dashboard, clean_stack: LocalStack
):
    answer = operator.post("/customers", {"customer_id": "", "email": "not-an-email"})

    assert answer.status_code == 400
    assert "email" in answer.text
    assert customer_profiles(clean_stack) == []


def test_the_plans_page_shows_items_prices_versions_and_stripe_ids(
    operator: Dashboard, catalog_stack: LocalStack
):
    page = operator.get("/plans").text

    assert "Pro" in page
    assert "version 1" in page
    assert "20 per month" in page
    assert "0.5 per 100, usage based" in page
    assert "product <code>prod_" in page or "product <code>bl_plan_" in page
    assert "AI credits" in page


def test_customers_come_newest_first_in_pages_and_can_be_searched(
    operator: Dashboard, api: httpx.Client
):
    for number in range(27):
        api.post(
            "/v1/customers.get_or_create",
            json={"customer_id": f"c{number:02d}", "email": f"c{number:02d}@example.com"},
        )

    first = operator.get("/customers").text
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older is not None
    second = operator.http.get(older.group(1).replace("&amp;", "&")).text
    found = operator.get("/customers", q="C07@EXAMPLE").text

    assert rows(first)[:2] == ["c26", "c25"]
    assert len(rows(first)) == 25
    assert rows(second) == ["c01", "c00"]
    assert 'rel="next"' not in second
    assert rows(found) == ["c07"]


def rows(page: str) -> list[str]:
    return re.findall(r'<td><a href="/dashboard/customer\?id=[^"]+">([^<]+)</a></td>', page)


def test_a_linked_customer_links_to_its_stripe_customer_in_test_mode(
    operator: Dashboard, api: httpx.Client
):
    created = api.post(
        "/v1/customers.get_or_create", json={"customer_id": "u2", "create_in_stripe": True}
    ).json()

    page = operator.get("/customer", id="u2").text

    assert f'href="https://dashboard.stripe.com/test/customers/{created["stripe_id"]}"' in page


@pytest.mark.parametrize(
    ("method", "path", "form", "field"),
    [
        ("POST", "/customer/profile?id=u3", {"name": "Grace", "nickname": "G"}, "nickname"),
        ("POST", "/customers", {"customer_id": "u9", "plan": "pro"}, "plan"),
        (
            "POST",
            "/customer/cancel?id=u3",
            {"subscription_id": "s", "cancel_action": "uncancel", "prorate": "yes"},
            "prorate",
        ),
        ("GET", "/customer/attach", {"id": "u3", "plan_id": "pro", "quantity": "2"}, "quantity"),
    ],
    ids=["profile", "new_customer", "cancel", "attach_preview"],
)
def test_a_field_no_form_has_is_a_400_naming_it_on_the_forms_page_and_changes_nothing(
    operator: Dashboard,
    api: httpx.Client,
    clean_stack: LocalStack,
    method: str,
    path: str,
    form: dict[str, str],
    field: str,
):
    api.post("/v1/customers.get_or_create", json={"customer_id": "u3", "name": "Ada"})
    before = customer_profiles(clean_stack)

    answer = operator.get(path, **form) if method == "GET" else operator.post(path, form)

    assert answer.status_code == 400
    alert = re.search(r'role="alert">([^<]*)<', answer.text)
    assert alert is not None, "shown where the page shows its errors"
    assert f"{field}: not a field of this form" in alert.group(1)
    # The page of the form, not the error page.
    assert "That did not work" not in answer.text
    assert customer_profiles(clean_stack) == before


def test_a_field_sent_twice_is_a_400_naming_it_and_changes_nothing(
    operator: Dashboard, api: httpx.Client
):
    api.post("/v1/customers.get_or_create", json={"customer_id": "u3", "name": "Ada"})
    token = operator.csrf("/customers")
    form = urlencode([("name", "Grace"), ("name", "Hopper"), ("csrf", token)])
    headers = {"content-type": "application/x-www-form-urlencoded"}

    answer = operator.http.post("/dashboard/customer/profile?id=u3", content=form, headers=headers)
    customer = api.post("/v1/customers.get", json={"customer_id": "u3"}).json()

    assert answer.status_code == 400
    assert "name: sent more than once" in answer.text
    assert customer["name"] == "Ada"


def test_the_profile_form_changes_name_email_and_metadata(operator: Dashboard, api: httpx.Client):
    api.post("/v1/customers.get_or_create", json={"customer_id": "u3"})

    answer = operator.post(
        "/customer/profile?id=u3",
        {"name": "Grace", "email": "grace@example.com", "metadata": '{"tier": "gold"}'},
    )
    customer = api.post("/v1/customers.get", json={"customer_id": "u3"}).json()

    assert answer.status_code == 303
    assert (customer["name"], customer["email"], customer["metadata"]) == (
        "Grace",
        "grace@example.com",
        {"tier": "gold"},
    )


@pytest.mark.billing_drift_expected(["I2"], "a paid plan enabled by hand, paid outside Stripe")
def test_enabling_a_paid_plan_grants_it_without_billing(
    operator: Dashboard, api: httpx.Client, catalog_stack: LocalStack
):
    api.post("/v1/customers.get_or_create", json={"customer_id": "u4"})

    answer = operator.post("/customer/plans?id=u4", {"plan_id": "pro"})
    customer = api.post("/v1/customers.get", json={"customer_id": "u4"}).json()

    assert answer.status_code == 303
    # Pro takes Free's place in their group `main`, as a paid attach would.
    assert {s["plan_id"] for s in customer["subscriptions"]} == {"pro"}
    assert customer["balances"]["messages"]["granted"] == 1000
    assert customer["stripe_id"] is None  # nothing was charged, nothing made in Stripe


def test_creating_a_customer_with_an_unknown_plan_creates_nothing(
    operator: Dashboard, clean_stack: LocalStack
):
    answer = operator.post("/customers", {"customer_id": "u5", "plan_id": "no_such_plan"})

    assert answer.status_code == 404
    assert 'role="alert"' in answer.text
    assert customer_profiles(clean_stack) == []


def test_a_customer_with_more_events_than_one_aggregate_reads_still_has_its_page(
    operator: Dashboard, api: httpx.Client, monkeypatch
):
    from billing.services.balances import events

    with_metered_balance(api, included=100)
    for _ in range(3):
        api.post("/v1/balances.track", json={"customer_id": "u", "feature_id": "messages"})
    monkeypatch.setattr(events, "MOST_EVENTS_PER_AGGREGATE", 2)

    answer = operator.get("/customer", id="u")

    assert answer.status_code == 200
    assert "Too many events in 30 days to chart here" in answer.text
    assert answer.text.count("<td>messages</td>") == 3  # the latest events are still listed


@pytest.mark.billing_drift_expected(["I2"], "a paid plan enabled by hand, paid outside Stripe")
def test_enabling_a_plan_replaces_the_plan_of_its_group_with_what_that_one_granted(
    operator: Dashboard, api: httpx.Client, catalog_stack: LocalStack
):
    api.post(
        "/v1/plans.create",
        json={
            "plan_id": "starter",
            "name": "Starter",
            "group": "main",
            "items": [{"feature_id": "seats", "included": 3}],
        },
    )
    api.post(
        "/v1/customers.get_or_create", json={"customer_id": "u6", "auto_enable_plan_id": "starter"}
    )

    operator.post("/customer/plans?id=u6", {"plan_id": "pro"})
    customer = api.post("/v1/customers.get", json={"customer_id": "u6"}).json()

    assert [s["plan_id"] for s in customer["subscriptions"]] == ["pro"]
    assert customer["balances"]["seats"]["granted"] == 5  # pro's, not starter's 3


def test_attach_shows_the_preview_first_then_gives_the_payment_link_granting_nothing_yet(
    operator: Dashboard, api: httpx.Client, catalog_stack: LocalStack
):
    api.post("/v1/customers.get_or_create", json={"customer_id": "u7"})

    preview = operator.get("/customer/attach", id="u7", plan_id="pro")
    unchanged = api.post("/v1/customers.get", json={"customer_id": "u7"}).json()
    attached = operator.post("/customer/attach?id=u7", {"plan_id": "pro"})
    after = api.post("/v1/customers.get", json={"customer_id": "u7"}).json()

    assert preview.status_code == 200
    assert "Due now:" in preview.text
    assert "Pro (pro) at once" in preview.text
    assert "Stripe Checkout page" in preview.text
    assert unchanged["stripe_id"] is None  # the preview wrote nothing, not even in Stripe
    assert attached.status_code == 200
    link = re.search(r'Send the customer this link:\s*<a href="([^"]+)"', attached.text)
    assert link is not None
    assert link.group(1).startswith(catalog_stack.stripe_url)
    assert [s["plan_id"] for s in after["subscriptions"]] == ["free"]  # not paid yet


def test_attaching_a_plan_already_held_shows_the_customer_again_with_why(
    operator: Dashboard, api: httpx.Client, catalog_stack: LocalStack
):
    api.post("/v1/customers.get_or_create", json={"customer_id": "u8"})

    answer = operator.get("/customer/attach", id="u8", plan_id="free")

    assert answer.status_code == 409
    assert 'role="alert"' in answer.text
    assert "Customer u8" in answer.text


def test_a_session_cookie_copied_before_sign_out_no_longer_works_after_it(
    operator: Dashboard, clean_stack: LocalStack
):
    copied = operator.http.cookies.get("dashboard_session")
    assert operator.get("/customers").status_code == 200

    operator.post("/sign-out", {})
    replayed = httpx.get(
        f"{clean_stack.api_url}/dashboard/customers",
        cookies={"dashboard_session": copied or ""},
    )

    assert replayed.status_code == 303, "the session ended with the sign-out"
    assert replayed.headers["location"] == "/dashboard/sign-in"


def test_checkout_sends_the_customer_back_to_the_configured_dashboard_not_the_host_header(
    operator: Dashboard, api: httpx.Client, catalog_stack: LocalStack
):
    api.post("/v1/customers.get_or_create", json={"customer_id": "u9"})
    token = operator.csrf("/customers")

    attached = operator.http.post(
        "/dashboard/customer/attach?id=u9",
        data={"plan_id": "pro", "csrf": token},
        headers={"Host": "evil.example"},
    )

    assert attached.status_code == 200, attached.text
    (session,) = stripe_client(catalog_stack).v1.checkout.sessions.list({"limit": 1}).data
    assert session.success_url.startswith(catalog_stack.dashboard_url + "/customer"), session
    assert "evil.example" not in session.success_url


def test_after_five_wrong_keys_a_source_is_refused_even_with_the_right_key_and_others_are_not(
    visitor: Dashboard, clean_stack: LocalStack
):
    wrong = [visitor.sign_in("am_sk_test_wrong").status_code for _ in range(5)]

    refused = visitor.sign_in()
    elsewhere = Dashboard(clean_stack)
    # Another source: a client on another loopback address.
    elsewhere.http = httpx.Client(
        base_url=clean_stack.api_url,
        timeout=120,
        transport=httpx.HTTPTransport(local_address="127.0.0.2"),
    )
    other = elsewhere.sign_in()

    assert wrong == [401] * 5
    assert refused.status_code == 429, refused.text
    assert "Too many" in refused.text
    assert visitor.get("/customers").status_code == 303, "not signed in"
    assert other.status_code == 303, "another source signs in as usual"
    elsewhere.http.close()
