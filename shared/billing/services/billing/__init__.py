"""Billing use cases: attach, update (cancel, uncancel, quantities), their previews, payment
setup, the customer portal, the invoices list, the billing audit and enabling a plan by hand;
and the operations they share.

Use cases (each the service call of a route): attach, update, preview_attach,
preview_update, setup_payment, portal, invoices, audit, enable_plan.
Shared operations: situation (what an attach decides on), attempts (a purchase's attempts
and what Stripe is asked for), attaching (the attach itself, also run by update's plan
change and the attach after a saved card), updating (what an update asks for), previews,
pending and scheduled_downgrades (what ends a plan at its period end, taken back and put
back), free_at_period_end, purchases, renewals, subscription_sync.

Owns: every change to what a customer holds that money is behind, and its mirror in Stripe.
May call: `billing.domain`, `billing.store`, `billing.stripe_api`, `services.app_webhooks`
(to announce), `services.balances.catalog_cache`, and the root `retry` and `idempotency`.
A use case calls shared operations downward, never another use case
(tests/unit/test_billing_use_cases.py).
"""
