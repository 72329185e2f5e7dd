"""Secret keys for a deployment (`make api-key`): a new one, or the list without a revoked one.

A deployment stores only the SHA-256 digests of its keys (parameter ApiKeyHashes, NoEcho,
then the functions' API_KEY_HASHES); the key itself is printed once, here, and kept by
whoever calls the API. Several digests may be listed at once, which is what lets a key be
replaced without downtime (README, "Rotating secret keys"). A key's id is the start of its
digest: safe to show and log, and what `REVOKE=` takes.

    python -m local.api_keys new [--hashes CURRENT]
    python -m local.api_keys revoke KEY_ID --hashes CURRENT
"""

from __future__ import annotations

import argparse
import hashlib
import re
import secrets
import sys
from dataclasses import dataclass

KEY_PREFIX = "am_sk_"  # Autumn's prefix for secret keys: SDKs and dashboards recognise it
KEY_ID_LENGTH = 12
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class NewKey:
    key: str
    digest: str

    @property
    def key_id(self) -> str:
        return key_id(self.digest)


def new_key() -> NewKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    return NewKey(key, digest_of(key))


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(digest: str) -> str:
    return digest[:KEY_ID_LENGTH]


def parse_hashes(value: str) -> list[str]:
    """The digests of an ApiKeyHashes value, refusing anything that is not one (a plain
    key pasted by mistake would otherwise be stored)."""
    digests = [part.strip() for part in value.split(",") if part.strip()]
    bad = [d for d in digests if not _SHA256_HEX.match(d)]
    if bad:
        raise ValueError("ApiKeyHashes holds lowercase SHA-256 hex digests only, never keys")
    return digests


def with_key(current: str, digest: str) -> str:
    """ApiKeyHashes with one more key (the old ones keep working meanwhile)."""
    digests = parse_hashes(current)
    return ",".join([*digests, digest] if digest not in digests else digests)


def without_key(current: str, revoked_id: str) -> str:
    """ApiKeyHashes without the key whose id (or whole digest) is `revoked_id`."""
    digests = parse_hashes(current)
    matching = [d for d in digests if d.startswith(revoked_id.strip().lower())]
    if len(revoked_id.strip()) < KEY_ID_LENGTH or len(matching) != 1:
        raise ValueError(f"no single key has the id {revoked_id!r}")
    kept = [d for d in digests if d != matching[0]]
    if not kept:
        raise ValueError("that is the last key: add its replacement first")
    return ",".join(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make api-key", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="a new secret key and its digest")
    new.add_argument("--hashes", default="", help="the deployment's current ApiKeyHashes")
    revoke = commands.add_parser("revoke", help="ApiKeyHashes without one key")
    revoke.add_argument("key_id")
    revoke.add_argument("--hashes", required=True, help="the deployment's current ApiKeyHashes")
    args = parser.parse_args(argv)
    try:
        if args.command == "new":
            created = new_key()
            print("secret key:  ", created.key, "  (shown once: give it to the caller)")
            print("key id:      ", created.key_id)
            print("hash:        ", created.digest)
            print(
                "ApiKeyHashes:",
                with_key(args.hashes, created.digest) if args.hashes else created.digest,
            )
        else:
            print("ApiKeyHashes:", without_key(args.hashes, args.key_id))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
