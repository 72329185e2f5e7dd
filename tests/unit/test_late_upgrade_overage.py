"""The overage an upgrade's grant adds past what its attach recorded (late_overage)."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.periods import OverageCharge
from billing.services.billing.late_overage import late_charges


def charge(quantity: int, amount: str, price_id: str | None = "price_msg") -> OverageCharge:
    return OverageCharge(
        feature_id="messages",
        description=f"{quantity} messages past the allowance",
        idempotency_key="overage:i1:messages:pro:100-200",
        price_id=price_id,
        quantity=quantity,
        amount=Decimal(amount),
    )


def test_only_the_packages_used_since_the_attach_are_billed_keyed_by_the_attempt() -> None:
    (late,) = late_charges((charge(80, "8.00"),), (charge(50, "5.00"),), "p1")
    assert (late.quantity, late.amount) == (30, Decimal("3.00"))
    # The attempt first, the period last (found again by its period, never the renewal's).
    assert late.idempotency_key == "upgrade-late@p1:overage:i1:messages:pro:100-200"


def test_nothing_is_billed_when_no_usage_came_after_the_attach() -> None:
    assert late_charges((charge(50, "5.00"),), (charge(50, "5.00"),), "p1") == ()


def test_usage_first_past_the_allowance_after_the_attach_is_billed_whole() -> None:
    (late,) = late_charges((charge(30, "3.00"),), (), "p1")
    assert (late.quantity, late.amount) == (30, Decimal("3.00"))


def test_an_amount_we_priced_bills_the_difference_of_the_amounts() -> None:
    (late,) = late_charges((charge(1, "7.25", None),), (charge(1, "5.00", None),), "p1")
    assert late.amount == Decimal("2.25")
