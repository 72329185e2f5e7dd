"""`make dev` as a newcomer runs it: `python -m local.dev` in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import httpx
import pytest

from local.dynamodb import start_moto_server
from local.stack import DEFAULT_SECRET_KEY, DEFAULT_WEBHOOK_SECRET
from local.template import ROOT
from tests.stripe_events import signed, stripe_event

pytestmark = pytest.mark.slow

# What the in-process test stack put in this worker's environment: a newcomer's shell has none.
STACK_VARIABLES = {
    "TABLE_NAME",
    "DYNAMODB_ENDPOINT_URL",
    "API_KEY_HASHES",
    "STRIPE_SECRET_KEY",
    "STRIPE_API_BASE",
    "STRIPE_WEBHOOK_SECRET",
}


@contextmanager
def dev_stack(
    *, own_group: bool = False, **env: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Starts the stack on free ports and yields its API URL, read from what it prints;
    `own_group`: in a process group of its own, as a terminal runs `make dev`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dev"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in STACK_VARIABLES},
            "PORT": "0",
            "STRIPE_EMULATOR_PORT": "0",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=own_group,
    )
    try:
        assert process.stdout is not None
        api_url = ""
        for line in process.stdout:
            if line.startswith("Billing API"):
                api_url = line.split()[-1]
                break
        assert api_url.startswith("http://127.0.0.1:"), "the stack prints its API URL"
        yield api_url, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> str:
    process.send_signal(sig)
    output, _ = process.communicate(timeout=120)
    return output


def create_customer(api_url: str, customer_id: str) -> httpx.Response:
    return httpx.post(
        f"{api_url}/v1/customers.get_or_create",
        json={"customer_id": customer_id, "email": "ada@example.com", "create_in_stripe": True},
        headers={"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"},
        timeout=120,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_readme_curl_example_works_and_a_signal_stops_everything(sig: signal.Signals) -> None:
    with dev_stack() as (api_url, process):
        response = create_customer(api_url, "user_123")

        assert response.status_code == 200
        assert response.json()["stripe_id"].startswith("cus_")
        output = stop(process, sig)

    assert process.returncode == 0
    assert "stopped" in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(api_url, timeout=2)


def test_it_uses_a_given_dynamodb_endpoint_and_creates_the_table_there() -> None:
    server, endpoint = start_moto_server()
    try:
        with dev_stack(DYNAMODB_ENDPOINT_URL=endpoint, TABLE_NAME="given-table") as (
            api_url,
            process,
        ):
            assert create_customer(api_url, "user_1").status_code == 200
            stop(process, signal.SIGTERM)

        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        items = dynamodb.scan(TableName="given-table")["Items"]
        assert any(item["PK"]["S"] == "CUS#user_1" for item in items)
    finally:
        server.stop()


def test_each_start_is_empty_unless_told_to_keep_data(tmp_path: Path) -> None:
    keep = {"LOCAL_KEEP_DATA": "1", "LOCAL_DATA_DIR": str(tmp_path)}
    get = {
        "json": {"customer_id": "user_1"},
        "headers": {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"},
    }

    with dev_stack(**keep) as (api_url, process):
        assert create_customer(api_url, "user_1").status_code == 200
        stop(process, signal.SIGTERM)
    with dev_stack(**keep) as (api_url, process):
        kept = httpx.post(f"{api_url}/v1/customers.get", **get, timeout=120)
        stop(process, signal.SIGTERM)
    with dev_stack() as (api_url, process):
        fresh = httpx.post(f"{api_url}/v1/customers.get", **get, timeout=120)
        stop(process, signal.SIGTERM)

    assert kept.status_code == 200
    assert fresh.status_code == 404


def signal_the_group(process: subprocess.Popen[str], sig: signal.Signals) -> str:
    """What a terminal's Ctrl-C (SIGINT) or a supervisor's SIGTERM does to `make dev`: the
    signal goes to every process of its group at once."""
    os.killpg(process.pid, sig)
    output, _ = process.communicate(timeout=120)
    return output


def test_kept_data_survives_signals_to_the_process_group_and_keeps_billing(
    tmp_path: Path,
) -> None:
    """LOCAL_KEEP_DATA=1: a customer who paid for Pro on Checkout, stopped by Ctrl-C, is still
    on Pro with its balance after a restart, and billing goes on (its card, subscription and
    test clock in the emulator are kept too); then the same after a SIGTERM."""
    keep = {"LOCAL_KEEP_DATA": "1", "LOCAL_DATA_DIR": str(tmp_path)}
    auth = {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"}

    def call(api_url: str, path: str, **body: object) -> httpx.Response:
        return httpx.post(f"{api_url}/v1/{path}", json=body, headers=auth, timeout=120)

    with dev_stack(own_group=True, **keep) as (api_url, process):
        output_until(process, "Try:")  # the sample catalog is pushed
        assert create_customer(api_url, "ada").status_code == 200
        checkout = call(api_url, "billing.attach", customer_id="ada", plan_id="pro").json()
        paid = httpx.post(
            checkout["payment_url"], data={"card_number": "4242424242424242"}, timeout=120
        )
        assert paid.status_code == 303
        call(api_url, "balances.track", customer_id="ada", feature_id="messages", value=7)
        output = signal_the_group(process, signal.SIGINT)
    assert process.returncode == 0, output
    assert "Traceback" not in output, output

    with dev_stack(own_group=True, **keep) as (api_url, process):
        kept = call(api_url, "customers.get", customer_id="ada").json()
        portal = call(api_url, "billing.open_customer_portal", customer_id="ada")
        add_on = call(api_url, "billing.attach", customer_id="ada", plan_id="priority_support")
        output = signal_the_group(process, signal.SIGTERM)
    assert process.returncode == 0, output
    assert [s["plan_id"] for s in kept["subscriptions"]] == ["pro"]
    assert kept["balances"]["messages"]["remaining"] == 993
    assert portal.status_code == 200, portal.text
    assert add_on.status_code == 200, add_on.text
    assert add_on.json()["invoice"]["status"] == "paid", "charged to the kept card"

    with dev_stack(own_group=True, **keep) as (api_url, process):
        again = call(api_url, "customers.get", customer_id="ada").json()
        invoices = call(api_url, "invoices.list", customer_id="ada").json()
        signal_the_group(process, signal.SIGTERM)
    assert sorted(s["plan_id"] for s in again["subscriptions"]) == ["priority_support", "pro"]
    assert sorted(i["total"] for i in invoices["list"]) == [20, 49]


def output_until(process: subprocess.Popen[str], marker: str) -> str:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(marker):
            break
    return "".join(lines)


def test_the_catalog_push_at_start_succeeds_while_a_client_hammers_the_api() -> None:
    stop_hammering = threading.Event()
    answers: list[tuple[str, httpx.Response]] = []

    def hammer(api_url: str, worker: int) -> None:
        n = 0
        while not stop_hammering.is_set():
            n += 1
            customer_id = f"user_{worker}_{n}"
            response = httpx.post(
                f"{api_url}/v1/customers.get_or_create",
                json={"customer_id": customer_id},
                headers={
                    "Authorization": f"Bearer {DEFAULT_SECRET_KEY}",
                    "Idempotency-Key": f"hammer-{customer_id}",
                },
                timeout=120,
            )
            answers.append((customer_id, response))

    with dev_stack() as (api_url, process):
        hammers = [threading.Thread(target=hammer, args=(api_url, w)) for w in range(4)]
        for thread in hammers:
            thread.start()
        try:
            pushed = output_until(process, "Try:")
        finally:
            stop_hammering.set()
            for thread in hammers:
                thread.join()
        alive = process.poll() is None
        stop(process, signal.SIGTERM)

    assert alive, "the stack keeps running"
    assert "was not pushed" not in pushed, pushed
    assert "to create" in pushed, "the catalog was pushed"
    assert answers, "the client called the API during the push"
    assert [r.status_code for _, r in answers] == [200] * len(answers)
    assert all(r.json()["id"] == customer_id for customer_id, r in answers)


def test_a_catalog_that_cannot_be_pushed_is_reported_and_the_stack_keeps_running(
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("features:\n  - id: seats\n    name: Seats\n    type: no_such_type\n")

    with dev_stack(LOCAL_CATALOG=str(catalog)) as (api_url, process):
        reported = output_until(process, "Try:")
        served = create_customer(api_url, "user_1")
        stop(process, signal.SIGTERM)

    assert f"Catalog {catalog} was not pushed" in reported
    assert "type" in reported, "the report names what is wrong"
    assert served.status_code == 200
    assert process.returncode == 0


def test_the_stack_prints_its_webhook_url_and_secret_and_accepts_events_signed_with_it() -> None:
    with dev_stack() as (api_url, process):
        printed = output_until(process, "Stripe webhook")
        webhook_line = printed.splitlines()[-1].split()
        webhook_url, secret = webhook_line[2], webhook_line[5]
        payload = stripe_event(event_id="evt_dev_stack")
        delivered = httpx.post(
            webhook_url, content=payload, headers=signed(payload, secret), timeout=120
        )
        stop(process, signal.SIGTERM)

    assert webhook_url == f"{api_url}/webhooks/stripe"
    assert secret == DEFAULT_WEBHOOK_SECRET
    assert (delivered.status_code, delivered.json()["outcome"]) == (200, "ignored")
