"""A subset of Stripe's Search Query Language, shared by the ``/search`` endpoints.

Supported: ``field:'value'`` (case-insensitive exact), ``field~'sub'`` (substring),
``created>123`` style numeric comparisons, ``metadata['key']:'value'``, ``-`` negation,
``field:null``, and clauses joined by ``AND`` or by ``OR`` (Stripe forbids mixing them).

Unlike real Stripe, results are visible immediately: Stripe's search index lags writes by
up to a minute, so code under test must not rely on search for read-after-write.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from local.stripe_emulator import pagination
from local.stripe_emulator import params as p
from local.stripe_emulator.errors import invalid_param, missing_param
from local.stripe_emulator.forms import Params
from local.stripe_emulator.store import JsonObject

SEARCH_PARAMS = frozenset({"query", "limit", "page"})

_QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_CLAUSE = re.compile(
    rf"""\s*(?P<negate>-)?
    (?P<field>metadata\[(?:{_QUOTED})\]|[a-z_]+)
    \s*(?P<op>>=|<=|:|~|>|<)\s*
    (?P<value>{_QUOTED}|-?\d+|null)\s*""",
    re.VERBOSE,
)
_JOIN = re.compile(r"(AND|OR)\s+")
_PAGE_PREFIX = "page_"


@dataclass(frozen=True)
class _Clause:
    field: str
    metadata_key: str | None
    op: str
    value: str | int | None
    negate: bool

    def matches(self, obj: JsonObject) -> bool:
        actual = (
            obj.get("metadata", {}).get(self.metadata_key)
            if self.metadata_key is not None
            else obj.get(self.field)
        )
        return self._test(actual) != self.negate

    def _test(self, actual: object) -> bool:
        if isinstance(actual, bool):
            # Stripe queries booleans as strings: ``active:'true'``.
            actual = "true" if actual else "false"
        if self.value is None:
            return actual is None
        if isinstance(self.value, int):
            if not isinstance(actual, int):
                return False
            return {
                ":": actual == self.value,
                ">": actual > self.value,
                "<": actual < self.value,
                ">=": actual >= self.value,
                "<=": actual <= self.value,
            }.get(self.op, False)
        if not isinstance(actual, str):
            return False
        if self.op == "~":
            return self.value.lower() in actual.lower()
        return actual.lower() == self.value.lower()


def search_page(
    objects: Sequence[JsonObject],
    params: Params,
    url: str,
    *,
    resource: str,
    string_fields: Collection[str],
    number_fields: Collection[str] = ("created",),
) -> JsonObject:
    """Filter ``objects`` (newest first) by ``params["query"]`` into a search_result page."""
    if "query" not in params:
        raise missing_param("query")
    clauses, use_or = _parse(p.string(params, "query"), resource, string_fields, number_fields)
    combine = any if use_or else all
    hits = [obj for obj in objects if combine(clause.matches(obj) for clause in clauses)]
    size = pagination.limit(params)
    offset = _page_offset(params)
    page = hits[offset : offset + size]
    has_more = offset + size < len(hits)
    return {
        "object": "search_result",
        "data": page,
        "has_more": has_more,
        "next_page": f"{_PAGE_PREFIX}{offset + size}" if has_more else None,
        "url": url,
    }


def _page_offset(params: Params) -> int:
    if "page" not in params:
        return 0
    token = p.string(params, "page")
    digits = token.removeprefix(_PAGE_PREFIX)
    if not token.startswith(_PAGE_PREFIX) or not digits.isdigit():
        raise invalid_param("page", f"Invalid page token: {token}")
    return int(digits)


def _parse(
    query: str, resource: str, string_fields: Collection[str], number_fields: Collection[str]
) -> tuple[list[_Clause], bool]:
    clauses: list[_Clause] = []
    joins: set[str] = set()
    position = 0
    while True:
        match = _CLAUSE.match(query, position)
        if match is None:
            raise _syntax_error(query, position)
        clauses.append(_clause(match, resource, string_fields, number_fields))
        position = match.end()
        if position == len(query):
            break
        join = _JOIN.match(query, position)
        if join is None:
            raise _syntax_error(query, position)
        joins.add(join.group(1))
        position = join.end()
    if len(joins) > 1:
        raise invalid_param("query", "Search queries cannot mix AND and OR.")
    return clauses, joins == {"OR"}


def _clause(
    match: re.Match[str],
    resource: str,
    string_fields: Collection[str],
    number_fields: Collection[str],
) -> _Clause:
    field, op, raw_value = match.group("field", "op", "value")
    metadata_key = _unquote(field[len("metadata[") : -1]) if field.startswith("metadata[") else None
    value: str | int | None
    if raw_value == "null":
        value = None
    elif raw_value[0] in "'\"":
        value = _unquote(raw_value)
    else:
        value = int(raw_value)
    is_number_field = field in number_fields
    if metadata_key is None and field not in string_fields and not is_number_field:
        raise invalid_param(
            "query",
            f"Field `{field}` is an unsupported search field for resource `{resource}`. "
            f"See https://stripe.com/docs/search#query-fields-for-{resource} for a list of "
            "supported fields.",
        )
    if isinstance(value, int) != is_number_field and value is not None:
        raise invalid_param("query", f"Field `{field}` cannot be compared with {raw_value}.")
    if op not in (":", "~") and not is_number_field:
        raise invalid_param("query", f"Operator `{op}` is only supported on numeric fields.")
    if op == "~" and (not isinstance(value, str) or len(value) < 3):
        raise invalid_param(
            "query", "Substring (~) searches need a value of at least 3 characters."
        )
    return _Clause(field, metadata_key, op, value, match.group("negate") is not None)


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _syntax_error(query: str, position: int) -> Exception:
    return invalid_param(
        "query", f"Invalid search query at character {position}: {query[position:]!r}"
    )
