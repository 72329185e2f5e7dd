"""The operator's scenario in headless Chromium (Debian's `chromium`) on the local stack,
driven by Playwright: sign in, pre-create a customer holding `pro`, the application claims
it through the SDK and tracks usage, the operator sees it all and edits a balance.

Chromium is found by CHROMIUM_PATH or on PATH. Without it these tests skip, saying why,
except in CI (CI set), where they fail. Screenshots of each page go to test-artifacts/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest
from autumn_sdk import Autumn

from local.stack import LocalStack
from local.template import ROOT
from tests.conftest import SDK_TIMEOUT_MS, SECRET_KEY

ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        reason = "no Chromium: install Debian's `chromium` or set CHROMIUM_PATH"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI runs the browser tests)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, catalog_stack: LocalStack) -> Iterator[object]:
    context = chromium.new_context(
        base_url=catalog_stack.api_url, viewport={"width": 1000, "height": 900}
    )
    browser_page = context.new_page()
    browser_page.set_default_timeout(10_000)
    problems: list[str] = []
    # A Content-Security-Policy violation, or a script error, shows in the console.
    browser_page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    browser_page.on("pageerror", lambda e: problems.append(str(e)))
    browser_page.problems = problems
    yield browser_page
    context.close()


def snap(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, key: str) -> None:
    page.goto("/dashboard")
    page.get_by_label("Secret key").fill(key)
    page.get_by_label("Secret key").press("Enter")  # the keyboard alone signs in


def test_a_wrong_key_cannot_sign_in(page):
    page.goto("/dashboard")
    # The keyboard alone: the key field has the focus, Tab reaches the button.
    assert page.evaluate("document.activeElement.id") == "secret_key"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Sign in"
    snap(page, "sign-in")
    sign_in(page, "am_sk_not_this_one")

    page.get_by_role("alert").wait_for()
    assert "not one this deployment accepts" in page.get_by_role("alert").inner_text()
    assert page.url.endswith("/dashboard/sign-in")
    snap(page, "sign-in-refused")
    page.goto("/dashboard/customers")
    assert page.url.endswith("/dashboard/sign-in")


def test_the_operator_pre_creates_a_customer_the_application_then_claims(
    page, catalog_stack: LocalStack
):
    sign_in(page, SECRET_KEY)
    page.wait_for_url("**/dashboard/customers")
    snap(page, "customers-empty")

    page.get_by_label("Name", exact=True).fill("Ada Lovelace")
    page.get_by_label("Email (required when the id is blank)").fill("ada@example.com")
    page.get_by_label("Plan to enable now (optional)").select_option("pro")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url(re.compile(r"/dashboard/customer\?email="))
    assert "Pre-created: ada@example.com" in page.get_by_role("heading", level=1).inner_text()
    snap(page, "customer-pre-created")

    with Autumn(
        secret_key=SECRET_KEY, server_url=catalog_stack.api_url, timeout_ms=SDK_TIMEOUT_MS
    ) as autumn:
        claimed = autumn.customers.get_or_create(customer_id="u1", email="Ada@Example.com")
        autumn.track(customer_id="u1", feature_id="messages", value=42)
    assert claimed.name == "Ada Lovelace"

    page.goto("/dashboard/customers")
    row = page.get_by_role("row", name=re.compile("u1"))
    assert "pro" in row.inner_text()
    row.get_by_role("link", name="u1").click()
    page.wait_for_url("**/dashboard/customer?id=u1")
    plans = page.get_by_role("region", name="Plans")
    assert "Pro" in plans.inner_text()
    messages = page.get_by_role("article", name=re.compile("Messages"))
    # Pro holds the group `main`: claiming did not add Free beside it.
    assert "Free" not in plans.locator("tbody").inner_text()
    assert messages.locator("[data-field=usage]").inner_text() == "42"
    assert messages.locator("[data-field=remaining]").inner_text() == "958"
    assert "From the plan pro: 958 of 1000 left" in messages.inner_text()

    pro_grant = messages.locator(".grant", has_text="From the plan pro")
    pro_grant.get_by_label("Set remaining").fill("700")
    pro_grant.get_by_role("button", name="Save balance").click()
    page.get_by_role("status").wait_for()
    messages = page.get_by_role("article", name=re.compile("Messages"))
    assert "From the plan pro: 700 of 1000 left" in messages.inner_text()
    assert messages.locator("[data-field=remaining]").inner_text() == "700"

    chart = page.locator("svg[data-feature=messages]")
    assert chart.get_attribute("data-total") == "42"
    assert page.locator("svg[data-feature=messages] rect title", has_text=": 42").count() == 1
    assert "42" in page.get_by_role("region", name="Latest events").inner_text()
    snap(page, "customer")
    # The README's picture (docs/dashboard-customer.png) is a copy of this one.
    page.set_viewport_size({"width": 720, "height": 1000})
    page.screenshot(path=str(ARTIFACTS / "customer-readme.png"))

    page.set_viewport_size({"width": 360, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "usable at 360 px: nothing wider than the screen"
    snap(page, "customer-360px")

    page.set_viewport_size({"width": 1000, "height": 900})
    # Enabled by hand, not billed in Stripe: no period end to cancel at, only now.
    assert page.get_by_role("button", name="Cancel pro at period end").count() == 0
    page.get_by_role("button", name="Cancel pro now (ends it immediately)").click()
    page.wait_for_url(re.compile(r"done=cancel_immediately"))
    assert page.get_by_role("status").inner_text() == "The plan is canceled now."
    assert "Pro" not in page.get_by_role("region", name="Plans").locator("tbody").inner_text()

    page.get_by_role("link", name="Plans and features").click()
    page.wait_for_url("**/dashboard/plans")
    assert "Pro" in page.get_by_role("heading", name=re.compile("^Pro")).inner_text()
    snap(page, "plans")

    page.get_by_role("link", name="Customers").click()
    page.get_by_label("Search by id, name or email").fill("lovelace")
    page.wait_for_url(re.compile(r"q=lovelace"))  # htmx swapped the list in place
    assert page.get_by_role("row", name=re.compile("u1")).count() == 1
    snap(page, "customers")
    assert page.problems == []
