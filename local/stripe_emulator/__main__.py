"""``python -m local.stripe_emulator --port 12111``: serve until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
from types import FrameType

from local.stripe_emulator.realistic import MODES, ORDERED, Realism
from local.stripe_emulator.server import StripeEmulator

# Realistic delivery on its own: what no request has come for this long is delivered.
QUIET_S = 0.1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Offline Stripe API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument(
        "--forward-to", help="deliver every event to this URL too (like stripe listen)"
    )
    parser.add_argument(
        "--forward-secret", help="whsec_... to sign forwarded events with (default: random)"
    )
    parser.add_argument(
        "--delivery",
        choices=MODES,
        default=ORDERED,
        help="webhooks once, in order, before the answer (ordered), or as Stripe may: after "
        "it, shuffled, some twice, some late (realistic)",
    )
    parser.add_argument("--seed", type=int, default=None, help="realistic delivery's seed")
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    realism = None
    if args.delivery != ORDERED:
        seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
        realism = Realism(seed=seed, quiet_s=QUIET_S)
        print(f"realistic webhook delivery, seed {seed}", file=sys.stderr)
    emulator = StripeEmulator(delivery=realism)
    # Flushed so a parent process reading our stdout learns the URL (and port) at once.
    print(emulator.start(args.host, args.port), flush=True)
    if args.forward_to:
        secret = emulator.forward_webhooks(args.forward_to, args.forward_secret)
        print(f"forwarding events to {args.forward_to}, signed with {secret}", file=sys.stderr)
    try:
        stopping.wait()
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
