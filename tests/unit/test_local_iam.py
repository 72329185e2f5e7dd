"""The local AWS_IAM authorizer (local/iam.py) on its own: what makes a signature good, and
the five-minute window AWS gives a signed request; and how the local stack turns it on."""

from __future__ import annotations

import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.iam import MOST_CLOCK_SKEW_S, REGION, IamAuthorizer, Principal, principals_from
from local.stack import LocalStack, StackConfig, describe
from local.template import load_template

HOST = "127.0.0.1:8787"
PATH = "/v1/balances.check"
BODY = b'{"customer_id": "u", "feature_id": "messages"}'


def signed_headers(access_key: str, secret: str, region: str = REGION) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}{PATH}",
        data=BODY,
        headers={"content-type": "application/json"},
    )
    SigV4Auth(Credentials(access_key, secret), "execute-api", region).add_auth(request)
    # As the gateway hands them over: lowercased names, the Host header the client sent.
    return {"host": HOST, **{k.lower(): v for k, v in request.headers.items()}}


@pytest.fixture(scope="module")
def worker() -> Principal:
    return next(p for p in principals_from(load_template()) if p.role == "worker")


def authorize(headers: dict[str, str], clock_offset: float = 0.0) -> object:
    authorizer = IamAuthorizer(
        principals_from(load_template()), clock=lambda: time.time() + clock_offset
    )
    return authorizer.authorize("POST", PATH, headers, BODY, f"POST {PATH}")


def test_a_fresh_signature_names_the_caller(worker: Principal):
    authorized = authorize(signed_headers(worker.access_key_id, worker.secret_access_key))

    assert authorized == {
        "iam": {
            "accessKey": worker.access_key_id,
            "accountId": "000000000000",
            "callerId": "AROALOCAL:worker",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": worker.arn,
            "userId": "AROALOCAL:worker",
        }
    }


@pytest.mark.parametrize("offset", [MOST_CLOCK_SKEW_S + 5, -(MOST_CLOCK_SKEW_S + 5)])
def test_a_signature_outside_five_minutes_is_refused(worker: Principal, offset: float):
    headers = signed_headers(worker.access_key_id, worker.secret_access_key)

    assert authorize(headers, clock_offset=offset) is None
    assert authorize(headers, clock_offset=offset / 2) is not None


def test_a_signature_for_another_region_or_a_changed_header_is_refused(worker: Principal):
    other_region = signed_headers(worker.access_key_id, worker.secret_access_key, "eu-west-1")
    changed = signed_headers(worker.access_key_id, worker.secret_access_key)
    changed["content-type"] = "text/plain"

    assert authorize(other_region) is None
    assert authorize(changed) is None


def test_an_unknown_key_or_a_signature_over_another_body_is_refused(worker: Principal):
    unknown = signed_headers("AKIAUNKNOWN000000001", worker.secret_access_key)
    good = signed_headers(worker.access_key_id, worker.secret_access_key)
    authorizer = IamAuthorizer(principals_from(load_template()))

    assert authorize(unknown) is None
    assert authorizer.authorize("POST", PATH, good, BODY, f"POST {PATH}") is not None
    assert authorizer.authorize("POST", PATH, good, BODY + b" ", f"POST {PATH}") is None


def test_the_local_stack_runs_in_iam_mode_from_its_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOCAL_API_AUTH", "iam")
    assert StackConfig.from_env().api_auth == "iam"
    monkeypatch.delenv("LOCAL_API_AUTH")
    assert StackConfig.from_env().api_auth == "key"
    with pytest.raises(ValueError, match="api_auth"):
        StackConfig(api_auth="basic")


def test_in_iam_mode_the_local_stack_prints_its_credentials(worker: Principal):
    printed = describe(LocalStack(StackConfig(api_auth="iam")))

    assert f"{worker.access_key_id} / {worker.secret_access_key}" in printed
    assert "POST /v1/balances.check, POST /v1/balances.track" in printed
    assert worker.access_key_id not in describe(LocalStack(StackConfig()))
