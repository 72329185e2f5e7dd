"""The catalog, cached per container for the hot path (check, track).

The catalog changes rarely and is read on every call: a warm container reuses it for
CACHE_MS, and reloads at once when asked for a feature or an event name it does not know (so
a feature created a second ago is found, by its id or by its event names). A changed credit
schema reaches warm containers within CACHE_MS.
"""

from __future__ import annotations

import threading

from billing import clock
from billing.domain.features import Feature
from billing.store import features

CACHE_MS = 30_000

_lock = threading.Lock()
_cached: tuple[int, dict[str, Feature]] | None = None


def features_knowing(
    feature_ids: set[str] | None = None, event_name: str | None = None
) -> dict[str, Feature]:
    """The catalog's features, fresh enough, and reloaded if any of `feature_ids` is unknown
    or no feature is tracked by `event_name`."""
    global _cached
    now = clock.now_ms()
    with _lock:
        cached = _cached
    if cached is not None and now - cached[0] < CACHE_MS:
        known = cached[1]
        ids_known = not feature_ids or feature_ids <= known.keys()
        name_known = event_name is None or any(event_name in f.event_names for f in known.values())
        if ids_known and name_known:
            return known
    loaded = features.load()
    with _lock:
        _cached = (now, loaded)
    return loaded


def forget() -> None:
    global _cached
    with _lock:
        _cached = None
