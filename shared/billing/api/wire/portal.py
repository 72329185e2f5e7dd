"""billing.open_customer_portal: the request and its answer."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from billing.api.wire.common import Id, Url, WireRequest, WireResponse
from billing.services.billing.portal import OpenPortal, PortalSession

ConfigurationId = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^bpc_\w+$")]


class OpenPortalRequest(WireRequest):
    customer_id: Id
    return_url: Url | None = None
    configuration_id: ConfigurationId | None = None

    def command(self) -> OpenPortal:
        return OpenPortal(self.customer_id, self.return_url, self.configuration_id)


class PortalResponse(WireResponse):
    customer_id: str
    url: str


def portal_response(session: PortalSession) -> PortalResponse:
    return PortalResponse(customer_id=session.customer_id, url=session.url)
