"""`python -m local.webhook_samples`: the signed webhook samples signed again for the next
five minutes (for `sam local invoke`); a forged sample stays forged."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from billing.domain.errors import InvalidStripeEvent
from billing.stripe_api.webhooks import verify
from local.stack import DEFAULT_WEBHOOK_SECRET
from local.template import ROOT
from local.webhook_samples import main


def verifies_now(event: dict[str, object]) -> bool:
    headers = event["headers"]
    assert isinstance(headers, dict)
    body = event["body"]
    assert isinstance(body, str)
    try:
        verify(body.encode(), headers["stripe-signature"], DEFAULT_WEBHOOK_SECRET, int(time.time()))
    except InvalidStripeEvent:
        return False
    return True


def test_signing_the_samples_again_makes_the_signed_ones_valid_now_and_leaves_forged_ones(
    tmp_path: Path,
):
    for sample in (ROOT / "events").glob("stripe_webhook_*.json"):
        shutil.copy(sample, tmp_path / sample.name)
    ignored = tmp_path / "stripe_webhook_ignored.json"
    forged = tmp_path / "stripe_webhook_forged.json"
    forged_before = forged.read_text()
    assert not verifies_now(json.loads(ignored.read_text()))  # signed in November 2026

    assert main(tmp_path) == 0

    assert verifies_now(json.loads(ignored.read_text()))
    assert (
        json.loads(ignored.read_text())["body"]
        == json.loads((ROOT / "events" / ignored.name).read_text())["body"]
    )
    assert forged.read_text() == forged_before
