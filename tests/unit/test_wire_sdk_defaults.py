"""Fields the official SDKs send at their default whether or not the caller set them, for
features not built here: taken at that default (it asks for nothing), a 400 naming the field
at any other value (it would be dropped). Every other field a request model does not take is
a 400 naming it (tests/integration/test_unknown_fields.py, over HTTP).

The list was read from the SDKs' request models: autumn-sdk's fields with a default other than
unset (it serialises them even when the caller leaves them out), and autumn-js's
`_default(...)` in its outbound schemas, which add the same fields (and `invoice_mode.finalize:
true`, taken already). The last test walks autumn-sdk's models so that a newer SDK sending
another default is caught here rather than by a caller.
"""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from billing.api.body import parse
from billing.api.wire.attach import AttachRequest
from billing.api.wire.common import NOT_SUPPORTED
from billing.api.wire.plans import CreatePlanRequest, UpdatePlanRequest
from billing.api.wire.preview_attach import PreviewAttachRequest
from billing.api.wire.preview_update import PreviewUpdateRequest
from billing.api.wire.setup_payment import SetupPaymentRequest
from billing.api.wire.update import UpdateRequest
from billing.domain.errors import InvalidRequest
from local import openapi
from tests.unit.events import api_event

PLAN = {"plan_id": "pro", "name": "Pro"}
ITEM = {"feature_id": "messages", "included": 10}
TRIAL = {"duration_length": 7}
PURCHASE = {"customer_id": "u1", "plan_id": "pro"}

# (route, its request model, a body reaching the field, the field, its default, another value)
SDK_DEFAULTS: list[tuple[str, type[BaseModel], dict[str, Any], str, Any, Any]] = [
    ("plans.create", CreatePlanRequest, PLAN, "create_in_stripe", True, False),
    ("plans.update", UpdatePlanRequest, {"plan_id": "pro"}, "create_in_stripe", True, False),
    ("plans.create", CreatePlanRequest, {**PLAN, "items": [ITEM]}, "items.0.pooled", False, True),
    (
        "plans.update",
        UpdatePlanRequest,
        {"plan_id": "pro", "items": [ITEM]},
        "items.0.pooled",
        False,
        True,
    ),
    (
        "plans.create",
        CreatePlanRequest,
        {**PLAN, "free_trial": TRIAL},
        "free_trial.on_end",
        "bill",
        "cancel",
    ),
    (
        "plans.update",
        UpdatePlanRequest,
        {"plan_id": "pro", "free_trial": TRIAL},
        "free_trial.on_end",
        "bill",
        "cancel",
    ),
    (
        "plans.create",
        CreatePlanRequest,
        {**PLAN, "config": {}},
        "config.anchor_to_month_start",
        False,
        True,
    ),
    (
        "plans.update",
        UpdatePlanRequest,
        {"plan_id": "pro", "config": {}},
        "config.anchor_to_month_start",
        False,
        True,
    ),
    (
        "billing.attach",
        AttachRequest,
        {**PURCHASE, "free_trial": TRIAL},
        "free_trial.on_end",
        "bill",
        "cancel",
    ),
    (
        "billing.attach",
        AttachRequest,
        {**PURCHASE, "customize": {"free_trial": TRIAL}},
        "customize.free_trial.on_end",
        "bill",
        "cancel",
    ),
    (
        "billing.attach",
        AttachRequest,
        {**PURCHASE, "customize": {"items": [ITEM]}},
        "customize.items.0.pooled",
        False,
        True,
    ),
    (
        "billing.preview_attach",
        PreviewAttachRequest,
        {**PURCHASE, "free_trial": TRIAL},
        "free_trial.on_end",
        "bill",
        "cancel",
    ),
    (
        "billing.preview_attach",
        PreviewAttachRequest,
        {**PURCHASE, "customize": {"items": [ITEM]}},
        "customize.items.0.pooled",
        False,
        True,
    ),
    (
        "billing.setup_payment",
        SetupPaymentRequest,
        {**PURCHASE, "free_trial": TRIAL},
        "free_trial.on_end",
        "bill",
        "cancel",
    ),
    (
        "billing.setup_payment",
        SetupPaymentRequest,
        {**PURCHASE, "customize": {"items": [ITEM]}},
        "customize.items.0.pooled",
        False,
        True,
    ),
    (
        "billing.update",
        UpdateRequest,
        {**PURCHASE, "free_trial": TRIAL},
        "free_trial.on_end",
        "bill",
        "cancel",
    ),
    (
        "billing.preview_update",
        PreviewUpdateRequest,
        {**PURCHASE, "free_trial": TRIAL},
        "free_trial.on_end",
        "bill",
        "cancel",
    ),
]


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`body` with `value` at the dotted `path` (its parents are in `body` already)."""
    found = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    place: Any = found
    for part in parents:
        place = place[int(part)] if isinstance(place, list) else place[part]
    place[leaf] = value
    return found


def _parsed(model: type[BaseModel], body: dict[str, Any]) -> BaseModel:
    """As a handler parses it: the JSON text through `api.body.parse`."""
    return parse(model, api_event(json.dumps(body)))


@pytest.mark.parametrize(
    ("route", "model", "body", "path", "default", "other"),
    SDK_DEFAULTS,
    ids=[f"{row[0]}:{row[3]}" for row in SDK_DEFAULTS],
)
def test_a_field_the_sdks_send_at_its_default_is_taken_at_that_value_only(
    route: str, model: type[BaseModel], body: dict[str, Any], path: str, default: Any, other: Any
) -> None:
    assert _parsed(model, _with(body, path, default)) == _parsed(model, body)

    with pytest.raises(InvalidRequest) as refused:
        _parsed(model, _with(body, path, other))

    [detail] = refused.value.details or []
    assert detail["field"] == path
    assert detail["type"] == NOT_SUPPORTED
    assert "not supported" in detail["message"]
    assert path in refused.value.message


def test_a_number_is_not_taken_for_the_boolean_default() -> None:
    body = {**PLAN, "items": [{**ITEM, "pooled": 0}]}

    with pytest.raises(InvalidRequest) as refused:
        _parsed(CreatePlanRequest, body)

    assert [d["field"] for d in refused.value.details or []] == ["items.0.pooled"]


def test_a_plan_sent_with_every_sdk_default_is_the_plan_sent_without_them() -> None:
    bare = {**PLAN, "items": [ITEM], "free_trial": TRIAL, "config": {"ignore_past_due": True}}
    with_defaults = {
        **bare,
        "create_in_stripe": True,
        "items": [{**ITEM, "pooled": False}],
        "free_trial": {**TRIAL, "on_end": "bill"},
        "config": {"ignore_past_due": True, "anchor_to_month_start": False},
    }

    sent = _parsed(CreatePlanRequest, with_defaults)

    assert isinstance(sent, CreatePlanRequest)
    assert sent.plan() == CreatePlanRequest.model_validate(bare).plan()


def test_the_api_reference_shows_each_sdk_default_as_the_one_value_taken() -> None:
    # The checked-in reference (tests/unit/test_openapi.py keeps it current).
    schemas = json.loads(openapi.DOCUMENT.read_text())["components"]["schemas"]

    def field(model: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = schemas[model]["properties"][name]
        return found

    assert field("ItemFields", "pooled")["const"] is False
    assert field("FreeTrialFields", "on_end")["const"] == "bill"
    assert field("PlanConfigFields", "anchor_to_month_start")["const"] is False
    assert field("CreatePlanRequest", "create_in_stripe")["const"] is True
    assert schemas["ItemFields"]["additionalProperties"] is False


# autumn-sdk's request model of each route we share with it (features.* cannot be imported
# from autumn-sdk 1.2: README, "Deliberate differences").
_SDK_PARAMS = {
    CreatePlanRequest: "CreatePlanParams",
    UpdatePlanRequest: "UpdatePlanParams",
    AttachRequest: "AttachParams",
    PreviewAttachRequest: "PreviewAttachParams",
    SetupPaymentRequest: "SetupPaymentParams",
    UpdateRequest: "UpdateSubscriptionParams",
    PreviewUpdateRequest: "PreviewUpdateParams",
}


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models a field's type names, through Optional, lists, dicts, unions and
    type aliases (the SDK's `Unset` marker left out)."""
    if hasattr(annotation, "__value__") and not typing.get_args(annotation):
        yield from _models_in(annotation.__value__)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation.__name__ != "Unset":
            yield annotation
    else:
        for argument in typing.get_args(annotation):
            yield from _models_in(argument)


