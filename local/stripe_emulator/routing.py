"""Route tables: ``METHOD /v1/path/{param}`` API routes and the emulator's HTML pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from local.stripe_emulator.forms import Params
from local.stripe_emulator.store import JsonObject, ObjectStore

# A job run after the answer; its argument delivers the webhooks it emitted so far.
BackgroundJob = Callable[[Callable[[], None]], None]


@dataclass(frozen=True)
class ApiRequest:
    """What a handler sees. Handlers run under ``store.lock`` and must not block."""

    method: str
    path: str
    params: Params
    path_params: dict[str, str]
    store: ObjectStore
    # Seconds since the epoch (wall clock); objects under a test clock use the clock's
    # time instead (see test_clocks.now_for).
    now: int
    # Where this emulator is reached ("http://host:port"), for URLs of its hosted pages.
    base_url: str = ""
    # Delivers the webhooks emitted so far with the store lock released, then takes it back:
    # a test clock's advance waits for them, as Stripe waits for `invoice.created`.
    deliver_pending: Callable[[], None] | None = None
    # Runs ``job`` in the background once the answer has gone out, under the store lock,
    # handing it a ``deliver_pending`` of its own: work Stripe finishes after answering
    # (a test clock's advance). None where no server runs jobs: the caller runs it itself.
    run_later: Callable[[BackgroundJob], None] | None = None


@dataclass(frozen=True)
class PageRequest:
    """What a page handler sees: a browser's GET or form POST outside ``/v1``.

    Page handlers run under ``store.lock`` like API handlers.
    """

    method: str
    path: str
    path_params: dict[str, str]
    query: dict[str, str]
    # The decoded ``application/x-www-form-urlencoded`` body of a POST (flat, last value wins).
    form: dict[str, str]
    store: ObjectStore
    now: int
    base_url: str = ""


# (status, html, extra headers): a redirect is (303, "", {"Location": url}).
PageResponse = tuple[int, str, dict[str, str]]
Handler = Callable[[ApiRequest], JsonObject]
PageHandler = Callable[[PageRequest], PageResponse]

H = TypeVar("H")


@dataclass(frozen=True)
class _Route(Generic[H]):
    method: str
    segments: tuple[str, ...]
    handler: H

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


@dataclass
class _Table(Generic[H]):
    routes: list[_Route[H]] = field(default_factory=list)

    def add(self, method: str, pattern: str, handler: H) -> None:
        self.routes.append(_Route(method.upper(), tuple(pattern.strip("/").split("/")), handler))
        # Literal segments win over placeholders regardless of registration order,
        # so ``/v1/customers/search`` is never read as a customer id.
        self.routes.sort(key=lambda r: r.specificity, reverse=True)

    def resolve(self, method: str, path: str) -> tuple[H, dict[str, str]] | None:
        segments = path.strip("/").split("/")
        for route in self.routes:
            captured = route.match(method, segments)
            if captured is not None:
                return route.handler, captured
        return None


class Router:
    """API routes (JSON, under ``/v1``) and page routes (HTML, anywhere else)."""

    def __init__(self) -> None:
        self._api: _Table[Handler] = _Table()
        self._pages: _Table[PageHandler] = _Table()
        self.object_types: set[str] = set()

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._api.add(method, pattern, handler)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        return self._api.resolve(method, path)

    def add_page(self, method: str, pattern: str, handler: PageHandler) -> None:
        """A hosted page such as ``/invoices/{id}`` (never under ``/v1`` or ``/_emulator``)."""
        if pattern.startswith(("/v1/", "/_emulator/")):
            raise ValueError(f"page routes live outside the API: {pattern}")
        self._pages.add(method, pattern, handler)

    def resolve_page(self, method: str, path: str) -> tuple[PageHandler, dict[str, str]] | None:
        return self._pages.resolve(method, path)
