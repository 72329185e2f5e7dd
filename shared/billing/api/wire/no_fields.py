"""The request of a route that takes no fields (a list of everything)."""

from billing.api.wire.common import WireRequest


class NoFieldsRequest(WireRequest):
    """An empty body or `{}`: any field is a 400 naming it, as on every route."""
