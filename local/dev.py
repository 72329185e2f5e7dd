"""`make dev`: runs the offline stack until SIGINT or SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from local.stack import LocalStack, StackConfig, describe, ensure_path
from local.template import ROOT


def main() -> int:
    ensure_path()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = LocalStack(StackConfig.from_env()).start()
    print(describe(stack), flush=True)
    catalog = os.environ.get("LOCAL_CATALOG", str(ROOT / "local" / "catalog.yaml"))
    if catalog.lower() not in ("", "none"):
        # Imported here: it loads the billing package, which needs the stack's environment.
        from local.catalog import push, render

        found = push(Path(catalog), stack.api_url, stack.config.secret_key)
        print(f"\nCatalog {catalog}:\n{render(found)}", flush=True)
    print(
        f"\nTry:\n  curl -s {stack.api_url}/v1/customers.get_or_create \\\n"
        f"    -H 'Authorization: Bearer {stack.config.secret_key}' \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        '    -d \'{"customer_id": "user_123", "email": "ada@example.com"}\'\n',
        flush=True,
    )
    stop.wait()
    stack.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
