"""Two function instances running at once in the local gateway's one process see only their
own request, as two Lambda instances would (local/lambda_state.py)."""

from __future__ import annotations

import io
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from local.gateway import FunctionPool, LambdaContext
from local.lambda_state import keep_request_state_per_instance
from local.template import Route

keep_request_state_per_instance()


def event(path: str, body: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "POST", "path": path}, "stage": "$default"},
        "body": body,
        "isBase64Encoded": False,
    }


def test_two_resolvers_resolving_at_once_each_read_their_own_event() -> None:
    both_started = threading.Barrier(2, timeout=10)

    def instance(n: int) -> str:
        app = APIGatewayHttpResolver()

        @app.post("/echo")
        def echo() -> dict[str, Any]:
            both_started.wait()  # the other resolver has set its event by now
            return {"body": app.current_event.body}

        answer = app.resolve(event("/echo", f"body {n}"), LambdaContext("f", f"req-{n}"))
        return str(json.loads(answer["body"])["body"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(instance, [1, 2])) == ["body 1", "body 2"]


def test_log_lines_carry_the_request_id_of_the_request_that_wrote_them() -> None:
    captured = io.StringIO()
    logger = Logger(service="isolation-test", logger_handler=logging.StreamHandler(captured))
    both_injected = threading.Barrier(2, timeout=10)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> None:
        both_injected.wait()
        logger.warning("working", extra={"wrote": context.aws_request_id})

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda n: handler({}, LambdaContext("f", f"req-{n}")), [1, 2]))

    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert sorted(line["wrote"] for line in lines) == ["req-1", "req-2"]
    assert all(line["function_request_id"] == line["wrote"] for line in lines)


def test_each_instance_logs_a_cold_start_on_its_first_invocation_only(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from aws_lambda_powertools import Logger\n"
        "logger = Logger(service='cold-start-test')\n"
        "@logger.inject_lambda_context(clear_state=True)\n"
        "def lambda_handler(event, context):\n"
        "    event['together'].wait()\n"
        "    return {'cold_start': logger.get_current_keys()['cold_start']}\n"
    )
    pool = FunctionPool(Route("POST", "/x", "ColdStartTest", tmp_path, "app.lambda_handler"))
    two_at_once = threading.Barrier(2, timeout=10)

    with ThreadPoolExecutor(max_workers=2) as threads:
        concurrent = list(threads.map(lambda _: pool.invoke({"together": two_at_once}), [1, 2]))
    again = pool.invoke({"together": threading.Barrier(1)})

    assert [answer["cold_start"] for answer in concurrent] == [True, True], "two instances"
    assert again["cold_start"] is False, "a warm instance serves the next request"
