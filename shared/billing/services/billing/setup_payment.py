"""billing.setup_payment: the customer saves a card on Stripe's Checkout page (setup mode),
and, when a plan is named, gets that plan once the card is saved.

The customer's Stripe customer is made first if missing (as attach and the portal do). A
plan asked for is checked now, as attach would check it (unknown plan, plan already held,
bad quantities), so a bad request changes nothing; it is kept under the setup's id, and
`checkout.session.completed` in setup mode makes the saved card the customer's default and
runs that attach with it: granted only once paid, as attach does.

The setup's id derives from the request, the customer and the card on file now: a retried
call finds the same Checkout Session (Stripe's idempotency key is the id), and once a card
was saved, a new call opens a new session.

The plan change is asked for the customer's plans as they are when the page is opened (they
are kept with the request): a card saved later, once they changed (a plan bought, cancelled
or changed meanwhile), attaches nothing, rather than running a change nobody asks for any
more (an unwanted downgrade, say).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from pydantic import TypeAdapter

from billing import clock
from billing.config import settings
from billing.domain.errors import (
    CustomerNotFound,
    InvalidRequest,
    PlanAlreadyAttached,
    PlanNotFound,
)
from billing.observability import logger
from billing.services.billing.attaching import attach_plan
from billing.services.billing.situation import AttachPlan, holdings_snapshot, situation
from billing.services.customers.get import get_customer
from billing.services.customers.stripe_sync import linked_to_stripe, with_live_stripe_customer
from billing.store import card_setups, catalog
from billing.stripe_api import StripeFactory
from billing.stripe_api.checkout import CardSetup
from billing.stripe_api.payments import sale_lines

# A Checkout Session lasts 24 hours; its card may be saved (and the webhook retried) later.
SETUP_TTL_S = 7 * 24 * 3600

_REQUEST = TypeAdapter(AttachPlan)


@dataclass(frozen=True)
class SetupPayment:
    customer_id: str
    success_url: str | None = None
    # The plan to attach once the card is saved (its customer is `customer_id`).
    then_attach: AttachPlan | None = None


@dataclass(frozen=True)
class SetupSession:
    customer_id: str
    url: str


def setup_payment(command: SetupPayment, stripe: StripeFactory) -> SetupSession:
    return with_live_stripe_customer(
        command.customer_id, stripe, lambda: _setup_payment(command, stripe)
    )


def _setup_payment(command: SetupPayment, stripe: StripeFactory) -> SetupSession:
    customer = get_customer(command.customer_id)
    if command.then_attach is not None:
        # Refused now rather than after the customer saved a card: attach's own checks.
        seen = situation(command.then_attach, stripe)
        if seen.plan.custom:
            # Kept now with its Stripe prices: the attach once the card is saved finds them.
            catalog.put_custom_plan(seen.plan)
        decision = seen.decide(has_card=True)
        if decision.flow != "grant":
            sale_lines(seen.plan, decision.packages)  # a paid plan needs its Stripe prices
        # The change is asked for what the customer holds now: a card saved on this page
        # once the customer's plans moved on (days later, another tab) runs nothing stale.
        expected = holdings_snapshot(seen.customer)
        command = replace(
            command, then_attach=replace(command.then_attach, expected_holdings=expected)
        )
    success_url = command.success_url or settings().checkout_success_url
    if success_url is None:
        raise InvalidRequest(
            "A card setup needs a success_url to send the customer back to.",
            details=[{"field": "success_url", "message": "required"}],
        )
    customer = linked_to_stripe(customer, command.customer_id, stripe)
    assert customer.stripe_id is not None  # linked_to_stripe's promise
    request = None if command.then_attach is None else _REQUEST.dump_json(command.then_attach)
    card = stripe().customers.usable_payment_method(customer.stripe_id)
    setup_id = _setup_id(
        customer.internal_id.encode(),
        command.customer_id.encode(),  # in the session's metadata
        success_url.encode(),
        (card or "").encode(),
        request or b"",
    )
    if request is not None:
        card_setups.save(setup_id, request.decode(), clock.now_ms(), SETUP_TTL_S)
    session = stripe().checkout.create_setup(
        CardSetup(
            setup_id=setup_id,
            stripe_customer=customer.stripe_id,
            success_url=success_url,
            metadata={"billing_customer_id": command.customer_id[:500]},
        )
    )
    return SetupSession(command.customer_id, session.url)


def _setup_id(*parts: bytes) -> str:
    """The same request, for the same customer with the same card on file, is one setup."""
    digest = hashlib.sha256(b"\0".join(parts)).hexdigest()[:32]
    return f"setup_{digest}"


def card_saved(session_id: str, stripe: StripeFactory) -> None:
    """A setup session completed: its card becomes the customer's default, and the plan the
    setup asked for is attached with it. Safe to run again for the same session: the card
    is set with the same idempotency key, and the attach names its purchase after the
    setup, so a rerun finds that purchase (or the plan already held) instead of buying
    again."""
    saved = stripe().checkout.saved_card(session_id)
    if saved is None or saved.payment_method is None or saved.stripe_customer is None:
        return
    stripe().customers.make_default_card(saved.stripe_customer, saved.payment_method)
    request = card_setups.load(saved.setup_id) if saved.setup_id else None
    if request is None:
        return
    wanted = replace(_REQUEST.validate_json(request), purchase_key=saved.setup_id)
    try:
        result = attach_plan(wanted, stripe)
    except PlanAlreadyAttached:
        return  # attached by an earlier run of this event, or meanwhile another way
    except (CustomerNotFound, PlanNotFound, InvalidRequest) as refused:
        # Changed since the setup was asked for (customer deleted, plan archived): no retry
        # makes it right, so the card stays saved and nothing is attached.
        logger.warning(
            "plan not attached after card setup",
            extra={"setup": saved.setup_id, "refused": refused.code},
        )
        return
    if result.required_action is not None:
        # Nothing granted (a decline, an authentication): the customer attaches again.
        logger.warning(
            "plan not attached after card setup",
            extra={"setup": saved.setup_id, "action": result.required_action.code},
        )
