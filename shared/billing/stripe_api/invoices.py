"""Stripe invoices: read back (what one bills, whether it was paid and for which purchase of
ours), paid, sent, voided and refunded. Overage charges: `overage_invoices`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from billing.config import settings
from billing.domain.errors import StripeUnavailable
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

    def open_changes(
        self, subscription_id: str, made_before_s: int
    ) -> list[tuple[str, str | None]]:
        """The subscription's open invoices of a change (an upgrade, new quantities) made
        before `made_before_s`: (invoice id, the purchase it pays for, if it names one)."""
        where: Any = {"subscription": subscription_id, "status": "open", "limit": 100}
        listed: Any = self._call(lambda: self._call.v1.invoices.list(where))
        return [
            (str(fields["id"]), _purchase_of(fields, {}))
            for fields in listed.to_dict()["data"]
            if fields.get("billing_reason") == "subscription_update"
            and int(fields["created"]) < made_before_s
        ]

    def state(self, invoice_id: str) -> InvoiceState | None:
        """The invoice as Stripe has it now; None when Stripe has no such invoice."""
        fields = self._call.retrieve("invoice", invoice_id)
        return None if fields is None else _state(fields)


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
