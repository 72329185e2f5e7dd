"""A real local HTTP server that receives webhooks the way an application would."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class WebhookReceiver:
    """Records every POST; can answer failures first and run a callback per delivery."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._record(Received(dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}/webhooks/stripe"

    def fail_next(self, times: int, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            received = list(self.received)
        return [r.event for r in received if event_type in (None, r.event["type"])]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, received: Received) -> int:
        with self._lock:
            self.received.append(received)
            status = self._failures.pop(0) if self._failures else 200
        if status == 200 and self.on_event is not None:
            self.on_event(received.event)
        return status
