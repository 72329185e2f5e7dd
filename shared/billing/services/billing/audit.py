"""The billing audit: every customer's holdings (or one customer's) checked against what
Stripe bills, by the invariants of `billing.domain.audit`.

Read-only: it reads the table and lists each linked customer's Stripe subscriptions (their
schedules expanded), and changes nothing anywhere. Customers are audited a page at a time
in creation order; a run given a time budget stops between pages and says where to resume
(`AuditReport.next_cursor`), so an audit of any size completes over several runs.
"""

from __future__ import annotations

from collections.abc import Callable

from billing import clock
from billing.domain.audit import AuditReport, CustomerFacts, Drift, Switch
from billing.domain.audit_rules import drifts_of
from billing.domain.customers import Customer, PageQuery
from billing.domain.errors import CustomerNotFound
from billing.domain.stripe_subscriptions import StripeSubscription
from billing.store import audits, catalog, customers, purchases, scheduled_switches
from billing.store.catalog import Catalog
from billing.stripe_api import StripeFactory

PAGE_SIZE = 50


def audit_customer(
    customer_id: str, stripe: StripeFactory, *, list_stripe: bool = True
) -> AuditReport:
    """One customer's drifts. `list_stripe=False` takes Stripe to hold no subscription (a
    test whose Stripe has none skips the listing)."""
    started = clock.now_ms()
    customer = customers.load(customer_id)
    if customer is None:
        raise CustomerNotFound(f"No customer '{customer_id}'.")
    drifts = customer_drifts(customer, catalog.load(), stripe, list_stripe)
    report = AuditReport(started_at=started).with_page(1, drifts, None)
    return report.model_copy(update={"finished_at": clock.now_ms()})


def audit_customers(
    stripe: StripeFactory,
    *,
    resume: AuditReport | None = None,
    page_size: int = PAGE_SIZE,
    more_time: Callable[[], bool] = lambda: True,
    list_stripe: bool = True,
) -> AuditReport:
    """Every customer's drifts, from where `resume` (a run cut short) stopped; pages are
    read while `more_time()`, and a report cut short carries the cursor to resume at."""
    report = resume if resume is not None else AuditReport(started_at=clock.now_ms())
    current = catalog.load()
    cursor = report.next_cursor
    while True:
        page, cursor = customers.page(PageQuery(cursor=cursor, limit=page_size, ascending=True))
        drifts = [d for c in page for d in customer_drifts(c, current, stripe, list_stripe)]
        report = report.with_page(len(page), drifts, cursor)
        if cursor is None:
            return report.model_copy(update={"finished_at": clock.now_ms()})
        if not more_time():
            return report


def customer_drifts(
    customer: Customer, current: Catalog, stripe: StripeFactory, list_stripe: bool = True
) -> list[Drift]:
    held_plans = {
        sub.id: plan
        for sub in customer.holdings.subscriptions
        if (plan := current.version(sub.plan_id, sub.plan_version)) is not None
    }
    listed: tuple[StripeSubscription, ...] = ()
    if list_stripe and customer.stripe_id is not None:
        listed = stripe().subscriptions.list_all(customer.stripe_id)
    switches: dict[str, Switch] = {}
    if any(s.status == "scheduled" for s in customer.holdings.subscriptions):
        for stripe_sub in listed:
            switch = _switch(stripe_sub.id)
            if switch is not None:
                switches[stripe_sub.id] = switch
    facts = CustomerFacts(customer, held_plans, listed, switches)
    return drifts_of(facts)


def _switch(stripe_subscription_id: str) -> Switch | None:
    """The switch kept for the subscription's period end, with its purchase as it is now."""
    found = scheduled_switches.scheduled_switch(stripe_subscription_id)
    if found is None:
        return None
    purchase = purchases.load(found[0])
    if purchase is None:
        return Switch(purchase_id=found[0], plan_id="(purchase gone)", pending=False)
    return Switch(purchase.id, purchase.plan_id, purchase.status == "pending")


def scheduled_audit(
    stripe: StripeFactory, *, every_ms: int, more_time: Callable[[], bool]
) -> AuditReport | None:
    """One run of the scheduled audit: resumes a run cut short, else starts a new one once
    the last complete report is `every_ms` old; None when there is nothing to do yet. A
    complete report replaces the last one (the dashboard shows it); a report cut short is
    kept as progress for the next run."""
    progress = audits.load_progress()
    if progress is None:
        last = audits.load_last()
        due = last is None or (last.finished_at or 0) + every_ms <= clock.now_ms()
        if not due:
            return None
    report = audit_customers(stripe, resume=progress, more_time=more_time)
    if report.complete:
        audits.save_last(report)
    else:
        audits.save_progress(report)
    return report


def last_report() -> AuditReport | None:
    """The last complete audit's report, as stored (the dashboard shows it)."""
    return audits.load_last()
