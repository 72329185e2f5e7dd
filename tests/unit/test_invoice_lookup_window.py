"""How far back the overage lookups read a customer's Stripe invoices and invoice items:
from the earlier of the two times a charge's key names (its period), whatever the key's
other parts, so a customer with any number of them is read to the last one that counts."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.customers import Customer
from billing.domain.holdings import Grant
from billing.domain.periods import OverageCharge
from billing.domain.terms import ItemPrice, Reset
from billing.services.billing.period_end import overage_charges
from billing.stripe_api.overage_invoices import _CLOCK_SLACK_S, _billed_since


def overage(feature_id: str) -> Grant:
    return Grant(
        id=f"g-{feature_id}",
        feature_id=feature_id,
        plan_id="pro:v2",
        included=Decimal(100),
        anchor_at=0,
        usage=Decimal(250),
        reset=Reset(interval="month"),
        price=ItemPrice(amount=Decimal("0.1"), billing_method="usage_based", interval="month"),
    )


def test_the_lookups_read_from_the_start_of_the_period_the_keys_name() -> None:
    customer = Customer(internal_id="cus:1", id="c1", created_at=0, metadata={})
    charges = overage_charges(
        customer, [overage("a:b-1"), overage("messages")], [], 1_780_000_000, 1_782_592_000
    )
    assert len(charges) == 2
    assert _billed_since(charges) == 1_780_000_000 - _CLOCK_SLACK_S


def test_a_period_whose_start_is_after_its_end_is_read_from_its_end() -> None:
    # A downgrade's close takes the start from our copy of the period, its end from Stripe.
    charge = OverageCharge("messages", "x", "overage:cus_1:messages:pro:2000-1500")
    assert _billed_since((charge,)) == 1500 - _CLOCK_SLACK_S


def test_a_key_that_names_no_period_reads_everything() -> None:
    named = OverageCharge("messages", "x", "overage:cus_1:messages:pro:1000-2000")
    unnamed = OverageCharge("messages", "x", "some-older-key")
    assert _billed_since((named, unnamed)) is None
    assert _billed_since(()) is None
