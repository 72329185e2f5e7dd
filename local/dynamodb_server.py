"""moto's DynamoDB (and SQS) over HTTP, with each request applied atomically, as DynamoDB does.

moto's own server handles requests on parallel threads without a lock, so two concurrent
conditional writes can both pass their condition: DynamoDB never allows that. Serialising
requests restores the guarantee that conditional writes and transactions rely on. moto also
ignores a transaction's ClientRequestToken, which DynamoDB honours (see
`idempotent_transactions`).

    python -m local.dynamodb_server --port 0     # prints "ready <port>" once listening
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import moto.dynamodb.models as dynamodb_models
import moto.sqs.models as sqs_models
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# The one request left out of the lock: an SQS receive may wait for messages (long polling),
# and holding the lock meanwhile would stop every other request, the send it waits for too.
_UNLOCKED_TARGETS = {"AmazonSQS.ReceiveMessage"}
# The request's X-Amz-Target header, as WSGI names it (a header, not a setting).
_TARGET = "HTTP_X_AMZ_TARGET"


def atomic(app: WsgiApp) -> WsgiApp:
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get(_TARGET) in _UNLOCKED_TARGETS:
            return list(app(environ, start_response))
        with lock:
            # Read the whole answer inside the lock: the work happens while it is produced.
            return list(app(environ, start_response))

    return serialised


def cheap_transaction_rollback() -> None:
    """moto backs every transaction up by deep-copying each table it touches, once per
    operation: quadratic as a table grows (a usage storm writes thousands of events). With
    requests serialised, saving and restoring only the items the transaction touches
    gives the same all-or-nothing result."""
    original = DynamoDBBackend.transact_write_items

    class _KeepTable:
        @staticmethod
        def deepcopy(table: Any) -> Any:
            return table  # the rollback below restores the touched items instead

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [
            (table, h, r, copy.deepcopy(_get(table, h, r)))
            for table, h, r in _touched(self, transact_items)
        ]
        dynamodb_models.copy = _KeepTable  # type: ignore[attr-defined, assignment]
        try:
            original(self, transact_items)
        except Exception:
            for table, h, r, item in reversed(saved):
                _set(table, h, r, item)
            raise
        finally:
            dynamodb_models.copy = copy  # type: ignore[attr-defined]

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


TOKEN_WINDOW_S = 600  # DynamoDB remembers a ClientRequestToken for 10 minutes


class IdempotentParameterMismatch(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
            message="The request uses the same client token as a previous, but non-identical "
            "request.",
        )


def idempotent_transactions() -> None:
    """A TransactWriteItems whose ClientRequestToken already succeeded within 10 minutes
    succeeds again without applying anything; the same token with other parameters is an
    IdempotentParameterMismatchException. This is what makes botocore's retry of a
    transaction whose answer was lost (a read timeout) safe: it resends the token it filled
    in. A transaction that failed leaves no trace, so its retry is evaluated afresh."""
    original = DynamoHandler.transact_write_items
    # token -> (digest of the request without its token, when it completed); oldest first.
    completed: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def transact_write_items(self: DynamoHandler) -> ActionResult:
        token = self.body.get("ClientRequestToken")
        if token is None:
            return original(self)
        parameters = {k: v for k, v in self.body.items() if k != "ClientRequestToken"}
        request = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()
        now = time.monotonic()
        while completed and now - next(iter(completed.values()))[1] > TOKEN_WINDOW_S:
            completed.popitem(last=False)
        if token in completed:
            if completed[token][0] != request:
                raise IdempotentParameterMismatch()
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        answer = original(self)
        completed[token] = (request, time.monotonic())
        return answer

    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


def quick_sqs_visibility() -> None:
    """moto checks each queued message's visibility with datetime arithmetic, several times
    per receive: a queue of a thousand messages takes half a second a receive. The same
    check on the plain clock keeps the usage queue quick under a storm."""

    def visible(message: Any) -> bool:
        return bool(time.time() * 1000 > message.visible_at)

    def delayed(message: Any) -> bool:
        return bool(time.time() * 1000 < message.delayed_until)

    sqs_models.Message.visible = property(visible)  # type: ignore[assignment, method-assign]
    sqs_models.Message.delayed = property(delayed)  # type: ignore[assignment, method-assign]


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> Iterable[tuple[Any, Any, Any]]:
    for entry in transact_items:
        op = next(iter(entry.values()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Key") or op.get("Item") or {}
        if table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        yield table, hash_value, range_value


def _get(table: Any, hash_value: Any, range_value: Any) -> Any:
    if range_value is None:
        return table.items.get(hash_value)
    return table.items.get(hash_value, {}).get(range_value)


def _set(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
        return
    if item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    cheap_transaction_rollback()
    idempotent_transactions()
    quick_sqs_visibility()
    server = make_server(
        args.host, args.port, atomic(DomainDispatcherApplication(create_backend_app)), threaded=True
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    # Whoever started us holds our stdin: when it ends, however it ends, so do we.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    print(f"ready {server.server_port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
