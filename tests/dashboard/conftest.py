"""A dashboard client on the local stack (the real gateway, handler and services), with
the sample catalog pushed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from local.catalog import push
from local.stack import LocalStack
from local.template import ROOT
from tests.conftest import SECRET_KEY

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Dashboard:
    """A browser-like client: keeps the session cookie, sends each form with its token."""

    def __init__(self, stack: LocalStack) -> None:
        self.http = httpx.Client(base_url=stack.api_url, timeout=120)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(f"/dashboard{path}", params=params)

    def csrf(self, path: str = "/sign-in") -> str:
        found = _CSRF.search(self.get(path).text)
        assert found is not None, "the page carries a CSRF token"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], csrf: str | None = None) -> httpx.Response:
        """The form as the page that shows it sends it (its token), unless `csrf` is given."""
        token = self.csrf("/customers") if csrf is None else csrf
        return self.http.post(f"/dashboard{path}", data={**data, "csrf": token})

    def sign_in(self, key: str = SECRET_KEY) -> httpx.Response:
        return self.http.post(
            "/dashboard/sign-in", data={"secret_key": key, "csrf": self.csrf("/sign-in")}
        )


@pytest.fixture
def catalog_stack(clean_stack: LocalStack) -> LocalStack:
    push(ROOT / "local" / "catalog.yaml", clean_stack.api_url, SECRET_KEY)
    return clean_stack


@pytest.fixture
def visitor(clean_stack: LocalStack) -> Iterator[Dashboard]:
    """A browser on the dashboard of an empty deployment (ask for `catalog_stack` too for
    the sample catalog)."""
    dashboard = Dashboard(clean_stack)
    yield dashboard
    dashboard.http.close()


@pytest.fixture
def operator(visitor: Dashboard) -> Dashboard:
    assert visitor.sign_in().status_code == 303
    return visitor
