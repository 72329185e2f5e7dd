"""How a plan version looks in Stripe: one product per plan, one price per priced thing,
and `Catalog`, which makes them so in Stripe.

The translation is pure (no I/O). Every price gets a lookup key derived from the plan version and
from exactly what it charges, so pushing the same catalog again finds the same prices, and
changed terms get new ones (Stripe prices are immutable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from billing.config import settings
from billing.domain.currencies import minor_unit_digits
from billing.domain.plans import Plan, PlanItem, StripeMirror
from billing.stripe_api.call import once

if TYPE_CHECKING:
    from stripe.params import ProductCreateParams, ProductUpdateParams

    from billing.stripe_api.call import StripeCall
from billing.domain.terms import ItemPrice

# (Stripe interval, months in one of ours): quarter and semi-annual are multiples of months.
_RECURRING = {
    "month": ("month", 1),
    "quarter": ("month", 3),
    "semi_annual": ("month", 6),
    "year": ("year", 1),
}


@dataclass(frozen=True)
class PriceSpec:
    lookup_key: str
    # None for the plan's base price, else the item's feature.
    feature_id: str | None
    params: dict[str, Any]


def product_id(plan_id: str) -> str:
    """Our own product id for a plan: deterministic, so a re-push finds it, and safe for
    Stripe whatever characters the plan id has."""
    return f"bl_plan_{digest(plan_id, 24)}"


def price_specs(plan: Plan, currency: str) -> list[PriceSpec]:
    specs: list[PriceSpec] = []
    base = plan.terms.price
    if base is not None and base.amount > 0:
        params = {
            "unit_amount_decimal": _minor_units(base.amount, currency),
            **_cadence(plan, base.interval_count),
        }
        specs.append(_spec(plan, None, currency, params, nickname=f"{plan.name} (base)"))
    for item in plan.terms.items:
        if item.price is None:
            continue
        item_params = _item_params(plan, item, item.price, currency)
        if item_params is not None:
            specs.append(
                _spec(
                    plan,
                    item.feature_id,
                    currency,
                    item_params,
                    nickname=f"{plan.name}: {item.feature_id}",
                )
            )
    return specs


def priced_quantities(mirror: StripeMirror, packages: Mapping[str, Decimal]) -> dict[str, int]:
    """Packages of prepaid items as Stripe's item quantities: price id -> packages (the
    features without a Stripe price left out)."""
    return {
        mirror.item_price_ids[f]: int(n) for f, n in packages.items() if f in mirror.item_price_ids
    }


def _item_params(
    plan: Plan, item: PlanItem, price: ItemPrice, currency: str
) -> dict[str, Any] | None:
    if price.billing_method == "usage_based":
        if price.tiers is not None:
            # Stripe has no tiered one-time prices: tiered overage is priced by us at the
            # period end and billed as an amount, so it has no Stripe price.
            return None
        # Overage is billed in arrears as invoice items of this one-time price, per package.
        return {"unit_amount_decimal": _minor_units(price.amount or 0, currency)}
    cadence = _cadence(plan, price.interval_count)
    if price.tiers is None:
        return {"unit_amount_decimal": _minor_units(price.amount or 0, currency), **cadence}
    return {
        "billing_scheme": "tiered",
        "tiers_mode": price.tier_behavior or "graduated",
        "tiers": [
            {
                # Quantities are packages of billing_units, so are the tier bounds.
                "up_to": "inf"
                if tier.to == "inf"
                else max(1, -(-int(tier.to) // int(price.billing_units or 1))),
                "unit_amount_decimal": _minor_units(tier.amount, currency),
                **(
                    {"flat_amount_decimal": _minor_units(tier.flat_amount, currency)}
                    if tier.flat_amount
                    else {}
                ),
            }
            for tier in price.tiers
        ],
        **cadence,
    }


def _cadence(plan: Plan, interval_count: int) -> dict[str, Any]:
    interval = plan.interval
    if interval is None or interval == "one_off":
        return {}
    stripe_interval, months = _RECURRING[interval]
    return {"recurring": {"interval": stripe_interval, "interval_count": months * interval_count}}


def _spec(
    plan: Plan, feature_id: str | None, currency: str, params: dict[str, Any], nickname: str
) -> PriceSpec:
    priced = {"currency": currency, **params}
    what = "base" if feature_id is None else f"item_{digest(feature_id, 12)}"
    charged = digest(repr(sorted(priced.items())), 12)
    key = f"bl_{digest(plan.id, 16)}_v{plan.version}_{what}_{charged}"
    return PriceSpec(
        lookup_key=key,
        feature_id=feature_id,
        params={
            **priced,
            "lookup_key": key,
            "nickname": nickname[:250],
            "metadata": {
                "billing_plan_id": plan.id[:500],
                "billing_plan_version": str(plan.version),
                # Stripe reads an empty value as "unset": the base price has no feature.
                **({"billing_feature_id": feature_id[:500]} if feature_id else {}),
            },
        },
    )


def _minor_units(amount: Decimal | int, currency: str) -> str:
    """Major units (9.99) to Stripe's minor units of `currency` as an exact decimal string
    ("999" in dollars, "500" for ¥500)."""
    cents = Decimal(str(amount)).scaleb(minor_unit_digits(currency)).normalize()
    return format(cents, "f")


def whole_minor_units(amount: Decimal) -> int:
    """An amount we priced ourselves (tiered overage) in Stripe's whole minor units: Stripe
    charges whole cents, and half a cent rounds up."""
    minor = amount.scaleb(minor_unit_digits(settings().currency))
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def major_units(minor: int) -> Decimal:
    """Stripe's minor units (999) back to our major units (9.99)."""
    return Decimal(minor).scaleb(-minor_unit_digits(settings().currency))


def digest(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class Catalog:
    def __init__(self, call: StripeCall) -> None:
        self._call = call

    def mirror_plan(self, plan: Plan) -> StripeMirror:
        """The plan version's product and prices in Stripe, found or created: idempotent,
        so pushing the same catalog again creates nothing."""
        product = self._ensured_product(plan)
        mirror = StripeMirror(product_id=product)
        item_prices: dict[str, str] = {}
        for spec in price_specs(plan, settings().currency):
            price_id = self._ensured_price(spec, product)
            if spec.feature_id is None:
                mirror = mirror.model_copy(update={"base_price_id": price_id})
            else:
                item_prices[spec.feature_id] = price_id
        return mirror.model_copy(update={"item_price_ids": item_prices})

    def _ensured_product(self, plan: Plan) -> str:
        products = self._call.v1.products
        wanted = product_id(plan.id)
        found = self._call.found(lambda: products.retrieve(wanted))
        if found is None:
            params: ProductCreateParams = {
                "id": wanted,
                "name": plan.name,
                "metadata": {"billing_plan_id": plan.id[:500]},
            }
            created = once("product.create", wanted)
            self._call(lambda: products.create(params, created))
        elif found.name != plan.name:
            update: ProductUpdateParams = {"name": plan.name}
            renamed = once("product.update", wanted, digest(plan.name))
            self._call(lambda: products.update(wanted, update, renamed))
        return wanted

    def _ensured_price(self, spec: PriceSpec, product: str) -> str:
        prices = self._call.v1.prices
        listed = self._call(lambda: prices.list({"lookup_keys": [spec.lookup_key], "limit": 1}))
        if listed.data:
            return str(listed.data[0].id)
        params: Any = {**spec.params, "product": product}
        options = once("price.create", spec.lookup_key)
        created = self._call(lambda: prices.create(params, options))
        return str(created.id)
