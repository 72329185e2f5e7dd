"""webhooks.create/get/list/update/delete: the application's endpoints for our events."""

from __future__ import annotations

import os
from dataclasses import dataclass

from billing import clock
from billing.config import settings
from billing.domain.app_webhooks import Endpoint, new_secret, url_problem
from billing.domain.errors import InvalidRequest, WebhookExists, WebhookNotFound
from billing.store import app_webhooks
from billing.store.app_webhooks import EndpointExists, EndpointMissing


@dataclass(frozen=True)
class CreateWebhook:
    id: str
    url: str
    events: tuple[str, ...] = ()
    description: str | None = None
    disabled: bool = False


@dataclass(frozen=True)
class UpdateWebhook:
    """None: keep what the endpoint has."""

    id: str
    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None
    disabled: bool | None = None


def create_webhook(command: CreateWebhook) -> Endpoint:
    """The new endpoint, with its signing secret (which only this answer shows)."""
    _check_url(command.url)
    now = clock.now_ms()
    endpoint = Endpoint(
        id=command.id,
        url=command.url,
        events=command.events,
        description=command.description,
        disabled=command.disabled,
        secret=new_secret(),
        created_at=now,
        updated_at=now,
    )
    try:
        app_webhooks.create(endpoint)
    except EndpointExists as error:
        raise WebhookExists(f"A webhook with id '{command.id}' already exists.") from error
    return endpoint


def get_webhook(webhook_id: str) -> Endpoint:
    endpoint = app_webhooks.load(webhook_id)
    if endpoint is None:
        raise WebhookNotFound(f"No webhook '{webhook_id}'.")
    return endpoint


def list_webhooks() -> list[Endpoint]:
    return app_webhooks.list_all()


def update_webhook(command: UpdateWebhook) -> Endpoint:
    if command.url is not None:
        _check_url(command.url)
    current = get_webhook(command.id)
    updated = current._replace(
        url=command.url if command.url is not None else current.url,
        events=command.events if command.events is not None else current.events,
        description=(
            command.description if command.description is not None else current.description
        ),
        disabled=command.disabled if command.disabled is not None else current.disabled,
        updated_at=clock.now_ms(),
    )
    try:
        app_webhooks.replace(updated)
    except EndpointMissing as error:  # deleted in between
        raise WebhookNotFound(f"No webhook '{command.id}'.") from error
    return updated


def _check_url(url: str) -> None:
    problem = url_problem(url, settings().app_webhook_allowed_hosts, runtime_api_host())
    if problem is not None:
        raise InvalidRequest(
            f"The webhook url {problem}.", details=[{"field": "url", "message": problem}]
        )


def runtime_api_host() -> str | None:
    """The host of Lambda's runtime API (never a webhook's target), where it runs."""
    where = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    return where.rsplit(":", 1)[0].strip("[]") if where else None


def delete_webhook(webhook_id: str) -> None:
    if not app_webhooks.delete(webhook_id):
        raise WebhookNotFound(f"No webhook '{webhook_id}'.")
