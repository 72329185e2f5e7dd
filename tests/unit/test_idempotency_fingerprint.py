from __future__ import annotations

from billing.services.idempotency import fingerprint

ROUTE = "/v1/customers.get_or_create"
BODY = b'{"customer_id":"u1"}'


def test_the_same_route_and_body_give_the_same_fingerprint():
    assert fingerprint(ROUTE, BODY) == fingerprint(ROUTE, bytes(BODY))


def test_a_fingerprint_is_a_sha256_hex_digest():
    value = fingerprint(ROUTE, BODY)

    assert len(value) == 64
    assert set(value) <= set("0123456789abcdef")


def test_the_same_body_on_another_route_has_another_fingerprint():
    assert fingerprint(ROUTE, BODY) != fingerprint("/v1/customers.update", BODY)


def test_another_body_on_the_same_route_has_another_fingerprint():
    assert fingerprint(ROUTE, BODY) != fingerprint(ROUTE, b'{"customer_id":"u2"}')


def test_an_empty_body_has_a_fingerprint_of_its_own():
    assert fingerprint(ROUTE, b"") != fingerprint(ROUTE, b"{}")
