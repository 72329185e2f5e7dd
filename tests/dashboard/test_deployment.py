"""How the dashboard is deployed (template.yaml) and served by `make dev`."""

from __future__ import annotations

import re
import signal

import httpx
import pytest

from local.stack import DEFAULT_SECRET_KEY
from local.template import ROOT, load_template, routes
from tests.integration.test_dev_stack import dev_stack, stop


def test_the_dashboard_function_takes_get_and_post_on_dashboard_and_below():
    template = load_template()
    found = {r.route_key for r in routes(template) if r.function == "DashboardFunction"}
    function = template["Resources"]["DashboardFunction"]["Properties"]

    assert found == {
        "GET /dashboard",
        "POST /dashboard",
        "GET /dashboard/{proxy+}",
        "POST /dashboard/{proxy+}",
    }
    assert function["Environment"]["Variables"]["DASHBOARD_SECRET_ARN"] == {
        "Ref": "DashboardSessionSecret"
    }
    generated = template["Resources"]["DashboardSessionSecret"]["Properties"]
    assert generated["GenerateSecretString"]["PasswordLength"] >= 32


def test_jinja2_ships_with_the_dashboard_function_only():
    requirements = (ROOT / "functions" / "dashboard" / "requirements.txt").read_text()
    layer = (ROOT / "shared" / "requirements.txt").read_text()

    assert "jinja2" in requirements.lower()
    assert "jinja2" not in layer.lower()


@pytest.mark.slow
def test_make_dev_serves_the_dashboard_and_prints_its_url():
    with dev_stack(LOCAL_CATALOG="none") as (api_url, process):
        assert process.stdout is not None
        line = next(line for line in process.stdout if line.startswith("Dashboard"))
        url = line.split()[1]
        with httpx.Client(timeout=120) as browser:
            sign_in_page = browser.get(url, follow_redirects=True)
            token = re.search(r'name="csrf" value="([^"]+)"', sign_in_page.text)
            assert token is not None
            signed_in = browser.post(
                f"{url}/sign-in", data={"csrf": token.group(1), "secret_key": DEFAULT_SECRET_KEY}
            )
        stop(process, signal.SIGTERM)

    assert url == f"{api_url}/dashboard"
    assert sign_in_page.url.path == "/dashboard/sign-in"
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/dashboard/customers"


def test_the_local_gateway_routes_every_path_below_dashboard_to_it_and_no_other(
    clean_stack,
):
    with httpx.Client(base_url=clean_stack.api_url, timeout=120) as client:
        below = client.get("/dashboard/customers/a/b")
        beside = client.get("/dashboardx")
        root = client.get("/dashboard")

    assert below.status_code == 303  # to sign in: the dashboard function answered
    assert below.headers["location"] == "/dashboard/sign-in"
    assert root.status_code == 303
    assert beside.status_code == 404
    assert beside.json()["code"] == "not_found"  # the $default route's function
