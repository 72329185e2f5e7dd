"""A purchase waiting for Stripe's word: what the customer gets once it is paid.

Kept under our own id (derived from the request, so a retried attach finds the same one),
named in the metadata of the Stripe objects that pay for it, and granted exactly once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

PurchaseStatus = Literal["pending", "granted"]


class PendingPurchase(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    customer_id: str
    # The customer it was made for: a customer re-created under the id gets nothing of it.
    internal_id: str
    plan_id: str
    plan_version: int
    # feature id -> packages of billing units bought up front.
    packages: dict[str, Decimal] = {}
    trial_ends_at: int | None = None
    # The subscription (of the same group) the customer leaves once this is granted.
    replaces: str | None = None
    created_at: int
    status: PurchaseStatus = "pending"
