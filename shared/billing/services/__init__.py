"""One module per use case: orchestrates the store and the Stripe gateway, owns retries."""
