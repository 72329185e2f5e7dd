"""Catalog use cases: features and plans created, versioned, updated and deleted.

Owns: the catalog items and each plan's Stripe products and prices.
May call: `billing.domain`, `billing.store`, `billing.stripe_api`, `services.balances.catalog_cache`
(to forget what it cached).
"""
