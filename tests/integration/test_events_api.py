"""events.list and events.aggregate over HTTP: what track recorded, listed and summed."""

from __future__ import annotations

import httpx
import pytest

DAY = 86_400_000
T0 = 1_790_000_000_000  # a fixed moment, so bins are predictable


@pytest.fixture
def tracked(api: httpx.Client) -> httpx.Client:
    api.post(
        "/v1/features.create",
        json={
            "feature_id": "messages",
            "name": "Messages",
            "type": "metered",
            "event_names": ["chat"],
        },
    )
    api.post(
        "/v1/features.create",
        json={"feature_id": "tokens", "name": "Tokens", "type": "metered", "event_names": ["chat"]},
    )
    api.post(
        "/v1/plans.create",
        json={
            "plan_id": "free",
            "name": "Free",
            "auto_enable": True,
            "items": [
                {"feature_id": "messages", "included": 1000},
                {"feature_id": "tokens", "included": 10**6},
            ],
        },
    )
    api.post("/v1/customers.get_or_create", json={"customer_id": "u"})
    uses = [
        (T0, "messages", 1, {"model": "small"}),
        (T0 + 1000, "messages", 2, {"model": "large"}),
        (T0 + DAY, "messages", 3, {"model": "small"}),
        (T0 + 40 * DAY, "tokens", 500, {"model": "large"}),
    ]
    for timestamp, feature_id, value, properties in uses:
        response = api.post(
            "/v1/balances.track",
            json={
                "customer_id": "u",
                "feature_id": feature_id,
                "value": value,
                "timestamp": timestamp,
                "properties": properties,
            },
        )
        assert response.status_code == 200
    return api


WHOLE = {"custom_range": {"start": T0 - DAY, "end": T0 + 60 * DAY}}


def test_events_are_listed_newest_first_across_months(tracked: httpx.Client) -> None:
    listed = tracked.post("/v1/events.list", json={"customer_id": "u", **WHOLE}).json()

    assert [e["value"] for e in listed["list"]] == [500, 3, 2, 1]
    assert listed["list"][0]["feature_id"] == "tokens"
    assert listed["list"][1]["properties"] == {"model": "small"}
    assert listed["list"][1]["deductions"][0]["value"] == 3
    assert listed["next_cursor"] is None


def test_pages_cover_every_event_once(tracked: httpx.Client) -> None:
    seen, cursor = [], None
    while True:
        page = tracked.post(
            "/v1/events.list",
            json={"customer_id": "u", "limit": 1, "start_cursor": cursor, **WHOLE},
        ).json()
        seen += [e["id"] for e in page["list"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == 4


def test_events_are_filtered_by_feature(tracked: httpx.Client) -> None:
    listed = tracked.post(
        "/v1/events.list", json={"customer_id": "u", "feature_id": "tokens", **WHOLE}
    ).json()

    assert [e["value"] for e in listed["list"]] == [500]


def test_aggregate_sums_per_day_and_in_total(tracked: httpx.Client) -> None:
    result = tracked.post(
        "/v1/events.aggregate",
        json={"customer_id": "u", "feature_id": ["messages", "tokens"], "bin_size": "day", **WHOLE},
    ).json()

    assert [b["values"]["messages"] for b in result["list"]] == [3, 3, 0]
    assert result["total"]["messages"] == {"count": 3, "sum": 6}
    assert result["total"]["tokens"] == {"count": 1, "sum": 500}


def test_aggregate_counts_by_a_property(tracked: httpx.Client) -> None:
    result = tracked.post(
        "/v1/events.aggregate",
        json={
            "customer_id": "u",
            "feature_id": "messages",
            "bin_size": "month",
            "measure": "count",
            "group_by": "properties.model",
            **WHOLE,
        },
    ).json()

    [month] = result["list"]
    assert month["values"] == {"messages": 3}
    assert month["grouped_values"] == {"messages": {"small": 2, "large": 1}}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/events.list", {}, "customer_id"),
        ("/v1/events.list", {"customer_id": "u", "range": "1bc"}, "range"),
        ("/v1/events.list", {"customer_id": "u", "start_cursor": "garbage"}, "start_cursor"),
        # Since 1970: one query per month would be 684 of them.
        ("/v1/events.list", {"customer_id": "u", "custom_range": {"start": 0}}, "custom_range"),
        (
            "/v1/events.aggregate",
            {"customer_id": "u", "feature_id": "messages", "custom_range": {"start": 0}},
            "custom_range",
        ),
        # Past year 9999: not a date at all.
        (
            "/v1/events.list",
            {"customer_id": "u", "custom_range": {"start": T0, "end": 253_402_300_800_000}},
            "custom_range.end",
        ),
        ("/v1/events.aggregate", {"customer_id": "u"}, "feature_id"),
        (
            "/v1/events.aggregate",
            {"customer_id": "u", "feature_id": "messages", "bin_size": "year"},
            "bin_size",
        ),
    ],
)
def test_bad_requests_are_400s(
    tracked: httpx.Client, path: str, body: dict[str, object], field: str
) -> None:
    response = tracked.post(path, json=body)

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field


def test_an_unknown_customer_is_a_404(tracked: httpx.Client) -> None:
    response = tracked.post("/v1/events.list", json={"customer_id": "ghost"})

    assert response.status_code == 404


def test_a_custom_range_of_a_whole_year_is_read(tracked: httpx.Client) -> None:
    year = {"custom_range": {"start": T0 - 300 * DAY, "end": T0 + 66 * DAY}}

    listed = tracked.post("/v1/events.list", json={"customer_id": "u", **year})

    assert listed.status_code == 200
    assert len(listed.json()["list"]) == 4
