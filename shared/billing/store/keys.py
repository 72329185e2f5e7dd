"""Every key of the single table is built here, and nowhere else.

A key joins its parts with `#`. Each id inside a key is escaped as URLs escape (`%` as `%25`,
`#` as `%23`), so `#` only ever separates parts and no two distinct ids make one key: feature
`fa` with balance `1#z` and feature `fa#1` with balance `z` are two grants. Ids without
either character read as they are, and a prefix ending in `#` (`GRANT#<feature>#`) still
selects exactly that id's items.
"""

from __future__ import annotations

from datetime import UTC, datetime

PROFILE = "PROFILE"
SUBSCRIPTION = "SUB#"
GRANT = "GRANT#"
FLAG = "FLAG#"
CUSTOMERS_INDEX_PK = "CUSTOMERS"
CATALOG_PK = "CATALOG"
FEATURE = "FEATURE#"
IDEMPOTENCY_SK = "IDEM"
STRIPE_EVENT_SK = "EVENT"
STRIPE_TIMELINE_SK = "TIMELINE"
# In a customer's partition: the earliest month its usage events are in.
EVENTS_SINCE = "EVENTS"
# In a customer's partition: a change written in stages that readers now see (holdings).
REVEALED = "REVEALED#"
# The billing audit's last report and the progress of a run cut short (store.audits).
AUDIT_PK = "AUDIT"
# The application's webhook endpoints: one partition (a deployment is one environment).
APP_WEBHOOKS_PK = "APP_WEBHOOKS"
APP_WEBHOOK = "WEBHOOK#"
# The sort keys of single-item partitions (the partition key names the thing).
EMAIL_GUARD_SK = "ANON"
STRIPE_LINK_SK = "LINK"
TRIAL_USED_SK = "TRIAL"
SCHEDULED_SWITCH_SK = "SWITCH"
CARD_SETUP_SK = "SETUP"
STACK_REQUEST_SK = "STACK"
BILLING_LOCK_SK = "LOCK"
PERIOD_CLOSE_SK = "CLOSE"
AUDIT_LAST_SK = "LAST"
AUDIT_PROGRESS_SK = "PROGRESS"


def part(value: str) -> str:
    """One id as a part of a key: `%` and `#` escaped, everything else as it is."""
    return value.replace("%", "%25").replace("#", "%23")


def unescaped(value: str) -> str:
    """The id a key part was made from (the inverse of `part`)."""
    return value.replace("%23", "#").replace("%25", "%")


def customer_pk(customer_id: str | None, internal_id: str) -> str:
    """Customers live under the application's id; an id-less customer under its internal id."""
    if customer_id is None:
        return f"ANON#{part(internal_id)}"
    return f"CUS#{part(customer_id)}"


def customer_id_of_pk(pk: str) -> str | None:
    """The application's id of the customer under this pk; None for an id-less customer."""
    return unescaped(pk.removeprefix("CUS#")) if pk.startswith("CUS#") else None


def email_guard_pk(normalized_email: str) -> str:
    """One id-less customer per email: the guard that makes claims and creation exclusive."""
    return f"EMAIL#{part(normalized_email)}"


def stripe_customer_pk(stripe_id: str) -> str:
    """One customer per Stripe customer."""
    return f"STRIPE_CUS#{part(stripe_id)}"


def purchase_pk(purchase_key: str) -> str:
    """Every attempt at one purchase (what one customer buys: slot, plan, version)."""
    return f"PURCHASE#{part(purchase_key)}"


def purchase_attempt_sk(attempt: int) -> str:
    """One attempt of a purchase; zero-padded, so the latest sorts last."""
    return f"ATTEMPT#{attempt:08d}"


PURCHASE_ATTEMPT = "ATTEMPT#"


def trial_used_pk(internal_id: str, plan_id: str) -> str:
    """The customer had the plan's own free trial once: it is not given again."""
    return f"TRIAL#{part(internal_id)}#{part(plan_id)}"


def scheduled_switch_pk(stripe_subscription_id: str) -> str:
    """The purchase a Stripe subscription switches to at its period end (a downgrade)."""
    return f"SWITCH#{part(stripe_subscription_id)}"


def card_setup_pk(setup_id: str) -> str:
    """The plan to attach once a card setup (billing.setup_payment) saved the card."""
    return f"SETUP#{part(setup_id)}"


def stack_request_pk(internal_id: str, request_key: str) -> str:
    """The quantity an attach that stacks an add-on asked Stripe for, under its
    Idempotency-Key."""
    return f"STACK#{part(internal_id)}#{part(request_key)}"


def billing_lock_pk(customer_id: str) -> str:
    """One billing change (attach, update) at a time per customer: a lease, not a partition
    that `check` reads."""
    return f"BILLING_LOCK#{part(customer_id)}"


def stripe_event_pk(event_id: str) -> str:
    """One item per Stripe event id: its claim, outcome and raw body."""
    return f"STRIPE_EVT#{part(event_id)}"


def stripe_timeline_pk(object_id: str) -> str:
    """How far a Stripe object's own timeline has been applied here (the order guard: a
    position, and a subscription sync's mark)."""
    return f"STRIPE_OBJ#{part(object_id)}"


