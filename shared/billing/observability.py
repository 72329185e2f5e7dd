"""What on-call sees, set up in one place for every function: JSON logs, metrics and traces.

Every `functions/*/app.py` wraps its handler in `observed(operation)`, and nothing else:

- Logs: one Powertools Logger (JSON lines) for the whole package. Each line of an invocation
  carries `correlation_id`, `operation` and, once the request is parsed, `customer_id`
  (`about_customer`, called by `api.body.parse`). The correlation id is the caller's
  `X-Request-Id` header when it sends a plain one (1 to 128 letters, digits or `-_.:`), so
  one id follows a request from the caller's logs into ours; else API Gateway's request id
  (the `apigw-requestid` header of every answer); for a queue or schedule, Lambda's own,
  and while a queue worker handles a message, the id of the request that queued it
  (`current_correlation_id` when sending, `correlated` when handling).
- Metrics: CloudWatch's embedded metric format (EMF), written by Powertools' EMF provider in
  the namespace POWERTOOLS_METRICS_NAMESPACE (default `Billing`), each with the dimension
  `service` (POWERTOOLS_SERVICE_NAME) and those `count`/`milliseconds` name. An invocation
  keeps its own metric sets and prints them when it ends: nothing is shared between
  invocations, so the local stack's concurrent instances (one process) never mix theirs.
  A metric recorded outside an observed handler (a test calling a service) is dropped.
- Traces: Powertools Tracer (X-Ray) where `observed(..., traced=True)`. Check and track leave
  it off: loading the X-Ray SDK would take their cold start past its target (README,
  Observability).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

# The service names the logger: every module's lines go through this one (template.yaml sets
# POWERTOOLS_SERVICE_NAME; "billing" too where nothing set it before the first import).
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "billing"
logger = Logger(service=SERVICE)

DEFAULT_NAMESPACE = "Billing"
# A caller's request id is logged as sent only when it is short and plain: it lands in every
# log line of the request, so nothing that could forge or flood a line is taken.
_CALLER_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

_local = threading.local()


def observed(operation: str, *, traced: bool = True) -> Callable[[Handler], Handler]:
    """The one wrapper of every Lambda handler: logging keys, metrics flushed at the end,
    a 5xx answer counted (`ServerErrors` by operation), and a trace where `traced`."""

    def decorate(handler: Handler) -> Handler:
        # Answers stay out of the traces: they carry customers' data (and sessions' cookies).
        inner = (
            _tracer().capture_lambda_handler(handler, capture_response=False) if traced else handler
        )

        @functools.wraps(handler)
        def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
            logger.set_correlation_id(correlation_id(event, context))
            logger.append_keys(operation=operation)
            with _recording():
                answer = inner(event, context)
                status = int(answer.get("statusCode") or 0)
                if status >= 500:
                    count("ServerErrors", operation=operation)
                # One line per invocation where LogLevel is DEBUG (none at the default INFO).
                logger.debug("invocation ended", extra={"status": status or None})
                return answer

        wrapped: Handler = logger.inject_lambda_context(run, clear_state=True)
        return wrapped

    return decorate


def correlation_id(event: dict[str, Any], context: Any) -> str | None:
    """The caller's plain X-Request-Id, else API Gateway's request id, else Lambda's."""
    headers = event.get("headers")
    if isinstance(headers, dict):
        sent = headers.get("x-request-id")
        if isinstance(sent, str) and _CALLER_ID.fullmatch(sent):
            return sent
    request_context = event.get("requestContext")
    if isinstance(request_context, dict) and isinstance(request_context.get("requestId"), str):
        return str(request_context["requestId"])
    return getattr(context, "aws_request_id", None)


def current_correlation_id() -> str | None:
    """The invocation's correlation id, for a message it queues to carry (`correlated`)."""
    found = logger.get_correlation_id()
    return found if isinstance(found, str) else None


@contextmanager
def correlated(sent: object) -> Iterator[None]:
    """Inside, log lines carry the correlation id a queued message `sent` (that of the
    request that queued it, when it is a plain one), then the invocation's own again: one id
    follows a request into the queue workers' lines."""
    own = current_correlation_id()
    if isinstance(sent, str) and _CALLER_ID.fullmatch(sent):
        logger.set_correlation_id(sent)
    try:
        yield
    finally:
        logger.set_correlation_id(own)


def about_customer(customer_id: object) -> None:
    """Keys the invocation's later log lines by the customer its request is about."""
    if isinstance(customer_id, str) and customer_id:
        logger.append_keys(customer_id=customer_id)


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Adds to the count `name` (by `dimensions`) of this invocation."""
    _record(name, "Count", value, dimensions)


def milliseconds(name: str, value: float, **dimensions: str) -> None:
    """Records one duration of `name` (by `dimensions`) in this invocation."""
    _record(name, "Milliseconds", value, dimensions)


MetricSets = dict[tuple[tuple[str, str], ...], AmazonCloudWatchEMFProvider]


def _record(name: str, unit: str, value: float, dimensions: dict[str, str]) -> None:
    if not getattr(_local, "recording", False):
        return
    sets: MetricSets = _local.sets
    key = tuple(sorted(dimensions.items()))
    metrics = sets.get(key)
    if metrics is None:
        namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
        metrics = sets[key] = AmazonCloudWatchEMFProvider(
            namespace=namespace, service=SERVICE, default_dimensions=dict(dimensions)
        )
    metrics.add_metric(name=name, unit=unit, value=value)


@contextmanager
def _recording() -> Iterator[None]:
    """The invocation's metrics (one set per set of dimensions), printed once at its end,
    whatever way it ends. A set is emptied when printed and kept for the thread's next
    invocation (making one costs more than filling it)."""
    if getattr(_local, "sets", None) is None:
        _local.sets = {}
    _local.recording = True
    try:
        yield
    finally:
        _local.recording = False
        for metrics in _local.sets.values():
            if metrics.metric_set:
                metrics.flush_metrics()
                # Printing empties the set, but POWERTOOLS_METRICS_DISABLED skips both: the
                # next invocation must not start with this one's values.
                metrics.clear_metrics()


@functools.cache
def _tracer() -> Tracer:
    # Imported only by the functions that trace: the X-Ray SDK is the cost of a cold start.
    from aws_lambda_powertools import Tracer

    return Tracer()
