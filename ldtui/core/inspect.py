"""The inspector's pure part: context keys in (typed, pasted, from a file or a CSV column),
explained results out (store-schema.md §1, §5). No I/O: files arrive as bytes, the store's
answers as ``Membership`` values, the API's segments as ``SegmentInfo``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ldtui.core.bigsegments import (
    Membership,
    OrphanedRef,
    SegmentVerdict,
    StoreStatus,
    context_key_hash,
    orphaned_refs,
    parse_segment_ref,
    segment_ref,
)

# No context key of LaunchDarkly's is anywhere near this; a longer "key" is almost always a
# whole file pasted as one line. The SDK would hash it, but nothing could ever match it.
MAX_KEY_BYTES = 65_536
DEFAULT_KEY_COLUMNS = ("key", "context_key", "contextKey", "user_key", "userKey")


class KeyInputError(ValueError):
    """Bad keys or a bad keys file: the message names where and what to do."""


# --- keys ---------------------------------------------------------------------------------------


def check_key(key: str, where: str = "the context key") -> str:
    """The key exactly as the SDKs would hash it, or ``KeyInputError``."""
    if key == "":
        raise KeyInputError(f"{where} is empty: SDKs reject a context with an empty key")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise KeyInputError(f"{where} is not valid Unicode text (it holds a lone surrogate)") from None
    if size > MAX_KEY_BYTES:
        raise KeyInputError(
            f"{where} is {size:,} bytes long; ldtui looks up keys of at most {MAX_KEY_BYTES:,} "
            "bytes (was a whole file pasted as one key?)"
        )
    return key


def _lines(text: str) -> Iterable[tuple[int, str]]:
    # Only line endings are removed: a context key may begin or end with spaces.
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield n, line


def keys_from_text(text: str, source: str = "the pasted text") -> list[str]:
    """One key per line; blank lines are skipped."""
    return [check_key(line, f"{source}, line {n}") for n, line in _lines(text)]


def decode_keys_file(data: bytes, source: str) -> str:
    """UTF-8 (a leading byte order mark is dropped), or a message naming the line and byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise KeyInputError(
            f"{source}, line {line}, column {column}: byte 0x{data[exc.start]:02x} is not valid "
            "UTF-8; save the file as UTF-8 (context keys are hashed as UTF-8, so a key in "
            "another encoding would never match)"
        ) from None


