"""A typed gateway over Stripe's API, on a `StripeClient` (never the SDK's global state).

Every mutating call carries a deterministic idempotency key derived from our own ids, so a
retried or concurrent operation can never create or charge anything twice in Stripe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Literal

import stripe

from billing.config import settings, stripe_secret_key
from billing.domain.errors import (
    BillingError,
    InvalidRequest,
    StripeCardRefused,
    StripeCustomerGone,
    StripeKeyRefused,
    StripeRejected,
    StripeUnavailable,
)
from billing.domain.plans import Plan, StripeMirror
from billing.stripe_api import StripeCustomer, StripeGateway, catalog
from billing.stripe_api.observed import observed
from billing.stripe_api.payments import (
    PURCHASE_KEY,
    SETUP_KEY,
    CardSetup,
    ChangePreview,
    CheckoutSession,
    ClockState,
    InvoiceLine,
    InvoiceState,
    InvoiceSummary,
    OverageCharge,
    PaidFor,
    Payment,
    PlanChange,
    Sale,
    SavedCard,
    ScheduledSwitch,
    SentInvoice,
)
from billing.stripe_api.subscriptions import QuantityChange, StripeSubscription, subscription_from

if TYPE_CHECKING:
    from stripe._base_address import BaseAddresses
    from stripe.params import (
        CustomerCreateParams,
        CustomerUpdateParams,
        ProductCreateParams,
        ProductUpdateParams,
    )

# Stripe keeps an idempotency key for 24 hours; the prefix names the operation so that one
# id can never collide across operations.
_KEY_PREFIX = "billing-v1"
# How many schedules made for one purchase (each released since) a creation steps over.
_SCHEDULE_ATTEMPTS = 8
_TIMEOUT_S = 8
# How long customers.advance_test_clock waits for the clock to be ready: most of the
# function's 30 s, so a slow replay on a busy machine still answers "ready".
_CLOCK_WAIT_S = 24.0


class SdkStripeGateway:
    """The `StripeGateway` of production and the local stack: the stripe SDK over HTTP."""

    def __init__(self, client: stripe.StripeClient, *, test_mode: bool = False) -> None:
        self._client = client
        # Test mode: every new Stripe customer lives on a test clock of its own.
        self._test_mode = test_mode

    def create_customer(
        self, internal_id: str, customer_id: str | None, generation: int
    ) -> StripeCustomer:
        """Creates the Stripe customer of one of our customers: once, whoever asks how often.

        Only values fixed at our customer's creation go into the request, because Stripe
        rejects a reused idempotency key whose parameters differ.
        """
        metadata = {"billing_internal_id": internal_id}
        if customer_id is not None:
            metadata["billing_customer_id"] = customer_id
        params: CustomerCreateParams = {"metadata": metadata}
        key = f"{_KEY_PREFIX}:customer.create:{internal_id}:{generation}"
        if self._test_mode:
            found = self._customer_made_for(internal_id)
            if found is not None:
                return found
            params["test_clock"] = self._new_test_clock(internal_id)
            key = f"{key}:{params['test_clock']}"
        created = self._call(
            lambda: self._client.v1.customers.create(params, {"idempotency_key": key})
        )
        return _customer(created)

    def _customer_made_for(self, internal_id: str) -> StripeCustomer | None:
        """Test mode: the customer an earlier try made (its clock's creation time is in its
        parameters, so a retry cannot rely on idempotency keys alone)."""
        query = f"metadata['billing_internal_id']:'{internal_id}'"
        found = self._call(lambda: self._client.v1.customers.search({"query": query, "limit": 1}))
        return _customer(found.data[0]) if found.data else None

    def _new_test_clock(self, internal_id: str) -> str:
        now_s = int(time.time())
        params: Any = {"frozen_time": now_s, "name": internal_id[:300]}
        # A retry within the minute gets the same clock; a later one a new (unused) clock.
        key = f"{_KEY_PREFIX}:test_clock.create:{internal_id}:{now_s // 60}"
        params["frozen_time"] = now_s // 60 * 60
        clock = self._call(
            lambda: self._client.v1.test_helpers.test_clocks.create(
                params, {"idempotency_key": key}
            )
        )
        return str(clock.id)

    def retrieve_customer(self, stripe_id: str) -> StripeCustomer | None:
        """The Stripe customer, or None when Stripe has no such (or a deleted) customer."""
        try:
            found = self._client.v1.customers.retrieve(stripe_id)
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                return None
            raise InvalidRequest("Stripe rejected the Stripe customer id.") from error
        except stripe.StripeError as error:
            raise failure(error) from error
        if getattr(found, "deleted", False):
            return None
        return _customer(found)

    def update_customer(
        self, stripe_id: str, *, name: str | None, email: str | None, version: int
    ) -> None:
        """Copies our name and email to Stripe. Keyed by our record's version: one per change."""
        # Stripe unsets a field sent as "", never as a missing key.
        params: CustomerUpdateParams = {"name": name or "", "email": email or ""}
        self._call(
            lambda: self._client.v1.customers.update(
                stripe_id,
                params,
                {"idempotency_key": f"{_KEY_PREFIX}:customer.update:{stripe_id}:{version}"},
            )
        )

    def mirror_plan(self, plan: Plan) -> StripeMirror:
        """The plan version's product and prices in Stripe, found or created: idempotent,
        so pushing the same catalog again creates nothing."""
        product = self._ensured_product(plan)
        mirror = StripeMirror(product_id=product)
        item_prices: dict[str, str] = {}
        for spec in catalog.price_specs(plan, settings().currency):
            price_id = self._ensured_price(spec, product)
            if spec.feature_id is None:
                mirror = mirror.model_copy(update={"base_price_id": price_id})
            else:
                item_prices[spec.feature_id] = price_id
        return mirror.model_copy(update={"item_price_ids": item_prices})

    def _ensured_product(self, plan: Plan) -> str:
        wanted = catalog.product_id(plan.id)
        try:
            found = self._client.v1.products.retrieve(wanted)
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":
                raise failure(error) from error
            found = None
        except stripe.StripeError as error:
            raise failure(error) from error
        if found is None:
            params: ProductCreateParams = {
                "id": wanted,
                "name": plan.name,
                "metadata": {"billing_plan_id": plan.id[:500]},
            }
            key = f"{_KEY_PREFIX}:product.create:{wanted}"
            self._call(lambda: self._client.v1.products.create(params, {"idempotency_key": key}))
        elif found.name != plan.name:
            update: ProductUpdateParams = {"name": plan.name}
            key = f"{_KEY_PREFIX}:product.update:{wanted}:{catalog.digest(plan.name)}"
            self._call(
                lambda: self._client.v1.products.update(wanted, update, {"idempotency_key": key})
            )
        return wanted

    def _ensured_price(self, spec: catalog.PriceSpec, product: str) -> str:
        listed = self._call(
            lambda: self._client.v1.prices.list({"lookup_keys": [spec.lookup_key], "limit": 1})
        )
        if listed.data:
            return str(listed.data[0].id)
        params: Any = {**spec.params, "product": product}
        key = f"{_KEY_PREFIX}:price.create:{spec.lookup_key}"
        created = self._call(
            lambda: self._client.v1.prices.create(params, {"idempotency_key": key})
        )
        return str(created.id)

    def retrieve_object(self, object_type: str, object_id: str) -> dict[str, Any] | None:
        v1 = self._client.v1
        retrievers: dict[str, Callable[[str], stripe.StripeObject]] = {
            "charge": v1.charges.retrieve,
            "checkout.session": v1.checkout.sessions.retrieve,
            "customer": v1.customers.retrieve,
            "invoice": v1.invoices.retrieve,
            "payment_intent": v1.payment_intents.retrieve,
            "setup_intent": v1.setup_intents.retrieve,
            "subscription": v1.subscriptions.retrieve,
            "subscription_schedule": v1.subscription_schedules.retrieve,
        }
        retrieve = retrievers.get(object_type)
        if retrieve is None:
            raise ValueError(f"cannot retrieve a Stripe {object_type}")
        try:
            found = retrieve(object_id)
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                return None
            raise failure(error) from error
        except stripe.StripeError as error:
            raise failure(error) from error
        fields: dict[str, Any] = found.to_dict()
        return None if fields.get("deleted") else fields

    def delete_customer(self, stripe_id: str) -> None:
        try:
            self._client.v1.customers.delete(stripe_id)
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":  # already gone is what we wanted
                raise failure(error) from error
        except stripe.StripeError as error:
            raise failure(error) from error

    def usable_payment_method(self, stripe_customer: str) -> str | None:
        default = self._default_card(stripe_customer)
        if default is not None:
            return default
        listed = self._call(
            lambda: self._client.v1.payment_methods.list(
                {"customer": stripe_customer, "type": "card", "limit": 1}
            )
        )
        return str(listed.data[0].id) if listed.data else None

    def create_checkout_session(self, sale: Sale) -> CheckoutSession:
        """One session per purchase id, however often asked (within Stripe's 24 hours)."""
        metadata = _metadata(sale)
        params: Any = {
            "mode": "subscription" if sale.recurring else "payment",
            "customer": sale.stripe_customer,
            "line_items": [{"price": i.price_id, "quantity": i.quantity} for i in sale.line_items],
            "metadata": metadata,
        }
        if sale.success_url is not None:
            params["success_url"] = sale.success_url
        if sale.recurring:
            params["subscription_data"] = {"metadata": metadata}
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
        key = f"{_KEY_PREFIX}:checkout.create:{sale.purchase_id}"
        created = self._call(
            lambda: self._client.v1.checkout.sessions.create(params, {"idempotency_key": key})
        )
        return CheckoutSession(id=str(created.id), url=str(created.url))

    def close_checkout(self, session_id: str) -> str | None:
        """Expires the session if it is still open, so it can no longer be paid; returns its
        status after ("expired", or "complete" when it was paid first; None: no such
        session)."""
        fields = self.retrieve_object("checkout.session", session_id)
        if fields is None or fields.get("status") != "open":
            return None if fields is None else str(fields.get("status"))
        key = f"{_KEY_PREFIX}:checkout.expire:{session_id}"
        try:
            self._client.v1.checkout.sessions.expire(session_id, {}, {"idempotency_key": key})
        except stripe.InvalidRequestError:
            pass  # completed (or expired) just before: read what it is now
        except stripe.StripeError as error:
            raise StripeUnavailable from error
        after = self.retrieve_object("checkout.session", session_id) or {}
        return str(after.get("status"))

    def void_invoice(self, invoice_id: str) -> str | None:
        """Voids the invoice if it is still open, so it can no longer be paid; returns its
        status after ("void", or "paid" when it was paid first; None: no such invoice)."""
        fields = self.retrieve_object("invoice", invoice_id)
        if fields is None or fields.get("status") != "open":
            return None if fields is None else str(fields.get("status"))
        key = f"{_KEY_PREFIX}:invoice.void:{invoice_id}"
        try:
            self._client.v1.invoices.void_invoice(invoice_id, {}, {"idempotency_key": key})
        except stripe.InvalidRequestError:
            pass  # paid (or voided) just before: read what it is now
        except stripe.StripeError as error:
            raise StripeUnavailable from error
        after = self.retrieve_object("invoice", invoice_id) or {}
        return str(after.get("status"))

    def refund_invoice(self, invoice_id: str) -> bool:
        """Gives back what a paid invoice charged, by a credit note that refunds it (the
        invoice then shows why). Once per invoice; False when nothing was left to give back
        (not paid, nothing charged, or credited already)."""
        fields = self.retrieve_object("invoice", invoice_id)
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
        key = f"{_KEY_PREFIX}:credit_note.refund:{invoice_id}"
        self._call(lambda: self._client.v1.credit_notes.create(params, {"idempotency_key": key}))
        return True

    def refund_checkout(self, session_id: str) -> bool:
        """A payment-mode session's invoice (made for it) is credited; one without an
        invoice has its payment intent refunded, once (one key per session), for what is
        not refunded yet."""
        session = self.retrieve_object("checkout.session", session_id)
        invoice_id = _id_of((session or {}).get("invoice"))
        if invoice_id is not None:
            # The invoice Stripe made for the payment: credited as invoice.paid credits it
            # (one key per invoice), so the two events give it back once.
            return self.refund_invoice(invoice_id)
        intent_id = _id_of((session or {}).get("payment_intent"))
        if session is None or session.get("payment_status") != "paid" or intent_id is None:
            return False
        intent = self.retrieve_object("payment_intent", intent_id) or {}
        charge_id = _id_of(intent.get("latest_charge"))
        charge = (self.retrieve_object("charge", charge_id) if charge_id else None) or {}
        left = int(charge.get("amount_captured") or 0) - int(charge.get("amount_refunded") or 0)
        if left <= 0:
            return False
        params: Any = {"payment_intent": intent_id, "amount": left}
        key = f"{_KEY_PREFIX}:refund.checkout:{session_id}"
        self._call(lambda: self._client.v1.refunds.create(params, {"idempotency_key": key}))
        return True

    def charge(self, sale: Sale, payment_method: str | None) -> Payment:
        if sale.recurring:
            subscription = self._subscription(sale, payment_method)
            fields = subscription.to_dict()
            latest = fields.get("latest_invoice")
            invoice_id = latest if isinstance(latest, str) or latest is None else latest["id"]
            if fields["status"] in ("active", "trialing") or invoice_id is None:
                summary = self._invoice_summary(invoice_id) if invoice_id else None
                return Payment("paid", summary, subscription_id=str(fields["id"]))
            if payment_method is None:
                return Payment("failed", self._invoice_summary(invoice_id), str(fields["id"]))
            return self._paid(invoice_id, payment_method, subscription_id=str(fields["id"]))
        if payment_method is None:
            raise ValueError("a one-off purchase is paid by a card")
        return self._paid(
            self._one_off_invoice(
                sale, payment_method, {"collection_method": "charge_automatically"}
            ),
            payment_method,
        )

    def send_invoice(self, sale: Sale, days_until_due: int) -> SentInvoice:
        metadata = _metadata(sale)
        terms: Any = {"collection_method": "send_invoice", "days_until_due": days_until_due}
        subscription_id = None
        if sale.recurring:
            params: Any = {
                "customer": sale.stripe_customer,
                "items": [{"price": i.price_id, "quantity": i.quantity} for i in sale.line_items],
                "metadata": metadata,
                **terms,
            }
            key = f"{_KEY_PREFIX}:subscription.create:{sale.purchase_id}"
            subscription = self._call(
                lambda: self._client.v1.subscriptions.create(params, {"idempotency_key": key})
            ).to_dict()
            subscription_id = str(subscription["id"])
            invoice_id = _id_of(subscription.get("latest_invoice"))
            if invoice_id is None:
                raise ValueError("a new subscription has a first invoice")
        else:
            invoice_id = self._one_off_invoice(sale, None, terms)
        return SentInvoice(self._sent(invoice_id), subscription_id)

    def _sent(self, invoice_id: str) -> InvoiceSummary:
        """Finalizes the draft now (Stripe would wait an hour) and sends it; a retry finds it
        open (or paid) already and sends nothing twice (keyed by the invoice)."""
        if self._invoice_summary(invoice_id).status == "draft":
            key = f"{_KEY_PREFIX}:invoice.finalize:{invoice_id}"
            self._call(
                lambda: self._client.v1.invoices.finalize_invoice(
                    invoice_id, {"auto_advance": True}, {"idempotency_key": key}
                )
            )
        summary = self._invoice_summary(invoice_id)
        if summary.status == "open":
            key = f"{_KEY_PREFIX}:invoice.send:{invoice_id}"
            self._call(
                lambda: self._client.v1.invoices.send_invoice(
                    invoice_id, {}, {"idempotency_key": key}
                )
            )
        return summary

    def change_plan(self, change: PlanChange) -> Payment:
        subscription = self._subscription_changed(change)
        before = _id_of(subscription.get("latest_invoice"))
        items = _replaced_items(subscription, change)
        # Metadata cannot change with pending_if_incomplete: the new invoice carries ours.
        params: Any = {
            "items": items,
            "proration_behavior": change.proration,
            "payment_behavior": "pending_if_incomplete",
        }
        key = f"{_KEY_PREFIX}:subscription.update:{change.purchase_id}"
        updated = self._call(
            lambda: self._client.v1.subscriptions.update(
                subscription["id"], params, {"idempotency_key": key}
            )
        ).to_dict()
        invoice_id = _id_of(updated.get("latest_invoice"))
        if invoice_id is None or invoice_id == before:
            return Payment("paid", None, subscription_id=str(updated["id"]))  # nothing due
        summary = self._invoice_summary(invoice_id)
        if summary.status == "paid":
            return Payment("paid", summary, subscription_id=str(updated["id"]))
        tagged: Any = {"metadata": {PURCHASE_KEY: change.purchase_id}}
        tag_key = f"{_KEY_PREFIX}:invoice.update:{invoice_id}:{change.purchase_id}"
        self._call(
            lambda: self._client.v1.invoices.update(
                invoice_id, tagged, {"idempotency_key": tag_key}
            )
        )
        return self._paid(invoice_id, None, str(updated["id"]))

    def schedule_change(self, change: PlanChange) -> ScheduledSwitch:
        subscription = self._subscription_changed(change)
        schedule = self._live_schedule(subscription, change.purchase_id)
        current = schedule["current_phase"]
        kept = [
            {"price": item["price"]["id"], "quantity": item["quantity"]}
            for item in subscription["items"]["data"]
        ]
        phases: Any = [
            {"items": kept, "start_date": current["start_date"], "end_date": current["end_date"]},
            {
                "items": [{"price": i.price_id, "quantity": i.quantity} for i in change.line_items],
                "iterations": 1,
                "metadata": {PURCHASE_KEY: change.purchase_id},
            },
        ]
        params: Any = {"phases": phases, "end_behavior": "release"}
        # Keyed by the schedule too: a purchase scheduled again on a new schedule (after the
        # first was released) is a new request, not a replay of the first one's.
        key = f"{_KEY_PREFIX}:schedule.update:{schedule['id']}:{change.purchase_id}"
        self._call(
            lambda: self._client.v1.subscription_schedules.update(
                schedule["id"], params, {"idempotency_key": key}
            )
        )
        return ScheduledSwitch(str(subscription["id"]), int(current["end_date"]))

    def _subscription_changed(self, change: PlanChange) -> Any:
        """The Stripe subscription a plan change is about: the one recorded on the plan."""
        if change.subscription_id is None:
            return self._subscription_selling(change.stripe_customer, change.leaving_price_ids)
        subscription_id = change.subscription_id
        found = self._call(
            lambda: self._client.v1.subscriptions.retrieve(subscription_id)
        ).to_dict()
        if found["status"] not in ("active", "trialing", "past_due"):
            raise InvalidRequest(
                "The customer's current plan has no live subscription in Stripe to change.",
                details=[{"field": "plan_id", "message": "its Stripe subscription has ended"}],
            )
        return found

    def _live_schedule(self, subscription: Any, purchase_id: str) -> Any:
        """The schedule managing the subscription, made for the purchase if there is none.
        A creation keyed by the purchase replays an earlier one's answer: if the schedule
        it gives back was released since (the change taken back, then asked again), a new
        one is made under a key naming the released one, so a retry finds it again."""
        schedule_id = _id_of(subscription.get("schedule"))
        if schedule_id is not None:
            return self._call(
                lambda: self._client.v1.subscription_schedules.retrieve(schedule_id)
            ).to_dict()
        key = f"{_KEY_PREFIX}:schedule.create:{purchase_id}"
        for _attempt in range(_SCHEDULE_ATTEMPTS):
            created = self._call(
                lambda key=key: self._client.v1.subscription_schedules.create(
                    {"from_subscription": subscription["id"]}, {"idempotency_key": key}
                )
            )
            # A replayed answer shows the schedule as it was made: read it as it is now.
            made = str(created.id)
            now = self._call(
                lambda made=made: self._client.v1.subscription_schedules.retrieve(made)
            ).to_dict()
            if now.get("status") in ("not_started", "active"):
                return now
            key = f"{_KEY_PREFIX}:schedule.create:{purchase_id}:after:{made}"
        raise StripeUnavailable("Stripe kept answering with released schedules")

    def release_schedule(self, schedule_id: str) -> None:
        """A schedule is released once: one key per schedule, so a retry reaches the same
        Stripe request."""
        key = f"{_KEY_PREFIX}:schedule.release:{schedule_id}"
        self._call(
            lambda: self._client.v1.subscription_schedules.release(
                schedule_id, {}, {"idempotency_key": key}
            )
        )

    def retrieve_subscription(self, subscription_id: str) -> StripeSubscription | None:
        fields = self.retrieve_object("subscription", subscription_id)
        return None if fields is None else subscription_from(fields)

    def subscription_selling(
        self, stripe_customer: str, price_ids: frozenset[str]
    ) -> StripeSubscription | None:
        """The customer's live subscription with an item of one of these prices, if any."""
        try:
            return subscription_from(self._subscription_selling(stripe_customer, price_ids))
        except StripeRejected:
            raise  # Stripe refused the listing itself: not "none sells them"
        except InvalidRequest:
            return None

    def list_subscriptions(self, stripe_customer: str) -> tuple[StripeSubscription, ...]:
        found: list[StripeSubscription] = []
        after: str | None = None
        while True:
            params: Any = {
                "customer": stripe_customer,
                "status": "all",
                "limit": 100,
                # The latest invoice says whether a subscription collected by invoice is
                # still waiting for its first payment (see `awaiting_first_invoice`).
                "expand": ["data.schedule", "data.latest_invoice"],
                **({"starting_after": after} if after else {}),
            }
            listed = self._call(partial(self._client.v1.subscriptions.list, params))
            page = [subscription_from(item.to_dict()) for item in listed.data]
            found.extend(page)
            if not listed.has_more or not page:
                return tuple(found)
            after = page[-1].id

    def cancel_now(
        self, subscription_id: str, credit_unused: bool = False
    ) -> StripeSubscription | None:
        """Ends the subscription at once (a subscription ends once: one key per id). One
        that had already ended is left as it is."""
        key = f"{_KEY_PREFIX}:subscription.cancel:{subscription_id}"
        params: Any = {"prorate": True, "invoice_now": True} if credit_unused else {}
        try:
            self._client.v1.subscriptions.cancel(subscription_id, params, {"idempotency_key": key})
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":  # already ended: what we wanted
                raise failure(error) from error
        except stripe.StripeError as error:
            raise failure(error) from error
        return self.retrieve_subscription(subscription_id)

    def live_subscription_ids(self, stripe_customer: str) -> list[str]:
        params: Any = {"customer": stripe_customer, "status": "all", "limit": 100}
        try:
            listed = self._client.v1.subscriptions.list(params)
            found = [s.to_dict() for s in listed.auto_paging_iter()]
        except stripe.StripeError as error:
            mapped = failure(error)
            if isinstance(mapped, StripeCustomerGone):
                return []  # Stripe ended its subscriptions when it deleted the customer
            raise mapped from error
        return [str(s["id"]) for s in found if s["status"] in _MAY_BILL]

    def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool, change_id: str
    ) -> StripeSubscription:
        """Cancels at the period end, or takes that back. `change_id` names this change
        (a retry of it reaches the same Stripe request; the next change has another)."""
        params: Any = {"cancel_at_period_end": cancel}
        key = f"{_KEY_PREFIX}:subscription.cancel_at_period_end:{change_id}"
        updated = self._call(
            lambda: self._client.v1.subscriptions.update(
                subscription_id, params, {"idempotency_key": key}
            )
        )
        return subscription_from(updated.to_dict())

    def change_quantities(self, change: QuantityChange) -> Payment:
        found = self._call(
            lambda: self._client.v1.subscriptions.retrieve(change.subscription_id)
        ).to_dict()
        before = _id_of(found.get("latest_invoice"))
        if found.get("pending_update") and before is not None:
            # An earlier change still waits for its invoice (declined, or never paid): it
            # is voided, so it can't be paid on top of this one, which is a new attempt.
            self.void_invoice(before)
        items: Any = [
            {"id": item["id"], "quantity": change.quantities[item["price"]["id"]]}
            for item in found["items"]["data"]
            if item["price"]["id"] in change.quantities
        ]
        params: Any = {
            "items": items,
            "proration_behavior": change.proration,
            "payment_behavior": "pending_if_incomplete",
        }
        # The invoice before names the attempt: after a decline, the same change asked
        # again is a new request to Stripe, not a replay of the declined one.
        key = f"{_KEY_PREFIX}:subscription.quantities:{change.change_id}:{before}"
        updated = self._call(
            lambda: self._client.v1.subscriptions.update(
                change.subscription_id, params, {"idempotency_key": key}
            )
        ).to_dict()
        invoice_id = _id_of(updated.get("latest_invoice"))
        if invoice_id is None or invoice_id == before:
            return Payment("paid", None, subscription_id=str(updated["id"]))  # nothing due
        summary = self._invoice_summary(invoice_id)
        if summary.status == "paid":
            return Payment("paid", summary, subscription_id=str(updated["id"]))
        return self._paid(invoice_id, None, str(updated["id"]))

    def _subscription_selling(self, stripe_customer: str, price_ids: frozenset[str]) -> Any:
        """The customer's live subscription with an item of one of these prices."""
        listed = self._call(
            lambda: self._client.v1.subscriptions.list({"customer": stripe_customer, "limit": 100})
        )
        for found in listed.data:
            fields = found.to_dict()
            if fields["status"] not in ("active", "trialing", "past_due"):
                continue
            if any(item["price"]["id"] in price_ids for item in fields["items"]["data"]):
                return fields
        raise InvalidRequest(
            "The customer's current plan has no live subscription in Stripe to change.",
            details=[{"field": "plan_id", "message": "no Stripe subscription to upgrade"}],
        )

    def checkout_paid_for(self, session_id: str) -> PaidFor | None:
        fields = self.retrieve_object("checkout.session", session_id)
        if fields is None:
            return None
        subscription = fields.get("subscription")
        return PaidFor(
            purchase_id=(fields.get("metadata") or {}).get(PURCHASE_KEY),
            paid=fields.get("status") == "complete"
            and fields.get("payment_status") in ("paid", "no_payment_required"),
            subscription_id=_id_of(subscription),
        )

    def invoice_paid_for(self, invoice_id: str) -> PaidFor | None:
        fields = self.retrieve_object("invoice", invoice_id)
        if fields is None:
            return None
        details = (fields.get("parent") or {}).get("subscription_details") or {}
        subscription_id = _id_of(details.get("subscription"))
        purchase_id = (fields.get("metadata") or {}).get(PURCHASE_KEY) or (
            details.get("metadata") or {}
        ).get(PURCHASE_KEY)
        if purchase_id is None and subscription_id is not None:
            subscription = self.retrieve_object("subscription", subscription_id) or {}
            purchase_id = (subscription.get("metadata") or {}).get(PURCHASE_KEY)
        return PaidFor(
            purchase_id=purchase_id,
            paid=fields.get("status") == "paid",
            subscription_id=subscription_id,
            created_s=fields.get("created"),
        )

    def invoice_state(self, invoice_id: str) -> InvoiceState | None:
        fields = self.retrieve_object("invoice", invoice_id)
        if fields is None:
            return None
        details = (fields.get("parent") or {}).get("subscription_details") or {}
        lines = (fields.get("lines") or {}).get("data") or []
        price_ids = frozenset(
            price
            for line in lines
            if (price := ((line.get("pricing") or {}).get("price_details") or {}).get("price"))
        )
        return InvoiceState(
            id=str(fields["id"]),
            stripe_customer=_id_of(fields.get("customer")),
            subscription_id=_id_of(details.get("subscription")),
            status=str(fields.get("status")),
            billing_reason=fields.get("billing_reason"),
            total=catalog.major_units(int(fields.get("total") or 0)),
            currency=str(fields.get("currency") or settings().currency),
            hosted_invoice_url=fields.get("hosted_invoice_url"),
            created_s=int(fields["created"]),
            period_start_s=int(fields.get("period_start") or fields["created"]),
            period_end_s=int(fields.get("period_end") or fields["created"]),
            price_ids=price_ids,
            purchase_id=(fields.get("metadata") or {}).get(PURCHASE_KEY)
            or (details.get("metadata") or {}).get(PURCHASE_KEY),
            lines_period_end_s=max(
                (int(line["period"]["end"]) for line in lines if line.get("period")),
                default=None,
            ),
            number=fields.get("number"),
        )

    def add_invoice_items(
        self, invoice_id: str | None, stripe_customer: str, charges: tuple[OverageCharge, ...]
    ) -> None:
        # Stripe forgets an idempotency key after 24 hours, and a failed invoice.created is
        # retried for up to 3 days: the charges already on the invoice are skipped by name.
        where: Any = (
            {"invoice": invoice_id, "limit": 100}
            if invoice_id
            else {"customer": stripe_customer, "pending": True, "limit": 100}
        )
        listed = self._call(lambda: self._client.v1.invoice_items.list(where))
        present = {(item.metadata or {}).get("billing_charge") for item in listed.data}
        for charge in charges:
            if charge.idempotency_key[:500] in present:
                continue
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
            key = f"{_KEY_PREFIX}:invoiceitem.create:{charge.idempotency_key}"
            self._call(
                lambda params=params, key=key: self._client.v1.invoice_items.create(
                    params, {"idempotency_key": key}
                )
            )

    def advance_test_clock(self, stripe_customer: str, frozen_time_s: int) -> ClockState:
        found = self._call(lambda: self._client.v1.customers.retrieve(stripe_customer))
        clock_id = _id_of(found.to_dict().get("test_clock"))
        if clock_id is None:
            raise InvalidRequest(
                "The customer's Stripe customer has no test clock.",
                details=[{"field": "customer_id", "message": "no test clock in Stripe"}],
            )
        params: Any = {"frozen_time": frozen_time_s}
        # Stripe refuses to advance a clock still advancing from an earlier call.
        self._clock_when_settled(clock_id)
        try:
            self._client.v1.test_helpers.test_clocks.advance(clock_id, params)
        except stripe.InvalidRequestError as error:
            if error.param == "frozen_time":
                raise InvalidRequest(
                    "The test clock cannot move to that time: it only moves forward, at most "
                    "two billing periods at a time.",
                    details=[{"field": "advance_to", "message": "not a time the clock can reach"}],
                ) from error
            raise failure(error) from error
        except stripe.StripeError as error:
            raise failure(error) from error
        # Stripe answers "advancing" and replays renewals after: the answer reports the
        # clock once they happened (their webhooks sent), or as it is when the wait runs out.
        clock = self._clock_when_settled(clock_id)
        return ClockState(int(clock.frozen_time), str(clock.status))

    def _clock_when_settled(self, clock_id: str) -> Any:
        """The clock once it is no longer advancing, or as it is after `_CLOCK_WAIT_S`."""
        deadline = time.monotonic() + _CLOCK_WAIT_S
        pause = 0.02
        while True:
            clock = self._call(lambda: self._client.v1.test_helpers.test_clocks.retrieve(clock_id))
            if clock.status != "advancing" or time.monotonic() + pause > deadline:
                return clock
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def clock_now_s(self, stripe_customer: str) -> int | None:
        found = self.retrieve_object("customer", stripe_customer) or {}
        clock_id = _id_of(found.get("test_clock"))
        if clock_id is None:
            return None
        clock = self._clock_when_settled(clock_id)
        return int(clock.frozen_time)

    def open_portal(
        self, stripe_customer: str, *, return_url: str | None, configuration: str | None
    ) -> str:
        # No idempotency key: a session changes nothing and expires within minutes, so a
        # retry is better served by a fresh one than by a replay of a stale one.
        params: Any = {"customer": stripe_customer}
        if return_url is not None:
            params["return_url"] = return_url
        if configuration is not None:
            params["configuration"] = configuration
        try:
            session = self._client.v1.billing_portal.sessions.create(params)
        except stripe.InvalidRequestError as error:
            if error.param == "configuration":
                raise InvalidRequest(
                    "Stripe has no such portal configuration.",
                    details=[{"field": "configuration_id", "message": "no such configuration"}],
                ) from error
            raise failure(error) from error
        except stripe.StripeError as error:
            raise failure(error) from error
        return str(session.url)

    def preview_change(self, change: PlanChange) -> ChangePreview:
        subscription = self._subscription_changed(change)
        period_end = int(subscription["items"]["data"][0]["current_period_end"])
        currency = str(subscription.get("currency") or settings().currency)
        if change.proration == "none":
            return ChangePreview(period_end, currency, ())
        params: Any = {
            "subscription": subscription["id"],
            "subscription_details": {
                "items": _replaced_items(subscription, change),
                "proration_behavior": change.proration,
            },
        }
        preview = self._call(lambda: self._client.v1.invoices.create_preview(params)).to_dict()
        lines = tuple(_invoice_line(line) for line in preview["lines"]["data"])
        return ChangePreview(period_end, str(preview.get("currency") or currency), lines)

    def preview_cancel(self, subscription_id: str, credit_unused: bool) -> ChangePreview:
        details: Any = {
            "cancel_now": True,
            "proration_behavior": "create_prorations" if credit_unused else "none",
        }
        return self._preview(subscription_id, details)

    def preview_quantities(self, change: QuantityChange) -> ChangePreview:
        found = self._call(
            lambda: self._client.v1.subscriptions.retrieve(change.subscription_id)
        ).to_dict()
        items: Any = [
            {"id": item["id"], "quantity": change.quantities[item["price"]["id"]]}
            for item in found["items"]["data"]
            if item["price"]["id"] in change.quantities
        ]
        if change.proration == "none":
            return self._preview(change.subscription_id, None, found)
        details: Any = {"items": items, "proration_behavior": change.proration}
        return self._preview(change.subscription_id, details, found)

    def _preview(
        self, subscription_id: str, details: Any, found: dict[str, Any] | None = None
    ) -> ChangePreview:
        """Stripe's invoice preview of a change to the subscription (None: nothing due)."""
        subscription = found or (
            self._call(lambda: self._client.v1.subscriptions.retrieve(subscription_id)).to_dict()
        )
        period_end = int(subscription["items"]["data"][0]["current_period_end"])
        currency = str(subscription.get("currency") or settings().currency)
        if details is None:
            return ChangePreview(period_end, currency, ())
        params: Any = {"subscription": subscription_id, "subscription_details": details}
        preview = self._call(lambda: self._client.v1.invoices.create_preview(params)).to_dict()
        lines = tuple(_invoice_line(line) for line in preview["lines"]["data"])
        made_at = preview.get("created")
        return ChangePreview(
            period_end,
            str(preview.get("currency") or currency),
            lines,
            int(made_at) if made_at is not None else None,
        )

    def create_setup_session(self, setup: CardSetup) -> CheckoutSession:
        metadata = {**setup.metadata, SETUP_KEY: setup.setup_id}
        params: Any = {
            "mode": "setup",
            "customer": setup.stripe_customer,
            "currency": settings().currency,
            "success_url": setup.success_url,
            "metadata": metadata,
            "setup_intent_data": {"metadata": metadata},
        }
        key = f"{_KEY_PREFIX}:checkout.setup:{setup.setup_id}"
        created = self._call(
            lambda: self._client.v1.checkout.sessions.create(params, {"idempotency_key": key})
        )
        return CheckoutSession(id=str(created.id), url=str(created.url))

    def saved_card(self, session_id: str) -> SavedCard | None:
        fields = self.retrieve_object("checkout.session", session_id)
        if fields is None or fields.get("mode") != "setup":
            return None
        card = None
        intent_id = _id_of(fields.get("setup_intent"))
        if fields.get("status") == "complete" and intent_id is not None:
            intent = self.retrieve_object("setup_intent", intent_id) or {}
            if intent.get("status") == "succeeded":
                card = _id_of(intent.get("payment_method"))
        return SavedCard(
            setup_id=(fields.get("metadata") or {}).get(SETUP_KEY),
            stripe_customer=_id_of(fields.get("customer")),
            payment_method=card,
        )

    def make_default_card(self, stripe_customer: str, payment_method: str) -> None:
        params: Any = {"invoice_settings": {"default_payment_method": payment_method}}
        key = f"{_KEY_PREFIX}:customer.default_card:{stripe_customer}:{payment_method}"
        self._call(
            lambda: self._client.v1.customers.update(
                stripe_customer, params, {"idempotency_key": key}
            )
        )
        # A subscription with a card of its own (one made by a checkout page) would go on
        # charging that card: it moves to the new default, as Stripe's portal moves it.
        listed = self._call(
            lambda: self._client.v1.subscriptions.list({"customer": stripe_customer})
        )
        for subscription in listed.auto_paging_iter():
            pinned = _id_of(subscription.to_dict().get("default_payment_method"))
            if pinned is None or pinned == payment_method:
                continue
            moved: Any = {"default_payment_method": payment_method}
            move_key = f"{_KEY_PREFIX}:subscription.card:{subscription.id}:{payment_method}"
            self._call(
                lambda sub_id=subscription.id, moved=moved, move_key=move_key: (
                    self._client.v1.subscriptions.update(
                        sub_id, moved, {"idempotency_key": move_key}
                    )
                )
            )

    def _default_card(self, stripe_customer: str) -> str | None:
        """The customer's default payment method for invoices, if any."""
        found = self._call(lambda: self._client.v1.customers.retrieve(stripe_customer))
        settings_ = found.to_dict().get("invoice_settings") or {}
        return _id_of(settings_.get("default_payment_method"))

    def _subscription(self, sale: Sale, payment_method: str | None) -> Any:
        """Created incomplete, then paid on purpose: a card error is then an answer about
        this invoice (decline, authentication) rather than a failed creation."""
        params: Any = {
            "customer": sale.stripe_customer,
            "items": [{"price": i.price_id, "quantity": i.quantity} for i in sale.line_items],
            "payment_behavior": "default_incomplete",
            "metadata": _metadata(sale),
        }
        if payment_method is not None and self._default_card(sale.stripe_customer) is None:
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
        key = f"{_KEY_PREFIX}:subscription.create:{sale.purchase_id}"
        return self._call(
            lambda: self._client.v1.subscriptions.create(params, {"idempotency_key": key})
        )

    def _one_off_invoice(
        self, sale: Sale, payment_method: str | None, collection: dict[str, Any]
    ) -> str:
        """A draft invoice of the sale's one-time prices, collected as `collection` says
        (charged to `payment_method`, or sent to be paid)."""
        metadata = _metadata(sale)
        params: Any = {
            "customer": sale.stripe_customer,
            **collection,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "metadata": metadata,
        }
        if payment_method is not None:
            params["default_payment_method"] = payment_method
        key = f"{_KEY_PREFIX}:invoice.create:{sale.purchase_id}"
        invoice = self._call(
            lambda: self._client.v1.invoices.create(params, {"idempotency_key": key})
        )
        for index, line in enumerate(sale.line_items):
            item: Any = {
                "customer": sale.stripe_customer,
                "invoice": invoice.id,
                "pricing": {"price": line.price_id},
                "quantity": line.quantity,
                "metadata": metadata,
            }
            item_key = f"{_KEY_PREFIX}:invoiceitem.create:{sale.purchase_id}:{index}"
            self._call(
                lambda item=item, item_key=item_key: self._client.v1.invoice_items.create(
                    item, {"idempotency_key": item_key}
                )
            )
        return str(invoice.id)

    def _paid(
        self, invoice_id: str, payment_method: str | None, subscription_id: str | None = None
    ) -> Payment:
        """Pays the invoice with the card; a decline or a card needing authentication is
        the answer, any other Stripe failure is raised (see `failure`)."""
        key = f"{_KEY_PREFIX}:invoice.pay:{invoice_id}:{payment_method}"
        # Without a card of our choosing, Stripe charges the subscription's or customer's.
        params: Any = {} if payment_method is None else {"payment_method": payment_method}
        try:
            self._client.v1.invoices.pay(invoice_id, params, {"idempotency_key": key})
            status: Literal["paid", "requires_action", "failed"] = "paid"
        except stripe.CardError as error:
            status = "requires_action" if error.code in _NEEDS_ACTION else "failed"
        except stripe.StripeError as error:
            raise failure(error) from error
        summary = self._invoice_summary(invoice_id)
        if status == "paid" and summary.status != "paid":
            status = "failed"
        return Payment(status, summary, subscription_id=subscription_id)

    def _invoice_summary(self, invoice_id: str) -> InvoiceSummary:
        fields = self._call(lambda: self._client.v1.invoices.retrieve(invoice_id)).to_dict()
        currency = str(fields.get("currency") or settings().currency)
        return InvoiceSummary(
            id=str(fields["id"]),
            status=fields.get("status"),
            total=catalog.major_units(int(fields.get("total") or 0)),
            currency=currency,
            hosted_invoice_url=fields.get("hosted_invoice_url"),
        )

    @staticmethod
    def _call(request: Any) -> Any:
        try:
            return request()
        except stripe.StripeError as error:
            raise failure(error) from error


