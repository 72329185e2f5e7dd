"""What Lambda keeps apart and one process shares: the local gateway runs every function
instance in one interpreter, and the libraries they share keep request state where a Lambda
process can afford to (one request at a time), so concurrent requests would read each other's.

- Powertools' resolver stores the current event and context on the `BaseRouter` class: every
  resolver in the process sees the last request any of them started. Each resolver keeps its
  own here (each instance imports its handler module afresh, so it has its own resolver, and
  serves one request at a time).
- Powertools' log formatter keeps the keys a handler appends (request id, cold start) on the
  formatter every Logger of a service shares. Each thread keeps its own here (a request runs
  on one thread from start to end).
- Powertools' Logger says `cold_start` once per process; here once per instance: the first
  invocation of each (`invocation(cold=True)`).

Nothing request-scoped lives in the billing package itself: its module state is caches and
clients, which a Lambda instance also keeps across requests.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.logging import logger as powertools_logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

_applied = False
_invocation = threading.local()


@contextmanager
def invocation(*, cold: bool) -> Iterator[None]:
    """Runs one invocation of an instance on this thread; `cold` for its first."""
    _invocation.cold = cold
    try:
        yield
    finally:
        _invocation.cold = False


def keep_request_state_per_instance() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    ApiGatewayResolver.resolve = _resolving_on_the_instance(  # type: ignore[method-assign, assignment]
        ApiGatewayResolver.resolve
    )
    LambdaPowertoolsFormatter.log_format = _PerThread()  # type: ignore[assignment]
    powertools_logger._is_cold_start = lambda: bool(getattr(_invocation, "cold", False))


Resolve = Callable[[ApiGatewayResolver, Mapping[str, Any], Any], dict[str, Any]]


def _resolving_on_the_instance(resolve: Resolve) -> Resolve:
    def resolve_on_the_instance(
        self: ApiGatewayResolver, event: Mapping[str, Any], context: Any
    ) -> dict[str, Any]:
        # Instance attributes shadow the class attributes `resolve` sets for every resolver.
        self.current_event = self._to_proxy_event(dict(event))
        self.lambda_context = context
        return resolve(self, event, context)

    return resolve_on_the_instance


class _PerThread:
    """An attribute each thread sets for itself. A thread that has not set it yet starts
    from a copy of the first value set (the one the object was constructed with)."""

    def __init__(self) -> None:
        self._initial: weakref.WeakKeyDictionary[object, Any] = weakref.WeakKeyDictionary()
        self._threads = threading.local()

    def _own(self) -> weakref.WeakKeyDictionary[object, Any]:
        values: weakref.WeakKeyDictionary[object, Any] | None = getattr(
            self._threads, "values", None
        )
        if values is None:
            values = self._threads.values = weakref.WeakKeyDictionary()
        return values

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        own = self._own()
        if obj not in own:
            own[obj] = dict(self._initial[obj])
        return own[obj]

    def __set__(self, obj: object, value: Any) -> None:
        self._initial.setdefault(obj, value)
        self._own()[obj] = value
