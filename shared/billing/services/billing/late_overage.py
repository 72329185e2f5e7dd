"""Usage tracked on the plan an immediate upgrade leaves, after the upgrade was asked and
before it was paid (3-D Secure confirmed later, the hosted invoice page paid after a decline).

The attach recorded the old plan's overage so far for its attempt, and the upgrade's own
invoice carries it (`period_end.upgrade_overage`). The old plan keeps taking usage until the
upgrade is paid; then the grant ends its balances. What was used past the recorded point is
recorded by the grant, in its own transaction (`late_record`: charges keyed by the attempt,
so it is recorded once, and never lost with the balances it was read from). The invoice.paid
naming the attempt then adds those charges to the customer's next invoice as invoice items
(`bill_late_overage`), each found again by its key before it is added (as the renewal's
charges are): whatever the redeliveries and their order, each is billed once. A stop
between the grant and the Stripe call is made good by Stripe delivering that invoice.paid
again (a delivery that failed is retried).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from billing.domain.customers import Customer
from billing.domain.holdings import Subscription
from billing.domain.periods import OverageCharge
from billing.domain.plans import Plan
from billing.services.billing.period_end import overage_so_far, upgrade_close
from billing.store import customers, period_closes, purchases
from billing.store.writes import Write
from billing.stripe_api import StripeFactory


def late_record(
    customer: Customer, purchase_id: str, leaving: Subscription, plan: Plan, now_ms: int
) -> Write | None:
    """The write recording the overage the plan left accrued past what the attempt recorded
    at its attach, for the grant's transaction (`customer`: as the grant read it); None
    when there is none, or the attempt recorded nothing (an upgrade during a trial bills no
    usage)."""
    started, ends = leaving.current_period_start, leaving.current_period_end
    if leaving.stripe_subscription_id is None or started is None or ends is None:
        return None
    start_s, end_s = started // 1000, ends // 1000
    # Not found (our copy of the period differs from the one recorded): nothing is added,
    # rather than the whole overage billed a second time.
    recorded = period_closes.load(upgrade_close(leaving.stripe_subscription_id, purchase_id), end_s)
    if recorded is None:
        return None
    now = overage_so_far(customer, leaving, plan, start_s, end_s)
    late = late_charges(now, recorded, purchase_id)
    if not late:
        return None
    return period_closes.recorded(customer, _late_key(purchase_id), 0, late, now_ms)


def late_charges(
    now: tuple[OverageCharge, ...], recorded: tuple[OverageCharge, ...], purchase_id: str
) -> tuple[OverageCharge, ...]:
    """What `now` (the overage at the grant) bills past `recorded` (at the attach), feature
    by feature: packages of a flat price, or an amount we priced. Keyed by the attempt, the
    period last (as every overage key: see overage_invoices._billed_since)."""
    packages: dict[str, int] = {}
    amounts: dict[str, Decimal] = {}
    for charge in recorded:
        packages[charge.feature_id] = packages.get(charge.feature_id, 0) + charge.quantity
        amounts[charge.feature_id] = amounts.get(charge.feature_id, Decimal(0)) + (
            charge.amount or Decimal(0)
        )
    late = []
    for charge in now:
        more = charge.quantity - packages.get(charge.feature_id, 0)
        extra = (charge.amount or Decimal(0)) - amounts.get(charge.feature_id, Decimal(0))
        if (charge.price_id is not None and more <= 0) or (charge.price_id is None and extra <= 0):
            continue
        late.append(
            replace(
                charge,
                description=f"{charge.feature_id} past the allowance until the upgrade was paid",
                idempotency_key=f"upgrade-late@{purchase_id}:{charge.idempotency_key}",
                quantity=max(more, 1),
                amount=extra,
            )
        )
    return tuple(late)


def bill_late_overage(purchase_id: str, stripe: StripeFactory) -> None:
    """Adds the late overage the attempt's grant recorded, if any, to the customer's next
    invoice; the charges already there (an earlier delivery) are not added again."""
    charges = period_closes.load(_late_key(purchase_id), 0)
    if not charges:
        return
    purchase = purchases.load(purchase_id)
    customer = customers.load(purchase.customer_id) if purchase is not None else None
    if customer is None or purchase is None or customer.internal_id != purchase.internal_id:
        return  # its customer is gone: nobody of ours to bill
    if customer.stripe_id is not None:
        stripe().overage.add_items(None, customer.stripe_id, charges)


def _late_key(purchase_id: str) -> str:
    return f"late@{purchase_id}"
