"""``scopeguard keys new|hash``: make API keys for the HTTP service; only their SHA-256 is configured.

``keys new`` prints a fresh random key (give it to the client, once) and its hash (configure it in
``SCOPEGUARD_API_KEY_HASHES`` or ``SCOPEGUARD_ADMIN_KEY_HASHES``). ``keys hash`` reads a key from stdin
(never from the command line, which shell history keeps) and prints its hash. See docs/SERVING.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="make an API key for `scopeguard serve` and print its SHA-256 hash",
        description="API keys of the HTTP service. The service is configured with key hashes only "
        "(SCOPEGUARD_API_KEY_HASHES, SCOPEGUARD_ADMIN_KEY_HASHES). See docs/SERVING.md.",
    )
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="print a fresh random key and its hash")
    new.add_argument("--admin", action="store_true", help="say where an admin key's hash goes")
    new.set_defaults(func=run)
    hash_ = actions.add_parser("hash", help="print the hash of a key read from stdin")
    hash_.set_defaults(func=run)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serve.auth import hash_key, new_key

    if args.keys_action == "hash":
        key = sys.stdin.readline().strip()
        if not key:
            raise ValueError(
                'no key on stdin: pipe the key in, e.g. `printf %s "$KEY" | scopeguard keys hash`'
            )
        print(hash_key(key))
        return 0
    key = new_key()
    variable = "SCOPEGUARD_ADMIN_KEY_HASHES" if args.admin else "SCOPEGUARD_API_KEY_HASHES"
    print(f"key:    {key}")
    print(f"sha256: {hash_key(key)}")
    print(
        f"Give the key to the client (it is not stored anywhere); configure only the hash: "
        f"{variable}={hash_key(key)} (comma-separate several).",
        file=sys.stderr,
    )
    return 0
