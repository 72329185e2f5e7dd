"""The offline stack: DynamoDB (moto server), the Stripe emulator and the HTTP API, wired
together with the same environment variables the functions get in AWS."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from local import openapi
from local.dynamodb import ensure_table, start_moto_server
from local.gateway import LocalHttpApi
from local.iam import REGION, IamAuthorizer, SigV4, principals_from
from local.outbox_sweeper import OutboxSweeper
from local.queues import QueuePoller, create_queues
from local.stripe_emulator import StripeEmulator
from local.stripe_emulator.realistic import MODES, ORDERED, REALISTIC, Realism
from local.template import ROOT, load_template, queue_sources, queue_url_variables, routes

DEFAULT_SECRET_KEY = "am_sk_local_dev_key"  # noqa: S105 (a documented local-only default)
EMULATOR_STRIPE_KEY = "sk_test_emulator"
# What the local stack's webhook route checks Stripe signatures with (and the emulator, or
# the events/ samples, sign with). With real Stripe, set STRIPE_WEBHOOK_SECRET to the secret
# `stripe listen` prints.
DEFAULT_WEBHOOK_SECRET = "whsec_LocalStackSigningSecret"  # noqa: S105 (local-only default)
WEBHOOK_PATH = "/webhooks/stripe"
DASHBOARD_PATH = "/dashboard"
# The local stack's own page Checkout sends a customer back to when the attach (or
# setup_payment) names no success_url and CHECKOUT_SUCCESS_URL is not set.
PAYMENT_COMPLETE_PATH = "/local/payment-complete"
# The API reference the local stack serves: the OpenAPI document and a page of it.
OPENAPI_PATH = "/openapi.json"
REFERENCE_PATH = "/reference"
# Signs the local dashboard's session cookies (AWS: a secret the template generates).
DEV_DASHBOARD_SECRET = "local-dashboard-session-secret-never-used-in-aws"  # noqa: S105
# Realistic delivery under `make dev`: what no request has come for this long is delivered.
DEV_WEBHOOK_QUIET_S = 0.1
# How long `settle` waits at most: far above what a loaded two-core machine needs.
SETTLE_TIMEOUT_S = 120.0
# The template's ApiAuth values (LOCAL_API_AUTH).
API_AUTH_MODES = ("key", "iam")


@dataclass
class StackConfig:
    port: int = 0
    secret_key: str = DEFAULT_SECRET_KEY
    table_name: str = "billing-local"
    stripe_emulator_port: int = 0
    # Set to use that DynamoDB (DynamoDB Local, another moto server) instead of starting one.
    dynamodb_endpoint_url: str | None = None
    # Set (sk_test_...) to use Stripe's test mode instead of the emulator.
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    keep_data: bool = False
    # The usage worker's batching window and retry delay (None: the template's window).
    queue_window_s: float | None = None
    queue_retry_delay_s: int = 1
    data_dir: Path = ROOT / ".local-data"
    # How the emulator delivers Stripe's webhooks: "ordered" (each once, in order, before
    # the Stripe call answers) or "realistic" (after it, shuffled, some twice, some late,
    # from `webhook_seed`; random when None). See local/stripe_emulator/realistic.py.
    webhook_delivery: str = ORDERED
    webhook_seed: int | None = None
    # Realistic mode: deliver on its own once the emulator has had no request this long
    # (None: only when `settle` is called).
    webhook_quiet_s: float | None = DEV_WEBHOOK_QUIET_S
    # Where Checkout sends a customer back when a call names no success_url (None: the
    # stack's own "payment complete" page).
    checkout_success_url: str | None = None
    # "key" (Bearer secret keys) or "iam": the routes a deployment with ApiAuth=iam puts
    # behind API Gateway's AWS_IAM authorizer want a SigV4 signature by a local principal.
    api_auth: str = "key"

    def __post_init__(self) -> None:
        if self.webhook_delivery not in MODES:
            raise ValueError(f"webhook_delivery must be one of {', '.join(MODES)}")
        if self.api_auth not in API_AUTH_MODES:
            raise ValueError(f"api_auth must be one of {', '.join(API_AUTH_MODES)}")

    @property
    def snapshot(self) -> Path:
        return self.data_dir / "dynamodb.json"

    @property
    def stripe_snapshot(self) -> Path:
        return self.data_dir / "stripe-emulator.json"

    @classmethod
    def from_env(cls) -> StackConfig:
        env = os.environ
        return cls(
            port=int(env.get("PORT", "8787")),
            secret_key=env.get("LOCAL_SECRET_KEY", DEFAULT_SECRET_KEY),
            table_name=env.get("TABLE_NAME", "billing-local"),
            stripe_emulator_port=int(env.get("STRIPE_EMULATOR_PORT", "12111")),
            dynamodb_endpoint_url=env.get("DYNAMODB_ENDPOINT_URL") or None,
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET,
            keep_data=env.get("LOCAL_KEEP_DATA", "") in ("1", "true", "yes"),
            data_dir=Path(env.get("LOCAL_DATA_DIR") or ROOT / ".local-data"),
            webhook_delivery=env.get("STRIPE_WEBHOOK_DELIVERY") or ORDERED,
            webhook_seed=seed_from(env.get("STRIPE_WEBHOOK_SEED")),
            checkout_success_url=env.get("CHECKOUT_SUCCESS_URL") or None,
            api_auth=env.get("LOCAL_API_AUTH") or "key",
        )


def quiet_metrics() -> None:
    """The functions' metrics not printed (POWERTOOLS_METRICS_DISABLED), unless the environment
    already says: `make dev`, `make bench`, `make load` and `make cost` print their own
    output, which an EMF line per invocation would bury. The test suite leaves them on (the
    observability tests read them)."""
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def seed_from(value: str | None) -> int | None:
    """STRIPE_WEBHOOK_SEED: an integer, or unset/empty for a random seed."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"STRIPE_WEBHOOK_SEED must be an integer, not {value!r}") from None


