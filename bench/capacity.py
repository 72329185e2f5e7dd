"""DynamoDB request units per operation, computed from DynamoDB's documented rules.

moto answers ReturnConsumedCapacity with constant figures, so the units are worked out here
from the real items: the hooks below watch every call the billing package's client makes,
size each item read or written by DynamoDB's item-size rules, and charge it by the unit
rules. Where a request does not carry an item's size (an update, a delete, a condition
check), a second client, not hooked, reads the item before the call and after it.

The rules (DynamoDB Developer Guide: "DynamoDB item sizes and formats", "DynamoDB read and
write operations", "Amazon DynamoDB Transactions: How it works", "Using Global Secondary
Indexes"):
- item size: attribute names (UTF-8) plus values; a string its UTF-8 bytes, a number about one
  byte per two significant digits plus one, binary its raw bytes, null and boolean one byte,
  a list or map 3 bytes plus one byte per element, sets the sum of their elements;
- reads: 4 KB per unit, rounded up per item (GetItem, BatchGetItem) or over the sum of the
  items returned (Query); an eventually consistent read is half; a read of nothing still
  costs the minimum;
- writes: 1 KB per unit, rounded up; an update or a replacing put is charged the larger of
  the item before and after; a delete the item deleted;
- transactions: every item costs twice its own rounded units (prepare and commit); a
  ConditionCheck is a transactional read of its item;
- global secondary indexes: a write to an item that carries (or carried) an index's keys also
  writes the index: one write when the entry appears, disappears or its projected attributes
  change, two when its index key changes; the entry is the projected attributes (the table's
  and index's keys for KEYS_ONLY, the whole item for ALL).

A call DynamoDB refuses (a failed condition, a cancelled transaction) is counted in `failed`
and not charged: the operations this models succeed in their common case.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
LIST_OR_MAP_OVERHEAD = 3
ELEMENT_OVERHEAD = 1

AttributeValue = Mapping[str, Any]
Item = Mapping[str, AttributeValue]


# --- item sizes --------------------------------------------------------------------------


def number_size(text: str) -> int:
    """A number's bytes: one per two significant digits, plus one (leading and trailing zeros
    and the sign, point and exponent do not count)."""
    mantissa = text.strip().lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(len(digits) / 2) + 1


def _raw_bytes(value: Any) -> int:
    return len(value) if isinstance(value, bytes | bytearray) else len(str(value).encode())


def value_size(value: AttributeValue) -> int:
    """The bytes of one attribute value, its name not counted."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return number_size(str(content))
    if kind == "B":
        return _raw_bytes(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(each).encode()) for each in content)
    if kind == "NS":
        return sum(number_size(str(each)) for each in content)
    if kind == "BS":
        return sum(_raw_bytes(each) for each in content)
    if kind == "L":
        return LIST_OR_MAP_OVERHEAD + sum(ELEMENT_OVERHEAD + value_size(e) for e in content)
    if kind == "M":
        return LIST_OR_MAP_OVERHEAD + sum(
            ELEMENT_OVERHEAD + len(name.encode()) + value_size(e) for name, e in content.items()
        )
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Item | None) -> int:
    """An item's size in bytes: each attribute's name and value."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


# --- units ---------------------------------------------------------------------------------


def read_units(size: int, consistency: str = "strong") -> Fraction:
    """Read units of reading `size` bytes (one item, or a Query's sum): 4 KB a unit, at least
    one; half when eventually consistent, twice when transactional."""
    units = Fraction(max(1, math.ceil(size / READ_UNIT_BYTES)))
    return {"eventual": units / 2, "strong": units, "transactional": units * 2}[consistency]


def batch_read_units(sizes: Sequence[int], consistency: str = "strong") -> Fraction:
    """BatchGetItem: each item rounded up to 4 KB on its own, then added."""
    return sum((read_units(s, consistency) for s in sizes), Fraction(0))


def write_units(size: int, transactional: bool = False) -> Fraction:
    """Write units of writing an item of `size` bytes: 1 KB a unit, at least one; a
    transactional write twice its own rounded units."""
    units = Fraction(max(1, math.ceil(size / WRITE_UNIT_BYTES)))
    return units * 2 if transactional else units


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None
    projection: str  # ALL or KEYS_ONLY (INCLUDE is not used by the table)

    def keys_of(self, item: Item | None) -> tuple[Any, ...] | None:
        """The item's index key, or None when the item is not in the (sparse) index."""
        if not item or self.hash_key not in item:
            return None
        if self.range_key is not None and self.range_key not in item:
            return None
        names = (self.hash_key, self.range_key) if self.range_key else (self.hash_key,)
        return tuple(repr(item[n]) for n in names if n is not None)

    def entry(self, item: Item, table_keys: Sequence[str]) -> dict[str, AttributeValue]:
        if self.projection == "ALL":
            return dict(item)
        names = {*table_keys, self.hash_key, *([self.range_key] if self.range_key else [])}
        return {n: v for n, v in item.items() if n in names}


def index_writes(
    old: Item | None, new: Item | None, index: Index, table_keys: Sequence[str]
) -> Fraction:
    """Write units a table write costs in one global secondary index."""
    before, after = index.keys_of(old), index.keys_of(new)
    if before is None and after is None:
        return Fraction(0)
    if before is None:
        assert new is not None
        return write_units(item_size(index.entry(new, table_keys)))
    if after is None:
        assert old is not None
        return write_units(item_size(index.entry(old, table_keys)))
    assert old is not None
    assert new is not None
    old_entry, new_entry = index.entry(old, table_keys), index.entry(new, table_keys)
    if before != after:
        return write_units(item_size(old_entry)) + write_units(item_size(new_entry))
    if old_entry != new_entry:
        return write_units(max(item_size(old_entry), item_size(new_entry)))
    return Fraction(0)


@dataclass(frozen=True)
class Table:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    def index_units(self, old: Item | None, new: Item | None) -> Fraction:
        return sum((index_writes(old, new, i, self.keys) for i in self.indexes), Fraction(0))


def table_from_template(path: Path = ROOT / "template.yaml") -> Table:
    """The billing table's keys and global secondary indexes, as template.yaml declares them."""

    class _Loader(yaml.SafeLoader):
        pass

    # CloudFormation's short forms (!Ref, !GetAtt, ...) read as plain values.
    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (SafeLoader subclass)
    properties = template["Resources"]["BillingTable"]["Properties"]

    def key_names(schema: list[dict[str, str]]) -> tuple[str, str | None]:
        by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
        return by_type["HASH"], by_type.get("RANGE")

    hash_key, range_key = key_names(properties["KeySchema"])
    indexes = []
    for gsi in properties.get("GlobalSecondaryIndexes", []):
        gsi_hash, gsi_range = key_names(gsi["KeySchema"])
        projection = gsi["Projection"]["ProjectionType"]
        if projection not in ("ALL", "KEYS_ONLY"):
            raise ValueError(f"projection {projection} is not modelled")
        indexes.append(Index(gsi["IndexName"], gsi_hash, gsi_range, projection))
    keys = (hash_key, *([range_key] if range_key else []))
    return Table(keys=keys, indexes=tuple(indexes))


# --- watching the billing client -----------------------------------------------------------


@dataclass
class Units:
    """Request units consumed, split into the table's own and its indexes' writes."""

    read: Fraction = Fraction(0)
    write: Fraction = Fraction(0)
    index_write: Fraction = Fraction(0)
    calls: int = 0

    @property
    def all_writes(self) -> Fraction:
        return self.write + self.index_write

    def __add__(self, other: Units) -> Units:
        return Units(
            self.read + other.read,
            self.write + other.write,
            self.index_write + other.index_write,
            self.calls + other.calls,
        )

    def per(self, count: int) -> Units:
        return Units(self.read / count, self.write / count, self.index_write / count, self.calls)


@dataclass
class Meter:
    """Units of every DynamoDB call made while it is active, by operation name."""

    table: Table
    peek: Any  # an unhooked client: reads images without being counted
    by_operation: dict[str, Units] = field(default_factory=dict)
    # Units by partition key value (the table's; index writes under "index <name>").
    by_partition: dict[str, Units] = field(default_factory=dict)
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> Units:
        return sum(self.by_operation.values(), Units())

    def _add(self, operation: str, parts: list[tuple[str, Units]]) -> None:
        with self._lock:
            total = sum((u for _, u in parts), Units(calls=1))
            self.by_operation[operation] = self.by_operation.get(operation, Units()) + total
            for partition, units in parts:
                self.by_partition[partition] = self.by_partition.get(partition, Units()) + units

    def _pk(self, item: Item | None) -> str:
        value = (item or {}).get(self.table.keys[0], {})
        return str(next(iter(value.values()), "?"))

    def _image(self, table_name: str, key: Item) -> dict[str, Any] | None:
        found = self.peek.get_item(TableName=table_name, Key=dict(key), ConsistentRead=True)
        item: dict[str, Any] | None = found.get("Item")
        return item

    # provide-client-params: before the call is sent. The images an update, delete or
    # condition check needs are read now, while the item is as the call finds it.
    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name = model.name
        if name in ("PutItem", "UpdateItem", "DeleteItem"):
            key = params["Item"] if name == "PutItem" else params["Key"]
            key = {k: key[k] for k in self.table.keys}
            context["bench_capacity"] = [(name, params, self._image(params["TableName"], key))]
        elif name == "TransactWriteItems":
            actions = []
            for action in params["TransactItems"]:
                ((kind, body),) = action.items()
                key = body["Item"] if kind == "Put" else body["Key"]
                key = {k: key[k] for k in self.table.keys}
                actions.append((kind, body, self._image(body["TableName"], key)))
            context["bench_capacity"] = actions
        elif name == "BatchWriteItem":
            actions = []
            for table_name, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        body = {"TableName": table_name, **request["PutRequest"]}
                        key = {k: body["Item"][k] for k in self.table.keys}
                        actions.append(("Put", body, self._image(table_name, key)))
                    else:
                        body = {"TableName": table_name, **request["DeleteRequest"]}
                        actions.append(("Delete", body, self._image(table_name, body["Key"])))
            context["bench_capacity"] = actions

    # after-call: the answer is parsed. Reads are charged by what came back; writes by the
    # images before and after.
    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name = model.name
        if "Error" in parsed:
            self.failed += 1
            return
        pending = context.pop("bench_capacity", None)
        consistency = "strong" if context.get("bench_consistent") else "eventual"
        parts: list[tuple[str, Units]] = []
        if name == "GetItem":
            read = read_units(item_size(parsed.get("Item")), consistency)
            parts.append((self._pk(context["bench_params"]["Key"]), Units(read=read)))
        elif name in ("Query", "Scan"):
            items = parsed.get("Items", [])
            size = sum(item_size(i) for i in items)
            pk = self._pk(items[0]) if items else "(nothing found)"
            parts.append((pk, Units(read=read_units(size, consistency))))
        elif name in ("BatchGetItem", "TransactGetItems"):
            if name == "BatchGetItem":
                found = [i for items in parsed["Responses"].values() for i in items]
            else:
                found = [r["Item"] for r in parsed.get("Responses", []) if r.get("Item")]
                consistency = "transactional"
            for item in found:
                parts.append((self._pk(item), Units(read=read_units(item_size(item), consistency))))
        elif pending is not None:
            transactional = name == "TransactWriteItems"
            for kind, body, old in pending:
                parts += self._write_units(kind, body, old, transactional)
        self._add(name, parts)

    def _write_units(
        self, kind: str, body: dict[str, Any], old: Item | None, transactional: bool
    ) -> list[tuple[str, Units]]:
        key = body["Item"] if kind in ("Put", "PutItem") else body["Key"]
        key = {k: key[k] for k in self.table.keys}
        pk = self._pk(key)
        if kind == "ConditionCheck":
            return [(pk, Units(read=read_units(item_size(old), "transactional")))]
        if kind in ("Put", "PutItem"):
            new: Item | None = body["Item"]
        elif kind in ("Delete", "DeleteItem"):
            new = None
        else:  # an update: read what it left
            new = self._image(body["TableName"], key)
        size = max(item_size(old), item_size(new))
        parts = [(pk, Units(write=write_units(size, transactional)))]
        for index in self.table.indexes:
            units = index_writes(old, new, index, self.table.keys)
            if units:
                image = new if index.keys_of(new) is not None else old
                label = f"{index.name} {self._index_pk(image, index)}"
                parts.append((label, Units(index_write=units)))
        return parts

    @staticmethod
    def _index_pk(item: Item | None, index: Index) -> str:
        value = (item or {}).get(index.hash_key, {})
        return str(next(iter(value.values()), "?"))

    def remember_consistency(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if model.name == "BatchGetItem":
            consistent = all(r.get("ConsistentRead") for r in params["RequestItems"].values())
        else:
            consistent = bool(params.get("ConsistentRead"))
        context["bench_consistent"] = consistent
        context["bench_params"] = params

    def summary(self) -> str:
        return ", ".join(f"{name} {u.calls}" for name, u in sorted(self.by_operation.items()))


@contextmanager
def metering(table: Table | None = None) -> Iterator[Meter]:
    """Charges every call the billing package's DynamoDB client makes meanwhile."""
    import botocore.session

    from billing.config import settings
    from billing.store.table import client

    peek = botocore.session.get_session().create_client(
        "dynamodb", endpoint_url=settings().dynamodb_endpoint_url
    )
    meter = Meter(table=table or table_from_template(), peek=peek)
    events = client().meta.events
    hooks = (
        ("provide-client-params.dynamodb", meter.remember_consistency, "bench-units-read"),
        ("provide-client-params.dynamodb", meter.before, "bench-units-before"),
        ("after-call.dynamodb", meter.after, "bench-units-after"),
    )
    for event, handler, unique_id in hooks:
        events.register(event, handler, unique_id=unique_id)
    try:
        yield meter
    finally:
        for event, _, unique_id in hooks:
            events.unregister(event, unique_id=unique_id)


def as_decimal(value: Fraction, places: int = 3) -> Decimal:
    """A unit count for printing, rounded to `places`."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(1).scaleb(-places)
    )
