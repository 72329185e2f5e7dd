"""The dashboard's forms, validated with the API's own field types, so a form accepts
exactly what the matching API route would; and, like the API, a field no form of ours has
is refused (400 naming it), never dropped: a change the operator meant to make is made or
refused, not silently left out."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from billing.api.wire.common import Email, Id, Metadata, Name, NonNegativeQuantity
from billing.domain.errors import InvalidRequest


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _json_text(value: Any) -> Any:
    """A textarea of JSON; blank means none."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError("must be a JSON object") from None


OptionalId = Annotated[Id | None, BeforeValidator(_blank_is_none)]


class FormFields(dict[str, str]):
    """A posted form: the first value of each field, and the names of those sent more than
    once (`repeated`), which no form of ours does: `parsed` refuses them."""

    repeated: frozenset[str] = frozenset()


class _Form(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class _Posted(_Form):
    """A form a dashboard page posts: the browser sends the page's CSRF token with it (the
    guard checks it before any page reads the form)."""

    csrf: str = ""


class SignInForm(_Posted):
    secret_key: str = ""


class NewCustomerForm(_Posted):
    name: Name = None
    customer_id: OptionalId = None
    email: Email = None
    plan_id: OptionalId = None


class ProfileForm(_Posted):
    name: Name = None
    email: Email = None
    metadata: Annotated[Metadata, BeforeValidator(_json_text)] = None


class EnablePlanForm(_Posted):
    plan_id: Id


class BalanceForm(_Posted):
    feature_id: Id
    balance_id: OptionalId = None
    remaining: Annotated[NonNegativeQuantity | None, BeforeValidator(_blank_is_none)] = None
    included: Annotated[NonNegativeQuantity | None, BeforeValidator(_blank_is_none)] = None


class AttachQuery(_Form):
    """The attach preview's query (a GET form): the customer, read by the page, and the plan."""

    id: str = ""
    plan_id: Id


class CancelForm(_Posted):
    """Cancel a held plan now or at its period end, or take a cancellation back."""

    subscription_id: Id
    cancel_action: Literal["cancel_immediately", "cancel_end_of_cycle", "uncancel"]


Form = TypeVar("Form", bound=_Form)

# What a field no form has is told (pydantic's own words say nothing of why).
_UNKNOWN_FIELD = "not a field of this form: nothing was changed"
_REPEATED = "sent more than once: the form sends it once"


def parsed(model: type[Form], form: dict[str, str]) -> Form:
    """The form as `model`, or 400 naming each field that is wrong and why."""
    problems = [
        (name, _REPEATED) for name in sorted(form.repeated if isinstance(form, FormFields) else ())
    ]
    try:
        found = model.model_validate(form)
    except ValidationError as error:
        problems += [
            (
                ".".join(str(part) for part in issue["loc"]) or "form",
                _UNKNOWN_FIELD if issue["type"] == "extra_forbidden" else issue["msg"],
            )
            for issue in error.errors(include_url=False, include_input=False)
        ]
    if problems:
        raise InvalidRequest(
            "; ".join(f"{field}: {message}" for field, message in problems),
            details=[{"field": field, "message": message} for field, message in problems],
        )
    return found
