"""invoices.list with filters over many stored invoices, and a deleted customer's invoices
removed by the purge: the invoices are kept as the invoice.* webhooks keep them
(`store.invoices.put`), many more than a Stripe round trip per invoice would allow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.conftest import table_items

T0 = 1_790_000_000_000
STATUSES = ("paid", "open", "void", "open", "paid", "uncollectible", "void")


def kept_invoices(customer_id: str, count: int) -> list[dict[str, Any]]:
    """`count` invoices of mixed status for the customer, an hour apart; as invoices.list
    shows them, newest first."""
    from billing.store import customers, invoices
    from billing.store.invoices import InvoiceRecord

    customer = customers.load(customer_id)
    assert customer is not None
    kept = []
    for n in range(count):
        record = InvoiceRecord(
            stripe_id=f"in_{n:04d}",
            customer_id=customer_id,
            status=STATUSES[n % len(STATUSES)],
            total=Decimal("20.50"),
            currency="usd",
            hosted_invoice_url=None,
            created_at=T0 + n * 3_600_000,
            plan_ids=("pro",),
        )
        assert invoices.put(customer.internal_id, record)
        kept.append({"stripe_id": record.stripe_id, "status": record.status})
    return kept[::-1]


def all_pages(api: httpx.Client, body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        answer = api.post("/v1/invoices.list", json={**body, "start_cursor": cursor})
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["list"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages


@pytest.fixture
def customer(api: httpx.Client) -> str:
    assert api.post("/v1/customers.get_or_create", json={"customer_id": "u"}).status_code == 200
    return "u"


def invoice_items(stack: LocalStack) -> list[dict[str, Any]]:
    return [i for i in table_items(stack) if i["PK"]["S"].startswith("INVOICES#")]


@pytest.mark.parametrize("status", ["paid", "uncollectible"])
def test_a_status_filter_fills_every_page_and_the_pages_hold_each_match_once_in_order(
    api: httpx.Client, customer: str, status: str
) -> None:
    kept = kept_invoices(customer, 45)
    matching = [i["stripe_id"] for i in kept if i["status"] == status]

    pages = all_pages(api, {"customer_id": customer, "status": [status], "limit": 3})

    assert [len(p) for p in pages[:-1]] == [3] * (len(pages) - 1)
    assert 1 <= len(pages[-1]) <= 3, "a cursor is given only when more invoices match"
    assert [i["stripe_id"] for p in pages for i in p] == matching
    assert {i["status"] for p in pages for i in p} == {status}


def test_several_statuses_are_listed_together_in_full_pages(
    api: httpx.Client, customer: str
) -> None:
    kept = kept_invoices(customer, 30)
    wanted = {"void", "uncollectible"}

    pages = all_pages(api, {"customer_id": customer, "status": sorted(wanted), "limit": 4})

    assert [len(p) for p in pages[:-1]] == [4] * (len(pages) - 1)
    assert [i["stripe_id"] for p in pages for i in p] == [
        i["stripe_id"] for i in kept if i["status"] in wanted
    ]


def test_an_invoice_asked_for_by_its_stripe_id_is_found_past_the_first_page(
    api: httpx.Client, customer: str
) -> None:
    kept_invoices(customer, 40)

    answer = api.post(
        "/v1/invoices.list", json={"customer_id": customer, "stripe_id": "in_0002", "limit": 5}
    ).json()

    assert [i["stripe_id"] for i in answer["list"]] == ["in_0002"]
    assert answer["next_cursor"] is None


def test_only_stripe_invoices_are_kept_so_asking_for_another_processors_lists_none(
    api: httpx.Client, customer: str
) -> None:
    kept_invoices(customer, 3)

    def listed(processors: list[str]) -> list[str]:
        body = {"customer_id": customer, "processor_types": processors}
        answer = api.post("/v1/invoices.list", json=body)
        assert answer.status_code == 200, answer.text
        return [i["processor_type"] for i in answer.json()["list"]]

    assert listed(["revenuecat"]) == []
    assert listed(["stripe", "revenuecat"]) == ["stripe"] * 3


def test_invoices_of_an_entity_are_refused_as_entities_are_everywhere(
    api: httpx.Client, customer: str
) -> None:
    answer = api.post("/v1/invoices.list", json={"customer_id": customer, "entity_id": "seat_1"})

    assert answer.status_code == 400
    assert answer.json()["details"] == [{"field": "entity_id", "message": "not supported yet"}]


def test_an_unfiltered_list_that_ends_with_a_full_page_gives_no_cursor(
    api: httpx.Client, customer: str
) -> None:
    kept = kept_invoices(customer, 6)

    pages = all_pages(api, {"customer_id": customer, "limit": 3})

    assert [[i["stripe_id"] for i in p] for p in pages] == [
        [i["stripe_id"] for i in kept[:3]],
        [i["stripe_id"] for i in kept[3:]],
    ]


def test_a_filter_few_invoices_pass_stops_at_the_read_cap_with_a_cursor_that_goes_on(
    api: httpx.Client, customer: str
) -> None:
    from billing.store import customers, invoices

    kept = kept_invoices(customer, 40)
    owner = customers.load(customer)
    assert owner is not None
    matching = [i["stripe_id"] for i in kept if i["status"] == "uncollectible"]

    pages, cursor = [], None
    while True:
        found, cursor = invoices.page(
            owner.internal_id,
            2,
            cursor,
            keep=lambda record: record.status == "uncollectible",
            most_read=4,
        )
        pages.append([r.stripe_id for r in found])
        if cursor is None:
            break

    assert len(pages) >= 40 // 4, "no call reads more than the cap"
    assert [] in pages, "a call that read its cap without a match answers empty, with a cursor"
    assert [s for p in pages for s in p] == matching


def test_a_cursor_of_another_customers_invoices_is_refused(
    api: httpx.Client, customer: str
) -> None:
    kept_invoices(customer, 4)
    cursor = api.post("/v1/invoices.list", json={"customer_id": customer, "limit": 1}).json()[
        "next_cursor"
    ]
    api.post("/v1/customers.get_or_create", json={"customer_id": "other"})

    answer = api.post(
        "/v1/invoices.list", json={"customer_id": "other", "limit": 1, "start_cursor": cursor}
    )

    assert answer.status_code == 400
    assert answer.json()["details"][0]["field"] == "start_cursor"


def test_a_deleted_customers_invoices_are_purged_and_a_new_one_under_its_id_sees_none(
    api: httpx.Client, clean_stack: LocalStack, customer: str
) -> None:
    from billing.store import customers

    gone = customers.load(customer)
    assert gone is not None
    kept_invoices(customer, 12)

    deleted = api.post("/v1/customers.delete", json={"customer_id": customer})
    clean_stack.drain_queues()
    api.post("/v1/customers.get_or_create", json={"customer_id": customer})
    listed = api.post("/v1/invoices.list", json={"customer_id": customer}).json()
    embedded = api.post(
        "/v1/customers.get", json={"customer_id": customer, "expand": ["invoices"]}
    ).json()["invoices"]

    assert deleted.status_code == 200, deleted.text
    assert gone.events_since is None, "purged though it never used anything"
    assert [i for i in invoice_items(clean_stack) if gone.internal_id in i["PK"]["S"]] == []
    assert listed == {"list": [], "next_cursor": None}
    assert embedded == []


def test_a_purge_short_of_time_resumes_at_the_invoices_and_a_repeat_is_harmless(
    api: httpx.Client, clean_stack: LocalStack, customer: str
) -> None:
    from billing import clock
    from billing.purge_queue import PurgeRequest
    from billing.services.customers.purge import purge
    from billing.store import customers, events

    api.post(
        "/v1/features.create",
        json={"feature_id": "messages", "name": "Messages", "type": "metered"},
    )
    api.post(
        "/v1/balances.create",
        json={"customer_id": customer, "feature_id": "messages", "included_grant": 10},
    )
    tracked = api.post(
        "/v1/balances.track",
        json={"customer_id": customer, "feature_id": "messages", "value": 1, "timestamp": T0},
    )
    assert tracked.status_code == 200, tracked.text
    kept_invoices(customer, 5)
    owner = customers.load(customer)
    assert owner is not None
    assert owner.events_since is not None
    # Written as a request queued before invoices were purged too: it still reads.
    request = PurgeRequest.model_validate_json(
        f'{{"owner": "{owner.internal_id}", "since": "{owner.events_since}"}}'
    )
    event_partitions = events.partitions_since(
        owner.internal_id, owner.events_since, clock.now_ms()
    )
    budget = iter([True] * len(event_partitions))  # the events' time, none for the invoices

    rest = purge(request, more_time=lambda: next(budget, False))
    events_left = [i for i in table_items(clean_stack) if i["PK"]["S"].startswith("EVT#")]
    invoices_left = invoice_items(clean_stack)
    finished = purge(rest, more_time=lambda: True) if rest is not None else "no rest"
    repeated = purge(request, more_time=lambda: True)

    assert rest is not None
    assert rest.resume_at is not None
    assert rest.resume_at.startswith("INVOICES#")
    assert events_left == []
    assert len(invoices_left) == 5, "what it had no time for waits for the next run"
    assert finished is None
    assert repeated is None, "a redelivered request finds nothing left and ends"
    assert invoice_items(clean_stack) == []


def test_invoices_made_in_the_same_second_come_newest_first_by_stripes_number(
    api: httpx.Client, customer: str
) -> None:
    """Under a frozen test clock every invoice has the same `created`: the draft (made last,
    not numbered yet) comes first, then the numbered ones by number, on every read."""
    from billing.store import customers, invoices
    from billing.store.invoices import InvoiceRecord

    owner = customers.load(customer)
    assert owner is not None
    # Ids sort the other way round from the order the invoices were made in.
    made = [("in_c", "ABCD-0001", "paid"), ("in_b", "ABCD-0002", "paid"), ("in_a", None, "draft")]
    for stripe_id, number, status in made:
        record = InvoiceRecord(
            stripe_id=stripe_id,
            customer_id=customer,
            status=status,
            total=Decimal(20),
            currency="usd",
            hosted_invoice_url=None,
            created_at=T0,
            plan_ids=("pro",),
            number=number,
        )
        assert invoices.put(owner.internal_id, record)
    older = InvoiceRecord("in_z", customer, "paid", Decimal(5), "usd", None, T0 - 1000, ())
    assert invoices.put(owner.internal_id, older)

    listed = api.post("/v1/invoices.list", json={"customer_id": customer}).json()["list"]
    embedded = api.post(
        "/v1/customers.get", json={"customer_id": customer, "expand": ["invoices"]}
    ).json()["invoices"]

    newest_first = ["in_a", "in_b", "in_c", "in_z"]
    assert [i["id"] for i in listed] == newest_first
    assert [i["stripe_id"] for i in embedded] == newest_first
