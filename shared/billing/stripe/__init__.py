"""The only code that imports `stripe`. Hot-path functions (check, track) never import it.

`get_gateway()` is the lazy way in: a function that may talk to Stripe holds this factory, and
the `stripe` package is imported only when a call really needs Stripe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing.stripe.gateway import StripeGateway

# What services that may call Stripe are given: get_gateway, or a test's stand-in.
StripeFactory = Callable[[], "StripeGateway"]


def get_gateway() -> StripeGateway:
    from billing.stripe.gateway import gateway as cached_gateway

    return cached_gateway()
