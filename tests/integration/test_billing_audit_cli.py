"""`python -m local.audit`: the operator's audit, on the local stack."""

from __future__ import annotations

import httpx
import pytest

from local.audit import main
from local.stack import LocalStack
from tests.conftest import stripe_client
from tests.lifecycle import paid_pro_customer


@pytest.mark.billing_drift_expected(["I2"], "the test ends a subscription behind our back")
def test_the_cli_prints_each_drift_with_its_customer_and_exits_1_on_drift(
    api: httpx.Client, clean_stack: LocalStack, capsys: pytest.CaptureFixture[str]
):
    bought = paid_pro_customer(api, clean_stack, "pm_card_visa")
    assert main([]) == 0
    assert "1 customers audited, 0 drifts" in capsys.readouterr().out
    with clean_stack.stripe_webhooks_paused():
        stripe_client(clean_stack).v1.subscriptions.cancel(bought["subscription"])

    assert main(["--customer", "c1"]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith("I2 c1: holds paid plan pro v1")
    assert main(["--customer", "nobody"]) == 2
