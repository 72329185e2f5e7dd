"""Paying for a sale: the Stripe subscription (or, for a one-off plan, the invoice) of one
purchase of ours, charged to the card on file or sent to be paid. The same purchase id
always leads to the same Stripe objects (idempotency keys derive from it).

Amounts here are in our major units (Decimal); only the calls speak Stripe's minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from billing.config import settings
from billing.domain.errors import InvalidRequest
from billing.domain.plans import Plan
from billing.stripe_api.call import once
from billing.stripe_api.invoices import InvoiceSummary, Payment
from billing.stripe_api.objects import PURCHASE_KEY, classic_billing, id_of

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall
    from billing.stripe_api.customers import Customers
    from billing.stripe_api.invoices import Invoices


@dataclass(frozen=True)
class LineItem:
    price_id: str
    # Packages of the price's billing units (1 for a base price).
    quantity: int


@dataclass(frozen=True)
class Sale:
    """One purchase to be paid in Stripe, keyed by our purchase id: the same id always
    leads to the same Stripe objects (idempotency keys derive from it)."""

    purchase_id: str
    stripe_customer: str
    line_items: tuple[LineItem, ...]
    recurring: bool
    # Unix seconds; a trial defers the first charge to then.
    trial_end_s: int | None = None
    success_url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SentInvoice:
    """A purchase's invoice Stripe sends to the customer, to be paid within its terms (the
    subscription it opens, for a recurring plan: active at once, its renewals sent too)."""

    invoice: InvoiceSummary
    subscription_id: str | None = None


def sale_lines(plan: Plan, packages: Mapping[str, Decimal]) -> tuple[LineItem, ...]:
    """The Stripe prices and quantities a purchase of `plan` is billed with (`packages`:
    feature id -> packages of billing units bought up front)."""
    mirror = plan.stripe
    if mirror is None:
        raise InvalidRequest(
            "This plan has no Stripe prices yet: update it once Stripe is reachable.",
            details=[{"field": "plan_id", "message": "the plan is not mirrored in Stripe"}],
        )
    lines: list[LineItem] = []
    if mirror.base_price_id is not None:
        lines.append(LineItem(mirror.base_price_id, 1))
    unbought: list[LineItem] = []
    for feature_id, bought in packages.items():
        price_id = mirror.item_price_ids.get(feature_id)
        if price_id is not None:
            (lines if bought > 0 else unbought).append(LineItem(price_id, int(bought)))
    # A plan of prepaid items alone, bought at quantity 0, is still a subscription (as in
    # Autumn): its items at quantity 0, so that buying some later changes their quantity.
    return tuple(lines or unbought)


def sale_metadata(sale: Sale) -> dict[str, str]:
    return {**sale.metadata, PURCHASE_KEY: sale.purchase_id}


def items_of(lines: tuple[LineItem, ...]) -> list[dict[str, Any]]:
    """Line items as Stripe's `items` (and `line_items`) parameters list them."""
    return [{"price": line.price_id, "quantity": line.quantity} for line in lines]


