"""``ldtui hash``: the store hash of context keys, ``base64(SHA-256(key))``, as the SDKs
compute it."""

from __future__ import annotations

import argparse
import json

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.parser import Subcommands
from ldtui.core.text import literal


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "hash",
        help="the store hash of context keys: base64(SHA-256(key)), as the SDKs compute it",
        description="Print the hash under which a store keeps each context key's include and "
        "exclude sets. Exit code: 0 ok, 64 a key that the SDKs would refuse.",
    )
    p.add_argument("keys", nargs="+", metavar="KEY", help="context keys to hash")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.output import error
    from ldtui.core.key_input import KeyInputError, check_key, hash_keys

    try:
        keys = [check_key(k, f"KEY {i}") for i, k in enumerate(args.keys, start=1)]
    except KeyInputError as exc:
        error("ldtui hash", exc)
        return ExitCode.USAGE
    hashed = hash_keys(keys)
    if args.json:
        print(json.dumps([{"key": h.key, "hash": h.hash} for h in hashed], ensure_ascii=True))
    else:
        for h in hashed:
            print(f"{h.hash}  {literal(h.key)}")  # safe-text: the hash is base64 ldtui computed
    return ExitCode.OK