def keys_from_csv(text: str, source: str, column: str | None) -> list[str]:
    """Keys from one column of a CSV file with a header row. Without a column, a header named
    like a key column is used (``key``, ``context_key``, ...)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise KeyInputError(f"{source} is empty: expected a header row and one key per row") from None
    except csv.Error as exc:
        raise KeyInputError(f"{source}, line 1: {exc}") from None
    names = [h.strip() for h in header]
    shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
    if column is None:
        found = next((c for c in DEFAULT_KEY_COLUMNS if c in names), None)
        if found is None:
            raise KeyInputError(
                f"{source}: no key column; the columns are {shown}; choose one (--key-column NAME)"
            )
        column = found
    if column not in names:
        if column.isdigit() and 1 <= int(column) <= len(names):
            index = int(column) - 1
        else:
            raise KeyInputError(f"{source}: no column {column!r}; the columns are {shown}")
    else:
        index = names.index(column)
    keys = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            n = reader.line_num
            if index >= len(row):
                raise KeyInputError(f"{source}, line {n}: the row has no column {column!r}")
            keys.append(check_key(row[index], f"{source}, line {n}, column {column!r}"))
    except csv.Error as exc:
        raise KeyInputError(f"{source}, line {reader.line_num}: {exc}") from None
    return keys


def keys_from_file(
    data: bytes, source: str, *, column: str | None = None, as_csv: bool | None = None
) -> list[str]:
    """A keys file: CSV when ``as_csv`` (default: a column was chosen or the name ends in .csv),
    else one key per line."""
    text = decode_keys_file(data, source)
    if as_csv is None:
        as_csv = column is not None or source.lower().endswith(".csv")
    keys = keys_from_csv(text, source, column) if as_csv else keys_from_text(text, source)
    if not keys:
        raise KeyInputError(f"{source} holds no keys")
    return keys


# --- segments -----------------------------------------------------------------------------------


def parse_segment_spec(spec: str) -> tuple[str, int | None]:
    """``KEY=GEN`` (a typed generation) or ``KEY`` (the generation comes from the API)."""
    key, eq, gen = spec.strip().rpartition("=") if "=" in spec else (spec.strip(), "", "")
    key = key.strip()
    if not key:
        raise KeyInputError(f"segment {spec!r}: expected KEY=GENERATION, for example beta-testers=3")
    if not eq:
        return key, None
    gen = gen.strip()
    if not gen.isdigit():
        raise KeyInputError(
            f"segment {spec!r}: the generation {gen!r} is not a whole number (KEY=GENERATION, for "
            "example beta-testers=3)"
        )
    return key, int(gen)


def parse_segment_specs(text: str) -> dict[str, int | None]:
    """A comma- or space-separated list of segment specs, as typed in the inspector."""
    out: dict[str, int | None] = {}
    for part in text.replace(",", " ").split():
        key, gen = parse_segment_spec(part)
        out[key] = gen
    return out


@dataclass(frozen=True)
class SegmentInfo:
    """What is known of one big segment of the environment."""

    key: str
    generation: int | None
    context_kind: str = "user"
    # "api", "typed" or "unknown" (the API could not say; ``note`` tells why)
    source: str = "api"
    exists: bool = True
    big: bool = True
    note: str | None = None

    @property
    def resolved(self) -> bool:
        return self.source != "unknown"

    @property
    def current_generation(self) -> int | None:
        """For the orphan check: only a big segment that exists has a current generation."""
        return self.generation if self.exists and self.big else None


def segment_keys_in(memberships: Iterable[Membership | None]) -> set[str]:
    """Every segment key referenced by these memberships."""
    keys: set[str] = set()
    for m in memberships:
        if m is None:
            continue
        for ref in m.included | m.excluded:
            parsed = parse_segment_ref(ref)
            if parsed.segment_key is not None:
                keys.add(parsed.segment_key)
    return keys


# --- results ------------------------------------------------------------------------------------

OTHER_KIND = "other-kind"
UNRESOLVED = "unknown"


@dataclass(frozen=True)
class SegmentAnswer:
    segment_key: str
    verdict: str  # a Verdict value, OTHER_KIND or UNRESOLVED
    reason: str
    ref: str | None = None
    generation: int | None = None


@dataclass(frozen=True)
class ContextResult:
    key: str
    hash: str | None
    membership: Membership | None
    answers: tuple[SegmentAnswer, ...] = ()
    orphaned: tuple[OrphanedRef, ...] = ()
    error: str | None = None

    @property
    def included(self) -> list[str]:
        return sorted(self.membership.included) if self.membership else []

    @property
    def excluded(self) -> list[str]:
        return sorted(self.membership.excluded) if self.membership else []

    @property
    def unresolved_refs(self) -> list[str]:
        keys = {a.segment_key for a in self.answers if a.verdict == UNRESOLVED}
        if not keys or self.membership is None:
            return []
        refs = self.membership.included | self.membership.excluded
        return sorted(r for r in refs if parse_segment_ref(r).segment_key in keys)

    def verdict_of(self, segment_key: str) -> str | None:
        for a in self.answers:
            if a.segment_key == segment_key:
                return a.verdict
        return None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "key": self.key,
            "hash": self.hash,
            "included": self.included,
            "excluded": self.excluded,
            "segments": {a.segment_key: a.verdict for a in self.answers if a.verdict != UNRESOLVED},
            "orphaned": [o.ref for o in self.orphaned],
        }
        unresolved = self.unresolved_refs
        if unresolved:
            # Refs of segments whose current generation nobody could say: neither judged nor
            # called orphaned (name them with --segment KEY=GEN).
            out["unresolved"] = unresolved
        if self.error:
            out["error"] = self.error
        return out


def _answer(v: SegmentVerdict) -> SegmentAnswer:
    return SegmentAnswer(v.segment_key, v.verdict.value, v.reason, v.ref, v.generation)


def explain_context(
    key: str,
    context_hash: str | None,
    membership: Membership | None,
    segments: Mapping[str, SegmentInfo],
    *,
    kind: str | None = None,
    error: str | None = None,
) -> ContextResult:
    """The verdict for every known big segment, and the refs no SDK reads (orphaned).

    ``kind`` is the context's kind; ``None`` means "whatever kind each segment targets"."""
    from ldtui.core.bigsegments import segment_verdict

    if error is not None or context_hash is None:
        return ContextResult(key, context_hash, None, (), (), error or "not looked up")
    answers = []
    for seg in sorted(segments.values(), key=lambda s: s.key):
        if not seg.resolved:
            answers.append(SegmentAnswer(seg.key, UNRESOLVED, seg.note or "generation unknown"))
            continue
        if not seg.exists or not seg.big:
            continue
        if kind is not None and seg.context_kind != kind:
            answers.append(
                SegmentAnswer(
                    seg.key,
                    OTHER_KIND,
                    f"the segment targets {seg.context_kind!r} contexts; a {kind!r} context is not a "
                    "member and SDKs do not query the store for it",
                    None if seg.generation is None else segment_ref(seg.key, seg.generation),
                    seg.generation,
                )
            )
            continue
        answers.append(_answer(segment_verdict(membership, seg.key, seg.generation)))
    known = {s.key: s.current_generation for s in segments.values() if s.resolved}
    orphans = [
        o
        for o in orphaned_refs(membership, known)
        # A ref of a segment whose generation is unknown is neither current nor orphaned.
        if o.segment_key is None or o.segment_key in known
    ]
    return ContextResult(key, context_hash, membership, tuple(answers), tuple(orphans))


