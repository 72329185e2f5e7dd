"""Fields Stripe sends on every object of a type that the emulator does not model.

Stripe answers with every field its published types declare for the API version (the emulator
tests check each answer against them: tests/emulator/stripe_types), sending ``null`` or an
empty value for features an account does not use (Connect, Radar, tax, wallets, payment
records, ...). The resource modules build what the emulator models; ``conform`` adds the rest,
with the value Stripe sends when the feature is not in use, to every answer and every event's
snapshot, so each resource module need not list them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from local.stripe_emulator.store import JsonObject

# A fixed value, or one derived from the object it goes in.
Default = Any | Callable[[JsonObject], Any]


def _line_subscription(line: JsonObject) -> Any:
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    return details.get("subscription")


def _quantity_decimal(line: JsonObject) -> str | None:
    quantity = line.get("quantity")
    return None if quantity is None else str(quantity)


_NO_CONNECT = {"application": None, "on_behalf_of": None, "transfer_data": None}
_PAYMENT_METHOD_FILTERS = {
    "allowed_payment_method_types": None,
    "excluded_payment_method_types": None,
}

# object type -> {field (dotted: inside a sub-object, filled only where that is present): value}
_DEFAULTS: dict[str, dict[str, Default]] = {
    "billing_portal.configuration": {
        "features.payment_method_update.payment_method_configuration": None,
        "features.subscription_cancel.cancellation_reason.feedback_options": None,
        "features.subscription_pause": {
            "duration": {"interval_options": [], "type": "indefinite"},
            "enabled": False,
        },
        "features.subscription_update.billing_cycle_anchor": None,
        "features.subscription_update.schedule_at_period_end": {"conditions": []},
        "features.subscription_update.trial_update_behavior": "end_trial",
    },
    "billing_portal.session": {"customer_account": None},
    "charge": {
        **_NO_CONNECT,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "calculated_statement_descriptor": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "fraud_details": {},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "transfer_group": None,
        "billing_details.tax_id": None,
        "outcome.advice_code": None,
        "outcome.network_advice_code": None,
        "outcome.network_decline_code": None,
        "payment_method_details.card.amount_authorized": None,
        "payment_method_details.card.authorization_code": None,
        "payment_method_details.card.checks": None,
        "payment_method_details.card.country": None,
        "payment_method_details.card.electronic_commerce_indicator": None,
        "payment_method_details.card.installments": None,
        "payment_method_details.card.mandate": None,
        "payment_method_details.card.network": None,
        "payment_method_details.card.network_transaction_id": None,
        "payment_method_details.card.regulated_status": None,
        "payment_method_details.card.three_d_secure": None,
        "payment_method_details.card.transaction_link_id": None,
        "payment_method_details.card.wallet": None,
    },
    "checkout.session": {
        "adaptive_pricing": None,
        "allowed_payment_method_types": None,
        "collected_information": None,
        "currency_conversion": None,
        "customer_account": None,
        "discounts": [],
        "integration_identifier": None,
        "managed_payments": None,
        "origin_context": None,
        "payment_method_configuration_details": None,
        "permissions": None,
        "saved_payment_method_options": None,
        "wallet_options": None,
        "automatic_tax.provider": None,
        "customer_details.business_name": None,
        "customer_details.individual_name": None,
    },
    "item": {"adjustable_quantity": None, "metadata": {}},
    "line_item": {"quantity_decimal": _quantity_decimal, "subscription": _line_subscription},
    "payment_intent": {
        **_PAYMENT_METHOD_FILTERS,
        "customer_account": None,
        "managed_payments": None,
        "payment_method_configuration_details": None,
        "payment_record": None,
    },
    "payment_method": {
        "customer_account": None,
        "billing_details.tax_id": None,
        "card.regulated_status": None,
    },
    "product": {"tax_details": None},
    "setup_intent": {
        **_PAYMENT_METHOD_FILTERS,
        "payment_method_options.card.mandate_options": None,
        "payment_method_options.card.network": None,
    },
    "subscription": {
        "billing_schedules": [],
        "managed_payments": None,
        "cancellation_details.feedback_option": None,
        "invoice_settings.custom_fields": None,
        "invoice_settings.description": None,
        "invoice_settings.footer": None,
        "pending_update.cancel_at_period_end": None,
        "pending_update.discount": None,
        "pending_update.discounts": None,
        "pending_update.metadata": None,
        "trial_settings.end_behavior.billing_cycle_anchor": None,
    },
    "subscription_schedule": {
        "pause_schedules": [],
        "default_settings.invoice_settings.custom_fields": None,
        "default_settings.invoice_settings.description": None,
        "default_settings.invoice_settings.footer": None,
    },
    "subscription_item": {"current_trial": None},
}

# Fields Stripe leaves out, rather than sending null, while they have no value.
_OMITTED_WHEN_NULL: dict[str, tuple[str, ...]] = {
    "customer": ("business_name", "individual_name"),
    "invoice": ("threshold_reason",),
    # An item charged once on a subscription's invoice (add_invoice_items) has no item.
    "invoiceitem": ("parent.subscription_details.subscription_item",),
    "subscription": ("billing_mode.updated_at",),
    "subscription_schedule": ("billing_mode.updated_at",),
}


def conform(value: Any) -> Any:
    """A copy of ``value`` (an answer or an event's object, with everything nested in it)
    with the fields of ``_DEFAULTS`` added where missing, those of ``_OMITTED_WHEN_NULL``
    left out while null."""
    if isinstance(value, list):
        return [conform(item) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: conform(item) for key, item in value.items()}
    kind = result.get("object")
    if not isinstance(kind, str) or result.get("deleted") is True:
        return result
    for path, default in _DEFAULTS.get(kind, {}).items():
        _fill(result, result, path.split("."), default)
    for path in _OMITTED_WHEN_NULL.get(kind, ()):
        *parents, name = path.split(".")
        holder: Any = result
        for parent in parents:
            holder = holder.get(parent) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and name in holder and holder[name] is None:
            del holder[name]
    return result


def _fill(obj: JsonObject, holder: JsonObject, path: list[str], default: Default) -> None:
    head, *rest = path
    if rest:
        inner = holder.get(head)
        if isinstance(inner, dict):
            _fill(obj, inner, rest, default)
    elif head not in holder:
        holder[head] = default(obj) if callable(default) else _fresh(default)


def _fresh(default: Any) -> Any:
    # Each answer gets its own lists and dicts, never ones shared across objects.
    return copy.deepcopy(default)
