"""An offline, in-memory emulator of the subset of Stripe's REST API this project uses.

Point the real SDK at it::

    emulator = StripeEmulator()
    url = emulator.start()
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": url})
"""

from local.stripe_emulator.server import StripeEmulator

__all__ = ["StripeEmulator"]
