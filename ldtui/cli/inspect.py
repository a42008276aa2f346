"""``ldtui inspect``: the inspector's engine, headless. Explains contexts' big segment
membership read straight from a store, per segment and generation.

Exit codes: 0 ok, 2 store unavailable (or the API could not name it), 64 usage error (bad
arguments, keys or keys file), 78 configuration error. Only what the chosen store needs is
imported: a Redis run never loads boto3, httpx or Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.flags import setting
from ldtui.cli.parser import Subcommands
from ldtui.cli.store_flags import UsageError, add_store_options, direct_store, integration_ref, option_error
from ldtui.core.text import literal, relative_age

if TYPE_CHECKING:
    from ldtui.services.inspect import DirectStore, InspectionReport, IntegrationRef

PROG = "ldtui inspect"


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "inspect",
        help="explain contexts' big segment membership, read straight from a store",
        description="Hash each context key as the SDKs do, read its include and exclude sets from "
        "the store and explain the verdict per big segment and generation. Exit code: 0 ok, 2 store "
        "unavailable, 64 usage error, 78 configuration error.",
    )
    where = p.add_argument_group("which store")
    where.add_argument("--store", choices=("redis", "dynamodb"), help="read this store directly")
    where.add_argument(
        "--integration",
        metavar="PROJECT/ENV/KIND",
        help="the store of this integration: connection from [stores] in the configuration, prefix "
        "and generations through the API",
    )
    add_store_options(
        where,
        redis_url_help="redis://[user:password@]host:port/db (or rediss://)",
        password_help="read the Redis password from this environment variable",
    )
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
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document (streamed)")
    out.add_argument("--jsonl", action="store_true", help="print one JSON object per context per line")
    out.add_argument("--csv", action="store_true", help="print CSV: a row per context, a column per segment")
    p.add_argument(
        "--stale-after",
        type=setting("status", "stale_after"),
        metavar="SECONDS",
        help="the SDKs' staleAfter (default: status.stale_after, 120)",
    )
    p.add_argument(
        "--timeout",
        type=setting("redis", "timeout"),
        default=3.0,
        metavar="S",
        help="store timeout in seconds, like a [stores] entry's timeout (default 3)",
    )
    p.set_defaults(func=run)


@dataclass(frozen=True)
class InspectRequest:
    """What to look up and where, parsed and checked."""

    keys: list[str]
    segments: dict[str, int | None]
    direct: DirectStore | None = None
    integration: IntegrationRef | None = None
    prefix: str | None = None
    kind: str | None = None
    discover: bool = False
    json: bool = False
    jsonl: bool = False
    csv: bool = False
    keys_file: str | None = None
    key_column: str | None = None
    stale_after_ms: float | None = None
    config: str | None = None
    profile: str | None = None


def _keys(args: argparse.Namespace) -> list[str]:
    """The keys given as arguments (a keys file is streamed later, checked first)."""
    from ldtui.core.key_input import KeyInputError, check_key

    if args.keys_file and args.keys:
        raise UsageError("give keys as arguments or in --keys-file, not both")
    if args.key_column and not args.keys_file:
        raise UsageError("--key-column needs --keys-file")
    if args.keys_file:
        return []
    if not args.keys:
        raise UsageError("no context keys: give KEY arguments or --keys-file F")
    try:
        return [check_key(k, f"KEY {i}") for i, k in enumerate(args.keys, start=1)]
    except KeyInputError as exc:
        raise UsageError(str(exc)) from None


def _segments(args: argparse.Namespace) -> dict[str, int | None]:
    from ldtui.core.key_input import KeyInputError, parse_segment_spec

    out: dict[str, int | None] = {}
    for spec in args.segment:
        try:
            key, gen = parse_segment_spec(spec)
        except KeyInputError as exc:
            raise UsageError(f"--segment: {exc}") from None
        if gen is None and not args.integration:
            raise UsageError(
                f"--segment {literal(spec)}: no generation; without --integration ldtui cannot ask "
                f"the API, so write {literal(key)}=GENERATION"
            )
        out[key] = gen
    return out


def request(args: argparse.Namespace) -> InspectRequest:
    """The arguments as a request, or ``UsageError`` naming the argument."""
    if bool(args.store) == bool(args.integration):
        raise UsageError("choose the store: --store redis|dynamodb, or --integration P/E/KIND")
    keys, segments = _keys(args), _segments(args)
    ref = integration_ref(args.integration) if args.integration else None
    direct = None if args.integration else direct_store(args)
    return InspectRequest(
        keys=keys,
        segments=segments,
        direct=direct,
        integration=ref,
        prefix=args.prefix,
        kind=args.kind,
        discover=args.discover,
        json=args.json,
        jsonl=args.jsonl,
        csv=args.csv,
        keys_file=args.keys_file,
        key_column=args.key_column,
        stale_after_ms=args.stale_after * 1000 if args.stale_after else None,
        config=args.config,
        profile=args.profile,
    )


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.output import error

    thresholds, tuned = gc.get_threshold(), args.keys_file and not gc.get_freeze_count()
    if tuned:
        # A bulk run allocates millions of short-lived replies and results, freed by reference
        # counting: a larger young generation makes the collector scan less often (its scans
        # took about a fifth of a million-key run), and what start-up built is frozen out.
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
    try:
        return asyncio.run(_inspect(request(args)))
    except UsageError as exc:
        error(PROG, exc)
        return ExitCode.USAGE
    finally:
        if tuned:  # as it was, for a caller in the same process (tests)
            gc.set_threshold(*thresholds)
            gc.unfreeze()


async def _inspect(req: InspectRequest) -> ExitCode:
    from ldtui.api.errors import ApiError
    from ldtui.cli.output import error
    from ldtui.config import load_config
    from ldtui.core.key_input import KeyInputError
    from ldtui.services.inspect import (
        KeySource,
        SourceError,
        StoreOptionError,
        direct_inspector,
        integration_inspector,
        open_keys,
    )
    from ldtui.stores.base import StoreError, StoreUnavailable

    # The keys file first: a bad one is refused before any store or API is asked anything.
    source: KeySource | None = None
    if req.keys_file:
        stdin = getattr(sys.stdin, "buffer", None)  # None when there is no stdin at all
        try:
            source = open_keys(req.keys_file, req.key_column, stdin=stdin)
        except KeyInputError as exc:
            raise UsageError(f"--keys-file: {exc}") from None
    try:
        try:
            if req.direct is not None:
                inspector = direct_inspector(
                    req.direct, typed=req.segments, stale_after_ms=req.stale_after_ms
                )
            else:
                assert req.integration is not None
                cfg = load_config(file=req.config)  # ConfigError: exit 78, from main
                inspector = await integration_inspector(
                    cfg,
                    req.profile,
                    req.integration,
                    typed=req.segments,
                    prefix=req.prefix,
                    stale_after_ms=req.stale_after_ms,
                )
        except StoreOptionError as exc:
            raise option_error(exc) from None
        except SourceError as exc:
            raise UsageError(f"--integration {exc}") from None
        except ApiError as exc:
            error(PROG, exc)
            return ExitCode.CRITICAL
        try:
            return await _lookup(req, inspector, source)
        except OutputError as exc:
            error(PROG, f"cannot write the output: {exc}")
            _discard_stdout()
            return ExitCode.UNAVAILABLE
        except StoreUnavailable as exc:
            return _unavailable(req, inspector.kind, inspector.prefix, str(exc))
        except (StoreError, ApiError) as exc:
            error(PROG, exc)
            return ExitCode.CRITICAL
        finally:
            await inspector.aclose()
    finally:
        if source is not None:
            source.close()


class OutputError(Exception):
    """stdout could not be written (a full disk, an I/O error); a closed pipe is not one (it
    is a quiet exit 141)."""


def _guarded(call: Callable[..., Any]) -> Callable[..., Any]:
    """``call`` (a write or a flush of stdout) raising OutputError for what the stream raised."""

    def guarded(*args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(exc.strerror or str(exc)) from None

    return guarded


def _discard_stdout() -> None:
    """Point stdout at /dev/null: what its buffer still holds cannot fail again at exit."""
    import os

    with contextlib.suppress(OSError, ValueError, AttributeError):  # AttributeError: no stdout at all
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _terminal_write(text: str) -> int:
    """CSV rows for a terminal: each line's control characters spelled out (JSON is escaped
    by its encoder, to ASCII; a file or a pipe gets the CSV exactly as written)."""
    from ldtui.core.text import literal

    return sys.stdout.write("\n".join(literal(line) for line in text.split("\r\n")))


async def _lookup(req: InspectRequest, inspector: Any, source: Any) -> ExitCode:
    """Stream the lookup to stdout in the chosen format; counts at the end."""
    from ldtui.cli.output import OutputThread

    if sys.stdout is None:  # started with stdout closed (>&-): there is nowhere to write
        raise OutputError("standard output is closed")
    keys = source if source is not None else req.keys
    total = source.count if source is not None else len(req.keys)
    report = await inspector.report_stream(keys, kind=req.kind, discover=req.discover, total=total)
    flush = _guarded(sys.stdout.flush)
    if req.csv and sys.stdout.isatty():
        write: Callable[[str], object] = _terminal_write  # a terminal gets CSV's keys spelled out
        return await _report(req, inspector, report, total, _guarded(write), flush)
    output = OutputThread.for_text(sys.stdout) if req.json or req.jsonl or req.csv else None
    if output is None:
        return await _report(req, inspector, report, total, _guarded(sys.stdout.write), flush)
    with output:  # a document to a file or a pipe: written by a thread, beside the lookup
        code = await _report(req, inspector, report, total, _guarded(output.write), _guarded(output.close))
    return code


async def _report(
    req: InspectRequest,
    inspector: Any,
    report: Any,
    total: int,
    write: Callable[[str], object],
    written: Callable[[], object],
) -> ExitCode:
    """The results through ``write`` in the chosen format; ``written`` once all of it is
    out; then the counts, notes and the exit code."""
    from ldtui.api.errors import ApiError
    from ldtui.cli.output import error, note
    from ldtui.core.reports import CsvReport, JsonLinesReport, JsonReport
    from ldtui.services.inspect import CROSS_CHECK_CONTEXTS
    from ldtui.stores.base import StoreError, StoreUnavailable

    if req.json:
        writer: Any = JsonReport(write, report.store)
    elif req.jsonl:
        writer = JsonLinesReport(write)
    elif req.csv:
        writer = CsvReport(write, [k for k in report.segments if k in inspector.wanted])
    else:
        writer = None
    first: list[Any] = []
    table: TextTable | None = None
    disagreements = 0
    checked = False
    try:
        async for window in report.windows:
            if not checked and total <= CROSS_CHECK_CONTEXTS:
                # A handful of contexts, and an API at hand: LaunchDarkly's own word beside the store's.
                disagreements = await inspector.cross_check(window)
                checked = True
            if writer is not None:
                writer.results(window)
            elif total == 1:
                first += window  # one context: explained in full below
            else:
                if table is None:
                    table = TextTable(report, window)
                write(table.rows(window))
    except (StoreError, ApiError) as exc:
        if not req.json:
            raise
        # The store (or the API resolving a segment) failed mid-run: the document begun is
        # still one document, closed with the error and the tally of what was written.
        message = f"store unavailable: {exc}" if isinstance(exc, StoreUnavailable) else str(exc)
        writer.end(report.segments, report.tally, error=message)
        written()
        error(PROG, message)
        return ExitCode.CRITICAL
    if writer is not None:
        writer.end(report.segments, report.tally)
    elif total == 1 and first:
        from ldtui.services.inspect import InspectionReport

        single = InspectionReport(
            report.kind, report.prefix, report.state, first, report.segments, report.tally
        )
        write(text_report(single, int(time.time() * 1000)) + "\n")
    elif table is not None:
        write(table.footer(report.tally))
    written()
    if not req.json and total > 1:
        note(PROG, counts_line(report.tally))
    for info in report.unresolved:
        note(PROG, f"segment {info.key}: {info.note}")
    unknown = report.unknown
    for info in unknown:
        if info.resolved:
            note(PROG, f"segment {info.key}: {info.note or 'unknown'} (reported as unknown-segment)")
    if disagreements:
        error(
            PROG,
            f"{disagreements} verdict{'s' if disagreements > 1 else ''} differ from LaunchDarkly's own "
            "word: the store lags behind, or is not the one LaunchDarkly writes (host, table, prefix)",
        )
    if not report.state.available or disagreements:
        if not report.state.available:
            error(PROG, report.state.reason)
        return ExitCode.CRITICAL
    failed = report.tally.errors
    if failed:
        # The SDK fails on these contexts too (its big segments status: STORE_ERROR): the store
        # was read, but a look is needed.
        note(
            PROG,
            f"{failed:,} context{'s' if failed > 1 else ''} could not be judged: each one's error "
            "names the store entry that is not in the schema (the SDK fails on it too)",
        )
    return ExitCode.WARNING if unknown or failed else ExitCode.OK


def counts_line(tally: Any) -> str:
    parts = [f"{tally.contexts:,} contexts, {tally.with_data:,} with data, {tally.errors:,} errors"]
    for seg, counts in sorted(tally.per_segment.items()):
        parts.append(f"{seg}: " + ", ".join(f"{n:,} {v}" for v, n in sorted(counts.items())))
    return "; ".join(parts)


class TextTable:
    """The many-contexts table, streamed: columns from the first window (cut at 48)."""

    def __init__(self, report: Any, first: list[Any]) -> None:
        self.segs = sorted({a.segment_key for r in first for a in r.answers} | set(report.asked))
        head = ["KEY", "HASH", *(literal(s) for s in self.segs), "ORPHANED"]
        rows = [self._cells(r) for r in first]
        self.widths = [min(48, max(len(x[i]) for x in [head, *rows])) for i in range(len(head) - 1)]
        self.header = store_line(report.store, int(time.time() * 1000)) + "\n" + self._line(head)

    def _cells(self, r: Any) -> list[str]:
        return [
            literal(r.key),
            r.hash or "-",
            *((r.verdict_of(s) or "-") for s in self.segs),
            str(len(r.orphaned)) if not r.error else literal(r.error),
        ]

    def _line(self, row: list[str]) -> str:
        return "  ".join([*(c.ljust(w) for c, w in zip(row, self.widths, strict=False)), row[-1]]) + "\n"

    def rows(self, window: list[Any]) -> str:
        out = [self.header] if self.header else []
        self.header = ""
        out += [self._line(self._cells(r)) for r in window]
        return "".join(out)

    def footer(self, tally: Any) -> str:
        lines = ["", f"{tally.contexts} contexts, {tally.with_data} with data, {tally.errors} errors"]
        for seg, counts in sorted(tally.per_segment.items()):
            parts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
            lines.append(f"  {literal(seg)}: {parts}")
        return "\n".join(lines) + "\n"


def _unavailable(req: InspectRequest, kind: str, prefix: str, message: str) -> ExitCode:
    from ldtui.cli.output import error
    from ldtui.services.inspect import unavailable_json

    if req.json:
        print(json.dumps(unavailable_json(kind, prefix, message)))
    error(PROG, f"store unavailable: {message}")
    return ExitCode.CRITICAL


def store_line(store: dict[str, object], now_ms: int) -> str:
    word = "UNAVAILABLE" if not store["available"] else ("STALE" if store["stale"] else "HEALTHY")
    synced_on = store["synchronizedOn"]
    synced = relative_age(synced_on, now_ms) if isinstance(synced_on, int) else "never"
    prefix = literal(repr(store["prefix"]))
    return f"store     {store['kind']}  prefix {prefix}  {word}  synchronized {synced}"


def text_report(report: InspectionReport, now_ms: int) -> str:
    store, results = report.store, report.results
    lines = [store_line(store, now_ms)]
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
            ld = r.launchdarkly or {}
            lines.append("")
            lines.append(f"{'SEGMENT':<{width}}  {'GEN':>4}  {'VERDICT':<15}  {'LAUNCHDARKLY':<12}  REASON")
            for a in r.answers:
                gen = "-" if a.generation is None else str(a.generation)
                said = ld.get(a.segment_key, "-")
                if a.segment_key in r.disagreements:
                    said += " DISAGREE"
                name = literal(a.segment_key)
                lines.append(f"{name:<{width}}  {gen:>4}  {a.verdict:<15}  {said:<12}  {literal(a.reason)}")
        for o in r.orphaned:
            lines.append(f"orphaned  {literal(o.ref)} ({o.side}): {literal(o.reason)}")
        return "\n".join(lines)
    segs = sorted({a.segment_key for r in results for a in r.answers})
    head = ["KEY", "HASH", *(literal(s) for s in segs), "ORPHANED"]
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
    tally = report.tally
    lines.append("")
    lines.append(f"{tally.contexts} contexts, {tally.with_data} with data, {tally.errors} errors")
    for seg, counts in sorted(tally.per_segment.items()):
        parts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        lines.append(f"  {literal(seg)}: {parts}")
    return "\n".join(lines)