def period_close_pk(stripe_subscription_id: str, period_end_s: int) -> str:
    """One billing period of a Stripe subscription, closed once: what it billed in arrears."""
    return f"PERIOD_CLOSE#{part(stripe_subscription_id)}#{period_end_s}"


def invoices_pk(owner: str) -> str:
    """A customer's Stripe invoices, out of the partition that `check` reads."""
    return f"INVOICES#{part(owner)}"


def invoice_sk(created_ms: int, invoice_id: str) -> str:
    return f"{created_ms:015d}#{part(invoice_id)}"


DASHBOARD_SESSION = "SESSION"
DASHBOARD_SIGN_IN = "SIGN_IN"


def dashboard_sign_in_pk(source: str) -> str:
    return f"DASH_SIGN_IN#{part(source)}"


def dashboard_session_pk(nonce: str) -> str:
    return f"DASH_SESSION#{part(nonce)}"


def idempotency_pk(key: str) -> str:
    return f"IDEM#{part(key)}"


def customers_index_sk(created_at: int, internal_id: str) -> str:
    # Zero-padded so the string order of the index is the creation order.
    return f"{created_at:015d}#{part(internal_id)}"


def customers_index_range(created_from: int, created_to: int) -> tuple[str, str]:
    """The lowest and highest index sort keys of customers created from `created_from` to
    `created_to` (ms), both included (`~` sorts after any escaped internal id)."""
    return f"{created_from:015d}", f"{created_to:015d}#~"


def subscription_sk(plan_id: str, subscription_id: str) -> str:
    return f"{SUBSCRIPTION}{part(plan_id)}#{part(subscription_id)}"


def grant_sk(feature_id: str, grant_id: str) -> str:
    return f"{GRANT}{part(feature_id)}#{part(grant_id)}"


def flag_sk(feature_id: str, flag_id: str) -> str:
    return f"{FLAG}{part(feature_id)}#{part(flag_id)}"


def revealed_sk(change_id: str) -> str:
    return f"{REVEALED}{part(change_id)}"


def feature_holder_pk(feature_id: str) -> str:
    """The sparse index (GSI2) of who holds a feature: every grant and flag item carries it."""
    return f"HOLDS#{part(feature_id)}"


def feature_sk(feature_id: str) -> str:
    return f"{FEATURE}{part(feature_id)}"


def plan_sk(plan_id: str, version: int) -> str:
    # Zero-padded so that a plan's versions sort in order under one prefix.
    return f"PLAN#{part(plan_id)}#V#{version:06d}"


def event_pk(owner: str, timestamp_ms: int) -> str:
    """Events of one customer, one month to a partition: never the customer's own partition,
    which every check reads. Under its internal id (`owner`): a rename keeps them, and a
    customer re-created under a deleted one's id starts with none."""
    return f"{events_prefix(owner)}{event_month(timestamp_ms)}"


def event_month(timestamp_ms: int) -> str:
    """The month (yyyymm, UTC) whose partition holds an event of this time."""
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%Y%m")


def event_month_pk(owner: str, year: int, month: int) -> str:
    return f"{events_prefix(owner)}{year:04d}{month:02d}"


def events_prefix(owner: str) -> str:
    """What every one of the customer's event partitions starts with."""
    return f"EVT#{part(owner)}#"


def event_sk(timestamp_ms: int, event_id: str) -> str:
    # Zero-padded so that a partition's events sort by time.
    return f"{timestamp_ms:015d}#{part(event_id)}"


def event_sk_range(start_ms: int, end_ms: int) -> tuple[str, str]:
    """The lowest and highest sort keys of events from `start_ms` to `end_ms`, both included
    (event ids are ours, `evt_` and hex: `~` sorts after them)."""
    return f"{start_ms:015d}", f"{end_ms:015d}#~"


def applied_pk(owner: str) -> str:
    """Where the usage worker remembers which queued uses of a customer (by internal id)
    it applied."""
    return f"APPLIED#{part(owner)}"


def applied_sk(queue_second: int) -> str:
    # 13 digits: never the 12-digit queue minute an applied-ids item was once kept under.
    return f"{queue_second:013d}"


def app_webhook_sk(webhook_id: str) -> str:
    return f"{APP_WEBHOOK}{part(webhook_id)}"


def app_delivery_pk(message_id: str) -> str:
    """What became of one application event: an item per endpoint it reached."""
    return f"APP_EVENT#{part(message_id)}"


def app_delivery_sk(webhook_id: str) -> str:
    return f"DELIVERED#{part(webhook_id)}"


# The application events' outbox: each event kept until SQS took it (store.outbox). One
# partition: an event is two writes (kept, removed), so it takes 500 events a second, far
# more than plan changes and limits reached make.
OUTBOX_PK = "OUTBOX"


def outbox_sk(kept_at_ms: int, message_id: str) -> str:
    # Zero-padded so the oldest sort first.
    return f"{kept_at_ms:015d}#{part(message_id)}"


def outbox_sk_before(kept_at_ms: int) -> str:
    """Every outbox sort key of an event kept before `kept_at_ms` sorts below this one."""
    return f"{kept_at_ms:015d}"
