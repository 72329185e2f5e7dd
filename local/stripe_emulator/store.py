"""In-memory object store and Stripe-style identifiers."""

from __future__ import annotations

import itertools
import secrets
import string
import threading
from typing import Any

from local.stripe_emulator.errors import no_such

JsonObject = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int = 14) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class ObjectStore:
    """Objects by type and id, remembering insertion order and deletions.

    Not internally synchronised: the emulator runs every handler under ``lock`` so a
    handler's reads and writes form one atomic step.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._by_type: dict[str, dict[str, JsonObject]] = {}
        self._sequence: dict[str, int] = {}
        self._deleted: set[str] = set()
        self._counter = itertools.count()
        # Ids of events emitted but not yet handed to webhook delivery (see events.emit).
        self.undelivered: list[str] = []

    def new_id(self, prefix: str, length: int = 14) -> str:
        while True:
            candidate = f"{prefix}_{random_token(length)}"
            if candidate not in self._sequence:
                return candidate

    def insert(self, obj: JsonObject) -> JsonObject:
        self._by_type.setdefault(obj["object"], {})[obj["id"]] = obj
        self._sequence[obj["id"]] = next(self._counter)
        return obj

    def find(self, object_type: str, object_id: str) -> JsonObject | None:
        """The object, including a deleted one, or None."""
        return self._by_type.get(object_type, {}).get(object_id)

    def require(self, object_type: str, object_id: str, param: str = "id") -> JsonObject:
        """The live object, or a 404 ``resource_missing`` naming ``param``."""
        obj = self.find(object_type, object_id)
        if obj is None or object_id in self._deleted:
            raise no_such(object_type, object_id, param)
        return obj

    def is_deleted(self, object_id: str) -> bool:
        return object_id in self._deleted

    def delete(self, object_type: str, object_id: str) -> None:
        self.require(object_type, object_id)
        self._deleted.add(object_id)

    def sequence(self, object_id: str) -> int | None:
        """Creation order, used as the pagination cursor; None for an unknown id."""
        return self._sequence.get(object_id)

    def live(self, object_type: str) -> list[JsonObject]:
        """Non-deleted objects of a type, newest first (Stripe's list order)."""
        objects = self._by_type.get(object_type, {})
        return [obj for oid, obj in reversed(objects.items()) if oid not in self._deleted]

    def count(self, object_type: str) -> int:
        return sum(1 for oid in self._by_type.get(object_type, {}) if oid not in self._deleted)

    def object_types(self) -> set[str]:
        return set(self._by_type)

    def clear(self) -> None:
        self._by_type.clear()
        self._sequence.clear()
        self._deleted.clear()
        self.undelivered.clear()

    def dump(self) -> JsonObject:
        """Every object, its creation order and deletions, as JSON (`make dev` keeps them
        across restarts with LOCAL_KEEP_DATA=1)."""
        return {
            "objects": self._by_type,
            "sequence": self._sequence,
            "deleted": sorted(self._deleted),
        }

    def load(self, dumped: JsonObject) -> None:
        """Replaces the store's contents with what `dump` gave."""
        self.clear()
        self._by_type.update(dumped["objects"])
        self._sequence.update(dumped["sequence"])
        self._deleted.update(dumped["deleted"])
        self._counter = itertools.count(max(self._sequence.values(), default=-1) + 1)
