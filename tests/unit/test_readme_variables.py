"""Every environment variable the code or the template reads is in one of the README's
variables tables (the local stack's, or the deployment's Configuration)."""

from __future__ import annotations

import re

from local.template import ROOT

READS = re.compile(r"""(?:environ(?:\.get)?\(|environ\[|env\.get\()["']([A-Z][A-Z0-9_]{2,})["']""")
# Set and read by the platform or libraries, not by a person deploying or running the stack.
NOT_SETTINGS = {
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "CI",
    "LIVE_STRIPE_TESTS",
    "CHROMIUM_PATH",
    "BILLING_AUDIT_AFTER_TESTS",
}


def read_variables() -> set[str]:
    found: set[str] = set()
    for folder in ("local", "shared/billing", "bench", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(READS.findall(path.read_text()))
    template = (ROOT / "template.yaml").read_text()
    found |= set(re.findall(r"^ {8,}([A-Z][A-Z0-9_]{2,}): ", template, flags=re.MULTILINE))
    return found - NOT_SETTINGS


def tabled_variables() -> set[str]:
    rows = re.findall(r"^\| (.+?) \|", (ROOT / "README.md").read_text(), flags=re.MULTILINE)
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]{2,})`", row)}


def test_every_variable_read_is_in_a_readme_table() -> None:
    assert read_variables() - tabled_variables() == set()
