"""Stripe's test cards: what a payment with each one does, in one place.

Resources (payment intents, setup intents, invoices) and the hosted pages (checkout,
invoice) all ask `outcome` what a charge with a card does, so a card behaves the same
whichever path uses it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum


class Outcome(Enum):
    SUCCEEDS = "succeeds"
    DECLINES = "declines"
    REQUIRES_ACTION = "requires_action"


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    outcome: Outcome
    # Set for a declining card: Stripe's error code and decline code.
    code: str | None = None
    decline_code: str | None = None
    # Stripe checks a card when it is attached to a customer; some decline already then.
    declines_on_attach: bool = False

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        # Stable per number, as Stripe's: the same card saved twice has one fingerprint.
        return hashlib.sha256(self.number.encode()).hexdigest()[:16]


_VISA_SUCCEEDS = TestCard("4242424242424242", "visa", Outcome.SUCCEEDS)
_DECLINED = TestCard(
    "4000000000000002",
    "visa",
    Outcome.DECLINES,
    "card_declined",
    "generic_decline",
    declines_on_attach=True,
)
_INSUFFICIENT_FUNDS = TestCard(
    "4000000000009995",
    "visa",
    Outcome.DECLINES,
    "card_declined",
    "insufficient_funds",
    declines_on_attach=True,
)
_AUTHENTICATION_REQUIRED = TestCard("4000002760003184", "visa", Outcome.REQUIRES_ACTION)
_CHARGES_FAIL = TestCard(
    "4000000000000341", "visa", Outcome.DECLINES, "card_declined", "generic_decline"
)

TEST_CARDS = (
    _VISA_SUCCEEDS,
    _DECLINED,
    _INSUFFICIENT_FUNDS,
    _AUTHENTICATION_REQUIRED,
    _CHARGES_FAIL,
    TestCard("5555555555554444", "mastercard", Outcome.SUCCEEDS),
)

# Stripe's test payment method ids; each use makes a new PaymentMethod with that card.
TEST_PAYMENT_METHODS = {
    "pm_card_visa": _VISA_SUCCEEDS,
    "pm_card_chargeDeclined": _DECLINED,
    "pm_card_chargeDeclinedInsufficientFunds": _INSUFFICIENT_FUNDS,
    "pm_card_authenticationRequired": _AUTHENTICATION_REQUIRED,
    "pm_card_chargeCustomerFail": _CHARGES_FAIL,
    "pm_card_mastercard": TEST_CARDS[-1],
}

_BY_NUMBER = {card.number: card for card in TEST_CARDS}
_BY_FINGERPRINT = {card.fingerprint: card for card in TEST_CARDS}

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


def card_for_number(number: str) -> TestCard | None:
    """The test card with this number (spaces allowed), or None for an unusable number.

    Any other number passing the Luhn check behaves like 4242 4242 4242 4242.
    """
    digits = number.replace(" ", "").replace("-", "")
    if digits in _BY_NUMBER:
        return _BY_NUMBER[digits]
    if not (12 <= len(digits) <= 19 and digits.isdigit() and _luhn_valid(digits)):
        return None
    return TestCard(digits, _brand(digits), Outcome.SUCCEEDS)


def outcome_of(card: dict[str, object]) -> TestCard:
    """The test card behind a PaymentMethod's ``card`` hash (found by its fingerprint)."""
    fingerprint = str(card.get("fingerprint"))
    return _BY_FINGERPRINT.get(fingerprint, _VISA_SUCCEEDS)


def decline_message(card: TestCard) -> str:
    return DECLINE_MESSAGES.get(card.decline_code or "", "Your card was declined.")


def _brand(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"51", "52", "53", "54", "55"}:
        return "mastercard"
    if digits[:2] in {"34", "37"}:
        return "amex"
    return "unknown"


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
