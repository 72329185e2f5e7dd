"""The shared wire types that keep careless input out of the store."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from billing import clock
from billing.api.wire.common import (
    MOST_JSON_BYTES,
    EpochMs,
    EventTime,
    JsonObject,
    json_depth,
)
from billing.clock import EARLIEST_EVENT_MS, LAST_MS

json_object = TypeAdapter(JsonObject)
event_time = TypeAdapter(EventTime)
epoch_ms = TypeAdapter(EpochMs)


def nested(depth: int) -> dict[str, Any]:
    """An object `depth` levels deep (a flat object is 1)."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_depth_counts_objects_and_arrays_but_not_scalars() -> None:
    assert json_depth(1) == 0
    assert json_depth({}) == 1
    assert json_depth({"a": [{"b": 1}]}) == 3
    assert json_depth(nested(300)) == 300


def test_an_object_32_levels_deep_is_accepted() -> None:
    assert json_object.validate_python(nested(32)) == nested(32)


@pytest.mark.parametrize("depth", [33, 300])
def test_an_object_deeper_than_32_levels_is_refused(depth: int) -> None:
    with pytest.raises(ValidationError, match="32 levels"):
        json_object.validate_python(nested(depth))


def test_an_object_larger_than_16_kb_as_json_is_refused() -> None:
    big = {"blob": "x" * MOST_JSON_BYTES}

    with pytest.raises(ValidationError, match="bytes as JSON"):
        json_object.validate_python(big)


def test_an_object_of_exactly_16_kb_is_accepted() -> None:
    filler = "x" * (MOST_JSON_BYTES - len(json.dumps({"blob": ""}, separators=(",", ":"))))

    assert json_object.validate_python({"blob": filler})["blob"] == filler


def test_an_event_time_from_now_or_the_past_since_2000_is_accepted() -> None:
    now = clock.now_ms()

    assert event_time.validate_python(now) == now
    assert event_time.validate_python(EARLIEST_EVENT_MS) == EARLIEST_EVENT_MS
    assert event_time.validate_python(float(now)) == now


@pytest.mark.parametrize(
    "moment",
    [0, EARLIEST_EVENT_MS - 1, "two_days_ahead", LAST_MS + 1, 253_402_300_800_000, 10**15],
)
def test_an_event_time_before_2000_or_over_a_day_ahead_is_refused(moment: int | str) -> None:
    value = clock.now_ms() + 2 * 86_400_000 if moment == "two_days_ahead" else moment

    with pytest.raises(ValidationError):
        event_time.validate_python(value)


def test_an_epoch_ms_past_year_9999_is_refused() -> None:
    assert epoch_ms.validate_python(LAST_MS) == LAST_MS
    with pytest.raises(ValidationError):
        epoch_ms.validate_python(LAST_MS + 1)
