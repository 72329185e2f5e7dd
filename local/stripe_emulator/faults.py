"""Fault injection and request accounting for reliability tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class _Rule:
    method: str
    path_prefix: str
    value: float
    remaining: int | None

    def applies(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and path.startswith(self.path_prefix)


class FaultInjector:
    """Rules match on method (``"*"`` for any) and path prefix; the oldest rule wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[_Rule] = []
        self._delays: list[_Rule] = []
        self._requests: list[tuple[str, str]] = []

    def fail_next(self, method: str, path_prefix: str, status: int, times: int) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"fault status must be an HTTP error status, got {status}")
        if times < 1:
            raise ValueError(f"times must be positive, got {times}")
        with self._lock:
            self._failures.append(_Rule(method.upper(), path_prefix, status, times))

    def delay(self, method: str, path_prefix: str, seconds: float) -> None:
        """Persistent until :meth:`clear`; ``seconds=0`` removes the matching delay."""
        if seconds < 0:
            raise ValueError(f"delay must not be negative, got {seconds}")
        with self._lock:
            self._delays = [
                rule
                for rule in self._delays
                if (rule.method, rule.path_prefix) != (method.upper(), path_prefix)
            ]
            if seconds > 0:
                self._delays.append(_Rule(method.upper(), path_prefix, seconds, None))

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._requests.append((method, path))

    def requests_made(self, method: str, path_prefix: str) -> int:
        wanted = _Rule(method.upper(), path_prefix, 0, None)
        with self._lock:
            return sum(1 for m, path in self._requests if wanted.applies(m, path))

    def take_failure(self, method: str, path: str) -> int | None:
        """Consume one matching failure and return its status, if any is pending."""
        with self._lock:
            for rule in self._failures:
                if rule.applies(method, path):
                    assert rule.remaining is not None
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._failures.remove(rule)
                    return int(rule.value)
            return None

    def delay_for(self, method: str, path: str) -> float:
        with self._lock:
            return next((r.value for r in self._delays if r.applies(method, path)), 0.0)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            self._requests.clear()
