"""ApiAuth=iam on the local stack: the template's routes behind the emulated AWS_IAM
authorizer (local/iam.py), signed as an AWS SDK signs them (botocore's SigV4Auth, service
execute-api). A signed call needs no Bearer key; an unsigned or wrongly signed one is API
Gateway's 403 and no function runs; the worker policy reaches check and track only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.catalog import CatalogError, push
from local.iam import IamAuthorizer, Principal, SigV4, principals_from
from local.stack import LocalStack
from local.template import load_template
from tests.conftest import SECRET_KEY, table_items, with_metered_balance


@pytest.fixture(scope="module")
def principals() -> dict[str, Principal]:
    return {p.role: p for p in principals_from(load_template())}


@contextmanager
def behind_iam(stack: LocalStack) -> Iterator[str]:
    """The stack's gateway in IAM mode (as LOCAL_API_AUTH=iam starts it) while inside; its
    warm function instances stay."""
    gateway = stack.http_api
    assert gateway is not None
    gateway.authorizer = IamAuthorizer(principals_from(load_template()))
    try:
        yield stack.api_url
    finally:
        gateway.authorizer = None


@pytest.fixture
def iam_url(clean_stack: LocalStack) -> Iterator[str]:
    with behind_iam(clean_stack) as url:
        yield url


def signed(
    url: str, path: str, body: dict[str, Any], access_key: str, secret: str
) -> httpx.Response:
    """POSTs `body` signed as an AWS SDK signs (botocore's SigV4Auth, via local.iam.SigV4)."""
    return httpx.post(url + path, json=body, auth=SigV4(access_key, secret), timeout=60)


def as_(principal: Principal, url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return signed(url, path, body, principal.access_key_id, principal.secret_access_key)


def test_a_signed_call_without_a_key_is_answered(
    api: httpx.Client, clean_stack: LocalStack, principals: dict[str, Principal]
):
    with_metered_balance(api, included=5)
    use = {"customer_id": "u", "feature_id": "messages"}

    with behind_iam(clean_stack) as url:
        tracked = as_(principals["worker"], url, "/v1/balances.track", {**use, "value": 2})
        checked = as_(principals["worker"], url, "/v1/balances.check", use)

    assert tracked.status_code == 200, tracked.text
    assert checked.status_code == 200, checked.text
    assert checked.json()["balance"]["remaining"] == 3
    assert tracked.request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_an_unsigned_call_is_forbidden_even_with_a_valid_key(clean_stack: LocalStack, iam_url: str):
    answer = httpx.post(
        iam_url + "/v1/customers.get_or_create",
        json={"customer_id": "unsigned"},
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=60,
    )

    assert answer.status_code == 403
    assert answer.json() == {"message": "Forbidden"}
    assert table_items(clean_stack) == []  # no function ran


def test_a_call_signed_with_a_wrong_secret_is_forbidden(
    clean_stack: LocalStack, iam_url: str, principals: dict[str, Principal]
):
    body = {"customer_id": "forged"}
    worker = principals["worker"]
    answer = signed(iam_url, "/v1/customers.get_or_create", body, worker.access_key_id, "wrong")

    assert answer.status_code == 403
    assert table_items(clean_stack) == []


def test_the_worker_may_check_and_track_but_not_attach_nor_change_the_catalog(
    api: httpx.Client, clean_stack: LocalStack, principals: dict[str, Principal]
):
    with_metered_balance(api, included=5)
    worker, admin = principals["worker"], principals["admin"]
    attach = {"customer_id": "u", "plan_id": "pro"}
    feature = {"feature_id": "seats", "name": "Seats", "type": "metered"}

    with behind_iam(clean_stack) as url:
        assert as_(worker, url, "/v1/billing.attach", attach).status_code == 403
        assert as_(worker, url, "/v1/features.create", feature).status_code == 403
        assert as_(worker, url, "/v1/customers.get", {"customer_id": "u"}).status_code == 403
        # The admin policy reaches every route (no such plan: the function itself says so).
        assert as_(admin, url, "/v1/billing.attach", attach).json()["code"] == "product_not_found"
        assert as_(admin, url, "/v1/features.create", feature).status_code == 200


def test_stripe_and_the_dashboard_stay_outside_iam(clean_stack: LocalStack, iam_url: str):
    webhook = httpx.post(iam_url + "/webhooks/stripe", content=b"{}", timeout=60)
    dashboard = httpx.get(iam_url + "/dashboard", timeout=60)

    assert webhook.status_code == 400  # our function: not a signed Stripe event
    assert webhook.json()["code"] == "invalid_inputs"
    assert dashboard.status_code in (200, 303)


def test_make_dev_in_iam_mode_pushes_its_catalog_signed_as_the_admin(
    clean_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("features:\n  - id: sso\n    name: SSO\n    type: boolean\n")
    monkeypatch.setattr(clean_stack.config, "api_auth", "iam")  # as LOCAL_API_AUTH=iam

    with behind_iam(clean_stack) as url:
        with pytest.raises(CatalogError, match="answered 403"):
            push(catalog, url, SECRET_KEY)  # the Bearer key alone
        pushed = push(catalog, url, SECRET_KEY, auth=clean_stack.admin_auth())

    assert [(c.kind, c.id, c.action) for c in pushed] == [("feature", "sso", "create")]
