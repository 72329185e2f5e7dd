"""Time and id sources, in one place so tests and the emulator's test clock can steer them;
and the bounds of the times we accept (below every layer: the wire models and the usage
queue's message both check them)."""

from __future__ import annotations

import secrets
import time

# The last millisecond of year 9999: the calendar ends there, and so do our dates.
LAST_MS = 253_402_300_799_999
# When usage can have happened: not before 2000, and not more than a day ahead of our clock
# (a caller's clock may run a little fast; a use from the far future is a mistake).
EARLIEST_EVENT_MS = 946_684_800_000
EVENT_LEAD_MS = 86_400_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_internal_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
