"""ApiAuth=iam on the local stack: the template's routes behind the emulated AWS_IAM
authorizer (local/iam.py), signed as an AWS SDK signs them (botocore's SigV4Auth, service
execute-api). A signed call needs no Bearer key; an unsigned or wrongly signed one is API
Gateway's 403 and no function runs; the worker policy reaches check and track only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.gateway import LocalHttpApi
from local.iam import REGION, IamAuthorizer, Principal, principals_from
from local.stack import LocalStack
from local.template import load_template, routes
from tests.conftest import SECRET_KEY, table_items, with_metered_balance


@pytest.fixture(scope="module")
def principals() -> dict[str, Principal]:
    return {p.role: p for p in principals_from(load_template())}


@pytest.fixture
def iam_url(clean_stack: LocalStack) -> Iterator[str]:
    """The stack's functions behind a gateway in IAM mode (as LOCAL_API_AUTH=iam starts)."""
    template = load_template()
    gateway = LocalHttpApi(routes(template), authorizer=IamAuthorizer(principals_from(template)))
    url = gateway.start()
    try:
        yield url
    finally:
        gateway.stop()


def signed(
    url: str, path: str, body: dict[str, Any], access_key: str, secret: str
) -> httpx.Response:
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST", url=url + path, data=data, headers={"content-type": "application/json"}
    )
    SigV4Auth(Credentials(access_key, secret), "execute-api", REGION).add_auth(request)
    return httpx.post(url + path, content=data, headers=dict(request.headers.items()), timeout=60)


def as_(principal: Principal, url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return signed(url, path, body, principal.access_key_id, principal.secret_access_key)


def test_a_signed_call_without_a_key_is_answered(
    api: httpx.Client, iam_url: str, principals: dict[str, Principal]
):
    with_metered_balance(api, included=5)
    body = {"customer_id": "u", "feature_id": "messages", "value": 2}

    tracked = as_(principals["worker"], iam_url, "/v1/balances.track", body)
    checked = as_(principals["worker"], iam_url, "/v1/balances.check", body)

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


@pytest.mark.parametrize(
    ("access_key", "secret"),
    [
        pytest.param("AKIALOCALWORKER00001", "not-the-secret", id="wrong secret"),
        pytest.param("AKIAUNKNOWN000000001", "local-worker-secret-access-key", id="unknown key"),
    ],
)
def test_a_call_signed_with_wrong_credentials_is_forbidden(
    clean_stack: LocalStack, iam_url: str, access_key: str, secret: str
):
    body = {"customer_id": "forged"}
    answer = signed(iam_url, "/v1/customers.get_or_create", body, access_key, secret)

    assert answer.status_code == 403
    assert table_items(clean_stack) == []


def test_a_signature_over_another_body_is_forbidden(
    clean_stack: LocalStack, iam_url: str, principals: dict[str, Principal]
):
    admin = principals["admin"]
    request = AWSRequest(
        method="POST",
        url=iam_url + "/v1/customers.get_or_create",
        data=b'{"customer_id": "a"}',
        headers={"content-type": "application/json"},
    )
    SigV4Auth(
        Credentials(admin.access_key_id, admin.secret_access_key), "execute-api", REGION
    ).add_auth(request)

    answer = httpx.post(
        iam_url + "/v1/customers.get_or_create",
        content=b'{"customer_id": "b"}',
        headers=dict(request.headers.items()),
        timeout=60,
    )

    assert answer.status_code == 403
    assert table_items(clean_stack) == []


def test_the_worker_may_check_and_track_but_not_attach_nor_change_the_catalog(
    api: httpx.Client, iam_url: str, principals: dict[str, Principal]
):
    with_metered_balance(api, included=5)
    worker, admin = principals["worker"], principals["admin"]
    attach = {"customer_id": "u", "plan_id": "pro"}
    feature = {"feature_id": "seats", "name": "Seats", "type": "metered"}

    assert as_(worker, iam_url, "/v1/billing.attach", attach).status_code == 403
    assert as_(worker, iam_url, "/v1/features.create", feature).status_code == 403
    assert as_(worker, iam_url, "/v1/customers.get", {"customer_id": "u"}).status_code == 403
    # The admin policy reaches every route (the plan does not exist: the function says so).
    assert as_(admin, iam_url, "/v1/billing.attach", attach).json()["code"] == "product_not_found"
    assert as_(admin, iam_url, "/v1/features.create", feature).status_code == 200


def test_stripe_and_the_dashboard_stay_outside_iam(clean_stack: LocalStack, iam_url: str):
    webhook = httpx.post(iam_url + "/webhooks/stripe", content=b"{}", timeout=60)
    dashboard = httpx.get(iam_url + "/dashboard", timeout=60)

    assert webhook.status_code == 400  # our function: not a signed Stripe event
    assert webhook.json()["code"] == "invalid_inputs"
    assert dashboard.status_code in (200, 303)
