"""Attach: a plan billed through Stripe, shown first with what it will charge (attach's own
preview, changing nothing), then confirmed. A payment the customer must make (Checkout, a
card to authenticate) comes back as a link for the operator to send."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from billing import stripe_api
from billing.api.errors import status_of
from billing.config import settings
from billing.dashboard.forms import AttachQuery, EnablePlanForm, parsed
from billing.dashboard.pages import customer
from billing.dashboard.web import ROOT, Request, link, page
from billing.domain.errors import BillingError, CustomerNotFound
from billing.services.billing.attach import attach
from billing.services.billing.preview_attach import preview_attach
from billing.services.billing.situation import AttachPlan


def preview(request: Request) -> Response[str]:
    customer_id = _customer_id(request)
    try:
        plan_id = parsed(AttachQuery, request.query).plan_id
        shown = preview_attach(AttachPlan(customer_id, plan_id), stripe=stripe_api.get_gateway)
    except BillingError as error:
        return customer.show(request, error=error.message, status=status_of(error))
    return page(request, "attach.html", customer_id=customer_id, plan_id=plan_id, preview=shown)


def confirm(request: Request) -> Response[str]:
    customer_id = _customer_id(request)
    back = link("/customer", id=customer_id)
    # Checkout sends the customer back to this customer's page once paid, at the dashboard's
    # configured address (never one taken from the request's Host header); without one, to
    # CHECKOUT_SUCCESS_URL as any attach.
    base = settings().dashboard_base_url
    try:
        command = AttachPlan(
            customer_id,
            parsed(EnablePlanForm, request.form).plan_id,
            success_url=None if base is None else base.rstrip("/") + back.removeprefix(ROOT),
        )
        result = attach(command, stripe=stripe_api.get_gateway)
    except BillingError as error:
        return customer.show(request, error=error.message, status=status_of(error))
    return page(request, "attached.html", customer_id=customer_id, back=back, result=result)


def _customer_id(request: Request) -> str:
    """Attach bills a customer the application knows: one with an id."""
    customer_id = request.query.get("id")
    if not customer_id:
        raise CustomerNotFound
    return customer_id
