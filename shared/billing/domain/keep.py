"""The sentinel of change sets: a field the caller did not send keeps its value.

Needed where None is itself a change (a field sent as null clears it).
"""

from __future__ import annotations

from enum import Enum


class Keep(Enum):
    KEEP = "keep"


KEEP = Keep.KEEP
