"""The billing audit from an operator's shell: every customer's holdings (or one's) against
what Stripe bills, by the invariants I1-I6 (billing.domain.audit). Read-only.

    python -m local.audit [--customer ID] [--resume CURSOR] [--page-size N] [--json] [--save]

It runs the audit in this process, straight on the table and on Stripe, configured by the
variables the functions get: TABLE_NAME and AWS credentials for a deployment's table (or
DYNAMODB_ENDPOINT_URL for the local stack's), and STRIPE_SECRET_KEY (or STRIPE_SECRET_ARN,
read from Secrets Manager; STRIPE_API_BASE for the emulator). Against a deployment that is
the operator's own credentials, not the API's key: the audit reads every customer and
Stripe, which no API route offers. `--save` stores the report as the last one (the
dashboard shows it), as the scheduled function does.

Each drift is printed as `I<n> <customer>: <what was found>`; the exit status is 0 without
drift, 1 with drift, 2 when the audit could not run. Stopped (Ctrl-C) between pages, it
prints the cursor that `--resume` continues from.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable

from local.stack import ensure_path

ensure_path()

from billing.domain.audit import AuditReport  # noqa: E402
from billing.domain.errors import BillingError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.audit", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--customer", help="audit this customer only")
    parser.add_argument("--resume", metavar="CURSOR", help="continue an audit stopped here")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--save", action="store_true", help="store it as the last report")
    args = parser.parse_args(argv)
    # The audit answers no request: the API's key hashes are not needed to run it.
    os.environ.setdefault("API_KEY_HASHES", "0" * 64)
    from billing import clock
    from billing.services.billing.audit import audit_customer, audit_customers
    from billing.store import audits
    from billing.stripe_api import get_gateway

    try:
        if args.customer is not None:
            report = audit_customer(args.customer, get_gateway)
        else:
            resume = None
            if args.resume:
                resume = AuditReport(started_at=clock.now_ms(), next_cursor=args.resume)
            report = _interruptible(
                lambda more_time: audit_customers(
                    get_gateway, resume=resume, page_size=args.page_size, more_time=more_time
                )
            )
        if args.save and report.complete:
            audits.save_last(report)
    except BillingError as error:
        print(f"audit error: {error.message}", file=sys.stderr)
        return 2
    print(report.model_dump_json(indent=2) if args.json else _text(report))
    return 1 if report.drift_count else 0


def _interruptible(run: Callable[[Callable[[], bool]], AuditReport]) -> AuditReport:
    """Runs the audit; a first Ctrl-C stops it after the page being read."""
    stopped: list[bool] = []
    previous = signal.signal(signal.SIGINT, lambda *_: stopped.append(True))
    try:
        return run(lambda: not stopped)
    finally:
        signal.signal(signal.SIGINT, previous)


def _text(report: AuditReport) -> str:
    lines = [f"{d.invariant} {d.customer_id or d.internal_id}: {d.found}" for d in report.drifts]
    lines.append(f"{report.customers_audited} customers audited, {report.drift_count} drifts")
    if report.next_cursor is not None:
        lines.append(f"stopped: resume with --resume {report.next_cursor}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
