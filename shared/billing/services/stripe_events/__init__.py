"""Stripe webhook events: one map from event type to handler, handlers grouped by the Stripe
object the event is about.

The pipeline (`receive.py`, called by the webhook function) keeps dj-stripe's order: verify
the signature, keep the raw event, claim its id (a redelivery does nothing twice), resolve
the customer of ours the event is about (`command.customer_behind`, once, for every
handler), dispatch by type (`handlers.HANDLERS`), and let the handler re-read what it acts
on from Stripe rather than trust the payload.

Modules: `command.py` (what a handler receives), `handlers.py` (the map), and one module
per Stripe object: `checkout_session.py`, `subscription.py`, `invoice.py`, `customer.py`,
each with one function per distinct behaviour (types that behave alike share one).
May call: services/billing and services/customers operations, store, stripe_api.

How to handle a new event type
------------------------------
Write its handler in the module of its object (or map it to an existing function there if
it behaves the same), and add the type to `HANDLERS` in `handlers.py`::

    def paid(event: StripeEventCommand, customer: Customer | None, stripe: StripeFactory) -> None:
        if customer is None:
            return  # not one of ours
        invoice = stripe().invoices.state(event.object_id)
        ...

    HANDLERS = {..., "invoice.paid": invoice.paid}

A handler:
- gets a `StripeEventCommand` (the event id, type, `created`, `livemode`, the object's id and
  type, the payload's snapshot of the object and its `previous_attributes`), the customer
  of ours linked to the object's Stripe customer (None: none of ours, or no customer), and
  a `StripeFactory` (call it only when Stripe is really needed: it is what loads the SDK);
- re-reads the object from Stripe through its resource's typed read (`stripe().checkout.state`,
  `stripe().invoices.state`, ...: never a raw Stripe dict) before acting: an event is a
  snapshot that may be stale or out of order;
- returns None when done. Raising anything (a `BillingError` or not) releases the claim and
  answers a non-2xx status, so Stripe delivers the event again: use that when something the
  event depends on is not there yet, or Stripe or the store is unavailable;
- runs at most once per event id at a time, but may run again after a failure or a crash
  after its effects: make its writes idempotent (conditional, or keyed by the event or
  object id), so a second run changes nothing.

Types with no handler are recorded and answered 200 with no effect.
"""
