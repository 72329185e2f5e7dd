"""Fixtures of the SDK compat suites."""

from __future__ import annotations

import pytest

from local.stack import LocalStack
from tests.compat.js_sdk import AutumnJs, install
from tests.conftest import SECRET_KEY


@pytest.fixture(scope="session")
def autumn_js_installed() -> None:
    install()


@pytest.fixture
def autumn_js(autumn_js_installed: None, clean_stack: LocalStack) -> AutumnJs:
    return AutumnJs(server_url=clean_stack.api_url, secret_key=SECRET_KEY)