@dataclass
class LocalStack:
    config: StackConfig
    api_url: str = ""
    dynamodb_url: str = ""
    stripe_url: str | None = None
    sqs_url: str = ""
    emulator: StripeEmulator | None = None
    # Realistic delivery's seed (the configured one, or the one drawn): replays a run.
    webhook_seed: int | None = None
    pollers: list[QueuePoller] = field(default_factory=list)
    sweeper: OutboxSweeper | None = None
    http_api: LocalHttpApi | None = None
    _stoppers: list[Any] = field(default_factory=list)

    def start(self) -> LocalStack:
        config = self.config
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("POWERTOOLS_SERVICE_NAME", "billing"),
            ("POWERTOOLS_LOG_LEVEL", "WARNING"),
            ("PYDANTIC_DISABLE_PLUGINS", "__all__"),  # as template.yaml sets it
            # A failed post to an application's webhook is tried again within a minute or
            # so, not over a day as deployed.
            ("APP_WEBHOOK_RETRY_DELAYS", "1,2,5,10,30"),
            # Application webhooks go to receivers on this machine (tests, trying by hand).
            ("APP_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1,localhost,::1"),
            # An application event SQS did not take is sent again from the outbox after two
            # seconds, not a minute as deployed (less, and a publisher still between its send
            # and its removal on a loaded machine gets its event sent twice).
            ("OUTBOX_MIN_AGE_S", "2"),
        ):
            os.environ.setdefault(name, value)

        # moto serves SQS too; with another DynamoDB, a moto server still serves the queues.
        moto, self.sqs_url = start_moto_server()
        self._stoppers.append(moto.stop)
        self.dynamodb_url = config.dynamodb_endpoint_url or self.sqs_url
        ensure_table(self.dynamodb_url, config.table_name)
        if config.keep_data:
            self._restore_snapshot()

        stripe_key = config.stripe_secret_key
        if stripe_key is None:
            self.emulator = StripeEmulator(delivery=self._realism())
            if config.keep_data and config.stripe_snapshot.exists():
                # The kept customers' Stripe side: cards, subscriptions, clocks, invoices.
                self.emulator.load(config.stripe_snapshot)
            self.stripe_url = self.emulator.start(port=config.stripe_emulator_port)
            self._stoppers.append(self.emulator.stop)
            stripe_key = EMULATOR_STRIPE_KEY

        os.environ.update(
            {
                "TABLE_NAME": config.table_name,
                "DYNAMODB_ENDPOINT_URL": self.dynamodb_url,
                "API_KEY_HASHES": hashlib.sha256(config.secret_key.encode()).hexdigest(),
                "STRIPE_SECRET_KEY": stripe_key,
                "STRIPE_WEBHOOK_SECRET": config.stripe_webhook_secret,
                "DASHBOARD_SESSION_SECRET": DEV_DASHBOARD_SECRET,
            }
        )
        if self.stripe_url:
            os.environ["STRIPE_API_BASE"] = self.stripe_url
        else:
            os.environ.pop("STRIPE_API_BASE", None)
        template = load_template()
        sources = queue_sources(template)
        queue_urls = create_queues(self.sqs_url, config.table_name, sources)
        os.environ["SQS_ENDPOINT_URL"] = self.sqs_url
        for variable, queue in queue_url_variables(template).items():
            os.environ[variable] = queue_urls[queue]
        from billing.config import reset_caches

        reset_caches()

        authorizer = IamAuthorizer(principals_from(template)) if config.api_auth == "iam" else None
        api = self.http_api = LocalHttpApi(routes(template), authorizer=authorizer)
        self.api_url = api.start(port=config.port)
        self._stoppers.append(api.stop)
        # The dashboard's address, known once the API listens (Checkout sends customers back).
        os.environ["DASHBOARD_BASE_URL"] = self.dashboard_url
        api.pages[PAYMENT_COMPLETE_PATH] = payment_complete_page(self.dashboard_url)
        # The API reference, as the checked-in document says (make openapi writes it).
        spec = openapi.DOCUMENT.read_text()
        api.pages[OPENAPI_PATH] = spec
        api.pages[REFERENCE_PATH] = openapi.reference_page(json.loads(spec))
        success_url = config.checkout_success_url or self.payment_complete_url
        os.environ["CHECKOUT_SUCCESS_URL"] = success_url
        reset_caches()
        if self.emulator is not None:
            # As `stripe listen --forward-to` would: every event reaches the webhook route,
            # signed with the secret it checks, before the Stripe call that caused it returns.
            self.emulator.forward_webhooks(self.webhook_url, config.stripe_webhook_secret)
        for source in sources:
            poller = QueuePoller(
                self.sqs_url,
                queue_urls[source.queue],
                source,
                window_s=config.queue_window_s,
                retry_delay_s=config.queue_retry_delay_s,
            ).start()
            self.pollers.append(poller)
            self._stoppers.append(poller.stop)
        self.sweeper = OutboxSweeper(template, self.dynamodb_url).start()
        self._stoppers.append(self.sweeper.stop)
        return self

    def admin_auth(self) -> httpx.Auth | None:
        """IAM mode: a signer with the local admin's credentials (every route); else None."""
        if self.config.api_auth != "iam":
            return None
        admin = next(p for p in principals_from(load_template()) if p.role == "admin")
        return SigV4(admin.access_key_id, admin.secret_access_key)

    def redeploy(self, **variables: str) -> None:
        """A deployment changing the functions' environment (a new ApiKeyHashes, ...): in
        AWS every instance after it is a new one, reading its settings afresh."""
        from billing.config import reset_caches

        os.environ.update(variables)
        reset_caches()
        if self.http_api is not None:
            self.http_api.discard_instances()

    def _realism(self) -> Realism | None:
        config = self.config
        if config.webhook_delivery not in MODES:
            raise ValueError(f"webhook_delivery must be one of {', '.join(MODES)}")
        if config.webhook_delivery != REALISTIC:
            return None
        seed = config.webhook_seed
        self.webhook_seed = secrets.randbelow(2**32) if seed is None else seed
        return Realism(seed=self.webhook_seed, quiet_s=config.webhook_quiet_s)

    def set_webhook_delivery(self, mode: str, seed: int | None = None) -> None:
        """Switches the emulator's delivery mode (a test suite runs some tests in each);
        what the previous mode still had queued is delivered first."""
        if self.emulator is None:
            return
        self.config.webhook_delivery, self.config.webhook_seed = mode, seed
        self.emulator.set_delivery(self._realism())

    @property
    def realistic(self) -> bool:
        """Whether the emulator delivers webhooks realistically (then `settle` matters)."""
        return self.emulator is not None and self.emulator.delivery is not None

    def settle(self, timeout_s: float = SETTLE_TIMEOUT_S, queues: bool = True) -> None:
        """Returns once every Stripe event emitted so far has been delivered (duplicates,
        late ones and retries included) and, with `queues`, every queue is drained and the
        outbox emptied, including what those deliveries and queued messages caused in turn. Raises
        TimeoutError past `timeout_s` (the message names the seed). Ordered delivery:
        drains the queues."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.emulator is not None:
                self.emulator.settle(max(deadline - time.monotonic(), 0.001))
            if not queues:
                return
            self.drain_queues(max(deadline - time.monotonic(), 0.001))
            if self.sweeper is not None and self.sweeper.wait_until_empty(
                max(deadline - time.monotonic(), 0.001)
            ):
                continue  # what it sent is queued now
            if self.emulator is None or self.emulator.pending_deliveries() == 0:
                return

    @property
    def webhook_url(self) -> str:
        """Where Stripe's events go: the local stack's webhook route."""
        return f"{self.api_url}{WEBHOOK_PATH}"

    @property
    def dashboard_url(self) -> str:
        return f"{self.api_url}{DASHBOARD_PATH}"

    @property
    def payment_complete_url(self) -> str:
        return f"{self.api_url}{PAYMENT_COMPLETE_PATH}"

    @contextmanager
    def stripe_webhooks_paused(self) -> Iterator[None]:
        """Stripe's events made during the block never reach the webhook route: for counting
        what one function does itself (a Stripe call otherwise runs the webhook within it)."""
        if self.emulator is None:
            yield
            return
        # What was emitted before the block is delivered before it (realistic delivery).
        self.emulator.settle()
        self.emulator.stop_forwarding_webhooks()
        try:
            yield
        finally:
            self.emulator.forward_webhooks(self.webhook_url, self.config.stripe_webhook_secret)

    def drain_queues(self, timeout_s: float = 30) -> None:
        """Waits until every queued message is handled (tests; trying things by hand)."""
        for poller in self.pollers:
            poller.drain(timeout_s)

    def stop(self) -> None:
        if self.config.keep_data:
            self._save_snapshot()
            if self.emulator is not None:
                self.emulator.save(self.config.stripe_snapshot)
        for stop in reversed(self._stoppers):
            stop()
        self._stoppers.clear()

    def _dynamodb(self) -> Any:
        return boto3.client("dynamodb", endpoint_url=self.dynamodb_url)

    def _save_snapshot(self) -> None:
        items = []
        for page in (
            self._dynamodb().get_paginator("scan").paginate(TableName=self.config.table_name)
        ):
            items.extend(page["Items"])
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.config.snapshot.write_text(json.dumps(items))

    def _restore_snapshot(self) -> None:
        if not self.config.snapshot.exists():
            return
        client = self._dynamodb()
        for item in json.loads(self.config.snapshot.read_text()):
            client.put_item(TableName=self.config.table_name, Item=item)


def payment_complete_page(dashboard_url: str) -> str:
    """What a customer sees back from Checkout when the call named no success_url: in an
    application, its own page; locally, this one."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Payment complete</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
        "padding:0 1rem;color:#1a1a1a}a{color:#635bff}</style></head><body>"
        "<h1>Payment complete</h1>"
        "<p>Stripe has taken the payment: the plan is granted when Stripe's webhook says so "
        "(locally, before this page loads).</p>"
        f"<p><a href='{dashboard_url}'>Open the dashboard</a> to see the customer.</p>"
        "<p><small>The local stack's default <code>success_url</code> "
        "(<code>CHECKOUT_SUCCESS_URL</code>); pass <code>success_url</code> to "
        "<code>billing.attach</code> to send customers to your own page.</small></p>"
        "</body></html>"
    )


