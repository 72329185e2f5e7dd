"""billing.preview_attach: what `billing.attach` would do with the same request, and what it
would cost now and next cycle, changing nothing (the operation is `previews`, which
billing.preview_update's plan change runs too)."""

from __future__ import annotations

from billing.services.billing.previews import AttachPreview, preview_of_attach
from billing.services.billing.situation import AttachPlan
from billing.stripe_api import StripeFactory


def preview_attach(command: AttachPlan, stripe: StripeFactory) -> AttachPreview:
    return preview_of_attach(command, stripe)
