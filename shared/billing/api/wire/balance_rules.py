"""What every balances route shares: bounded event properties, and no entities yet."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from billing.api.wire.common import JsonObject
from billing.domain.errors import InvalidRequest

Properties = Annotated[JsonObject, Field(max_length=100)]


def refuse_entities(entity_id: str | None) -> None:
    if entity_id is not None:
        raise InvalidRequest(
            "Entities are not available yet.",
            details=[{"field": "entity_id", "message": "not supported yet"}],
        )
