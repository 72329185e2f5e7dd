"""Stripe webhook events: one module per event type, registered by type.

The pipeline (`receive.py`, called by the webhook function) keeps dj-stripe's order: verify
the signature, keep the raw event, claim its id (a redelivery does nothing twice), dispatch
by type, and let the handler re-read what it acts on from Stripe rather than trust the
payload.

How to handle a new event type
------------------------------
Add a module here named after the type (`invoice.paid` -> `invoice_paid.py`), and list it in
`handlers.py` (importing it is what registers it)::

    from billing.services.stripe_events.registry import StripeEventCommand, handles
    from billing.stripe_api import StripeFactory

    @handles("invoice.paid")
    def on_invoice_paid(event: StripeEventCommand, stripe: StripeFactory) -> None:
        invoice = stripe().retrieve_object("invoice", event.object_id)
        ...

A handler:
- gets a `StripeEventCommand` (the event id, type, `created`, `livemode`, the object's id and
  type, the payload's snapshot of the object and its `previous_attributes`) and a
  `StripeFactory` (call it only when Stripe is really needed: it is what loads the SDK);
- re-reads the object from Stripe (`stripe().retrieve_object(...)`, or a typed gateway
  method) before acting: an event is a snapshot that may be stale or out of order;
- returns None when done. Raising anything (a `BillingError` or not) releases the claim and
  answers a non-2xx status, so Stripe delivers the event again: use that when something the
  event depends on is not there yet, or Stripe or the store is unavailable;
- runs at most once per event id at a time, but may run again after a failure or a crash
  after its effects: make its writes idempotent (conditional, or keyed by the event or
  object id), so a second run changes nothing.

Types with no handler are recorded and answered 200 with no effect.
"""
