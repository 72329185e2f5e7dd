"""DynamoDB's item-size and request-unit rules as bench.capacity applies them, checked against
the worked examples of DynamoDB's documentation (Developer Guide: "DynamoDB read and write
operations", "DynamoDB item sizes and formats"; the on-demand and provisioned pricing pages)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from bench.capacity import (
    Index,
    Meter,
    batch_read_units,
    index_writes,
    item_size,
    number_size,
    read_units,
    table_from_template,
    write_units,
)

KB = 1024


def test_reads_round_each_item_up_to_4_kb_and_halve_or_double_by_consistency() -> None:
    # A 3,500-byte item costs what a 4 KB one does.
    assert read_units(3500, "strong") == 1
    # An 8 KB item: two units strongly consistent, one eventually, four transactional.
    assert read_units(8 * KB, "strong") == 2
    assert read_units(8 * KB, "eventual") == 1
    assert read_units(8 * KB, "transactional") == 4
    # A 10 KB item is read as 12 KB; up to 4 KB eventually consistent is half a unit.
    assert read_units(10 * KB, "strong") == 3
    assert read_units(100, "eventual") == Fraction(1, 2)
    # Reading nothing still costs the minimum.
    assert read_units(0, "strong") == 1


def test_batch_get_rounds_each_item_before_adding_but_a_query_rounds_the_sum() -> None:
    # BatchGetItem of 1.5 KB and 6.5 KB items: 4 KB + 8 KB = 12 KB, not 8 KB.
    assert batch_read_units([1536, 6656], "strong") == 3
    # A Query adds the items it returns first, then rounds up once.
    assert read_units(1536 + 6656, "strong") == 2


def test_writes_round_up_to_1_kb_and_a_transaction_doubles_each_rounded_item() -> None:
    # 1 KB: one unit; 3 KB: three; a transactional 3 KB write: six.
    assert write_units(KB) == 1
    assert write_units(3 * KB) == 3
    assert write_units(3 * KB, transactional=True) == 6
    # Rounding is per item, before the doubling: 1.5 KB in a transaction is 2 x 2, not 3.
    assert write_units(1536, transactional=True) == 4
    assert write_units(1) == 1


def test_item_size_counts_names_and_values_by_type() -> None:
    # Strings: UTF-8 bytes of name and value (é is two bytes).
    assert item_size({"PK": {"S": "CUS#é"}}) == 2 + 6
    # Numbers: one byte per two significant digits, plus one; zeros at either end trimmed.
    assert number_size("123.45") == 4
    assert number_size("0.0100") == 2
    assert number_size("1000") == 2
    assert number_size("-7") == 2
    assert item_size({"n": {"N": "123.45"}}) == 1 + 4
    # Null and booleans: one byte.
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 2 + 1 + 2 + 1
    # Binary: the raw bytes.
    assert item_size({"b": {"B": b"\x00\x01\x02"}}) == 1 + 3
    # A list or map: 3 bytes, plus one per element, plus the elements (map keys count).
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "5"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"m": {"M": {}}}) == 1 + 3
    # Sets: their elements.
    assert item_size({"s": {"SS": ["a", "bc"]}}) == 1 + 3


def test_index_writes_follow_the_entry_in_and_out_of_a_sparse_index() -> None:
    keys = ("PK", "SK")
    keys_only = Index("GSI2", "GSI2PK", "GSI2SK", "KEYS_ONLY")
    everything = Index("GSI1", "GSI1PK", "GSI1SK", "ALL")
    grant = {
        "PK": {"S": "CUS#u"},
        "SK": {"S": "GRANT#m#1"},
        "GSI2PK": {"S": "HOLDS#m"},
        "GSI2SK": {"S": "CUS#u"},
        "balance": {"N": "10"},
    }
    used = {**grant, "balance": {"N": "9"}}
    # An item without the index's keys costs the index nothing.
    assert index_writes(None, {"PK": {"S": "x"}, "SK": {"S": "y"}}, keys_only, keys) == 0
    # A new entry: one write; a deleted one: one write.
    assert index_writes(None, grant, keys_only, keys) == 1
    assert index_writes(grant, None, keys_only, keys) == 1
    # An update that leaves a keys-only entry as it is: nothing; under ALL it rewrites it.
    assert index_writes(grant, used, keys_only, keys) == 0
    profile = {**grant, "GSI1PK": {"S": "CUSTOMERS"}, "GSI1SK": {"S": "001"}}
    assert index_writes(profile, {**profile, "balance": {"N": "9"}}, everything, keys) == 1
    # A changed index key: the old entry deleted and the new one put, two writes.
    moved = {**grant, "GSI2SK": {"S": "CUS#v"}}
    assert index_writes(grant, moved, keys_only, keys) == 2


def test_the_table_model_is_read_from_the_template() -> None:
    table = table_from_template()
    assert table.keys == ("PK", "SK")
    assert {(i.name, i.hash_key, i.range_key, i.projection) for i in table.indexes} == {
        ("GSI1", "GSI1PK", "GSI1SK", "ALL"),
        ("GSI2", "GSI2PK", "GSI2SK", "KEYS_ONLY"),
    }


class _Model:
    def __init__(self, name: str) -> None:
        self.name = name


class _Images:
    """Stands in for the unhooked client: answers GetItem from a dict the test changes."""

    def __init__(self, items: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.items = items

    def get_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803
        found = self.items.get((Key["PK"]["S"], Key["SK"]["S"]))
        return {"Item": found} if found else {}


def _filled(pk: str, sk: str, size: int) -> dict[str, Any]:
    base = {"PK": {"S": pk}, "SK": {"S": sk}}
    pad = size - item_size(base) - len("pad")
    return {**base, "pad": {"S": "x" * pad}}


def test_a_transaction_is_charged_per_item_with_updates_at_their_larger_image() -> None:
    grant = ("CUS#u", "GRANT#m#1")
    profile = ("CUS#u", "PROFILE")
    images = _Images({grant: _filled(*grant, 1500), profile: _filled(*profile, 5000)})
    meter = Meter(table=table_from_template(), peek=images)
    event = _filled("EVT#c#202612", "000#evt_1", 900)
    params = {
        "TransactItems": [
            {
                "ConditionCheck": {
                    "TableName": "t",
                    "Key": {"PK": {"S": profile[0]}, "SK": {"S": profile[1]}},
                }
            },
            {"Update": {"TableName": "t", "Key": {"PK": {"S": grant[0]}, "SK": {"S": grant[1]}}}},
            {"Put": {"TableName": "t", "Item": event}},
        ]
    }
    context: dict[str, Any] = {}
    model = _Model("TransactWriteItems")
    meter.remember_consistency(params, model, context)
    meter.before(params, model, context)
    # The update leaves the grant larger: 1,500 bytes before, 2,100 after.
    images.items[grant] = _filled(*grant, 2100)
    meter.after({}, model, context)
    units = meter.by_operation["TransactWriteItems"]
    # Condition check of a 5,000-byte item: 8 KB transactional, 4 read units. The update:
    # 2,100 bytes (the larger image) is 3 KB, twice: 6. The put: 900 bytes, twice: 2.
    assert units.read == 4
    assert units.write == 8
    assert units.index_write == 0
    assert units.calls == 1
    assert meter.by_partition["CUS#u"].read == 4
    assert meter.by_partition["EVT#c#202612"].write == 2


def test_a_query_is_charged_on_the_sum_of_what_it_returned() -> None:
    meter = Meter(table=table_from_template(), peek=_Images({}))
    model = _Model("Query")
    context: dict[str, Any] = {}
    meter.remember_consistency({"ConsistentRead": False}, model, context)
    meter.before({}, model, context)
    items = [_filled("CUS#u", f"GRANT#{n}", 3000) for n in range(3)]
    meter.after({"Items": items}, model, context)
    # 9,000 bytes: 12 KB, three units, halved for an eventually consistent read.
    assert meter.total.read == Fraction(3, 2)
