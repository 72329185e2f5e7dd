"""Autumn's billing options not built here: a value of the shape Autumn gives each is refused
with a 400 naming the field (all of them when several are sent), null is taken as absent."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from billing.api.wire.attach import AttachRequest
from billing.api.wire.setup_payment import SetupPaymentRequest
from billing.api.wire.update import UpdateRequest
from billing.domain.errors import InvalidRequest

BASE = {"customer_id": "c1", "plan_id": "pro"}


def refused(model: type[BaseModel], body: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidRequest) as raised:
        model.model_validate({**BASE, **body})
    assert raised.value.details is not None
    return [d["field"] for d in raised.value.details]


@pytest.mark.parametrize(
    ("model", "body", "fields"),
    [
        (AttachRequest, {"discounts": [{"promotion_code": "SAVE20"}]}, ["discounts"]),
        (
            AttachRequest,
            {"billing_cycle_anchor": "now", "tax_rate_id": "txr_1"},
            ["billing_cycle_anchor", "tax_rate_id"],
        ),
        (AttachRequest, {"tax": {"automatic_tax": {"enabled": True}}}, ["tax"]),
        (
            AttachRequest,
            {"custom_line_items": [{"amount": 5, "description": "Setup"}]},
            ["custom_line_items"],
        ),
        (
            AttachRequest,
            {"customize": {"upsert_licenses": [{"license_plan_id": "seat"}]}},
            ["customize.upsert_licenses"],
        ),
        (
            AttachRequest,
            {"invoice_mode": {"enabled": True, "invoice_template_id": "t1"}},
            ["invoice_mode.invoice_template_id"],
        ),
        (SetupPaymentRequest, {"discounts": [{"reward_id": "r1"}]}, ["discounts"]),
        (UpdateRequest, {"refund_last_payment": "full"}, ["refund_last_payment"]),
        (
            UpdateRequest,
            {"customize": {"price": {"amount": 30, "interval": "month"}}},
            ["customize"],
        ),
    ],
)
def test_a_well_formed_value_of_an_option_not_built_is_refused_by_name(
    model: type[BaseModel], body: dict[str, Any], fields: list[str]
) -> None:
    assert refused(model, body) == fields


def test_null_is_an_option_not_given() -> None:
    taken = AttachRequest.model_validate({**BASE, "discounts": None, "tax": None})

    assert (taken.discounts, taken.tax) == (None, None)
