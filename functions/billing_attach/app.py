"""POST /v1/billing.attach: give a customer a plan, granted once it is paid for.

A free plan is granted at once; a paid one answers a Checkout `payment_url`, or is charged
to the card on file (a card that needs the customer answers `required_action`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing import stripe_api
from billing.api.app import idempotency_key, make_app, ok
from billing.api.body import parse
from billing.api.wire.attach import AttachRequest, attach_response
from billing.observability import count, observed
from billing.services.billing.attach import attach
from billing.services.billing.attaching import AttachResult

app = make_app()


@app.post("/v1/billing.attach")
def attach_plan() -> Response[str]:
    request = parse(AttachRequest, app.current_event)
    result = attach(request.command(idempotency_key(app)), stripe=stripe_api.get_gateway)
    count("Attaches", outcome=outcome(result))
    return ok(attach_response(result))


def outcome(result: AttachResult) -> str:
    """What the attach came to, as the `Attaches` metric counts it."""
    # First: a card needing 3-D Secure also answers a payment_url (the invoice's page).
    if result.required_action is not None:
        return "action_required"  # the card needs the customer (3-D Secure)
    if result.payment_url is not None:
        return "checkout"  # the customer pays on Stripe's page; granted once paid
    if result.invoice is not None:
        # Paid: charged to the card on file; else sent to be paid by invoice.
        return "charged" if result.invoice.status == "paid" else "invoiced"
    return "granted"  # nothing to pay now (a free plan, a change at the period's end)


@observed("billing.attach")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
