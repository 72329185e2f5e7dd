"""`make dev`: runs the offline stack until SIGINT or SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from local.stack import (
    DEFAULT_SECRET_KEY,
    LocalStack,
    StackConfig,
    describe,
    ensure_path,
    quiet_metrics,
)
from local.template import ROOT


def push_catalog(catalog: Path, stack: LocalStack) -> None:
    """A catalog that cannot be pushed is reported; the stack stays up to fix it against."""
    # Imported here: it loads the billing package, which needs the stack's environment.
    import httpx

    from local.catalog import CatalogError, push, render

    try:
        found = push(catalog, stack.api_url, stack.config.secret_key, auth=stack.admin_auth())
    except (CatalogError, httpx.HTTPError) as error:
        print(
            f"\nCatalog {catalog} was not pushed: {error}\n"
            f"The stack keeps running; push it again with `{catalog_command(catalog, stack)}`.",
            flush=True,
        )
        return
    print(
        f"\nCatalog {catalog}:\n{render(found)}\n"
        f"Push it again after editing: {catalog_command(catalog, stack)}",
        flush=True,
    )


def catalog_command(catalog: Path, stack: LocalStack) -> str:
    """The `make catalog` that pushes `catalog` to this stack from another terminal, naming
    what differs from `make catalog`'s defaults (another port, key or file)."""
    port = stack.api_url.rpartition(":")[2]
    words = [] if port == "8787" else [f"PORT={port}"]
    if stack.config.secret_key != DEFAULT_SECRET_KEY:
        words.append(f"LOCAL_SECRET_KEY={stack.config.secret_key}")
    words.append("make catalog")
    if catalog.resolve() != (ROOT / "local" / "catalog.yaml").resolve():
        words.append(f"FILE={catalog}")
    return " ".join(words)


def main() -> int:
    ensure_path()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    quiet_metrics()
    stack = LocalStack(StackConfig.from_env()).start()
    print(describe(stack), flush=True)
    catalog = os.environ.get("LOCAL_CATALOG", str(ROOT / "local" / "catalog.yaml"))
    if catalog.lower() not in ("", "none"):
        push_catalog(Path(catalog), stack)
    if stack.config.api_auth == "iam":
        print(
            "\nIAM mode: sign /v1 requests (SigV4, service execute-api) with a key pair above;"
            " unsigned ones answer 403. From Python: httpx.Client(auth=local.iam.SigV4(key_id,"
            " secret)).",
            flush=True,
        )
    print(
        f"\nTry:\n  curl -s {stack.api_url}/v1/customers.get_or_create \\\n"
        f"    -H 'Authorization: Bearer {stack.config.secret_key}' \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        '    -d \'{"customer_id": "user_123", "email": "ada@example.com"}\'\n'
        f"\nDashboard: {stack.dashboard_url}  (sign in with {stack.config.secret_key})\n",
        flush=True,
    )
    stop.wait()
    stack.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
