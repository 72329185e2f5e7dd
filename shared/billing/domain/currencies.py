"""How many decimal digits Stripe counts a currency's amounts in."""

from __future__ import annotations

# Stripe counts these currencies in whole units: ¥500 is sent as 500, not 50000.
_WHOLE_UNITS = frozenset(
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
        "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    }
)  # fmt: skip
# And these in thousandths.
_THOUSANDTHS = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def minor_unit_digits(currency: str) -> int:
    """The power of ten between an amount in `currency` and Stripe's integer for it."""
    code = currency.lower()
    if code in _WHOLE_UNITS:
        return 0
    if code in _THOUSANDTHS:
        return 3
    return 2
