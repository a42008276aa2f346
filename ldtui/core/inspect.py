"""The inspector's pure part: context keys in (typed, pasted, from a file or a CSV column),
explained results out (store-schema.md §1, §5). No I/O: files arrive as bytes, the store's
answers as ``Membership`` values, the API's segments as ``SegmentInfo``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ldtui.core.bigsegments import (
    Membership,
    OrphanedRef,
    SegmentVerdict,
    StoreStatus,
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


_SURELY_SHORT = MAX_KEY_BYTES // 4  # characters: at most 4 UTF-8 bytes each


def keys_from_text(text: str, source: str = "the pasted text") -> list[str]:
    """One key per line; blank lines are skipped."""
    out = []
    for n, line in _lines(text):
        out.append(line if len(line) <= _SURELY_SHORT else check_key(line, f"{source}, line {n}"))
    return out


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
    # The kind of context the segment targets; None when unknown (a typed generation).
    context_kind: str | None = None
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


@dataclass(frozen=True, eq=False)
class Explanation:
    """What the store's sets mean for one membership: shared by every context whose sets are
    the same (a store holds few distinct combinations, so a bulk run explains each once)."""

    membership: Membership | None
    answers: tuple[SegmentAnswer, ...] = ()
    orphaned: tuple[OrphanedRef, ...] = ()
    unresolved: tuple[str, ...] = ()
    error: str | None = None

    @cached_property
    def included(self) -> list[str]:
        return sorted(self.membership.included) if self.membership else []

    @cached_property
    def excluded(self) -> list[str]:
        return sorted(self.membership.excluded) if self.membership else []

    @cached_property
    def verdicts(self) -> dict[str, str]:
        return {a.segment_key: a.verdict for a in self.answers}

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "included": self.included,
            "excluded": self.excluded,
            "segments": {a.segment_key: a.verdict for a in self.answers if a.verdict != UNRESOLVED},
            "orphaned": [o.ref for o in self.orphaned],
        }
        if self.unresolved:
            # Refs of segments whose current generation nobody could say: neither judged nor
            # called orphaned (name them with --segment KEY=GEN).
            out["unresolved"] = list(self.unresolved)
        if self.error:
            out["error"] = self.error
        return out

    @cached_property
    def json_fragment(self) -> str:
        """``to_json()`` as the inside of a JSON object, for fast streaming of many results."""
        return json.dumps(self.to_json(), ensure_ascii=False)[1:-1]


@dataclass(frozen=True)
class ContextResult:
    key: str
    hash: str | None
    explanation: Explanation

    @property
    def membership(self) -> Membership | None:
        return self.explanation.membership

    @property
    def answers(self) -> tuple[SegmentAnswer, ...]:
        return self.explanation.answers

    @property
    def orphaned(self) -> tuple[OrphanedRef, ...]:
        return self.explanation.orphaned

    @property
    def error(self) -> str | None:
        return self.explanation.error

    @property
    def included(self) -> list[str]:
        return self.explanation.included

    @property
    def excluded(self) -> list[str]:
        return self.explanation.excluded

    @property
    def unresolved_refs(self) -> list[str]:
        return list(self.explanation.unresolved)

    def verdict_of(self, segment_key: str) -> str | None:
        return self.explanation.verdicts.get(segment_key)

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "hash": self.hash, **self.explanation.to_json()}

    def json_text(self) -> str:
        """``json.dumps(self.to_json())``, fast: the hash needs no escaping (base64), the rest
        is the explanation's shared fragment."""
        h = "null" if self.hash is None else f'"{self.hash}"'
        return f'{{"key": {_encode_string(self.key)}, "hash": {h}, {self.explanation.json_fragment}}}'


_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _answer(v: SegmentVerdict) -> SegmentAnswer:
    return SegmentAnswer(v.segment_key, v.verdict.value, v.reason, v.ref, v.generation)


