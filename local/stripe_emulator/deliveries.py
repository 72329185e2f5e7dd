"""What one webhook delivery is: an event for one target, signed when it is sent. Plain data,
shared by the ordered sender (``delivery``) and the realistic scheduler (``realistic``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    endpoint: str
    url: str
    secret: str


@dataclass(frozen=True)
class Delivery:
    event_id: str
    event_type: str
    target: Target
    payload: bytes
