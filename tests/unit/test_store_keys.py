"""Keys of the single table: distinct ids never make one key, and prefixes still select."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from billing.store import keys

# Ids as callers may send them, leaning on the characters keys are built with.
ids = st.text(alphabet=st.sampled_from("ab#%2o3~é"), max_size=8) | st.text(max_size=12)


def test_the_reported_collision_makes_two_keys() -> None:
    assert keys.grant_sk("fa", "1#z") != keys.grant_sk("fa#1", "z")


def test_ordinary_ids_read_as_they_are() -> None:
    assert keys.grant_sk("messages", "grant_1") == "GRANT#messages#grant_1"
    assert keys.customer_pk("user_42", "cus_x") == "CUS#user_42"


@given(ids, ids, ids, ids)
def test_distinct_pairs_of_ids_give_distinct_keys(a: str, b: str, c: str, d: str) -> None:
    for two_part in (keys.grant_sk, keys.flag_sk, keys.subscription_sk):
        assert (two_part(a, b) == two_part(c, d)) == ((a, b) == (c, d))


@given(ids, ids)
def test_distinct_ids_give_distinct_single_id_keys(a: str, b: str) -> None:
    for one_part in (
        lambda i: keys.customer_pk(i, ""),
        lambda i: keys.customer_pk(None, i),
        keys.email_guard_pk,
        keys.stripe_customer_pk,
        keys.idempotency_pk,
        keys.feature_sk,
        lambda i: keys.plan_sk(i, 1),
        lambda i: keys.event_pk(i, 1_790_000_000_000),
        lambda i: keys.event_sk(1_790_000_000_000, i),
    ):
        assert (one_part(a) == one_part(b)) == (a == b)


@given(ids, ids, ids)
def test_a_features_prefix_selects_exactly_its_own_grants(
    feature: str, other: str, grant: str
) -> None:
    prefix = f"{keys.GRANT}{keys.part(feature)}#"

    assert keys.grant_sk(other, grant).startswith(prefix) == (other == feature)


@given(ids, ids)
def test_a_customers_event_prefix_never_covers_another_customers_events(a: str, b: str) -> None:
    assert keys.event_pk(b, 1_790_000_000_000).startswith(keys.events_prefix(a)) == (a == b)


def test_a_customers_and_an_id_less_customers_keys_never_meet() -> None:
    assert keys.customer_pk("ANON", "x") != keys.customer_pk(None, "x")


def test_plan_versions_sort_in_order_under_their_plan() -> None:
    versions = [keys.plan_sk("pro#1", v) for v in (1, 2, 10, 100)]

    assert versions == sorted(versions)
