"""Stripe Checkout Sessions: the hosted page a customer pays a purchase on (one session per
purchase id), or saves a card on (setup mode); closed, refunded and read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billing.config import settings
from billing.domain.errors import StripeUnavailable
from billing.stripe_api.call import Refusal, once
from billing.stripe_api.invoices import PaidFor
from billing.stripe_api.objects import PURCHASE_KEY, SETUP_KEY, classic_billing, id_of
from billing.stripe_api.payments import Sale, items_of, sale_metadata

if TYPE_CHECKING:
    from billing.stripe_api.call import StripeCall
    from billing.stripe_api.invoices import Invoices


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class SessionState:
    """A Checkout Session as Stripe has it now: open (payable at `url`), complete or
    expired, and the purchase of ours it is for."""

    id: str
    status: str | None
    url: str | None
    purchase_id: str | None


@dataclass(frozen=True)
class CardSetup:
    """A Checkout Session in setup mode: the customer saves a card, nothing is charged.
    Keyed by `setup_id`: the same id always leads to the same session."""

    setup_id: str
    stripe_customer: str
    success_url: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedCard:
    """A setup session as Stripe has it now: whose card, and which one once it is saved."""

    setup_id: str | None
    stripe_customer: str | None
    # None until the session completed with a card.
    payment_method: str | None


class Checkout:
    def __init__(self, call: StripeCall, invoices: Invoices) -> None:
        self._call = call
        self._invoices = invoices

    def create(self, sale: Sale) -> CheckoutSession:
        """One session per purchase id, however often asked (within Stripe's 24 hours)."""
        metadata = sale_metadata(sale)
        params: Any = {
            "mode": "subscription" if sale.recurring else "payment",
            "customer": sale.stripe_customer,
            "line_items": items_of(sale.line_items),
            "metadata": metadata,
        }
        if sale.success_url is not None:
            params["success_url"] = sale.success_url
        if sale.recurring:
            params["subscription_data"] = {
                "metadata": metadata,
                "billing_mode": classic_billing(),
            }
            if sale.trial_end_s is not None:
                params["subscription_data"]["trial_end"] = sale.trial_end_s
        else:
            # The card is kept on the customer: the next purchase needs no checkout.
            params["payment_intent_data"] = {
                "metadata": metadata,
                "setup_future_usage": "off_session",
            }
            # A one-off payment leaves an invoice too, as a subscription's does: Stripe makes
            # it, paid, once the payment succeeds (the customer's invoice list shows it).
            params["invoice_creation"] = {"enabled": True, "invoice_data": {"metadata": metadata}}
        options = once("checkout.create", sale.purchase_id)
        created = self._call(lambda: self._call.v1.checkout.sessions.create(params, options))
        return CheckoutSession(id=str(created.id), url=str(created.url))

    def close(self, session_id: str) -> str | None:
        """Expires the session if it is still open, so it can no longer be paid; returns its
        status after ("expired", or "complete" when it was paid first; None: no such
        session)."""
        fields = self._call.retrieve("checkout.session", session_id)
        if fields is None or fields.get("status") != "open":
            return None if fields is None else str(fields.get("status"))
        options = once("checkout.expire", session_id)
        expired = self._call.attempt(
            lambda: self._call.v1.checkout.sessions.expire(session_id, {}, options)
        )
        # Refused as invalid: completed (or expired) just before: read what it is now.
        if isinstance(expired, Refusal) and not expired.invalid_request:
            raise StripeUnavailable from expired.cause
        after = self._call.retrieve("checkout.session", session_id) or {}
        return str(after.get("status"))

    def refund(self, session_id: str) -> bool:
        """Refunds what a completed payment-mode session charged, once: its invoice (made
        for it) is credited; one without an invoice has its payment intent refunded (one
        key per session), for what is not refunded yet. False if nothing was left."""
        session = self._call.retrieve("checkout.session", session_id)
        invoice_id = id_of((session or {}).get("invoice"))
        if invoice_id is not None:
            # The invoice Stripe made for the payment: credited as invoice.paid credits it
            # (one key per invoice), so the two events give it back once.
            return self._invoices.refund(invoice_id)
        intent_id = id_of((session or {}).get("payment_intent"))
        if session is None or session.get("payment_status") != "paid" or intent_id is None:
            return False
        intent = self._call.retrieve("payment_intent", intent_id) or {}
        charge_id = id_of(intent.get("latest_charge"))
        charge = (self._call.retrieve("charge", charge_id) if charge_id else None) or {}
        left = int(charge.get("amount_captured") or 0) - int(charge.get("amount_refunded") or 0)
        if left <= 0:
            return False
        params: Any = {"payment_intent": intent_id, "amount": left}
        options = once("refund.checkout", session_id)
        self._call(lambda: self._call.v1.refunds.create(params, options))
        return True

    def state(self, session_id: str) -> SessionState | None:
        """The session as Stripe has it now; None when Stripe has no such session."""
        fields = self._call.retrieve("checkout.session", session_id)
        if fields is None:
            return None
        return SessionState(
            id=str(fields["id"]),
            status=fields.get("status"),
            url=fields.get("url") or None,
            purchase_id=(fields.get("metadata") or {}).get(PURCHASE_KEY),
        )

    def paid_for(self, session_id: str) -> PaidFor | None:
        fields = self._call.retrieve("checkout.session", session_id)
        if fields is None:
            return None
        return PaidFor(
            purchase_id=(fields.get("metadata") or {}).get(PURCHASE_KEY),
            paid=fields.get("status") == "complete"
            and fields.get("payment_status") in ("paid", "no_payment_required"),
            subscription_id=id_of(fields.get("subscription")),
        )

    def create_setup(self, setup: CardSetup) -> CheckoutSession:
        """A Checkout Session in setup mode: one per setup id, however often asked."""
        metadata = {**setup.metadata, SETUP_KEY: setup.setup_id}
        params: Any = {
            "mode": "setup",
            "customer": setup.stripe_customer,
            "currency": settings().currency,
            "success_url": setup.success_url,
            "metadata": metadata,
            "setup_intent_data": {"metadata": metadata},
        }
        options = once("checkout.setup", setup.setup_id)
        created = self._call(lambda: self._call.v1.checkout.sessions.create(params, options))
        return CheckoutSession(id=str(created.id), url=str(created.url))

    def saved_card(self, session_id: str) -> SavedCard | None:
        """The card a setup session saved (None: no such session, or not in setup mode)."""
        fields = self._call.retrieve("checkout.session", session_id)
        if fields is None or fields.get("mode") != "setup":
            return None
        card = None
        intent_id = id_of(fields.get("setup_intent"))
        if fields.get("status") == "complete" and intent_id is not None:
            intent = self._call.retrieve("setup_intent", intent_id) or {}
            if intent.get("status") == "succeeded":
                card = id_of(intent.get("payment_method"))
        return SavedCard(
            setup_id=(fields.get("metadata") or {}).get(SETUP_KEY),
            stripe_customer=id_of(fields.get("customer")),
            payment_method=card,
        )
