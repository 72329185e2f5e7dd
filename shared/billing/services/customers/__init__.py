"""Customer use cases: get_or_create, get (with its expansions), update, delete and purge, the
Stripe customer kept in step, and test clocks.

Owns: the customer profile and its Stripe customer.
May call: `billing.domain`, `billing.store`, `billing.stripe_api`, `services.app_webhooks`.
"""
