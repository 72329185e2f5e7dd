"""Stripe, as the services see it: `StripeGateway` (one object per Stripe resource, in
`billing.stripe_api.gateway`), and the lazy way to it.

Only the calls made through `billing.stripe_api.call` import the `stripe` SDK. Services are
given a `StripeFactory` and call it only when a request really needs Stripe, so functions
that never talk to Stripe (check, track) neither import the SDK nor need its settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing.stripe_api.gateway import StripeGateway

# What services that may call Stripe are given: get_gateway, or a test's stand-in.
StripeFactory = Callable[[], "StripeGateway"]


def get_gateway() -> StripeGateway:
    from billing.stripe_api.gateway import gateway as cached_gateway

    return cached_gateway()
