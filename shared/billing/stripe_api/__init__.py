"""Stripe, as the services see it: a small Protocol, and the lazy way to the real one.

Only `billing.stripe_api.gateway` imports the `stripe` SDK. Services are given a
`StripeFactory` and call it only when a request really needs Stripe, so functions that never
talk to Stripe (check, track) neither import the SDK nor need its settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from billing.domain.periods import OverageCharge
    from billing.domain.plans import Plan, StripeMirror
    from billing.domain.stripe_subscriptions import StripeSubscription
    from billing.stripe_api.payments import (
        CardSetup,
        ChangePreview,
        CheckoutSession,
        ClockState,
        InvoiceState,
        PaidFor,
        Payment,
        PlanChange,
        Sale,
        SavedCard,
        ScheduledSwitch,
        SentInvoice,
    )
    from billing.stripe_api.subscriptions import QuantityChange


@dataclass(frozen=True)
class StripeCustomer:
    id: str
    email: str | None
    name: str | None
    metadata: dict[str, str]


class StripeGateway(Protocol):
    """What our services ask of Stripe. Every mutating call is idempotent in Stripe."""

    def create_customer(
        self, internal_id: str, customer_id: str | None, generation: int
    ) -> StripeCustomer:
        """Once per internal id and `generation` (the profile's version when it had none:
        a customer whose Stripe customer was deleted gets a new one, not the old one
        replayed); in test mode it lives on a new test clock of its own."""
        ...

    def retrieve_customer(self, stripe_id: str) -> StripeCustomer | None: ...

    def update_customer(
        self, stripe_id: str, *, name: str | None, email: str | None, version: int
    ) -> None: ...

    def delete_customer(self, stripe_id: str) -> None: ...

    def mirror_plan(self, plan: Plan) -> StripeMirror: ...

    def retrieve_object(self, object_type: str, object_id: str) -> dict[str, Any] | None:
        """The object a webhook event is about, as Stripe has it now (`object_type` as its
        `object` field says: "checkout.session", "invoice", "subscription", ...); None when
        Stripe has no such object."""
        ...

    def usable_payment_method(self, stripe_customer: str) -> str | None:
        """The card Stripe would charge: the customer's default, else a card attached."""
        ...

    def create_checkout_session(self, sale: Sale) -> CheckoutSession: ...

    def close_checkout(self, session_id: str) -> str | None:
        """Expires an open Checkout Session; its status after (None: no such session)."""
        ...

    def void_invoice(self, invoice_id: str) -> str | None:
        """Voids an open invoice; its status after (None: no such invoice)."""
        ...

    def refund_invoice(self, invoice_id: str) -> bool:
        """Refunds what a paid invoice charged (a credit note); False if nothing was left."""
        ...

    def refund_checkout(self, session_id: str) -> bool:
        """Refunds what a completed payment-mode Checkout Session charged (its payment
        intent); False if nothing was left to give back."""
        ...

    def charge(self, sale: Sale, payment_method: str | None) -> Payment:
        """Creates the subscription (or the one-off invoice) of `sale` and pays its first
        invoice with `payment_method` (None: a trial with nothing due yet); a card error is
        a `Payment`, not an exception."""
        ...

    def send_invoice(self, sale: Sale, days_until_due: int) -> SentInvoice:
        """Creates the subscription (or the one-off invoice) of `sale` collected by invoice
        (`send_invoice`): its first invoice finalized and sent, due in `days_until_due`
        days; nothing charged."""
        ...

    def change_plan(self, change: PlanChange) -> Payment:
        """Replaces a paid subscription's plan at once; a card error is a `Payment`."""
        ...

    def schedule_change(self, change: PlanChange) -> ScheduledSwitch:
        """Moves a paid subscription to the change's items when its period ends (a
        subscription schedule); nothing is charged now."""
        ...

    def release_schedule(self, schedule_id: str) -> None:
        """Detaches the schedule from its subscription, which goes on billing its current
        items: the phases still to come never happen."""
        ...

    def retrieve_subscription(self, subscription_id: str) -> StripeSubscription | None:
        """The subscription as Stripe has it now; None when Stripe has no such one."""
        ...

    def subscription_selling(
        self, stripe_customer: str, price_ids: frozenset[str]
    ) -> StripeSubscription | None:
        """The customer's live subscription with an item of one of these prices."""
        ...

    def list_subscriptions(self, stripe_customer: str) -> tuple[StripeSubscription, ...]:
        """Every subscription of the customer, whatever its status (ended ones too), with
        the phases its schedule still has to come (the billing audit reads them)."""
        ...

    def cancel_now(
        self, subscription_id: str, credit_unused: bool = False
    ) -> StripeSubscription | None:
        """Ends the subscription at once. With `credit_unused`, the unused time of its period
        is credited on a final invoice (to the customer's Stripe credit balance); else
        nothing is refunded."""
        ...

    def live_subscription_ids(self, stripe_customer: str) -> list[str]:
        """Every subscription of the customer that may still bill it (whatever it sells);
        none for a customer Stripe no longer has."""
        ...

    def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool, change_id: str
    ) -> StripeSubscription: ...

    def change_quantities(self, change: QuantityChange) -> Payment:
        """New item quantities, applied once their invoice is paid; a card error is a
        `Payment`."""
        ...

    def checkout_paid_for(self, session_id: str) -> PaidFor | None: ...

    def invoice_paid_for(self, invoice_id: str) -> PaidFor | None: ...

    def invoice_state(self, invoice_id: str) -> InvoiceState | None:
        """The invoice as Stripe has it now; None when Stripe has no such invoice."""
        ...

    def add_invoice_items(
        self, invoice_id: str | None, stripe_customer: str, charges: tuple[OverageCharge, ...]
    ) -> None:
        """Adds the charges to a draft invoice (None: to the customer's next invoice), each
        once (by its idempotency key)."""
        ...

    def advance_test_clock(self, stripe_customer: str, frozen_time_s: int) -> ClockState:
        """Moves the test clock of the customer to `frozen_time_s`, replaying what happens
        on the way (renewals, trial ends, failed payments); InvalidRequest without one."""
        ...

    def clock_now_s(self, stripe_customer: str) -> int | None:
        """Stripe's "now" for the customer: its test clock's frozen time (Unix seconds),
        None when it has no test clock (then it is the wall clock's)."""
        ...

    def open_portal(
        self, stripe_customer: str, *, return_url: str | None, configuration: str | None
    ) -> str:
        """The URL of a new customer portal session (Stripe's hosted billing page)."""
        ...

    def preview_change(self, change: PlanChange) -> ChangePreview:
        """What `change_plan(change)` would invoice now, read from Stripe's invoice preview
        (nothing is written), and when the subscription's period ends."""
        ...

    def preview_cancel(self, subscription_id: str, credit_unused: bool) -> ChangePreview:
        """What `cancel_now(subscription_id, credit_unused)` would invoice (nothing written)."""
        ...

    def preview_quantities(self, change: QuantityChange) -> ChangePreview:
        """What `change_quantities(change)` would invoice now (nothing written)."""
        ...

    def create_setup_session(self, setup: CardSetup) -> CheckoutSession:
        """A Checkout Session in setup mode: one per setup id, however often asked."""
        ...

    def saved_card(self, session_id: str) -> SavedCard | None:
        """The card a setup session saved (None: no such session, or not in setup mode)."""
        ...

    def make_default_card(self, stripe_customer: str, payment_method: str) -> None:
        """Makes the card the one Stripe charges the customer's invoices with."""
        ...


# What services that may call Stripe are given: get_gateway, or a test's stand-in.
StripeFactory = Callable[[], StripeGateway]


def get_gateway() -> StripeGateway:
    from billing.stripe_api.gateway import gateway as cached_gateway

    return cached_gateway()
