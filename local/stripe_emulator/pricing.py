"""What a quantity of a price costs, as Stripe computes it; pure, no store.

Amounts are exact decimals of the currency's minor unit until a line is made: Stripe
multiplies ``unit_amount_decimal`` (up to 12 decimal places) and the tiers exactly and
rounds once per invoice line, to the nearest whole minor unit with a half rounded up
(its decimal-amounts page: 0.05 x 30 = 1.5 cents is charged 2). A proration is such a
line too: the exact amount times the share of the period, rounded once.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from local.stripe_emulator.errors import StripeError

# Stripe's amounts have at most eight digits (99999999 cents is $999,999.99), whatever
# the currency: a price or tier amount, and what a line charges.
MAX_AMOUNT = 99_999_999


def exact_amount(price: Any, quantity: int) -> Decimal:
    """``quantity`` of ``price`` before rounding: per unit (after ``transform_quantity``)
    or by its tiers. A metered price is billed by usage, in arrears, never by quantity."""
    if (price.get("recurring") or {}).get("usage_type") == "metered":
        return Decimal(0)
    units = Decimal(quantity)
    transform = price.get("transform_quantity")
    if transform:
        rounding = ROUND_UP if transform["round"] == "up" else ROUND_DOWN
        units = (units / Decimal(transform["divide_by"])).quantize(Decimal(1), rounding=rounding)
    if price["billing_scheme"] == "tiered":
        return _tiered(price["tiers_mode"], price["tiers"], units)
    return Decimal(price["unit_amount_decimal"]) * units


def whole(amount: Decimal) -> int:
    """An exact amount as the whole minor units a line charges: half rounds away from 0,
    so a credit is the mirror of the charge it undoes."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_amount(price: Any, quantity: int) -> int:
    return whole(exact_amount(price, quantity))


def check_line(amount: int, param: str) -> int:
    """``amount`` if Stripe can charge it on one line, else its 400 naming ``param``."""
    if abs(amount) > MAX_AMOUNT:
        raise StripeError(
            400,
            f"This line would charge {amount}, more than the maximum of {MAX_AMOUNT} "
            "(eight digits) Stripe allows.",
            code="amount_too_large",
            param=param,
            replayable=False,
        )
    return amount


def unit_label(price: Any) -> str:
    """How a line's description shows the price: ``$12.50`` per unit, exact; ``tiered``."""
    if price["billing_scheme"] == "tiered" or price["unit_amount_decimal"] is None:
        return "tiered"
    major = Decimal(price["unit_amount_decimal"]).scaleb(-2)
    shown = major.quantize(Decimal("0.01")) if major == major.quantize(Decimal("0.01")) else major
    symbol = "$" if price["currency"] == "usd" else f"{price['currency'].upper()} "
    return f"{symbol}{shown}"


def _tiered(mode: str, tiers: list[Any], units: Decimal) -> Decimal:
    if mode == "volume":
        # Every unit at the one tier the whole quantity falls in, plus that tier's flat.
        tier = next(t for t in tiers if t["up_to"] is None or units <= Decimal(t["up_to"]))
        return _unit(tier) * units + _flat(tier)
    total = Decimal(0)
    lower = Decimal(0)
    for tier in tiers:
        if units <= lower:
            break
        upper = units if tier["up_to"] is None else min(units, Decimal(tier["up_to"]))
        # Graduated: each tier charges the units that fall in it, and its flat once
        # reached.
        total += _unit(tier) * (upper - lower) + _flat(tier)
        if tier["up_to"] is None:
            break
        lower = Decimal(tier["up_to"])
    return total


def _unit(tier: Any) -> Decimal:
    return Decimal(tier["unit_amount_decimal"] or 0)


def _flat(tier: Any) -> Decimal:
    return Decimal(tier["flat_amount_decimal"] or 0)
