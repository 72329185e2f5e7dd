"""An upgrade's one-time charges as Stripe's `add_invoice_items` (pure): packages of the
item's price, or an amount under the plan's product, each named in its metadata; Stripe
takes at most 20 in one update, so past 19 the rest are billed as one amount, to the cent."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from billing.config import reset_caches
from billing.domain.periods import OverageCharge
from billing.stripe_api.changes import PlanChange, added_invoice_items


@pytest.fixture(autouse=True)
def in_dollars(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A deployment charging in USD: amounts are cut to whole cents."""
    monkeypatch.setenv("TABLE_NAME", "billing-unit")
    monkeypatch.setenv("API_KEY_HASHES", "0" * 64)
    monkeypatch.setenv("BILLING_CURRENCY", "usd")
    reset_caches()
    yield
    reset_caches()


def _change(charges: tuple[OverageCharge, ...]) -> PlanChange:
    return PlanChange(
        purchase_id="pur_1",
        stripe_customer="cus_1",
        leaving_price_ids=frozenset(),
        line_items=(),
        proration="always_invoice",
        charges=charges,
        charges_product="prod_pro",
    )


def _charge(n: int, price_id: str | None = None) -> OverageCharge:
    return OverageCharge(
        feature_id=f"f{n}",
        description="past the allowance",
        idempotency_key=f"upgrade@pur_1:overage:c:f{n}:pro:1-2",
        price_id=price_id,
        quantity=3,
        amount=Decimal("0.375"),
    )


def test_a_priced_charge_is_packages_of_its_price_and_an_amount_is_whole_cents() -> None:
    added = added_invoice_items(_change((_charge(1, "price_msg"), _charge(2))), "usd")
    assert added == [
        {
            "price": "price_msg",
            "quantity": 3,
            "metadata": {"billing_feature_id": "f1", "billing_charge": _charge(1).idempotency_key},
        },
        {
            "price_data": {"currency": "usd", "product": "prod_pro", "unit_amount": 38},
            "quantity": 1,
            "metadata": {"billing_feature_id": "f2", "billing_charge": _charge(2).idempotency_key},
        },
    ]


def test_past_twenty_charges_the_rest_are_one_amount_of_what_each_would_charge() -> None:
    charges = tuple(_charge(n, "price_msg" if n % 2 else None) for n in range(25))
    added = added_invoice_items(_change(charges), "usd")
    assert len(added) == 20
    assert added[:19] == added_invoice_items(_change(charges[:19]), "usd")
    # Six more charges of 37.5 cents, each charged 38 as its own line would be.
    assert added[19]["price_data"]["unit_amount"] == 6 * 38
