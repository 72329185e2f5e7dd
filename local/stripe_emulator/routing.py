"""Route table mapping ``METHOD /v1/path/{param}`` patterns to resource handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local.stripe_emulator.forms import Params
from local.stripe_emulator.store import JsonObject, ObjectStore


@dataclass(frozen=True)
class ApiRequest:
    """What a handler sees. Handlers run under ``store.lock`` and must not block."""

    method: str
    path: str
    params: Params
    path_params: dict[str, str]
    store: ObjectStore
    # Seconds since the epoch; a seam for the test clock that later resources need.
    now: int


Handler = Callable[[ApiRequest], JsonObject]


@dataclass(frozen=True)
class _Route:
    method: str
    segments: tuple[str, ...]
    handler: Handler

    @property
    def specificity(self) -> int:
        return sum(1 for segment in self.segments if not segment.startswith("{"))

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        if method != self.method or len(segments) != len(self.segments):
            return None
        captured: dict[str, str] = {}
        for pattern, actual in zip(self.segments, segments, strict=True):
            if pattern.startswith("{"):
                if not actual:
                    return None
                captured[pattern[1:-1]] = actual
            elif pattern != actual:
                return None
        return captured


class Router:
    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self.object_types: set[str] = set()

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        route = _Route(method.upper(), tuple(pattern.strip("/").split("/")), handler)
        self._routes.append(route)
        # Literal segments win over placeholders regardless of registration order,
        # so ``/v1/customers/search`` is never read as a customer id.
        self._routes.sort(key=lambda r: r.specificity, reverse=True)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        segments = path.strip("/").split("/")
        for route in self._routes:
            captured = route.match(method, segments)
            if captured is not None:
                return route.handler, captured
        return None
