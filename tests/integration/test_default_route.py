"""What no route matches is answered by the $default route's function in the API's own error
shape, as behind API Gateway (whose own answer would be `{"message": "Not Found"}`)."""

from __future__ import annotations

import httpx
import pytest

from billing.domain.errors import RouteNotFound


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/customers.nope"),
        ("GET", "/v1/customers.get"),  # a route that exists only for POST
        ("POST", "/"),
        ("DELETE", "/v2/anything/at/all?x=1"),
    ],
)
def test_an_unknown_route_answers_404_with_the_error_code(
    api: httpx.Client, method: str, path: str
) -> None:
    response = api.request(method, path, json={"customer_id": "user_1"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": RouteNotFound.code, "message": RouteNotFound.default_message}


def test_an_unknown_route_answers_the_same_without_a_key(api: httpx.Client) -> None:
    response = httpx.post(api.base_url.join("/v1/nothing.here"), json={})

    assert response.status_code == 404
    assert response.json()["code"] == RouteNotFound.code
