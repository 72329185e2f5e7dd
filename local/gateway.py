"""A local stand-in for API Gateway (HTTP API): each request becomes the v2 event AWS would
send, routed by template.yaml's routes to the real handler.

Like Lambda, one handler instance serves one request at a time; concurrent requests get
further instances ("containers"), each importing its handler module afresh, so module state
behaves as it does in AWS. What the shared libraries keep per process is kept per instance
(local/lambda_state.py).
"""

from __future__ import annotations

import base64
import importlib.util
import itertools
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.iam import IamAuthorizer
from local.lambda_state import invocation, keep_request_state_per_instance
from local.template import Route

keep_request_state_per_instance()

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own limit
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")
_instance_numbers = itertools.count(1)


@dataclass
class LambdaContext:
    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 1024
    timeout_s: int = 15

    def __post_init__(self) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        )
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionPool:
    """Warm instances of one function's handler module, each used by one request at a time."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self._idle: queue.SimpleQueue[Handler] = queue.SimpleQueue()

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        cold = False
        try:
            handler = self._idle.get_nowait()
        except queue.Empty:
            handler, cold = self._cold_start(), True
        try:
            context = LambdaContext(self.route.function, str(uuid.uuid4()))
            with invocation(cold=cold):
                return handler(event, context)
        finally:
            self._idle.put(handler)

    def discard_idle(self) -> None:
        """Forgets the warm instances: the next request starts a new one (cold)."""
        while True:
            try:
                self._idle.get_nowait()
            except queue.Empty:
                return

    def _cold_start(self) -> Handler:
        module_file, _, function = self.route.handler.rpartition(".")
        path = self.route.code_dir / f"{module_file.replace('.', '/')}.py"
        name = f"lambda_{self.route.function}_{next(_instance_numbers)}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler: Handler = getattr(module, function)
        return handler


def http_api_event(
    route: Route, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends for this request."""
    url = urlsplit(target)
    content_type = headers.get("content-type", "")
    is_text = not body or any(content_type.startswith(t) for t in _TEXT_TYPES)
    try:
        text = body.decode() if is_text else None
    except UnicodeDecodeError:
        text = None
    now = time.time()
    request_id = base64.b32encode(uuid.uuid4().bytes)[:16].decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": url.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": formatdate(now, usegmt=True),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": text is None,
        "body": text if text is not None else base64.b64encode(body).decode(),
    }
    if url.query:
        event["queryStringParameters"] = dict(parse_qsl(url.query, keep_blank_values=True))
    if route.greedy_prefix is not None:
        event["pathParameters"] = {route.greedy_name: url.path[len(route.greedy_prefix) :]}
    if "cookie" in headers:
        # API Gateway moves the Cookie header into `cookies`.
        cookie = headers.pop("cookie")
        event["cookies"] = [c.strip() for c in cookie.split(";") if c.strip()]
    return event


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 resets connections when a test storms the API with 20.
    request_queue_size = 128


class LocalHttpApi:
    """The routes of template.yaml served on localhost."""

    def __init__(
        self,
        routes: list[Route],
        pages: dict[str, str] | None = None,
        authorizer: IamAuthorizer | None = None,
    ) -> None:
        # ApiAuth=iam: every route but those open under IAM needs a SigV4 signature.
        self.authorizer = authorizer
        # Pages of the local stack itself (not template routes): path -> HTML (JSON where
        # the path ends in .json).
        self.pages = dict(pages or {})
        self._pools = {
            (r.method, r.path): FunctionPool(r)
            for r in routes
            if not r.is_default and r.greedy_prefix is None
        }
        # Routes ending in a greedy path variable ({proxy+}): longest prefix first.
        self._greedy = sorted(
            ((r.method, r.greedy_prefix, FunctionPool(r)) for r in routes if r.greedy_prefix),
            key=lambda found: -len(found[1]),
        )
        self._default = next((FunctionPool(r) for r in routes if r.is_default), None)
        self._server: ThreadingHTTPServer | None = None
        # Called with (method, path, status, body) of every function's answer before it is
        # sent: the test suites check answers against Autumn's published document there.
        self.observers: list[Callable[[str, str, int, bytes], None]] = []

    def discard_instances(self) -> None:
        """As Lambda after a configuration change: every later request runs in a new
        instance, which reads the configuration afresh."""
        pools = [*self._pools.values(), *(pool for _, _, pool in self._greedy)]
        for pool in [*pools, *([self._default] if self._default else [])]:
            pool.discard_idle()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as two writes: without this, Nagle's algorithm
                # and delayed ACKs add about 40 ms to every response.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                api._serve(self)

            do_GET = do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines would be noise next to the functions' own logs

        self._server = _Server((host, port), RequestHandler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        bound_host, bound_port = self._server.server_address[:2]
        return f"http://{bound_host!s}:{bound_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _greedy_match(self, method: str, path: str) -> FunctionPool | None:
        for route_method, prefix, pool in self._greedy:
            if route_method in (method, "ANY") and path.startswith(prefix) and path != prefix:
                return pool
        return self._default

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        pool = self._pools.get((request.command, path)) or self._greedy_match(request.command, path)
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            _reply(
                request,
                413,
                {"content-type": "application/json"},
                b'{"message":"Request Entity Too Large"}',
            )
            request.close_connection = True
            return
        body = request.rfile.read(length) if length else b""
        page = self.pages.get(path) if request.command == "GET" else None
        if page is not None:
            kind = "application/json" if path.endswith(".json") else "text/html; charset=utf-8"
            _reply(request, 200, {"content-type": kind}, page.encode())
            return
        if pool is None:  # a template without a $default route: API Gateway answers itself
            _reply(request, 404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
            return
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()  # HTTP APIs lowercase header names and join repeats with commas
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        authorized = None
        if self.authorizer is not None and not pool.route.open_under_iam:
            authorized = self.authorizer.authorize(
                request.command, request.path, headers, body, pool.route.route_key
            )
            if authorized is None:  # as API Gateway: no function runs
                _reply(
                    request, 403, {"content-type": "application/json"}, b'{"message":"Forbidden"}'
                )
                return
        event = http_api_event(
            pool.route, request.command, request.path, headers, body, request.client_address[0]
        )
        if authorized is not None:
            event["requestContext"]["authorizer"] = authorized
        try:
            result = pool.invoke(event)
        except Exception:  # a crashed function is a 500 from API Gateway, as in AWS
            _reply(
                request,
                500,
                {"content-type": "application/json"},
                b'{"message":"Internal Server Error"}',
            )
            raise
        status = int(result.get("statusCode", 200))
        out_headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        # API Gateway names its request id in every answer: the logs' correlation id.
        out_headers["apigw-requestid"] = event["requestContext"]["requestId"]
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        for observe in self.observers:
            observe(request.command, path, status, payload)
        _reply(request, status, out_headers, payload, [str(c) for c in result.get("cookies") or []])


def _reply(
    request: BaseHTTPRequestHandler,
    status: int,
    headers: dict[str, str],
    body: bytes,
    cookies: list[str] | None = None,
) -> None:
    request.send_response(status)
    for name, value in headers.items():
        if name not in ("content-length", "connection"):
            request.send_header(name, value)
    # A v2 answer's `cookies` become one Set-Cookie header each, as API Gateway sends them.
    for cookie in cookies or []:
        request.send_header("set-cookie", cookie)
    request.send_header("content-length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
