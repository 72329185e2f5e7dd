"""Use cases, grouped by context: `billing`, `balances`, `catalog`, `customers`,
`app_webhooks`, and `stripe_events` (Stripe's webhook events). `retry` and `idempotency`
serve them all.

Each package's docstring says what it owns and what it may call. Handlers call one use case;
a use case orchestrates the store and the Stripe gateway, calling shared operations downward.
"""
