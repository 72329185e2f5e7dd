"""The control API (``/_emulator/...``): what a test in another process (the local stack, the
SDK compatibility tests) asks of the emulator: reset, counts, faults, delays, webhook
forwarding, the delivery mode and its plan, redelivery and settling. Answers are JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from local.stripe_emulator.errors import StripeError, api_error, invalid_param, unrecognized_url
from local.stripe_emulator.realistic import MODES, ORDERED, REALISTIC, Realism
from local.stripe_emulator.wire import HttpResponse, json_response

if TYPE_CHECKING:
    from local.stripe_emulator.server import StripeEmulator

CONTROL_PREFIX = "/_emulator/"
_REDELIVER = re.compile(r"events/evt_\w+/redeliver")

# One control action: (the emulator, the path after the prefix, the query, the body) ->
# the JSON answer.
_Action = Callable[["StripeEmulator", str, str, bytes], Any]


def answer(
    emulator: StripeEmulator, method: str, path: str, query: str, body: bytes
) -> HttpResponse:
    name = path.removeprefix(CONTROL_PREFIX).strip("/")
    action = _ACTIONS.get((method, name))
    if action is None and method == "POST" and _REDELIVER.fullmatch(name):
        action = _redeliver
    if action is None:
        return json_response(404, unrecognized_url(method, path).body())
    try:
        return json_response(200, action(emulator, name, query, body))
    except TimeoutError as error:
        return json_response(504, api_error(504, str(error)).body())
    except (KeyError, TypeError, ValueError) as error:
        return json_response(400, invalid_param("body", f"Invalid control request: {error}").body())
    except StripeError as error:
        return json_response(error.status, error.body())


def _reset(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    emulator.reset()
    return {"reset": True}


def _counts(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    return emulator.counts()


def _requests(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    args = dict(parse_qsl(query))
    return {"count": emulator.requests_made(args.get("method", "*"), args.get("path_prefix", "/"))}


def _faults(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    spec = _json_body(body)
    emulator.fail_next(
        str(spec["method"]),
        str(spec["path_prefix"]),
        status=int(spec.get("status", 500)),
        times=int(spec.get("times", 1)),
    )
    return {"ok": True}


def _forward(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    spec = _json_body(body)
    secret = emulator.forward_webhooks(str(spec["url"]), spec.get("secret"))
    return {"url": spec["url"], "secret": secret}


def _stop_forwarding(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    emulator.stop_forwarding_webhooks()
    return {"ok": True}


def _deliveries(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    return {"data": emulator.deliveries()}


def _redeliver(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    emulator.redeliver(name.split("/")[1])
    return {"ok": True}


def _settle(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    spec = _json_body(body)
    if "timeout_s" in spec:
        emulator.settle(float(spec["timeout_s"]))
    else:
        emulator.settle()
    return {"settled": True, "undeliverable": emulator.undeliverable()}


def _delivery(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    return _delivery_mode(emulator.delivery)


def _set_delivery(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    emulator.set_delivery(_realism_from(_json_body(body)))
    return _delivery_mode(emulator.delivery)


def _delivery_plan(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    return {"data": emulator.planned_deliveries()}


def _delays(emulator: StripeEmulator, name: str, query: str, body: bytes) -> Any:
    spec = _json_body(body)
    emulator.delay(str(spec["method"]), str(spec["path_prefix"]), float(spec["seconds"]))
    return {"ok": True}


_ACTIONS: dict[tuple[str, str], _Action] = {
    ("POST", "reset"): _reset,
    ("GET", "counts"): _counts,
    ("GET", "requests"): _requests,
    ("POST", "faults"): _faults,
    ("POST", "webhook_endpoints"): _forward,
    ("DELETE", "webhook_endpoints"): _stop_forwarding,
    ("GET", "deliveries"): _deliveries,
    ("POST", "settle"): _settle,
    ("GET", "delivery"): _delivery,
    ("POST", "delivery"): _set_delivery,
    ("GET", "delivery/plan"): _delivery_plan,
    ("POST", "delays"): _delays,
}


def _delivery_mode(realism: Realism | None) -> dict[str, Any]:
    if realism is None:
        return {"mode": ORDERED}
    return {"mode": REALISTIC, **asdict(realism)}


def _realism_from(spec: Mapping[str, Any]) -> Realism | None:
    """The control API's ``{"mode": "realistic", "seed": 7, ...}`` (or ``ordered``)."""
    mode = spec.get("mode", REALISTIC)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if mode == ORDERED:
        return None
    quiet = spec.get("quiet_s")
    defaults = Realism(seed=0)
    return Realism(
        seed=int(spec["seed"]),
        window=int(spec.get("window", defaults.window)),
        duplicate_rate=float(spec.get("duplicate_rate", defaults.duplicate_rate)),
        late_rate=float(spec.get("late_rate", defaults.late_rate)),
        max_attempts=int(spec.get("max_attempts", defaults.max_attempts)),
        quiet_s=None if quiet is None else float(quiet),
    )


def _json_body(body: bytes) -> dict[str, Any]:
    payload = json.loads(body or b"{}")
    if not isinstance(payload, dict):
        raise TypeError("expected a JSON object")
    return payload
