"""Copies of the Stripe webhook samples in events/, signed again with the current time.

A Stripe signature is good for five minutes, so a sample signed once would be refused ever
after. The samples are signed with the local stack's documented secret
(`local.stack.DEFAULT_WEBHOOK_SECRET`) at their `requestContext.timeEpoch`; this writes
copies of them to .local-data/events/ (untracked; the samples themselves never change),
those that verify with it signed again (a forged sample stays forged), so that

    make webhook-samples && sam local invoke StripeWebhookFunction \\
        -e .local-data/events/stripe_webhook_ignored.json --env-vars env.json

(env.json setting STRIPE_WEBHOOK_SECRET) runs within the next five minutes. The replay test
signs them the same way in memory.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

from local.stack import DEFAULT_WEBHOOK_SECRET
from local.template import ROOT

SAMPLES = "stripe_webhook_*.json"


def _payload(event: dict[str, Any]) -> bytes:
    body: str = event["body"]
    return body.encode()


def _timestamp(event: dict[str, Any]) -> int | None:
    header: str = event["headers"].get("stripe-signature", "")
    for item in header.split(","):
        name, _, value = item.partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return None


def is_signed_with(event: dict[str, Any], secret: str = DEFAULT_WEBHOOK_SECRET) -> bool:
    """Whether the sample's signature verifies with `secret` at the time it was signed."""
    from billing.domain.errors import InvalidStripeEvent
    from billing.stripe_api.webhooks import verify

    signed_at = _timestamp(event)
    if signed_at is None:
        return False
    try:
        verify(_payload(event), event["headers"]["stripe-signature"], secret, now_s=signed_at)
    except InvalidStripeEvent:
        return False
    return True


def signed_now(
    event: dict[str, Any], secret: str = DEFAULT_WEBHOOK_SECRET, now_s: int | None = None
) -> dict[str, Any]:
    """The sample as Stripe would deliver it now: a fresh signature and request time."""
    from billing.stripe_api.webhooks import signature_header

    at = int(time.time()) if now_s is None else now_s
    fresh = copy.deepcopy(event)
    fresh["headers"]["stripe-signature"] = signature_header(_payload(event), secret, at)
    fresh["requestContext"]["timeEpoch"] = at * 1000
    fresh["requestContext"]["time"] = formatdate(at, usegmt=True)
    return fresh


OUT = ROOT / ".local-data" / "events"


def main(events: Path = ROOT / "events", out: Path = OUT) -> int:
    sys.path.insert(0, str(ROOT / "shared"))
    out.mkdir(parents=True, exist_ok=True)
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    for path in sorted(events.glob(SAMPLES)):
        event = json.loads(path.read_text())
        if not is_signed_with(event):
            (out / path.name).write_text(path.read_text())
            print(f"{shown / path.name}: not signed with the local secret, copied as it is")
            continue
        (out / path.name).write_text(json.dumps(signed_now(event), indent=2) + "\n")
        print(f"{shown / path.name}: signed again, valid for five minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
