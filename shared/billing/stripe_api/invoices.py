"""Stripe invoices: read back (what one bills, whether it was paid and for which purchase of
ours), paid, sent, voided, refunded, and the overage charges added to a renewal's draft."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from billing.config import settings
from billing.domain.errors import StripeUnavailable
from billing.domain.periods import OverageCharge
from billing.domain.plans import Plan
from billing.domain.stripe_sync import plan_price_ids
from billing.stripe_api import catalog
from billing.stripe_api.call import Refusal, once
from billing.stripe_api.objects import PURCHASE_KEY, id_of

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall

# Card errors that a customer can resolve by authenticating the payment (3D Secure).
_NEEDS_ACTION = frozenset(
    {"authentication_required", "invoice_payment_intent_requires_action", "requires_action"}
)


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    status: str | None
    total: Decimal
    currency: str
    hosted_invoice_url: str | None


PaymentStatus = Literal["paid", "requires_action", "failed"]

# The metadata naming the ended period a final invoice bills (see `Invoices.bill_final`).
_FINAL_KEY = "billing_final_period"


@dataclass(frozen=True)
class Payment:
    """How charging the card on file went. `paid` includes nothing due (a trial)."""

    status: PaymentStatus
    invoice: InvoiceSummary | None
    subscription_id: str | None = None


@dataclass(frozen=True)
class PaidFor:
    """What a Stripe object (a checkout session, an invoice) says was paid, re-read from
    Stripe: the purchase it pays for, and whether it is settled."""

    purchase_id: str | None
    paid: bool
    subscription_id: str | None = None
    # When Stripe made the object (Unix seconds, on the customer's test clock if any).
    created_s: int | None = None


@dataclass(frozen=True)
class InvoiceState:
    """A Stripe invoice as Stripe has it now (re-read, never the event's snapshot)."""

    id: str
    stripe_customer: str | None
    subscription_id: str | None
    status: str
    billing_reason: str | None
    total: Decimal
    currency: str
    hosted_invoice_url: str | None
    # Unix seconds, on the customer's test clock if it has one.
    created_s: int
    period_start_s: int
    period_end_s: int
    # The prices its lines charge: which of our plans it bills.
    price_ids: frozenset[str]
    purchase_id: str | None = None
    # Where the subscription periods its lines charge end (a renewal: the new period's end).
    lines_period_end_s: int | None = None
    # Stripe's invoice number, once finalized.
    number: str | None = None

    def charges_a_price_of(self, plan: Plan) -> bool:
        """Whether a line of the invoice charges one of the plan version's Stripe prices."""
        return bool(plan_price_ids(plan) & self.price_ids)

    def plans_charged(self, plans: Iterable[Plan]) -> tuple[str, ...]:
        """The ids of the plans (of any of their versions) whose prices the invoice's lines
        charge, sorted."""
        return tuple(sorted({plan.id for plan in plans if self.charges_a_price_of(plan)}))


class Invoices:
    def __init__(self, call: StripeCall) -> None:
        self._call = call

    def summary(self, invoice_id: str) -> InvoiceSummary:
        fields = self._call(lambda: self._call.v1.invoices.retrieve(invoice_id)).to_dict()
        return InvoiceSummary(
            id=str(fields["id"]),
            status=fields.get("status"),
            total=catalog.major_units(int(fields.get("total") or 0)),
            currency=str(fields.get("currency") or settings().currency),
            hosted_invoice_url=fields.get("hosted_invoice_url"),
        )

    def pay(
        self, invoice_id: str, payment_method: str | None, subscription_id: str | None = None
    ) -> Payment:
        """Pays the invoice with the card; a decline or a card needing authentication is
        the answer, any other Stripe failure is raised (see `call.failure`)."""
        options = once("invoice.pay", invoice_id, payment_method)
        # Without a card of our choosing, Stripe charges the subscription's or customer's.
        params: Any = {} if payment_method is None else {"payment_method": payment_method}
        paid = self._call.attempt(lambda: self._call.v1.invoices.pay(invoice_id, params, options))
        status: PaymentStatus = "paid"
        if isinstance(paid, Refusal):
            if not paid.card:
                raise paid.error from paid.cause
            status = "requires_action" if paid.code in _NEEDS_ACTION else "failed"
        summary = self.summary(invoice_id)
        if status == "paid" and summary.status != "paid":
            status = "failed"
        return Payment(status, summary, subscription_id=subscription_id)

    def send(self, invoice_id: str) -> InvoiceSummary:
        """Finalizes the draft now (Stripe would wait an hour) and sends it; a retry finds it
        open (or paid) already and sends nothing twice (keyed by the invoice)."""
        v1 = self._call.v1
        if self.summary(invoice_id).status == "draft":
            finalize = once("invoice.finalize", invoice_id)
            self._call(
                lambda: v1.invoices.finalize_invoice(invoice_id, {"auto_advance": True}, finalize)
            )
        summary = self.summary(invoice_id)
        if summary.status == "open":
            send = once("invoice.send", invoice_id)
            self._call(lambda: v1.invoices.send_invoice(invoice_id, {}, send))
        return summary

    def tag(self, invoice_id: str, purchase_id: str) -> None:
        """Names the purchase an invoice pays for in its metadata."""
        tagged: Any = {"metadata": {PURCHASE_KEY: purchase_id}}
        options = once("invoice.update", invoice_id, purchase_id)
        self._call(lambda: self._call.v1.invoices.update(invoice_id, tagged, options))

    def void(self, invoice_id: str) -> str | None:
        """Voids the invoice if it is still open, so it can no longer be paid; returns its
        status after ("void", or "paid" when it was paid first; None: no such invoice)."""
        fields = self._call.retrieve("invoice", invoice_id)
        if fields is None or fields.get("status") != "open":
            return None if fields is None else str(fields.get("status"))
        options = once("invoice.void", invoice_id)
        voided = self._call.attempt(
            lambda: self._call.v1.invoices.void_invoice(invoice_id, {}, options)
        )
        # Refused as invalid: paid (or voided) just before: read what it is now.
        if isinstance(voided, Refusal) and not voided.invalid_request:
            raise StripeUnavailable from voided.cause
        after = self._call.retrieve("invoice", invoice_id) or {}
        return str(after.get("status"))

    def refund(self, invoice_id: str) -> bool:
        """Gives back what a paid invoice charged, by a credit note that refunds it (the
        invoice then shows why). Once per invoice; False when nothing was left to give back
        (not paid, nothing charged, or credited already)."""
        fields = self._call.retrieve("invoice", invoice_id)
        if fields is None or fields.get("status") != "paid":
            return False
        paid = int(fields.get("amount_paid") or 0)
        credited = int(fields.get("post_payment_credit_notes_amount") or 0)
        if paid <= 0 or credited >= paid:
            return False
        params: Any = {
            "invoice": invoice_id,
            "amount": paid - credited,
            "refund_amount": paid - credited,
            "reason": "order_change",
        }
        options = once("credit_note.refund", invoice_id)
        self._call(lambda: self._call.v1.credit_notes.create(params, options))
        return True

    def paid_for(self, invoice_id: str) -> PaidFor | None:
        fields = self._call.retrieve("invoice", invoice_id)
        if fields is None:
            return None
        details = (fields.get("parent") or {}).get("subscription_details") or {}
        subscription_id = id_of(details.get("subscription"))
        purchase_id = _purchase_of(fields, details)
        if purchase_id is None and subscription_id is not None:
            subscription = self._call.retrieve("subscription", subscription_id) or {}
            purchase_id = (subscription.get("metadata") or {}).get(PURCHASE_KEY)
        return PaidFor(
            purchase_id=purchase_id,
            paid=fields.get("status") == "paid",
            subscription_id=subscription_id,
            created_s=fields.get("created"),
        )

    def state(self, invoice_id: str) -> InvoiceState | None:
        """The invoice as Stripe has it now; None when Stripe has no such invoice."""
        fields = self._call.retrieve("invoice", invoice_id)
        return None if fields is None else _state(fields)

    def bill_final(
        self,
        stripe_customer: str,
        key: str,
        charges: tuple[OverageCharge, ...],
        subscription_id: str,
    ) -> Payment | None:
        """An invoice of its own for `charges` (an ended subscription's last overage),
        finalized and charged to that subscription's card, else the customer's default. Made
        once per `key`: a retry finds it (by its metadata, after Stripe forgot the
        idempotency keys) and only takes the steps left (items, finalizing, paying). None
        when every charge is on an invoice item already (none is made)."""
        v1 = self._call.v1
        invoice_id = self._final_invoice(stripe_customer, key, charges)
        if invoice_id is None:
            billed = self._billed_keys(stripe_customer, charges)
            if all(charge.idempotency_key[:500] in billed for charge in charges):
                return None  # billed already, on an invoice of Stripe's own making
            params: Any = {
                "customer": stripe_customer,
                "collection_method": "charge_automatically",
                "auto_advance": False,
                # Only these charges: other pending items wait for the invoice they belong to.
                "pending_invoice_items_behavior": "exclude",
                "description": "Usage past the allowance in the last period",
                "metadata": {_FINAL_KEY: key[:500]},
            }
            ended = self._call.retrieve("subscription", subscription_id) or {}
            card = id_of(ended.get("default_payment_method"))
            if card is not None:
                # The card that paid the subscription pays its last period too.
                params["default_payment_method"] = card
            options = once("invoice.create", key)
            invoice_id = str(self._call(lambda: v1.invoices.create(params, options)).id)
        self.add_items(invoice_id, stripe_customer, charges)
        if self.summary(invoice_id).status == "draft":
            # Stripe collects an open invoice on its own schedule after a failed charge.
            finalize = once("invoice.finalize", invoice_id)
            self._call(
                lambda: v1.invoices.finalize_invoice(invoice_id, {"auto_advance": True}, finalize)
            )
        summary = self.summary(invoice_id)
        if summary.status != "open":
            status: PaymentStatus = "paid" if summary.status == "paid" else "failed"
            return Payment(status, summary)
        return self.pay(invoice_id, None)

    def _final_invoice(
        self, stripe_customer: str, key: str, charges: tuple[OverageCharge, ...]
    ) -> str | None:
        """The customer's invoice made for `key`, if any: every invoice Stripe made for the
        customer since the charges' period could first be billed (see `_billed_since`), page
        after page. Not Stripe's invoice search: it finds an invoice only a while after it
        is made, and a retry that missed the one just made would make a second."""
        where: Any = {"customer": stripe_customer, "limit": 100}
        since_s = _billed_since(charges)
        if since_s is not None:
            where["created"] = {"gte": since_s}

        def find() -> str | None:
            for invoice in self._call.v1.invoices.list(where).auto_paging_iter():
                if (invoice.to_dict().get("metadata") or {}).get(_FINAL_KEY) == key[:500]:
                    return str(invoice.id)
            return None

        return self._call(find)

    def add_items(
        self, invoice_id: str | None, stripe_customer: str, charges: tuple[OverageCharge, ...]
    ) -> None:
        """Adds the charges to a draft invoice (None: to the customer's next invoice), each
        once for the customer: a charge already on any of its invoice items (this draft,
        pending, or an invoice finalized with it) is not added again."""
        # Stripe forgets an idempotency key after 24 hours, and a failed invoice.created is
        # retried for up to 3 days: the charges already billed are skipped by name. Keys name
        # the customer, feature and period, so one listing finds them wherever they went.
        present = self._billed_keys(stripe_customer, charges)
        for charge in charges:
            if charge.idempotency_key[:500] in present:
                continue
            params = _item(invoice_id, stripe_customer, charge)
            options = once("invoiceitem.create", charge.idempotency_key)
            self._call(partial(self._call.v1.invoice_items.create, params, options))

    def _billed_keys(
        self, stripe_customer: str, charges: tuple[OverageCharge, ...]
    ) -> set[str | None]:
        """The charge keys on the customer's invoice items (pending or invoiced) made since
        the charges' period could first be billed (see `_billed_since`), page after page: a
        customer with many items (one-off purchases, periods of overage) is read to the
        last one that can carry the charges, and no further back."""
        where: Any = {"customer": stripe_customer, "limit": 100}
        since_s = _billed_since(charges)
        if since_s is not None:
            where["created"] = {"gte": since_s}
        return self._call(
            lambda: {
                (item.to_dict().get("metadata") or {}).get("billing_charge")
                for item in self._call.v1.invoice_items.list(where).auto_paging_iter()
            }
        )


# Stripe's servers may disagree on the time by a little; a day more to read costs little.
_CLOCK_SLACK_S = 86_400


def _billed_since(charges: tuple[OverageCharge, ...]) -> int | None:
    """The earliest time (Unix seconds, on the customer's clock in Stripe: its test clock
    if it has one) an invoice item or final invoice for these charges can have been made;
    None when a key names no period (then every item and invoice is read).

    A charge's key ends with its period, `<start>-<end>` (`period_end.overage_charges`).
    Its items are made only once the period is closed, and a period is closed only after
    Stripe has passed one of those two times on the customer's clock: a renewal after the
    renewal invoice that ends it (`end`), a plan leaving after its subscription ended or
    switched there (`end`), an upgrade during the period (after `start`). Stripe dates
    what we make then by that clock, which only moves forward: every item and final invoice
    for the charges is dated at or after the earlier of the two."""
    earliest: int | None = None
    for charge in charges:
        start, _, end = charge.idempotency_key.rpartition(":")[2].partition("-")
        if not (start.isdigit() and end.isdigit()):
            return None
        first = min(int(start), int(end))
        earliest = first if earliest is None else min(earliest, first)
    return None if earliest is None else earliest - _CLOCK_SLACK_S


def _item(invoice_id: str | None, stripe_customer: str, charge: OverageCharge) -> Any:
    params: Any = {
        "customer": stripe_customer,
        "description": charge.description[:500],
        "metadata": {
            "billing_feature_id": charge.feature_id[:500],
            "billing_charge": charge.idempotency_key[:500],
        },
    }
    if invoice_id is not None:
        params["invoice"] = invoice_id
    if charge.price_id is not None:
        params |= {"pricing": {"price": charge.price_id}, "quantity": charge.quantity}
    else:
        params |= {
            "amount": catalog.whole_minor_units(charge.amount or Decimal(0)),
            "currency": settings().currency,
        }
    return params


def _purchase_of(fields: dict[str, Any], details: dict[str, Any]) -> str | None:
    """Our purchase an invoice pays for: its own metadata, else its subscription's (as the
    invoice copied it)."""
    return (fields.get("metadata") or {}).get(PURCHASE_KEY) or (details.get("metadata") or {}).get(
        PURCHASE_KEY
    )


def _state(fields: dict[str, Any]) -> InvoiceState:
    details = (fields.get("parent") or {}).get("subscription_details") or {}
    lines = (fields.get("lines") or {}).get("data") or []
    price_ids = frozenset(
        price
        for line in lines
        if (price := ((line.get("pricing") or {}).get("price_details") or {}).get("price"))
    )
    return InvoiceState(
        id=str(fields["id"]),
        stripe_customer=id_of(fields.get("customer")),
        subscription_id=id_of(details.get("subscription")),
        status=str(fields.get("status")),
        billing_reason=fields.get("billing_reason"),
        total=catalog.major_units(int(fields.get("total") or 0)),
        currency=str(fields.get("currency") or settings().currency),
        hosted_invoice_url=fields.get("hosted_invoice_url"),
        created_s=int(fields["created"]),
        period_start_s=int(fields.get("period_start") or fields["created"]),
        period_end_s=int(fields.get("period_end") or fields["created"]),
        price_ids=price_ids,
        purchase_id=_purchase_of(fields, details),
        lines_period_end_s=max(
            (int(line["period"]["end"]) for line in lines if line.get("period")),
            default=None,
        ),
        number=fields.get("number"),
    )
