"""Regenerates schemas.json: JSON Schemas of the objects the emulator serves, derived from the
type declarations in the official `stripe` npm package that pins the same API version as the
installed `stripe` Python SDK.

    /work/main/.venv/bin/python tests/emulator/stripe_types/generate.py [npm version]

Needs node and npm (with a package registry reachable); takes about a minute. The TypeScript
walk is to_json_schema.cjs; this script installs its inputs into a temporary folder, runs it,
then narrows `number` to `integer` where the Python SDK (generated from the same OpenAPI spec)
declares an int, since TypeScript has no integer type.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

import stripe

HERE = Path(__file__).resolve().parent
OUT = HERE / "schemas.json"
NPM_VERSION = "23.1.0"  # the npm release whose apiVersion is the Python SDK's
TYPESCRIPT = "5.9.3"

# [declaration module, exported type, the `object` value it answers with (":deleted" for the
# `deleted: true` form)]. Refunds and credit notes are here for the modules that serve them.
SERVED = [
    ["resources/Customers", "Customer", "customer"],
    ["resources/Customers", "DeletedCustomer", "customer:deleted"],
    ["resources/PaymentMethods", "PaymentMethod", "payment_method"],
    ["resources/SetupIntents", "SetupIntent", "setup_intent"],
    ["resources/PaymentIntents", "PaymentIntent", "payment_intent"],
    ["resources/Charges", "Charge", "charge"],
    ["resources/Products", "Product", "product"],
    ["resources/Products", "DeletedProduct", "product:deleted"],
    ["resources/Prices", "Price", "price"],
    ["resources/Plans", "Plan", "plan"],
    ["resources/Subscriptions", "Subscription", "subscription"],
    ["resources/SubscriptionItems", "SubscriptionItem", "subscription_item"],
    ["resources/SubscriptionItems", "DeletedSubscriptionItem", "subscription_item:deleted"],
    ["resources/SubscriptionSchedules", "SubscriptionSchedule", "subscription_schedule"],
    ["resources/Invoices", "Invoice", "invoice"],
    ["resources/Invoices", "DeletedInvoice", "invoice:deleted"],
    ["resources/InvoiceLineItems", "InvoiceLineItem", "line_item"],
    ["resources/InvoiceItems", "InvoiceItem", "invoiceitem"],
    ["resources/InvoiceItems", "DeletedInvoiceItem", "invoiceitem:deleted"],
    ["resources/InvoicePayments", "InvoicePayment", "invoice_payment"],
    ["resources/Checkout/Sessions", "Session", "checkout.session"],
    ["resources/LineItems", "LineItem", "item"],
    ["resources/BillingPortal/Sessions", "Session", "billing_portal.session"],
    ["resources/BillingPortal/Configurations", "Configuration", "billing_portal.configuration"],
    ["resources/TestHelpers/TestClocks", "TestClock", "test_helpers.test_clock"],
    ["resources/TestHelpers/TestClocks", "DeletedTestClock", "test_helpers.test_clock:deleted"],
    ["resources/Events", "EventBase", "event"],
    ["resources/WebhookEndpoints", "WebhookEndpoint", "webhook_endpoint"],
    ["resources/WebhookEndpoints", "DeletedWebhookEndpoint", "webhook_endpoint:deleted"],
    ["resources/Refunds", "Refund", "refund"],
    ["resources/CreditNotes", "CreditNote", "credit_note"],
    ["resources/CreditNoteLineItems", "CreditNoteLineItem", "credit_note_line_item"],
    ["Types", "StripeRawError", "error"],
    ["lib", "ApiList<unknown>", "list"],
    ["lib", "ApiSearchResult<unknown>", "search_result"],
]
# StripeRawError also carries what the SDK adds client-side; none of it is on the wire.
CLIENT_SIDE = {"StripeRawError": ["headers", "statusCode", "requestId", "detail", "exception"]}
# The Python SDK's module for each folder of the npm package's resources.
PYTHON_ROOTS: dict[str, Any] = {
    "Checkout": stripe.checkout,
    "BillingPortal": stripe.billing_portal,
    "TestHelpers": stripe.test_helpers,
    "EventBase": stripe.Event,
}


def main() -> None:
    version = sys.argv[1] if len(sys.argv) > 1 else NPM_VERSION
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "package.json").write_text('{"private": true}\n')
        npm, node = shutil.which("npm"), shutil.which("node")
        if npm is None or node is None:
            sys.exit("generate.py needs node and npm on the PATH")
        install = ["install", "--ignore-scripts", "--no-audit", "--no-fund"]
        packages = [f"stripe@{version}", f"typescript@{TYPESCRIPT}"]
        subprocess.run([npm, *install, *packages], cwd=work, check=True)  # noqa: S603 (fixed)
        shutil.copy(HERE / "to_json_schema.cjs", work)
        (work / "roots.json").write_text(json.dumps({"served": SERVED, "drop": CLIENT_SIDE}))
        walk = [node, "to_json_schema.cjs", "roots.json", "out.json"]
        subprocess.run(walk, cwd=work, check=True)  # noqa: S603 (our own script)
        schemas = json.loads((work / "out.json").read_text())
    if schemas["api_version"] != stripe.api_version:
        sys.exit(
            f"stripe@{version} on npm pins {schemas['api_version']}, the Python SDK "
            f"{stripe.api_version}: pick the npm release that pins the same version"
        )
    definitions = schemas["definitions"]
    narrowed = sum(_narrow_integers(name, schema) for name, schema in definitions.items())
    count = len(schemas["definitions"])
    OUT.write_text(_dump(schemas))
    print(f"{OUT.name}: {count} definitions, {narrowed} number fields narrowed to integer")


def _python_class(definition: str) -> Any:
    head, *rest = definition.split(".")
    found: Any = PYTHON_ROOTS.get(head) or getattr(stripe, head, None)
    for part in rest:
        found = getattr(found, part, None)
    return found if isinstance(found, type) else None


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args == [int]
    return False


def _narrow_integers(name: str, schema: Any) -> int:
    """`number` -> `integer` for the properties the Python SDK declares as int."""
    cls = _python_class(name)
    if cls is None or not isinstance(schema, dict) or "properties" not in schema:
        return 0
    annotations: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        annotations.update(getattr(base, "__annotations__", {}))
    count = 0
    for prop, prop_schema in schema["properties"].items():
        if not _is_int(annotations.get(prop)):
            continue
        for option in prop_schema.get("anyOf", [prop_schema]):
            if option.get("type") == "number":
                option["type"] = "integer"
                count += 1
    return count


def _dump(schemas: dict[str, Any]) -> str:
    """One definition a line: small diffs when Stripe's types change."""
    definitions = schemas.pop("definitions")
    head = json.dumps(schemas, indent=1)[:-2]
    compact = (",", ":")
    sorted_items = sorted(definitions.items())
    lines = [f" {json.dumps(k)}: {json.dumps(v, separators=compact)}" for k, v in sorted_items]
    return head + ',\n "definitions": {\n' + ",\n".join(lines) + "\n }\n}\n"


if __name__ == "__main__":
    main()