def failure(error: stripe.StripeError) -> BillingError:
    """Stripe's error as ours: what a retry can fix (429, 5xx, no answer) is a retryable 502;
    what it cannot is a 4xx naming Stripe's code and parameter, so the caller can fix it.

    Stripe's message goes to the caller, who sent the request it is about, and never to our
    logs (only its type and code are logged)."""
    if isinstance(error, stripe.InvalidRequestError | stripe.IdempotencyError):
        if _customer_missing(error):
            return StripeCustomerGone()
        return StripeRejected(details=[_what_to_fix(error)])
    if isinstance(error, stripe.CardError):
        return StripeCardRefused(details=[_what_to_fix(error)])
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return StripeKeyRefused()
    return StripeUnavailable()


def _customer_missing(error: stripe.StripeError) -> bool:
    """Stripe has no such (or a deleted) customer where the request names one."""
    return error.code == "resource_missing" and (
        getattr(error, "param", None) == "customer"
        or str(error.user_message or "").startswith("No such customer")
    )


# Stripe's parameters that are a field of our own request, by our field's name.
_OUR_FIELDS = {"success_url": "success_url", "return_url": "return_url"}


def _what_to_fix(error: stripe.StripeError) -> dict[str, str]:
    param = getattr(error, "param", None)
    detail = {"message": str(error.user_message or "Stripe refused the request.")}
    if param:
        detail = {
            "field": _OUR_FIELDS.get(param, f"stripe.{param}"),
            "stripe_param": param,
            **detail,
        }
    if error.code:
        detail["stripe_code"] = str(error.code)
    return detail