def hash_keys(keys: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
    """(key, hash, error) for each key; a bad key gets an error instead of a hash."""
    out: list[tuple[str, str | None, str | None]] = []
    for k in keys:
        try:
            out.append((k, context_key_hash(check_key(k)), None))
        except KeyInputError as exc:
            out.append((k, None, str(exc)))
    return out


@dataclass
class Tally:
    """Counts per verdict for each segment, and over all results."""

    contexts: int = 0
    with_data: int = 0
    errors: int = 0
    orphaned: int = 0
    per_segment: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, results: Iterable[ContextResult]) -> None:
        for r in results:
            self.contexts += 1
            if r.error:
                self.errors += 1
                continue
            if r.membership is not None and r.membership.has_data:
                self.with_data += 1
            if r.orphaned:
                self.orphaned += 1
            for a in r.answers:
                self.per_segment.setdefault(a.segment_key, Counter())[a.verdict] += 1

    def total(self, verdict: str) -> int:
        return sum(c[verdict] for c in self.per_segment.values())

    def to_json(self) -> dict[str, object]:
        return {
            "contexts": self.contexts,
            "withData": self.with_data,
            "errors": self.errors,
            "withOrphanedRefs": self.orphaned,
            "segments": {k: dict(sorted(v.items())) for k, v in sorted(self.per_segment.items())},
        }


def store_json(kind: str, prefix: str, status: StoreStatus) -> dict[str, object]:
    return {
        "kind": kind,
        "prefix": prefix,
        "synchronizedOn": status.synchronized_on,
        "ageSeconds": None if status.age_ms is None else round(status.age_ms / 1000, 3),
        "stale": status.stale,
        "available": status.available,
    }


def results_json(
    store: Mapping[str, object],
    results: Sequence[ContextResult],
    segments: Mapping[str, SegmentInfo] | None = None,
) -> str:
    doc: dict[str, object] = {"store": dict(store), "contexts": [r.to_json() for r in results]}
    if segments:
        doc["segmentGenerations"] = {
            k: s.generation for k, s in sorted(segments.items()) if s.resolved and s.exists and s.big
        }
    return json.dumps(doc, ensure_ascii=False)


def results_csv(results: Sequence[ContextResult], segment_keys: Sequence[str]) -> str:
    """One row per context: key, hash, one column per segment, the refs, and any error.

    Values are written as they are (a hash may begin with ``+`` or ``/``); open the file as
    text, not as formulas."""
    buf = io.StringIO(newline="")
    # RFC 4180 line ends: a key holding a CR or LF is quoted, so it reads back intact.
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["key", "hash", *segment_keys, "included", "excluded", "orphaned", "error"])
    for r in results:
        w.writerow(
            [
                r.key,
                r.hash or "",
                *((r.verdict_of(s) or "") for s in segment_keys),
                " ".join(r.included),
                " ".join(r.excluded),
                " ".join(o.ref for o in r.orphaned),
                r.error or "",
            ]
        )
    return buf.getvalue()


# --- segment view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationCount:
    generation: int
    included: int
    excluded: int
    current: bool


def generation_counts(
    segment_key: str,
    included: Mapping[str, int],
    excluded: Mapping[str, int],
    current_generation: int | None,
) -> list[GenerationCount]:
    """Per generation of one segment, contexts included and excluded (from store statistics);
    newest first. The current generation is listed even when the store holds none of it."""
    gens: dict[int, list[int]] = {}
    for side, counts in ((0, included), (1, excluded)):
        for ref, n in counts.items():
            parsed = parse_segment_ref(ref)
            if parsed.segment_key == segment_key and parsed.generation is not None:
                gens.setdefault(parsed.generation, [0, 0])[side] += n
    if current_generation is not None:
        gens.setdefault(current_generation, [0, 0])
    return [
        GenerationCount(g, inc, exc, g == current_generation)
        for g, (inc, exc) in sorted(gens.items(), reverse=True)
    ]
