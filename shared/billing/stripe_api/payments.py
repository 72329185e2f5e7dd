"""The values billing calls exchange with the Stripe gateway: what to sell, and how paying
for it went. Plain data, no `stripe` import: services build and read these.

Amounts here are in our major units (Decimal); only the gateway speaks Stripe's minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

# Where a purchase's id travels in the metadata of the Stripe objects that pay for it.
PURCHASE_KEY = "billing_purchase_id"
# Where a card setup's id travels in the metadata of its Checkout Session.
SETUP_KEY = "billing_setup_id"


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


Proration = Literal["create_prorations", "always_invoice", "none"]


@dataclass(frozen=True)
class PlanChange:
    """Moving a paid subscription to another plan at once (an upgrade): the items of the
    plan left are replaced by `line_items`, prorated as asked, and the change applies only
    once its invoice is paid (Stripe's pending updates). The subscription's own card pays,
    as it pays its renewals."""

    purchase_id: str
    stripe_customer: str
    leaving_price_ids: frozenset[str]
    line_items: tuple[LineItem, ...]
    proration: Proration
    # The Stripe subscription billing the plan left (its recorded id); None: the customer's
    # live subscription selling one of `leaving_price_ids` (a plan granted before the ids
    # were recorded, or a preview).
    subscription_id: str | None = None


@dataclass(frozen=True)
class ScheduledSwitch:
    """A change at the period end: the Stripe subscription that switches, and when."""

    subscription_id: str
    at_s: int


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice Stripe would make (a preview): its price, in our units."""

    price_id: str | None
    # Packages of the price's billing units (1 for a base price).
    quantity: int
    amount: Decimal
    description: str
    # Unix seconds.
    period: tuple[int, int]


@dataclass(frozen=True)
class ChangePreview:
    """What moving a paid subscription to another plan at once would invoice now (read from
    Stripe, nothing written), and when the subscription's current period ends."""

    period_end_s: int
    currency: str
    lines: tuple[InvoiceLine, ...]
    # When Stripe made the preview (the customer's test clock time, if it has one).
    made_at_s: int | None = None


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


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    status: str | None
    total: Decimal
    currency: str
    hosted_invoice_url: str | None


PaymentStatus = Literal["paid", "requires_action", "failed"]


@dataclass(frozen=True)
class Payment:
    """How charging the card on file went. `paid` includes nothing due (a trial)."""

    status: PaymentStatus
    invoice: InvoiceSummary | None
    subscription_id: str | None = None


@dataclass(frozen=True)
class SentInvoice:
    """A purchase's invoice Stripe sends to the customer, to be paid within its terms (the
    subscription it opens, for a recurring plan: active at once, its renewals sent too)."""

    invoice: InvoiceSummary
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


@dataclass(frozen=True)
class ClockState:
    """A customer's Stripe test clock after an advance was asked of it."""

    frozen_time_s: int
    # "advancing" while Stripe replays what happens on the way, then "ready".
    status: str