# Subscription statuses that may still charge the customer (an incomplete one, once paid).
_MAY_BILL = frozenset({"active", "trialing", "past_due", "incomplete", "unpaid", "paused"})


# Card errors that a customer can resolve by authenticating the payment (3D Secure).
_NEEDS_ACTION = frozenset(
    {"authentication_required", "invoice_payment_intent_requires_action", "requires_action"}
)


def _metadata(sale: Sale) -> dict[str, str]:
    return {**sale.metadata, PURCHASE_KEY: sale.purchase_id}


def _replaced_items(subscription: Any, change: PlanChange) -> list[dict[str, Any]]:
    """The subscription's items as the change makes them: all of the old plan's gone, the
    new plan's added."""
    items: list[dict[str, Any]] = [
        {"id": item["id"], "deleted": True} for item in subscription["items"]["data"]
    ]
    return items + [{"price": i.price_id, "quantity": i.quantity} for i in change.line_items]


def _invoice_line(line: Any) -> InvoiceLine:
    pricing = line.get("pricing") or {}
    price = (pricing.get("price_details") or {}).get("price")
    period = line.get("period") or {}
    return InvoiceLine(
        price_id=_id_of(price),
        quantity=int(line.get("quantity") or 1),
        amount=catalog.major_units(int(line["amount"])),
        description=str(line.get("description") or ""),
        period=(int(period.get("start") or 0), int(period.get("end") or 0)),
    )


def _id_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


def _customer(obj: Any) -> StripeCustomer:
    fields = obj.to_dict()
    return StripeCustomer(
        id=fields["id"],
        email=fields.get("email"),
        name=fields.get("name"),
        metadata=dict(fields.get("metadata") or {}),
    )


@cache
def gateway() -> StripeGateway:
    configured = settings()
    base: BaseAddresses = {}
    if configured.stripe_api_base:  # the local emulator instead of Stripe
        base["api"] = configured.stripe_api_base
    # A Stripe that does not answer is a 502 well within the function's timeout: each try
    # waits at most this long (three tries: the SDK retries timeouts with the same key).
    http = observed(stripe.new_default_http_client(timeout=_TIMEOUT_S))
    client = stripe.StripeClient(
        stripe_secret_key(), base_addresses=base, max_network_retries=2, http_client=http
    )
    return SdkStripeGateway(client, test_mode=stripe_secret_key().startswith(_TEST_KEYS))


_TEST_KEYS = ("sk_test_", "rk_test_")
