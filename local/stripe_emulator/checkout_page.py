"""The hosted checkout page: a Checkout Session's ``url``.

``GET`` shows the line items and a form with a ``card_number`` input; posting it does what
that test card does in Stripe's Checkout: it completes the session (``checkout_completion``
creates the customer, the card, and the payment intent, setup intent or subscription, with
their events; then ``checkout.session.completed``), or shows the decline and leaves the
session ``open`` with nothing created, or first asks for authentication (a card that always
requires it) with a confirm step.
"""

from __future__ import annotations

from html import escape

from local.stripe_emulator import cards, checkout_completion, events, hosted, timeline
from local.stripe_emulator import checkout_sessions as sessions
from local.stripe_emulator.routing import PageRequest, PageResponse, Router
from local.stripe_emulator.store import JsonObject, ObjectStore


def register(router: Router) -> None:
    router.add_page("GET", f"{sessions.PAGE}/{{id}}", show_page)
    router.add_page("POST", f"{sessions.PAGE}/{{id}}", submit_page)


def show_page(request: PageRequest) -> PageResponse:
    session = sessions.require(request.store, request.path_params["id"], request.now)
    return _page_for(request.store, session)


def submit_page(request: PageRequest) -> PageResponse:
    store = request.store
    session = sessions.require(store, request.path_params["id"], request.now)
    if session["status"] != "open":
        return _page_for(store, session, status=409)
    private = session[sessions.PRIVATE]
    action = request.form.get("action", "pay")
    if action == "authenticate" and private["pending_card"]:
        card = cards.card_for_number(private["pending_card"])
        assert card is not None, "a pending card was a valid number"
        private["pending_card"] = None
        return _complete(request, session, card, authenticated=True)
    if action == "fail_authentication":
        private["pending_card"] = None
        return _page_for(
            store,
            session,
            error=(
                "We are unable to authenticate your payment method. Please choose a "
                "different payment method and try again."
            ),
            status=402,
        )
    needs_card = _needs_payment_method(session)
    number = request.form.get("card_number", "").strip()
    if not number and not needs_card:
        return _complete(request, session, None, authenticated=False)
    card = cards.card_for_number(number)
    if card is None:
        return _page_for(store, session, error="Your card number is incorrect.", status=402)
    if card.outcome is cards.Outcome.REQUIRES_ACTION:
        private["pending_card"] = card.number
        return _authentication_page(session)
    if _declines(session, card):
        return _page_for(store, session, error=cards.decline_message(card), status=402)
    return _complete(request, session, card, authenticated=False)


def _complete(
    request: PageRequest, session: JsonObject, card: cards.TestCard | None, *, authenticated: bool
) -> PageResponse:
    store, now = request.store, timeline.now_for(request.store, session["customer"], request.now)
    private = session[sessions.PRIVATE]
    checkout_completion.complete(
        checkout_completion.Completion(
            store=store,
            now=now,
            base_url=request.base_url,
            session=session,
            card=card,
            authenticated=authenticated,
            line_items=private["line_items"],
            trial=private["trial"],
            subscription_data=private["subscription_data"],
            payment_intent_data=private["payment_intent_data"],
            setup_intent_data=private["setup_intent_data"],
        )
    )
    session["status"] = "complete"
    session["url"] = None
    if session["mode"] != "setup":
        session["payment_status"] = "paid" if session["amount_total"] else "no_payment_required"
    events.emit(store, "checkout.session.completed", sessions.public(session), now)
    success_url = session["success_url"]
    if success_url:
        return hosted.redirect(success_url.replace("{CHECKOUT_SESSION_ID}", session["id"]))
    return hosted.page("Thank you", "<p>Your payment is complete.</p>")


def _page_for(
    store: ObjectStore, session: JsonObject, *, error: str | None = None, status: int = 200
) -> PageResponse:
    if session["status"] == "complete":
        return hosted.page("Checkout complete", "<p>This checkout session is complete.</p>", status)
    if session["status"] == "expired":
        return hosted.page("Checkout expired", "<p>This checkout session has expired.</p>", 410)
    rows = "".join(
        f"<tr><td>{escape(str(item['description']))}</td><td>{item['quantity'] or ''}</td>"
        f"<td>{hosted.money(item['amount_total'], item['currency'])}</td></tr>"
        for item in sessions.line_item_objects(store, session)
    )
    table = (
        "<table><thead><tr><th>Item</th><th>Qty</th><th>Amount</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    trial = session[sessions.PRIVATE]["trial"]
    notes = ""
    if trial is not None:
        notes += f"<p class='trial'>Free trial until {hosted.date(trial['trial_end'])}.</p>"
    if session["mode"] != "setup":
        due = hosted.money(session["amount_total"], session["currency"])
        notes += f"<p class='total'>Total due today: {escape(due)}</p>"
    button = {"payment": "Pay", "setup": "Save card", "subscription": "Subscribe"}[session["mode"]]
    body = (
        (hosted.error(error) if error else "")
        + table
        + notes
        + hosted.form(f"{sessions.PAGE}/{session['id']}", hosted.card_input(), button)
    )
    if session["cancel_url"]:
        body += f"<p><a href='{escape(session['cancel_url'])}'>Cancel</a></p>"
    return hosted.page("Checkout", body, status)


def _authentication_page(session: JsonObject) -> PageResponse:
    action = f"{sessions.PAGE}/{session['id']}"
    body = (
        "<p>Your bank asks you to confirm this payment (3D Secure test page).</p>"
        + hosted.form(action, "", "Complete authentication", hidden={"action": "authenticate"})
        + hosted.form(action, "", "Fail authentication", hidden={"action": "fail_authentication"})
    )
    return hosted.page("Authenticate your payment", body)


def _needs_payment_method(session: JsonObject) -> bool:
    if session["mode"] != "subscription" or session["payment_method_collection"] == "always":
        return True
    return bool(session["amount_total"])


def _declines(session: JsonObject, card: cards.TestCard) -> bool:
    """Whether Checkout refuses this card: a charge now, or the check when it is saved."""
    if card.outcome is not cards.Outcome.DECLINES:
        return False
    charged_now = session["mode"] != "setup" and bool(session["amount_total"])
    return charged_now or card.declines_on_attach
