"""3-D Secure, one flow for the payment and the setup intents.

A card that needs authentication leaves its intent in ``requires_action``, with a
``redirect_to_url`` next action pointing at the emulator's authentication page. There the
customer completes or fails the authentication with a form POST (Stripe has no API for this
step either: the customer does it in a browser) and, when the confirmation gave a
``return_url``, is sent back to it with the intent's id.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from local.stripe_emulator import payment_methods as methods
from local.stripe_emulator.errors import StripeError, invalid_param
from local.stripe_emulator.routing import PageRequest, PageResponse, Router
from local.stripe_emulator.store import JsonObject, ObjectStore
from local.stripe_emulator.timeline import now_for

_TITLE = "3D Secure"


class Authenticate(Protocol):
    """What an intent does once the customer completes (``succeed``) or fails 3-D Secure."""

    def __call__(
        self, store: ObjectStore, intent: JsonObject, now: int, *, succeed: bool
    ) -> None: ...


@dataclass(frozen=True)
class Flow:
    """One kind of intent's part in the flow."""

    object_type: str
    # The authentication page, e.g. "/payment_intents/{id}/authenticate".
    page: str
    # The intent's name in error messages, e.g. "PaymentIntent".
    noun: str
    # What the intent does, as the page names it: "payment", "setup".
    purpose: str
    # The page's request, e.g. "Authenticate saving this card." (plain text).
    prompt: Callable[[JsonObject], str]
    authenticate: Authenticate


def register(router: Router, flow: Flow) -> None:
    def page(request: PageRequest) -> PageResponse:
        return _authentication_page(flow, request)

    def submit(request: PageRequest) -> PageResponse:
        return _authentication_submit(flow, request)

    router.add_page("GET", flow.page, page)
    router.add_page("POST", flow.page, submit)


def require_action(flow: Flow, intent: JsonObject, base_url: str, return_url: str | None) -> None:
    """The intent waits for the customer on the authentication page."""
    url = f"{base_url}{flow.page.format(id=intent['id'])}"
    intent["status"] = "requires_action"
    intent["next_action"] = {
        "type": "redirect_to_url",
        "redirect_to_url": {"return_url": return_url, "url": url},
    }


def begin_authentication(flow: Flow, store: ObjectStore, intent: JsonObject) -> JsonObject:
    """Checks the intent waits for authentication and ends its next action; the payment
    method being authenticated."""
    if intent["status"] != "requires_action":
        raise unexpected_state(
            flow, f"This {flow.noun}'s status is {intent['status']}: it needs no authentication."
        )
    intent["next_action"] = None
    return store.require(methods.OBJECT, intent["payment_method"])


def unexpected_state(flow: Flow, message: str) -> StripeError:
    return StripeError(400, message, code=f"{flow.object_type}_unexpected_state")


def _authentication_page(flow: Flow, request: PageRequest) -> PageResponse:
    intent = request.store.require(flow.object_type, request.path_params["id"])
    if intent["status"] != "requires_action":
        status = html.escape(intent["status"])
        body = f"<p>Nothing to authenticate: this {flow.purpose} is {status}.</p>"
    else:
        body = (
            f"<p>{html.escape(flow.prompt(intent))}</p>"
            '<form method="post"><button name="action" value="complete">Complete '
            'authentication</button> <button name="action" value="fail">Fail '
            "authentication</button></form>"
        )
    return 200, _page(body), {}


def _authentication_submit(flow: Flow, request: PageRequest) -> PageResponse:
    store = request.store
    intent = store.require(flow.object_type, request.path_params["id"])
    action = request.form.get("action", "complete")
    if action not in ("complete", "fail"):
        raise invalid_param("action", "action must be complete or fail")
    return_url = ((intent["next_action"] or {}).get("redirect_to_url") or {}).get("return_url")
    now = now_for(store, intent["customer"], request.now)
    flow.authenticate(store, intent, now, succeed=action == "complete")
    if return_url:
        separator = "&" if "?" in return_url else "?"
        location = f"{return_url}{separator}{flow.object_type}={intent['id']}"
        return 303, "", {"Location": location}
    body = f"<p>{flow.purpose.capitalize()} {html.escape(intent['status'])}.</p>"
    return 200, _page(body), {}


def _page(body: str) -> str:
    return (
        f"<!doctype html><html><head><title>{_TITLE}</title></head>"
        f"<body><h1>{_TITLE}</h1>{body}</body></html>"
    )
