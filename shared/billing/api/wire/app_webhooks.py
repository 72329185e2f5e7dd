"""webhooks.*: the application's endpoints for our events, as the SDKs send and read them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from billing.api.wire.common import Url, WireRequest, WireResponse
from billing.domain.app_webhooks import Endpoint
from billing.services.app_webhooks.endpoints import CreateWebhook, UpdateWebhook

WebhookId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")]
Description = Annotated[str, Field(max_length=1024)]
# Every name the SDKs know: endpoints may ask for types this deployment never sends.
WebhookEvent = Literal[
    "customer.products.updated",
    "customer.threshold_reached",
    "balances.usage_alert_triggered",
    "balances.limit_reached",
    "billing.auto_topup_failed",
    "billing.auto_topup_succeeded",
    "billing.updated",
    "invoice.finalized",
    "vercel.resources.deleted",
    "vercel.resources.provisioned",
    "vercel.resources.rotate_secrets",
    "vercel.webhooks.event",
]
Events = Annotated[list[WebhookEvent], Field(max_length=50)]


class CreateWebhookRequest(WireRequest):
    id: WebhookId
    url: Url
    events: Events | None = None
    description: Description | None = None
    disabled: bool | None = None

    def command(self) -> CreateWebhook:
        return CreateWebhook(
            id=self.id,
            url=self.url,
            events=tuple(dict.fromkeys(self.events or ())),
            description=self.description,
            disabled=bool(self.disabled),
        )


class WebhookIdRequest(WireRequest):
    id: WebhookId


class UpdateWebhookRequest(WireRequest):
    id: WebhookId
    url: Url | None = None
    # `[]`: every event; left out: the current list.
    events: Events | None = None
    description: Description | None = None
    disabled: bool | None = None

    def command(self) -> UpdateWebhook:
        return UpdateWebhook(
            id=self.id,
            url=self.url,
            events=None if self.events is None else tuple(dict.fromkeys(self.events)),
            description=self.description,
            disabled=self.disabled,
        )


class WebhookResponse(WireResponse):
    id: str
    url: str
    description: str | None
    events: list[str]
    disabled: bool
    created_at: int
    updated_at: int


class CreatedWebhookResponse(WebhookResponse):
    secret: str


class WebhookListResponse(WireResponse):
    list: list[WebhookResponse]


def webhook_response(endpoint: Endpoint) -> WebhookResponse:
    """The endpoint as every route but create shows it: never its secret."""
    return WebhookResponse(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        events=list(endpoint.events),
        disabled=endpoint.disabled,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def created_webhook_response(endpoint: Endpoint) -> CreatedWebhookResponse:
    return CreatedWebhookResponse(**webhook_response(endpoint).model_dump(), secret=endpoint.secret)
