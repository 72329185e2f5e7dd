"""API Gateway's AWS_IAM authorizer for the local stack (`LOCAL_API_AUTH=iam`, as a
deployment with `ApiAuth=iam`): a request to a route behind it must carry a SigV4 signature
(service `execute-api`) by one of the local principals, and that principal's policy in
template.yaml must allow execute-api:Invoke on the route. Anything else is API Gateway's 403,
before any function runs.

The signature is computed again with botocore's own signer (the one every AWS SDK for Python
signs with) from what the request says it signed, and compared in constant time.
"""

from __future__ import annotations

import calendar
import fnmatch
import hmac
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
# How far a request's X-Amz-Date may be from the clock: AWS refuses signatures older than
# five minutes (and as far in the future), so a captured request cannot be replayed later.
MOST_CLOCK_SKEW_S = 300
_AMZ_DATE = "%Y%m%dT%H%M%SZ"

# The local principals, by the template policy each holds: test credentials that exist
# nowhere but here (the local stack prints them when it runs in IAM mode).
LOCAL_CREDENTIALS = {
    "WorkerInvokePolicy": ("AKIALOCALWORKER00001", "local-worker-secret-access-key"),
    "AdminInvokePolicy": ("AKIALOCALADMIN000001", "local-admin-secret-access-key"),
}


@dataclass(frozen=True)
class Principal:
    role: str
    access_key_id: str
    secret_access_key: str
    # Route keys the principal may invoke, as patterns ("POST /v1/balances.check").
    allowed_routes: tuple[str, ...]

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{self.role}/local"

    def may_invoke(self, route_key: str) -> bool:
        return any(fnmatch.fnmatchcase(route_key, allowed) for allowed in self.allowed_routes)


def principals_from(template: Mapping[str, Any]) -> list[Principal]:
    """One local principal per invoke policy of the template, allowed what that policy
    allows: the local stack enforces the very policies a deployment hands out."""
    found = []
    for policy_name, (access_key_id, secret) in LOCAL_CREDENTIALS.items():
        document = template["Resources"][policy_name]["Properties"]["PolicyDocument"]
        found.append(
            Principal(
                role=policy_name.removesuffix("InvokePolicy").lower(),
                access_key_id=access_key_id,
                secret_access_key=secret,
                allowed_routes=tuple(route_patterns(document)),
            )
        )
    return found


def route_patterns(document: Mapping[str, Any]) -> Iterable[str]:
    """The route keys an IAM policy document allows execute-api:Invoke on: from resources
    spelled `arn:...:${BillingApi}/<stage>/<METHOD>/<path>`."""
    for statement in document["Statement"]:
        actions = statement["Action"]
        if statement["Effect"] != "Allow" or "execute-api:Invoke" not in (
            [actions] if isinstance(actions, str) else actions
        ):
            continue
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            arn = resource["Sub"] if isinstance(resource, dict) else resource
            _, _, route = arn.partition("${BillingApi}/")
            _stage, method, path = route.split("/", 2)
            yield f"{method} /{path}"


class IamAuthorizer:
    def __init__(
        self, principals: Iterable[Principal], clock: Callable[[], float] = time.time
    ) -> None:
        self._principals = {p.access_key_id: p for p in principals}
        self._clock = clock

    def authorize(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, route_key: str
    ) -> dict[str, Any] | None:
        """The `requestContext.authorizer` API Gateway passes on for a request signed by a
        known principal allowed this route; None for API Gateway's 403."""
        principal = self._signer(method, target, headers, body)
        if principal is None or not principal.may_invoke(route_key):
            return None
        return {
            "iam": {
                "accessKey": principal.access_key_id,
                "accountId": ACCOUNT_ID,
                "callerId": f"AROALOCAL:{principal.role}",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": principal.arn,
                "userId": f"AROALOCAL:{principal.role}",
            }
        }

    def _signer(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Principal | None:
        fields = _authorization_fields(headers.get("authorization", ""))
        if fields is None:
            return None
        credential, signed_headers, signature = fields
        parts = credential.split("/")
        if len(parts) != 5:
            return None
        access_key_id, day, region, service, terminal = parts
        principal = self._principals.get(access_key_id)
        amz_date = headers.get("x-amz-date", "")
        if (
            principal is None
            or (region, service, terminal) != (REGION, SERVICE, "aws4_request")
            or not amz_date.startswith(day)
            or not self._recent(amz_date)
        ):
            return None
        names = signed_headers.split(";")
        if "host" not in names or any(name not in headers for name in names):
            return None
        request = AWSRequest(
            method=method,
            url=f"http://{headers['host']}{target}",
            headers={name: headers[name] for name in names},
            data=body,
        )
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(
            Credentials(principal.access_key_id, principal.secret_access_key), service, region
        )
        if signer.signed_headers(signer.headers_to_sign(request)) != signed_headers:
            return None
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        return principal if hmac.compare_digest(expected, signature) else None

    def _recent(self, amz_date: str) -> bool:
        try:
            signed_at = calendar.timegm(time.strptime(amz_date, _AMZ_DATE))
        except ValueError:
            return False
        return abs(self._clock() - signed_at) <= MOST_CLOCK_SKEW_S


def _authorization_fields(header: str) -> tuple[str, str, str] | None:
    """(Credential, SignedHeaders, Signature) of a SigV4 Authorization header."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        return None
    fields = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    try:
        return fields["Credential"], fields["SignedHeaders"], fields["Signature"]
    except KeyError:
        return None


class SigV4(httpx.Auth):
    """Signs each request of an httpx client as an AWS SDK does (service execute-api):
    `httpx.Client(auth=SigV4(key_id, secret))` against an API with ApiAuth=iam."""

    requires_request_body = True

    def __init__(self, access_key_id: str, secret_access_key: str, region: str = REGION) -> None:
        self._signer = SigV4Auth(Credentials(access_key_id, secret_access_key), SERVICE, region)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        signing = AWSRequest(
            method=request.method,
            url=str(request.url),
            data=request.content,
            headers={"content-type": request.headers.get("content-type", "")},
        )
        self._signer.add_auth(signing)
        for name in ("Authorization", "X-Amz-Date", "content-type"):
            request.headers[name] = signing.headers[name]
        yield request
