"""No log line of the billing layer carries a secret, a key or a card number: every record the
suite's functions log (at every level: the billing loggers are lowered to DEBUG for the suite,
while what they print stays at the stack's WARNING) is rendered as Lambda would write it and
searched, and a test during which one leaked fails, naming what leaked but not its value.

What is searched for: Stripe secret and restricted keys (`sk_`/`rk_` + test/live), webhook
signing secrets (`whsec_`, Stripe's and the application webhooks'), the API's own secret keys
(`am_sk_`), the local dashboard's session secret, and card numbers (13 to 19 digits, not part
of a longer word, that pass the Luhn check, as 4242424242424242 does).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator

import pytest

_KEYS = re.compile(r"\b(?:sk_test_|sk_live_|rk_test_|rk_live_|whsec_|am_sk_)[A-Za-z0-9_]")
# A number standing on its own: a run of digits inside a hex id or hash (`msg_`, event and
# idempotency ids) is not a card number, though one in 250 such ids holds a run that would
# pass the Luhn check.
_DIGITS = re.compile(r"(?<![0-9A-Za-z])[3-6]\d{12,18}(?![0-9A-Za-z])")
_DASHBOARD_SECRET = "local-dashboard-session-secret"


def leaks(text: str) -> list[str]:
    """What in `text` is a secret, key or card number, each named by its kind only."""
    found = [f"a key or secret starting {m.group(0)[:-1]!r}" for m in _KEYS.finditer(text)]
    found += ["a card number" for m in _DIGITS.finditer(text) if _luhn(m.group(0))]
    if _DASHBOARD_SECRET in text:
        found.append("the dashboard's session secret")
    return found


def _luhn(number: str) -> bool:
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


class LogSearch(logging.Handler):
    """Renders each record with the billing logger's JSON formatter (the keys the
    invocation appended included) and keeps what leaked, and the rendered lines."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._lock_found = threading.Lock()
        self.found: list[str] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        from billing.observability import logger

        try:
            line = logger.registered_formatter.format(record)
        except Exception:  # a record the JSON formatter cannot render: search its raw parts
            line = f"{record.getMessage()} {record.__dict__}"
        leaked = leaks(line)
        with self._lock_found:
            self.lines.append(line)
            self.found += [f"{record.name}: {what}" for what in leaked]

    def take(self) -> tuple[list[str], list[str]]:
        with self._lock_found:
            found, lines = self.found, self.lines
            self.found, self.lines = [], []
        return found, lines


SEARCH = LogSearch()


@pytest.fixture(scope="session", autouse=True)
def _logs_searched() -> Iterator[None]:
    from billing.observability import logger

    billing = logging.getLogger(logger.name)
    printed = [(handler, handler.level) for handler in billing.handlers]
    for handler, _ in printed:
        # Printed as the stack prints them (WARNING); searched at every level.
        handler.setLevel(logging.WARNING)
    level = billing.level
    # Every module logs through this one logger (billing.observability): all levels reach
    # the search. Set here, not by POWERTOOLS_LOG_LEVEL, which the stacks that tests start
    # in subprocesses would inherit and print.
    billing.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(SEARCH)
    yield
    logging.getLogger().removeHandler(SEARCH)
    billing.setLevel(level)
    for handler, was in printed:
        handler.setLevel(was)


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[None]:
    """Fails the test during which a billing log line carried a secret."""
    SEARCH.take()  # what came before belongs to the test before
    yield
    found, _ = SEARCH.take()
    if found:
        pytest.fail(
            "log lines carried secrets:\n" + "\n".join(f"  {f}" for f in dict.fromkeys(found)),
            pytrace=False,
        )
