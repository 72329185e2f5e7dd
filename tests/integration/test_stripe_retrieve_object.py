"""StripeGateway.retrieve_object: how a webhook handler re-reads what an event is about,
as Stripe (here the emulator, over HTTP, through the stripe SDK) has it now."""

from __future__ import annotations

import pytest

from billing.stripe_api import get_gateway
from local.stack import LocalStack
from tests.conftest import stripe_client


def test_the_object_is_read_from_stripe_not_from_the_event(clean_stack: LocalStack):
    created = stripe_client(clean_stack).v1.customers.create({"email": "ada@example.com"})
    stripe_client(clean_stack).v1.customers.update(created.id, {"email": "ada@new.example"})

    found = get_gateway().retrieve_object("customer", created.id)

    assert found is not None
    assert (found["id"], found["object"], found["email"]) == (
        created.id,
        "customer",
        "ada@new.example",
    )


def test_an_object_stripe_does_not_have_is_none(clean_stack: LocalStack):
    deleted = stripe_client(clean_stack).v1.customers.create({})
    stripe_client(clean_stack).v1.customers.delete(deleted.id)

    assert get_gateway().retrieve_object("customer", "cus_nobody") is None
    assert get_gateway().retrieve_object("customer", deleted.id) is None


def test_an_object_type_the_gateway_cannot_read_is_a_programming_error(clean_stack: LocalStack):
    with pytest.raises(ValueError, match="cannot retrieve a Stripe balance"):
        get_gateway().retrieve_object("balance", "bal_1")
