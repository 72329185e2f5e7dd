"""The billing audit's records: the last complete report (the dashboard shows it) and the
progress of a run cut short by its time budget (the next run resumes from it)."""

from __future__ import annotations

from billing.domain.audit import AuditReport
from billing.store import keys, writes
from billing.store.table import Item, client, table_name, translated_errors


def save_last(report: AuditReport) -> None:
    """The report of a complete run, in place of the one before; its progress forgotten."""
    _put(keys.AUDIT_LAST_SK, report)
    writes.run(
        [writes.Write("Delete", {"TableName": table_name(), "Key": _key(keys.AUDIT_PROGRESS_SK)})]
    )


def load_last() -> AuditReport | None:
    return _get(keys.AUDIT_LAST_SK)


def save_progress(report: AuditReport) -> None:
    """A run cut short: what it found so far, and its cursor to resume at."""
    _put(keys.AUDIT_PROGRESS_SK, report)


def load_progress() -> AuditReport | None:
    return _get(keys.AUDIT_PROGRESS_SK)


def _put(sk: str, report: AuditReport) -> None:
    item: Item = {**_key(sk), "body": {"S": report.kept().model_dump_json()}}
    writes.run([writes.Write("Put", {"TableName": table_name(), "Item": item})])


def _get(sk: str) -> AuditReport | None:
    with translated_errors():
        found = client().get_item(TableName=table_name(), Key=_key(sk), ConsistentRead=True)
    item = found.get("Item")
    return None if item is None else AuditReport.model_validate_json(item["body"]["S"])


def _key(sk: str) -> Item:
    return {"PK": {"S": keys.AUDIT_PK}, "SK": {"S": sk}}
