"""What `expand` asks to embed in a customer answer beyond the customer itself."""

from __future__ import annotations

from collections.abc import Iterable

from billing.domain.customers import Customer
from billing.domain.features import Feature
from billing.services.balances.catalog_cache import features_knowing

FEATURE_EXPANSIONS = frozenset({"balances.feature", "flags.feature"})


def features_to_embed(customer: Customer, expand: Iterable[str] | None) -> dict[str, Feature]:
    """The features of the customer's balances and flags when `expand` names them, else none
    (the catalog is read only then)."""
    if not expand or not FEATURE_EXPANSIONS.intersection(expand):
        return {}
    held = customer.holdings
    feature_ids = {g.feature_id for g in held.grants} | {f.feature_id for f in held.flags}
    known = features_knowing(feature_ids)
    return {feature_id: known[feature_id] for feature_id in feature_ids if feature_id in known}
