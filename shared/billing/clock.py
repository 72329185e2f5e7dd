"""Time and id sources, in one place so tests and the emulator's test clock can steer them."""

from __future__ import annotations

import secrets
import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_internal_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
