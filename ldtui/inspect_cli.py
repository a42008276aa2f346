"""``ldtui inspect`` and ``ldtui hash``: the inspector's engine, headless.

Exit codes: 0 ok, 2 store unavailable (or the API could not name it), 64 usage error (bad
arguments, keys or keys file), 78 configuration error. Only what the chosen store needs is
imported: a Redis run never loads boto3, httpx or Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from ldtui.core.text import literal, relative_age

EXIT_OK = 0
EXIT_UNAVAILABLE = 2
EXIT_USAGE = 64
EXIT_CONFIG = 78


class UsageError(Exception):
    pass


def add_hash_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("keys", nargs="+", metavar="KEY", help="context keys to hash")
    p.add_argument("--json", action="store_true", help="print JSON")


def add_inspect_arguments(p: argparse.ArgumentParser) -> None:
    where = p.add_argument_group("which store")
    where.add_argument("--store", choices=("redis", "dynamodb"), help="read this store directly")
    where.add_argument(
        "--integration",
        metavar="PROJECT/ENV/KIND",
        help="the store of this integration: connection from [stores] in the configuration, prefix "
        "and generations through the API",
    )
    where.add_argument(
        "--redis-url", metavar="URL", help="redis://[user:password@]host:port/db (or rediss://)"
    )
    where.add_argument(
        "--redis-password-env", metavar="VAR", help="read the Redis password from this environment variable"
    )
    where.add_argument("--table", metavar="T", help="DynamoDB table")
    where.add_argument("--region", metavar="R", help="AWS region")
    where.add_argument("--endpoint-url", metavar="U", help="DynamoDB endpoint (a local DynamoDB, moto)")
    where.add_argument("--aws-profile", metavar="NAME", help="AWS profile")
    where.add_argument(
        "--prefix",
        metavar="P",
        help="store prefix (Redis default 'launchdarkly', DynamoDB none; an integration's is the "
        "environment's client-side ID)",
    )
    what = p.add_argument_group("what to look up")
    what.add_argument(
        "--segment",
        action="append",
        default=[],
        metavar="KEY[=GEN]",
        help="a big segment and its current generation (repeatable); with --integration the "
        "generation may be left out and is asked of the API",
    )
    what.add_argument("--kind", metavar="KIND", help="the context's kind (default: any)")
    what.add_argument(
        "--discover",
        action="store_true",
        help="first scan the whole store for every segment it holds entries of, and judge each",
    )
    what.add_argument("--keys-file", metavar="F", help="keys, one per line, or a CSV file ('-' for stdin)")
    what.add_argument("--key-column", metavar="COL", help="the CSV column holding the keys (name or 1-based)")
    what.add_argument("keys", nargs="*", metavar="KEY", help="context keys")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--stale-after", type=float, metavar="SECONDS", help="the SDKs' staleAfter (default 120)")
    p.add_argument("--timeout", type=float, default=3.0, metavar="S", help="store timeout (default 3)")


# --- ldtui hash -----------------------------------------------------------------------------------


def run_hash(args: argparse.Namespace) -> int:
    from ldtui.core.bigsegments import context_key_hash
    from ldtui.core.inspect import KeyInputError, check_key

    out = []
    for i, key in enumerate(args.keys, start=1):
        try:
            out.append((key, context_key_hash(check_key(key, f"KEY {i}"))))
        except KeyInputError as exc:
            print(f"ldtui hash: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        print(json.dumps([{"key": k, "hash": h} for k, h in out], ensure_ascii=False))
    else:
        for k, h in out:
            print(f"{h}  {literal(k)}")
    return EXIT_OK


# --- ldtui inspect --------------------------------------------------------------------------------


def _keys(args: argparse.Namespace) -> list[str]:
    from ldtui.core.inspect import KeyInputError, check_key, keys_from_file

    if args.keys_file and args.keys:
        raise UsageError("give keys as arguments or in --keys-file, not both")
    if args.key_column and not args.keys_file:
        raise UsageError("--key-column needs --keys-file")
    if args.keys_file:
        source = "stdin" if args.keys_file == "-" else args.keys_file
        try:
            if args.keys_file == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(args.keys_file, "rb") as f:
                    data = f.read()
        except OSError as exc:
            raise UsageError(f"--keys-file: cannot read {source}: {exc.strerror or exc}") from None
        try:
            return keys_from_file(data, source, column=args.key_column)
        except KeyInputError as exc:
            raise UsageError(str(exc)) from None
    if not args.keys:
        raise UsageError("no context keys: give KEY arguments or --keys-file F")
    try:
        return [check_key(k, f"KEY {i}") for i, k in enumerate(args.keys, start=1)]
    except KeyInputError as exc:
        raise UsageError(str(exc)) from None


def _segments(args: argparse.Namespace) -> dict[str, int | None]:
    from ldtui.core.inspect import KeyInputError, parse_segment_spec

    out: dict[str, int | None] = {}
    for spec in args.segment:
        try:
            key, gen = parse_segment_spec(spec)
        except KeyInputError as exc:
            raise UsageError(f"--segment: {exc}") from None
        if gen is None and not args.integration:
            raise UsageError(
                f"--segment {spec}: no generation; without --integration ldtui cannot ask the API, "
                f"so write {key}=GENERATION"
            )
        out[key] = gen
    return out


def _direct_reader(args: argparse.Namespace) -> Any:
    """A reader from --store and its connection options (no configuration file), built and
    validated exactly like a ``[stores."…"]`` entry."""
    from pydantic import ValidationError

    from ldtui.config import DynamoDBStore, RedisStore
    from ldtui.core.bigsegments import resolve_prefix
    from ldtui.stores.base import StoreError
    from ldtui.stores.open import open_reader

    store: Any
    password = None
    try:
        if args.store == "redis":
            if not args.redis_url:
                raise UsageError("--store redis needs --redis-url URL")
            if args.table or args.endpoint_url:
                raise UsageError("--table and --endpoint-url are DynamoDB options; this is --store redis")
            if args.redis_password_env:
                import os

                if args.redis_password_env not in os.environ:
                    raise UsageError(f"--redis-password-env: ${args.redis_password_env} is not set")
                password = os.environ[args.redis_password_env]
            store = RedisStore(url=args.redis_url, timeout=args.timeout)
        else:
            if not args.table:
                raise UsageError("--store dynamodb needs --table T (and --region R or --endpoint-url U)")
            if args.redis_url:
                raise UsageError("--redis-url is a Redis option; this is --store dynamodb")
            store = DynamoDBStore(
                table=args.table,
                region=args.region,
                aws_profile=args.aws_profile,
                endpoint_url=args.endpoint_url,
                timeout=args.timeout,
            )
        return open_reader(store, resolve_prefix(args.store, configured=args.prefix), password)
    except ValidationError as exc:
        err = exc.errors()[0]
        option = {"url": "--redis-url", "timeout": "--timeout"}.get(str(err["loc"][0]), str(err["loc"][0]))
        raise UsageError(f"{option}: {err['msg']}") from None
    except StoreError as exc:  # a malformed URL: the message names the part, never the password
        raise UsageError(f"--redis-url: {exc}") from None


async def _integration_inspector(
    args: argparse.Namespace, typed: dict[str, int | None], stack: list[Any]
) -> Any:
    """The store behind ``--integration P/E/KIND``: connection from the configuration, prefix
    (the environment's client-side ID unless configured) and generations through the API."""
    from ldtui.api.client import LaunchDarklyClient
    from ldtui.config import ConfigError, load_config
    from ldtui.services.inspect import inspector_for
    from ldtui.services.status import StatusService
    from ldtui.stores.base import StoreError

    parts = args.integration.split("/")
    if len(parts) != 3 or not all(parts) or parts[2] not in ("redis", "dynamodb"):
        raise UsageError(
            f"--integration {args.integration!r}: expected PROJECT/ENVIRONMENT/KIND, KIND redis or "
            "dynamodb (for example default/production/redis)"
        )
    project, environment, kind = parts
    cfg = load_config(file=args.config)
    name, profile = cfg.profile(args.profile)
    token = cfg.token(name)
    client = LaunchDarklyClient(profile.resolved_base_url, token, timeout=profile.timeout)
    stack.append(client)
    service = StatusService(client, cfg)
    integrations = [
        i
        for i in (await client.list_integrations()).items
        if (i.projectKey, i.environmentKey, i.integrationKey) == (project, environment, kind)
    ]
    if not integrations:
        raise UsageError(f"--integration: no {kind} integration in {project}/{environment}")
    target = (await service.targets(integrations))[0]
    if target.store is None:
        raise UsageError(f"--integration {args.integration}: {service.config_hint(target)}")
    if args.prefix is not None:
        from dataclasses import replace

        target = replace(target, prefix=args.prefix)
    try:
        return inspector_for(target, cfg, client=client, typed=typed)
    except StoreError as exc:  # e.g. a malformed url in [stores."…"]
        raise ConfigError(str(exc), file=cfg.file, key=f"stores.{target.store_key}") from None


def _text_report(store: dict[str, Any], results: list[Any], inspector: Any, now_ms: int) -> str:
    from ldtui.core.inspect import Tally

    word = "UNAVAILABLE" if not store["available"] else ("STALE" if store["stale"] else "HEALTHY")
    synced = relative_age(store["synchronizedOn"], now_ms) if store["synchronizedOn"] else "never"
    lines = [
        f"store     {store['kind']}  prefix {literal(repr(store['prefix']))}  {word}  synchronized {synced}"
    ]
    if len(results) == 1:
        r = results[0]
        lines += [
            f"key       {literal(r.key)}",
            f"hash      {r.hash or '-'}",
        ]
        if r.error:
            lines.append(f"error     {literal(r.error)}")
            return "\n".join(lines)
        lines += [
            f"included  {literal(' '.join(r.included)) or '-'}",
            f"excluded  {literal(' '.join(r.excluded)) or '-'}",
        ]
        if r.membership is None:
            lines.append("          (no data in the store for this context: each segment's rules decide)")
        if r.answers:
            width = max(len(literal(a.segment_key)) for a in r.answers)
            lines.append("")
            lines.append(f"{'SEGMENT':<{width}}  {'GEN':>4}  {'VERDICT':<14}  REASON")
            for a in r.answers:
                gen = "-" if a.generation is None else str(a.generation)
                lines.append(
                    f"{literal(a.segment_key):<{width}}  {gen:>4}  {a.verdict:<14}  {literal(a.reason)}"
                )
        for o in r.orphaned:
            lines.append(f"orphaned  {literal(o.ref)} ({o.side}): {literal(o.reason)}")
        return "\n".join(lines)
    segs = sorted({a.segment_key for r in results for a in r.answers})
    head = ["KEY", "HASH", *segs, "ORPHANED"]
    rows = [
        [
            literal(r.key),
            r.hash or "-",
            *((r.verdict_of(s) or "-") for s in segs),
            str(len(r.orphaned)) if not r.error else literal(r.error),
        ]
        for r in results
    ]
    widths = [min(48, max(len(x[i]) for x in [head, *rows])) for i in range(len(head) - 1)]
    for row in [head, *rows]:
        lines.append("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]))
    tally = Tally()
    tally.add(results)
    lines.append("")
    lines.append(f"{tally.contexts} contexts, {tally.with_data} with data, {tally.errors} errors")
    for seg, counts in sorted(tally.per_segment.items()):
        parts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        lines.append(f"  {literal(seg)}: {parts}")
    return "\n".join(lines)


def run_inspect(args: argparse.Namespace) -> int:
    from ldtui.core.inspect import store_json

    if bool(args.store) == bool(args.integration):
        print(
            "ldtui inspect: choose the store: --store redis|dynamodb, or --integration P/E/KIND",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        keys = _keys(args)
        typed = _segments(args)
    except UsageError as exc:
        print(f"ldtui inspect: {exc}", file=sys.stderr)
        return EXIT_USAGE

    async def main() -> int:
        from ldtui.services.inspect import Inspector
        from ldtui.stores.base import StoreError, StoreUnavailable

        stack: list[Any] = []
        inspector = None
        try:
            if args.store:
                inspector = Inspector(_direct_reader(args), typed=typed)
            else:
                inspector = await _integration_inspector(args, typed, stack)
            if args.stale_after:
                inspector.stale_after_ms = args.stale_after * 1000
            try:
                state = await inspector.store_state()
            except StoreUnavailable as exc:
                return _unavailable(args, inspector, str(exc))
            try:
                if args.discover:
                    await inspector.discover()
                results = await inspector.inspect(keys, kind=args.kind)
            except StoreUnavailable as exc:
                return _unavailable(args, inspector, str(exc))
            except StoreError as exc:
                print(f"ldtui inspect: {exc}", file=sys.stderr)
                return EXIT_UNAVAILABLE
            store = store_json(inspector.kind, inspector.prefix, state)
            if args.json:
                from ldtui.core.inspect import results_json

                sys.stdout.write(results_json(store, results, inspector.segments))
                sys.stdout.write("\n")
            else:
                print(_text_report(store, results, inspector, int(time.time() * 1000)))
                for info in inspector.segments.values():
                    if info.note and not info.resolved:
                        print(f"note: segment {literal(info.key)}: {literal(info.note)}", file=sys.stderr)
                if not state.available:
                    print(f"ldtui inspect: {literal(state.reason)}", file=sys.stderr)
            return EXIT_OK if state.available else EXIT_UNAVAILABLE
        finally:
            if inspector is not None:
                await inspector.aclose()
            for thing in stack:
                await thing.aclose()

    try:
        return asyncio.run(main())
    except UsageError as exc:
        print(f"ldtui inspect: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # configuration and API errors carry their own clear text
        from ldtui.api.errors import ApiError
        from ldtui.config import ConfigError

        if isinstance(exc, ConfigError):
            print(f"ldtui: configuration error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        if isinstance(exc, ApiError):
            print(f"ldtui inspect: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        raise


def _unavailable(args: argparse.Namespace, inspector: Any, error: str) -> int:
    if args.json:
        store = {
            "kind": inspector.kind,
            "prefix": inspector.prefix,
            "synchronizedOn": None,
            "ageSeconds": None,
            "stale": False,
            "available": False,
            "error": error,
        }
        print(json.dumps({"store": store, "contexts": []}))
    print(f"ldtui inspect: store unavailable: {literal(error)}", file=sys.stderr)
    return EXIT_UNAVAILABLE
