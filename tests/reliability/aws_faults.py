"""Faults injected into the billing layer's own AWS clients (DynamoDB, SQS) through botocore's
event hooks, so every call still takes the real path to the local stack: the request is built,
signed and, unless a fault stands in for its answer, sent over HTTP.

A fault hits one step: the `nth` call of one operation (`PutItem`, `TransactWriteItems`,
`SendMessage`, ...) counted from when it is armed. It stands in for the answer of that call's
first `attempts` attempts (botocore retries the others by its own settings), or of all of them
(`attempts=None`: the client gives up and the billing layer sees the error):

- `throughput`: ProvisionedThroughputExceededException (DynamoDB), a throttle;
- `throttling`: ThrottlingException (DynamoDB and SQS), a throttle;
- `conflict`: TransactionCanceledException whose reasons say TransactionConflict (DynamoDB's
  answer when a concurrent transaction touches an item of this one: it is not retried by
  botocore, the caller must handle it);
- `unavailable`: a 500 InternalError (SQS) or InternalServerError (DynamoDB);
- `timeout`: the request reaches the server and is applied, but its answer never comes back
  (ReadTimeoutError): the hardest case, since a retry must not apply it twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import urllib3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError, ReadTimeoutError

Kind = Literal["throughput", "throttling", "conflict", "unavailable", "timeout"]
Service = Literal["dynamodb", "sqs"]

# What each kind answers: (HTTP status, error code).
_ERRORS: dict[tuple[Service, str], tuple[int, str]] = {
    ("dynamodb", "throughput"): (400, "ProvisionedThroughputExceededException"),
    ("dynamodb", "throttling"): (400, "ThrottlingException"),
    ("dynamodb", "conflict"): (400, "TransactionCanceledException"),
    ("dynamodb", "unavailable"): (500, "InternalServerError"),
    ("sqs", "throttling"): (400, "ThrottlingException"),
    ("sqs", "unavailable"): (500, "InternalError"),
}


def billing_client(service: Service) -> Any:
    """The client the billing layer's code uses in this process (the local stack's functions
    run here, so they share it)."""
    if service == "dynamodb":
        from billing.store.table import client

        return client()
    from billing import sqs

    return sqs._client()


@dataclass
class Step:
    """The `nth` call (from 1) of `operation` on `service`; `thread` names the thread that
    made it when recorded (a queue's worker runs on its poller's thread)."""

    service: Service
    operation: str
    nth: int
    thread: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.operation}#{self.nth}"


@dataclass
class _Armed:
    step: Step
    kind: Kind
    attempts: int | None
    calls: int = 0
    fired: int = 0  # attempts answered by the fault
    # The thread whose call is the faulty one, and how many of its attempts remain faulty.
    local: threading.local = field(default_factory=threading.local)


@contextmanager
def recording(*services: Service) -> Iterator[list[Step]]:
    """Every call the billing layer makes while inside, as the steps a fault can hit."""
    steps: list[Step] = []
    counts: dict[tuple[str, str], int] = {}
    lock = threading.Lock()
    registered = []
    for service in services or ("dynamodb", "sqs"):
        events = billing_client(service).meta.events

        def seen(model: Any, _service: Service = service, **_: Any) -> None:
            with lock:
                key = (_service, model.name)
                counts[key] = counts.get(key, 0) + 1
                thread = threading.current_thread().name
                steps.append(Step(_service, model.name, counts[key], thread))

        events.register(f"before-call.{service}", seen, unique_id="fault-recorder")
        registered.append((events, service))
    try:
        yield steps
    finally:
        for events, service in registered:
            events.unregister(f"before-call.{service}", unique_id="fault-recorder")


@contextmanager
def fault(step: Step, kind: Kind, attempts: int | None = None) -> Iterator[_Armed]:
    """While inside, the call `step` names meets `kind`: on its first `attempts` attempts,
    botocore retrying the others by its own settings; or, when `attempts` is None, as the
    answer botocore gives up with (without its backoff pauses: a timeout is then applied
    once and answered by the timeout). `fired` counts the attempts the fault answered."""
    if kind != "timeout" and (step.service, kind) not in _ERRORS:
        raise ValueError(f"{step.service} has no {kind} fault")
    armed = _Armed(step, kind, attempts)
    lock = threading.Lock()
    events = billing_client(step.service).meta.events
    hooks = {
        f"before-call.{step.service}.{step.operation}": "fault-call",
        f"before-send.{step.service}.{step.operation}": "fault-send",
        f"after-call.{step.service}.{step.operation}": "fault-after",
    }

    def on_call(params: dict[str, Any], **_: Any) -> None:
        with lock:
            armed.calls += 1
            hit = armed.calls == step.nth
        armed.local.remaining = 0
        armed.local.after = False
        if not hit:
            return
        if attempts is not None:
            armed.local.remaining = attempts
        elif kind == "timeout":
            armed.local.after = True
        else:
            armed.fired += 1
            status, code = _code(step, kind)
            parsed: dict[str, Any] = {
                "Error": {"Code": code, "Message": f"Injected {code}"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            parsed |= _reasons(step, kind, params.get("body"))
            raise ClientError(parsed, step.operation)  # type: ignore[arg-type]

    def on_send(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        remaining = getattr(armed.local, "remaining", 0)
        if remaining <= 0:
            return None
        armed.local.remaining = remaining - 1
        armed.fired += 1
        if kind == "timeout":
            # The request is applied; only its answer is lost.
            sent: Any = request.body
            urllib3.request("POST", request.url, body=sent, headers=dict(request.headers))
            raise ReadTimeoutError(endpoint_url=request.url)
        status, code = _code(step, kind)
        body = {"__type": f"{_PREFIX[step.service]}#{code}", "message": f"Injected {code}"}
        body |= _reasons(step, kind, request.body)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        if step.service == "sqs":
            headers["x-amzn-query-error"] = f"{code};{'Sender' if status < 500 else 'Receiver'}"
        return AWSResponse(request.url, status, headers, _Body(json.dumps(body).encode()))

    def after_call(**_: Any) -> None:
        if getattr(armed.local, "after", False):
            armed.local.after = False
            armed.fired += 1
            raise ReadTimeoutError(endpoint_url=f"{step.service} (injected)")

    handlers = {"fault-call": on_call, "fault-send": on_send, "fault-after": after_call}
    for event, name in hooks.items():
        events.register(event, handlers[name], unique_id=name)
    try:
        yield armed
    finally:
        for event, name in hooks.items():
            events.unregister(event, unique_id=name)


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810", "sqs": "com.amazonaws.sqs"}


def _code(step: Step, kind: Kind) -> tuple[int, str]:
    if kind == "conflict" and step.operation != "TransactWriteItems":
        # A single-item write that meets an ongoing transaction on its item.
        return 400, "TransactionConflictException"
    return _ERRORS[(step.service, kind)]


def _reasons(step: Step, kind: Kind, sent: Any) -> dict[str, Any]:
    """A cancelled transaction's reasons, as DynamoDB gives them: one per item, in order,
    the item a concurrent transaction holds saying TransactionConflict."""
    if kind != "conflict" or step.operation != "TransactWriteItems":
        return {}
    items = len(json.loads(sent or b"{}").get("TransactItems", [])) or 1
    conflict = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    return {"CancellationReasons": [conflict] + [{"Code": "None"}] * (items - 1)}