def describe(stack: LocalStack) -> str:
    lines = [
        f"Billing API     {stack.api_url}",
        f"Secret key      {stack.config.secret_key}   (Authorization: Bearer <key>)",
        f"Dashboard       {stack.dashboard_url}   (sign in with the secret key)",
        f"API reference   {stack.api_url}{REFERENCE_PATH}   (OpenAPI: {OPENAPI_PATH})",
        f"After Checkout  {os.environ.get('CHECKOUT_SUCCESS_URL', stack.payment_complete_url)}"
        "   (when a call names no success_url: CHECKOUT_SUCCESS_URL)",
        f"DynamoDB        {stack.dynamodb_url}   table {stack.config.table_name}",
        f"SQS             {stack.sqs_url}   (async track: the usage worker polls it)",
        f"Stripe          {stack.stripe_url or 'Stripe test mode (STRIPE_SECRET_KEY)'}",
        f"Stripe webhook  {stack.webhook_url}   signing secret"
        f" {stack.config.stripe_webhook_secret}   (STRIPE_WEBHOOK_SECRET)",
    ]
    if stack.config.api_auth == "iam":
        lines.append(
            f"IAM (SigV4)     service execute-api, region {REGION}; /v1 routes want a signature"
            " (LOCAL_API_AUTH=iam):"
        )
        for principal in principals_from(load_template()):
            lines.append(
                f"  {principal.role:<13} {principal.access_key_id} / {principal.secret_access_key}"
                f"   may invoke {', '.join(principal.allowed_routes)}"
            )
    if stack.realistic:
        lines.append(
            f"Stripe delivery realistic, seed {stack.webhook_seed}   (STRIPE_WEBHOOK_DELIVERY,"
            " STRIPE_WEBHOOK_SEED): after each answer, shuffled, some twice, some late"
        )
    return "\n".join(lines)


def ensure_path() -> None:
    """Lets `python -m local.dev` import the layer's package as Lambda does (/opt/python)."""
    import sys

    shared = str(Path(ROOT / "shared"))
    if shared not in sys.path:
        sys.path.insert(0, shared)