class Payments:
    def __init__(self, call: StripeCall, customers: Customers, invoices: Invoices) -> None:
        self._call = call
        self._customers = customers
        self._invoices = invoices

    def charge(self, sale: Sale, payment_method: str | None) -> Payment:
        """Creates the subscription (or the one-off invoice) of `sale` and pays its first
        invoice with `payment_method` (None: a trial with nothing due yet); a card error is
        a `Payment`, not an exception."""
        if sale.recurring:
            fields = self._subscription(sale, payment_method).to_dict()
            invoice_id = id_of(fields.get("latest_invoice"))
            if fields["status"] in ("active", "trialing") or invoice_id is None:
                summary = self._invoices.summary(invoice_id) if invoice_id else None
                return Payment("paid", summary, subscription_id=str(fields["id"]))
            if payment_method is None:
                return Payment("failed", self._invoices.summary(invoice_id), str(fields["id"]))
            return self._invoices.pay(invoice_id, payment_method, str(fields["id"]))
        if payment_method is None:
            raise ValueError("a one-off purchase is paid by a card")
        terms = {"collection_method": "charge_automatically"}
        return self._invoices.pay(
            self._one_off_invoice(sale, payment_method, terms), payment_method
        )

    def send_invoice(self, sale: Sale, days_until_due: int) -> SentInvoice:
        """Creates the subscription (or the one-off invoice) of `sale` collected by invoice
        (`send_invoice`): its first invoice finalized and sent, due in `days_until_due`
        days; nothing charged."""
        terms: Any = {"collection_method": "send_invoice", "days_until_due": days_until_due}
        subscription_id = None
        if sale.recurring:
            params: Any = {
                "customer": sale.stripe_customer,
                "items": items_of(sale.line_items),
                "metadata": sale_metadata(sale),
                "billing_mode": classic_billing(),
                **terms,
            }
            options = once("subscription.create", sale.purchase_id)
            subscription = self._call(
                lambda: self._call.v1.subscriptions.create(params, options)
            ).to_dict()
            subscription_id = str(subscription["id"])
            invoice_id = id_of(subscription.get("latest_invoice"))
            if invoice_id is None:
                raise ValueError("a new subscription has a first invoice")
        else:
            invoice_id = self._one_off_invoice(sale, None, terms)
        return SentInvoice(self._invoices.send(invoice_id), subscription_id)

    def _subscription(self, sale: Sale, payment_method: str | None) -> Any:
        """Created incomplete, then paid on purpose: a card error is then an answer about
        this invoice (decline, authentication) rather than a failed creation."""
        params: Any = {
            "customer": sale.stripe_customer,
            "items": items_of(sale.line_items),
            "payment_behavior": "default_incomplete",
            "metadata": sale_metadata(sale),
            "billing_mode": classic_billing(),
        }
        if (
            payment_method is not None
            and self._customers.default_card(sale.stripe_customer) is None
        ):
            # Pinned only when the customer has no default card: a pinned card outranks the
            # customer's default, so a card the customer makes default later (setup_payment,
            # the portal) would not pay this subscription's upgrades and renewals.
            params["default_payment_method"] = payment_method
        if sale.trial_end_s is not None:
            params["trial_end"] = sale.trial_end_s
            if payment_method is None:
                # A trial without a card ends the subscription (and the plan) when no card
                # was added by then, instead of billing a customer who cannot pay.
                params["trial_settings"] = {"end_behavior": {"missing_payment_method": "cancel"}}
        options = once("subscription.create", sale.purchase_id)
        return self._call(lambda: self._call.v1.subscriptions.create(params, options))

    def _one_off_invoice(
        self, sale: Sale, payment_method: str | None, collection: dict[str, Any]
    ) -> str:
        """A draft invoice of the sale's one-time prices, collected as `collection` says
        (charged to `payment_method`, or sent to be paid)."""
        v1 = self._call.v1
        metadata = sale_metadata(sale)
        params: Any = {
            "customer": sale.stripe_customer,
            # Stripe would bill in the account's default currency otherwise, and refuse the
            # sale's prices in any other.
            "currency": settings().currency,
            **collection,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "metadata": metadata,
        }
        if payment_method is not None:
            params["default_payment_method"] = payment_method
        options = once("invoice.create", sale.purchase_id)
        invoice = self._call(lambda: v1.invoices.create(params, options))
        for index, line in enumerate(sale.line_items):
            item: Any = {
                "customer": sale.stripe_customer,
                "invoice": invoice.id,
                "pricing": {"price": line.price_id},
                "quantity": line.quantity,
                "metadata": metadata,
            }
            item_options = once("invoiceitem.create", sale.purchase_id, index)
            self._call(partial(v1.invoice_items.create, item, item_options))
        return str(invoice.id)