def _sdk_defaults(
    model: type[BaseModel], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Each field autumn-sdk writes although the caller did not set it, with its value."""
    from autumn_sdk.types import UNSET

    for name, field in model.model_fields.items():
        here = (*path, field.alias or name)
        if not field.is_required() and field.default not in (None, UNSET):
            yield here, field.default
        for inner in _models_in(field.annotation):
            if inner is not model:
                yield from _sdk_defaults(inner, here)


def _taken(ours: type[BaseModel], path: tuple[str, ...], value: Any) -> bool | None:
    """Whether our model takes `value` at `path`; None when the SDK writes it only inside an
    object the caller must give and we do not take as such (refused by name already)."""
    models = [ours]
    for depth, part in enumerate(path):
        fields = [m.model_fields[part] for m in models if part in m.model_fields]
        if not fields:
            return None if depth < len(path) - 1 else False
        if depth == len(path) - 1:
            field = fields[0]
            if field.annotation is Any:  # a field kept only to be refused when given
                return False
            annotation = field.annotation
            if field.metadata:
                annotation = typing.Annotated[annotation, *field.metadata]
            check = TypeAdapter(annotation, config=ConfigDict(strict=True))
            try:
                check.validate_python(Decimal(value) if type(value) is float else value)
            except ValidationError:
                return False
            return True
        models = [m for f in fields for m in _models_in(f.annotation)]
        if not models:
            return None
    return None


@pytest.mark.parametrize("ours", list(_SDK_PARAMS), ids=lambda m: m.__name__)
def test_every_default_autumn_sdk_sends_is_taken(ours: type[BaseModel]) -> None:
    import autumn_sdk.models as sdk

    params = getattr(sdk, _SDK_PARAMS[ours])
    refused = {
        ".".join(path): value
        for path, value in _sdk_defaults(params)
        if _taken(ours, path, value) is False
    }

    assert refused == {}, "autumn-sdk sends these without being asked; take them at that value"