def explain_membership(
    membership: Membership | None,
    segments: Mapping[str, SegmentInfo],
    *,
    kind: str | None = None,
) -> Explanation:
    """The verdict for every known big segment, and the refs no SDK reads (orphaned).

    ``kind`` is the context's kind; ``None`` means "whatever kind each segment targets"."""
    from ldtui.core.bigsegments import segment_verdict

    answers = []
    for seg in sorted(segments.values(), key=lambda s: s.key):
        if not seg.resolved:
            answers.append(SegmentAnswer(seg.key, UNRESOLVED, seg.note or "generation unknown"))
            continue
        if not seg.exists or not seg.big:
            continue
        if kind is not None and seg.context_kind is not None and seg.context_kind != kind:
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
    unresolved: tuple[str, ...] = ()
    unknown = {a.segment_key for a in answers if a.verdict == UNRESOLVED}
    if unknown and membership is not None:
        refs = membership.included | membership.excluded
        unresolved = tuple(sorted(r for r in refs if parse_segment_ref(r).segment_key in unknown))
    return Explanation(membership, tuple(answers), tuple(orphans), unresolved)


class Explainer:
    """Explains many contexts against one set of segments, each distinct membership once."""

    def __init__(self, segments: Mapping[str, SegmentInfo], *, kind: str | None = None) -> None:
        self.segments = segments
        self.kind = kind
        self._cache: dict[Membership | None, Explanation] = {}
        self._errors: dict[str, Explanation] = {}

    def explain(self, key: str, context_hash: str | None, membership: Membership | None) -> ContextResult:
        e = self._cache.get(membership)
        if e is None:
            if len(self._cache) > 50_000:  # a store of mostly unique combinations: stay bounded
                self._cache.clear()
            e = self._cache[membership] = explain_membership(membership, self.segments, kind=self.kind)
        return ContextResult(key, context_hash, e)

    def failed(self, key: str, context_hash: str | None, error: str) -> ContextResult:
        e = self._errors.get(error)
        if e is None:
            e = Explanation(None, error=error)
            if len(self._errors) < 10_000:
                self._errors[error] = e
        return ContextResult(key, context_hash, e)


def hash_keys(keys: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
    """(key, hash, error) for each key; a bad key gets an error instead of a hash."""
    out: list[tuple[str, str | None, str | None]] = []
    sha256, b64 = hashlib.sha256, base64.b64encode
    for k in keys:
        try:
            raw = k.encode("utf-8")
        except UnicodeEncodeError:
            raw = b""
        if not raw or len(raw) > MAX_KEY_BYTES:
            try:
                check_key(k)
            except KeyInputError as exc:
                out.append((k, None, str(exc)))
                continue
        out.append((k, b64(sha256(raw).digest()).decode("ascii"), None))
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
        # Contexts sharing an explanation are counted together.
        groups: dict[int, list[Any]] = {}
        for r in results:
            g = groups.get(id(r.explanation))
            if g is None:
                groups[id(r.explanation)] = [r.explanation, 1]
            else:
                g[1] += 1
        for e, n in groups.values():
            self.contexts += n
            if e.error:
                self.errors += n
                continue
            if e.membership is not None and e.membership.has_data:
                self.with_data += n
            if e.orphaned:
                self.orphaned += n
            for a in e.answers:
                self.per_segment.setdefault(a.segment_key, Counter())[a.verdict] += n

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
    """``{"store": ..., "contexts": [...], "segmentGenerations": ...}``; the contexts are
    written from their shared explanations' pre-encoded fragments."""
    parts = ['{"store": ', json.dumps(dict(store), ensure_ascii=False), ', "contexts": [']
    parts.append(", ".join(r.json_text() for r in results))
    parts.append("]")
    if segments:
        gens = {k: s.generation for k, s in sorted(segments.items()) if s.resolved and s.exists and s.big}
        parts += [', "segmentGenerations": ', json.dumps(gens, ensure_ascii=False)]
    parts.append("}")
    return "".join(parts)


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
