"""Overage billed in arrears on Stripe invoice items: added to a renewal's draft (or the
customer's next invoice), or billed on a final invoice of its own when a plan leaves with
its period. Each charge is billed once for the customer, whatever the retries: its key is
looked for on the customer's invoice items before it is added."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from billing.config import settings
from billing.domain.periods import OverageCharge
from billing.stripe_api import catalog
from billing.stripe_api.call import once
from billing.stripe_api.invoices import Invoices, Payment, PaymentStatus
from billing.stripe_api.objects import id_of

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall

# The metadata key that names a final invoice (found again by it after a retry).
_FINAL_KEY = "billing_final_period"


class OverageInvoices:
    def __init__(self, call: StripeCall, invoices: Invoices) -> None:
        self._call = call
        self._invoices = invoices

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
                "currency": settings().currency,
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
        if self._invoices.summary(invoice_id).status == "draft":
            # Stripe collects an open invoice on its own schedule after a failed charge.
            finalize = once("invoice.finalize", invoice_id)
            self._call(
                lambda: v1.invoices.finalize_invoice(invoice_id, {"auto_advance": True}, finalize)
            )
        summary = self._invoices.summary(invoice_id)
        if summary.status != "open":
            status: PaymentStatus = "paid" if summary.status == "paid" else "failed"
            return Payment(status, summary)
        return self._invoices.pay(invoice_id, None)

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
