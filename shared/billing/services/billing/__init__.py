"""Billing use cases: attach, update (cancel, uncancel, quantities), their previews, payment
setup, the customer portal, the invoices list and the billing audit; and the operations they
share (granting a purchase, renewals, syncing a Stripe subscription, free plans at period end).

Owns: every change to what a customer holds that money is behind, and its mirror in Stripe.
May call: `billing.domain`, `billing.store`, `billing.stripe_api`, `services.app_webhooks`
(to announce), `services.balances.catalog_cache`, and the root `retry` and `idempotency`.
A use case (attach, update, ...) calls shared operations (purchases, renewals,
subscription_sync, ...) downward, never another use case.
"""
