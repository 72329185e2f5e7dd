"""Customers: newest first, searched by id, name or email, in cursor pages; and the form
that creates one (with a blank id, a pre-created customer its email will claim)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from billing import stripe_api
from billing.api.errors import status_of
from billing.dashboard.forms import NewCustomerForm, parsed
from billing.dashboard.web import Request, link, page, redirect
from billing.domain.customer_changes import CustomerDraft
from billing.domain.customers import PageQuery
from billing.domain.errors import BillingError, InvalidRequest
from billing.services.billing.enable_plan import EnablePlan, enable_plan
from billing.services.catalog.plans import get_plan, list_plans
from billing.services.customers.get_or_create import GetOrCreateCustomer, get_or_create
from billing.services.customers.list import list_customers

PAGE_SIZE = 25
MOST_SEARCH = 256


def index(request: Request, error: str | None = None, status: int = 200) -> Response[str]:
    search = request.query.get("q", "")[:MOST_SEARCH].strip() or None
    cursor = request.query.get("cursor")
    try:
        found, next_cursor = list_customers(PageQuery(cursor, PAGE_SIZE, False, search))
    except InvalidRequest:
        # A cursor that is not one of ours (edited by hand): the first page instead.
        found, next_cursor = list_customers(PageQuery(None, PAGE_SIZE, False, search))
    plans = list_plans(include_archived=False, all_versions=False)
    return page(
        request,
        "customers.html",
        status=status,
        customers=found,
        search=search or "",
        next_page=link("/customers", q=search, cursor=next_cursor) if next_cursor else None,
        plans=plans,
        error=error,
        form=request.form,
    )


def create(request: Request) -> Response[str]:
    try:
        form = parsed(NewCustomerForm, request.form)
        if form.plan_id is not None:
            get_plan(form.plan_id)  # an unknown plan creates nothing
        command = GetOrCreateCustomer(
            customer_id=form.customer_id, draft=CustomerDraft(name=form.name, email=form.email)
        )
        customer = get_or_create(command, stripe=stripe_api.get_gateway)
        if form.plan_id is not None:
            enable_plan(EnablePlan(form.plan_id, customer.id, customer.email))
    except BillingError as error:
        return index(request, error=error.message, status=status_of(error))
    if customer.id is None:
        return redirect(request, link("/customer", email=customer.email, done="created"))
    return redirect(request, link("/customer", id=customer.id, done="created"))
