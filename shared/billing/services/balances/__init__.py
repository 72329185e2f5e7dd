"""Balance use cases: the hot path (`check`, `track`, queued tracks and the worker that applies
them), balances created and adjusted by hand, and the usage events list and aggregate.

Owns: deducting and granting units, exactly once per idempotency key or queued message.
May call: `billing.domain`, `billing.store`, `services.app_webhooks` (limit reached), and the
root `retry` and `idempotency`. Never `billing.stripe_api`: nothing here loads the Stripe SDK,
so check and track keep their cold start small.
"""
