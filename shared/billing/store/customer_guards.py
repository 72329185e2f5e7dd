"""The guard items that make a customer's email (id-less customers) and Stripe customer
unique: each is claimed in the very transaction that creates or changes the profile, and a
failed claim names which one was taken."""

from __future__ import annotations

from billing.domain.customers import Customer, normalized_email
from billing.domain.errors import BillingInProgress, StripeCustomerTaken, UnclaimedEmailTaken
from billing.store import keys
from billing.store.table import Item, client, from_item, table_name, to_item, translated_errors
from billing.store.writes import Write


def load_unclaimed_pk(email: str) -> str | None:
    """The partition of the id-less customer holding this email, if any."""
    with translated_errors():
        guard = (
            client()
            .get_item(
                TableName=table_name(),
                Key=_key(keys.email_guard_pk(normalized_email(email)), keys.EMAIL_GUARD_SK),
                ConsistentRead=True,
            )
            .get("Item")
        )
    if guard is None:
        return None
    return keys.customer_pk(None, from_item(guard)["internal_id"])


def linked_pk(stripe_id: str) -> str | None:
    """The partition of the customer linked to this Stripe customer, if any."""
    with translated_errors():
        found = client().get_item(
            TableName=table_name(),
            Key=_key(keys.stripe_customer_pk(stripe_id), keys.STRIPE_LINK_SK),
            ConsistentRead=True,
        )
    item = found.get("Item")
    return None if item is None else str(item["customer_pk"]["S"])


def claim_email(customer: Customer) -> Write:
    assert customer.email is not None
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": to_item(
                {
                    "PK": keys.email_guard_pk(normalized_email(customer.email)),
                    "SK": keys.EMAIL_GUARD_SK,
                    "entity": "email_guard",
                    "internal_id": customer.internal_id,
                }
            ),
            "ConditionExpression": "attribute_not_exists(PK)",
        },
        on_condition_failed=UnclaimedEmailTaken,
    )


def release_email(customer: Customer) -> Write:
    assert customer.email is not None
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": _key(keys.email_guard_pk(normalized_email(customer.email)), keys.EMAIL_GUARD_SK),
            "ConditionExpression": "internal_id = :iid",
            "ExpressionAttributeValues": {":iid": {"S": customer.internal_id}},
        },
        on_condition_failed=BillingInProgress,
    )


def claim_stripe_customer(stripe_id: str, customer_pk: str) -> Write:
    return Write(
        "Put",
        {
            "TableName": table_name(),
            "Item": to_item(
                {
                    "PK": keys.stripe_customer_pk(stripe_id),
                    "SK": keys.STRIPE_LINK_SK,
                    "entity": "stripe_customer_link",
                    "customer_pk": customer_pk,
                }
            ),
            # Re-linking to the same customer is fine; taking another's is not.
            "ConditionExpression": "attribute_not_exists(PK) OR customer_pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk}},
        },
        on_condition_failed=StripeCustomerTaken,
    )


def release_stripe_customer(stripe_id: str, customer_pk: str) -> Write:
    return Write(
        "Delete",
        {
            "TableName": table_name(),
            "Key": _key(keys.stripe_customer_pk(stripe_id), keys.STRIPE_LINK_SK),
            "ConditionExpression": "customer_pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk}},
        },
        on_condition_failed=BillingInProgress,
    )


def relink_stripe_customer(stripe_id: str, old_pk: str, new_pk: str) -> Write:
    return Write(
        "Update",
        {
            "TableName": table_name(),
            "Key": _key(keys.stripe_customer_pk(stripe_id), keys.STRIPE_LINK_SK),
            "UpdateExpression": "SET customer_pk = :new",
            "ConditionExpression": "customer_pk = :old",
            "ExpressionAttributeValues": {":old": {"S": old_pk}, ":new": {"S": new_pk}},
        },
        on_condition_failed=BillingInProgress,
    )


def _key(pk: str, sk: str) -> Item:
    return {"PK": {"S": pk}, "SK": {"S": sk}}
