"""House rules of the store, read from the source: every key of the table is built in
`store/keys.py`, so the single table's layout can be read (and changed) in one place; every
write goes through `store/writes.py`, the one owner of conditions and transactions (which
names each failed condition and keeps transactions within DynamoDB's limits)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from local.template import ROOT

_BILLING = ROOT / "shared" / "billing"
_KEYS_MODULE = _BILLING / "store" / "keys.py"
_WRITES_MODULE = _BILLING / "store" / "writes.py"
_STORE = str((_BILLING / "store").relative_to(ROOT)) + "/"
# DynamoDB's write calls (the client's and a resource Table's).
_WRITE_CALLS = {
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "batch_writer",
}
_KEY_ATTRIBUTES = re.compile(r"^(PK|SK|GSI\d+PK|GSI\d+SK)$")
# An entity prefix, as keys begin: `CUS#`, `APPLIED#`, `GRANT#`.
_KEY_PREFIX = re.compile(r"^[A-Z][A-Z0-9_]*#")
# A zero-padded number, as sort keys order times and versions: `{created_at:015d}`.
_PADDED = re.compile(r"^0\d+d$")


def _modules(but: Path) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(_BILLING.rglob("*.py")):
        if path != but:
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(), str(path))


def _is_text(node: ast.AST | None) -> bool:
    """A string literal or f-string, bare or as a DynamoDB string attribute ({"S": ...})."""
    if isinstance(node, ast.Dict) and len(node.keys) == 1:
        key = node.keys[0]
        if isinstance(key, ast.Constant) and key.value == "S":
            node = node.values[0]
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _builds_key(func: ast.expr) -> bool:
    """A call of a module's own key helper (`_key(pk, sk)`, `_source_key(...)`)."""
    name = func.id if isinstance(func, ast.Name) else ""
    return name.lower().endswith("key")


def _is_key_attribute(node: ast.AST | None) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(_KEY_ATTRIBUTES.match(node.value))
    )


def _text_constants(tree: ast.Module) -> set[str]:
    """The module's names bound to a string literal at its top level."""
    return {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and _is_text(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def key_literals(tree: ast.Module, in_store: bool = True) -> Iterator[tuple[int, str]]:
    """Where a module writes a part of a key itself instead of asking `keys` for it. Outside
    the store (the only code that talks to DynamoDB) `*_key(...)` helpers and padded numbers
    are other things (Stripe's idempotency keys, invoice numbers): only the shapes of table
    keys count there."""
    constants = _text_constants(tree)
    for node in ast.walk(tree):
        if in_store and isinstance(node, ast.Call) and _builds_key(node.func):
            for arg in node.args:
                if _is_text(arg) or (isinstance(arg, ast.Name) and arg.id in constants):
                    yield arg.lineno, f"literal argument {ast.unparse(arg)} of a key"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _KEY_PREFIX.match(node.value):
                yield node.lineno, f"key prefix {node.value!r}"
        elif in_store and isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = "".join(
                str(v.value) for v in ast.walk(node.format_spec) if isinstance(v, ast.Constant)
            )
            if _PADDED.match(spec):
                yield node.lineno, f"zero-padded sort key part :{spec}"
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and _is_key_attribute(key) and _is_text(value):
                    yield value.lineno, f"literal {key.value!r} value"
        elif isinstance(node, ast.Assign) and _is_text(node.value):
            for target in node.targets:
                named = isinstance(target, ast.Name) and target.id.endswith(("_SK", "_PK"))
                indexed = isinstance(target, ast.Subscript) and _is_key_attribute(target.slice)
                if named or indexed:
                    yield node.lineno, f"key constant {ast.unparse(target)}"


def test_every_key_is_built_in_the_keys_module() -> None:
    found = [
        f"{path}:{line}: {what}"
        for path, tree in _modules(but=_KEYS_MODULE)
        for line, what in key_literals(tree, in_store=path.startswith(_STORE))
    ]
    assert found == [], "build these keys in store/keys.py:\n" + "\n".join(found)


def test_the_key_rule_sees_each_way_a_key_is_written_by_hand() -> None:
    # Line by line: a sort key constant; a prefix and two literal key values; a literal sort
    # key; a literal index key; a padded number; (a plain constant); a literal and a
    # constant handed to a key helper.
    written_by_hand = """
_SK = "LOCK"
item = {"PK": {"S": f"APPLIED#{owner}"}, "SK": {"S": "ANON"}}
Key = {"PK": pk, "SK": "LINK"}
item["GSI1SK"] = {"S": "x"}
highest = f"{created:015d}#~"
_LAST = "LAST"
found = get(_key(pk, "ANON")) or get(_key(_LAST))
"""
    lines = sorted(line for line, _ in key_literals(ast.parse(written_by_hand)))
    assert lines == [2, 3, 3, 3, 4, 5, 6, 8, 8]


def direct_writes(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Where a module calls DynamoDB's write API itself instead of `writes.run`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _WRITE_CALLS:
            yield node.lineno, node.attr


def test_every_write_goes_through_the_writes_module() -> None:
    found = [
        f"{path}:{line}: {call}"
        for path, tree in _modules(but=_WRITES_MODULE)
        for line, call in direct_writes(tree)
    ]
    assert found == [], "write these through store.writes.run:\n" + "\n".join(found)


def test_the_write_rule_sees_a_direct_write() -> None:
    written_directly = """
client().put_item(TableName=table, Item=item)
dynamodb = client(); update = dynamodb.update_item
writes.run([Write("Delete", params)])
"""
    assert sorted(line for line, _ in direct_writes(ast.parse(written_directly))) == [2, 3]


def test_outside_the_store_only_the_shapes_of_table_keys_count() -> None:
    stripe_side = """
key = idempotency_key("schedule.create", customer_id)
number = f"INV-{n:04d}"
item = {"PK": {"S": "CUS#x"}}
"""
    found = sorted(line for line, _ in key_literals(ast.parse(stripe_side), in_store=False))
    assert found == [4, 4]
