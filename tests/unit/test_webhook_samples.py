"""`make webhook-samples`: copies of the signed webhook samples, signed again for the next
five minutes (for `sam local invoke`), outside the tracked tree; a forged sample stays forged."""

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


def test_the_samples_are_signed_again_into_copies_and_the_tracked_files_never_change(
    tmp_path: Path,
):
    samples = tmp_path / "events"
    samples.mkdir()
    for sample in (ROOT / "events").glob("stripe_webhook_*.json"):
        shutil.copy(sample, samples / sample.name)
    before = {p.name: p.read_text() for p in samples.iterdir()}
    out = tmp_path / "signed"
    assert not verifies_now(json.loads(before["stripe_webhook_ignored.json"]))  # November 2026

    assert main(samples, out) == 0

    assert {p.name: p.read_text() for p in samples.iterdir()} == before, "samples unchanged"
    ignored = json.loads((out / "stripe_webhook_ignored.json").read_text())
    assert verifies_now(ignored)
    assert ignored["body"] == json.loads(before["stripe_webhook_ignored.json"])["body"]
    assert (out / "stripe_webhook_forged.json").read_text() == before["stripe_webhook_forged.json"]
