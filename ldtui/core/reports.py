"""Results made into reports: counts per verdict (``Tally``), the JSON and CSV documents of a
lookup, and the per-generation counts of the segment view. No I/O."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat

from ldtui.core.bigsegments import StoreStatus, parse_segment_ref
from ldtui.core.explain import ContextResult, Explanation, ResultWindow, SegmentInfo, json_texts


@dataclass
class Tally:
    """Counts per verdict for each segment, and over all results."""

    contexts: int = 0
    with_data: int = 0
    errors: int = 0
    orphaned: int = 0
    per_segment: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, results: Iterable[ContextResult]) -> None:
        # Contexts sharing an explanation are counted together (a window may bring its counts).
        counts = getattr(results, "counts", None)
        if counts is None:
            counts = Counter(r.explanation for r in results)
        for e, n in counts.items():
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
    parts = ['{"store": ', json.dumps(dict(store), ensure_ascii=True), ', "contexts": [']
    parts.append(", ".join(r.json_text() for r in results))
    parts.append("]")
    if segments:
        gens = {k: s.generation for k, s in sorted(segments.items()) if s.resolved and s.exists and s.big}
        parts += [', "segmentGenerations": ', json.dumps(gens, ensure_ascii=True)]
    parts.append("}")
    return "".join(parts)


# --- streamed reports: written a window of results at a time, never held whole ------------------

Write = Callable[[str], object]


def segment_generations(segments: Mapping[str, SegmentInfo]) -> dict[str, int | None]:
    return {k: s.generation for k, s in sorted(segments.items()) if s.resolved and s.exists and s.big}


class JsonReport:
    """One JSON document, streamed: ``{"store": …, "contexts": [ … ], "segmentGenerations":
    …, "tally": …}``. The contexts go out as they are explained; the tail at the end."""

    def __init__(self, write: Write, store: Mapping[str, object]) -> None:
        self._write = write
        self._first = True
        write('{"store": ' + json.dumps(dict(store), ensure_ascii=True) + ', "contexts": [')

    def results(self, results: Iterable[ContextResult]) -> None:
        text = json_texts(results, ", ")
        if not text:
            return
        self._write(text[:-2] if self._first else ", " + text[:-2])
        self._first = False

    def end(self, segments: Mapping[str, SegmentInfo], tally: Tally, error: str | None = None) -> None:
        """The document's tail; with ``error`` (the store failed mid-run) the contexts before
        it are all the document holds, and the error says why."""
        tail = {"segmentGenerations": segment_generations(segments), "tally": tally.to_json()}
        if error is not None:
            tail = {"error": error, **tail}
        self._write("], " + json.dumps(tail, ensure_ascii=True)[1:] + "\n")


class JsonLinesReport:
    """One JSON object per context per line (``--jsonl``): nothing to close, every line whole."""

    def __init__(self, write: Write) -> None:
        self._write = write

    def results(self, results: Iterable[ContextResult]) -> None:
        text = json_texts(results, "\n")
        if text:
            self._write(text)

    def end(self, segments: Mapping[str, SegmentInfo], tally: Tally) -> None:
        return None


class CsvReport:
    """CSV rows (key, hash, one column per segment judged, the refs, any error), streamed.
    The segment columns are fixed up front: the segments named and found by a scan.

    Exactly what ``csv.writer`` writes (RFC 4180 line ends, minimal quoting), made fast: all
    of a row but its key and hash depends on the explanation only, so it is encoded once per
    explanation; a hash (base64) never needs quoting."""

    def __init__(self, write: Write, segment_keys: Sequence[str]) -> None:
        self._write = write
        self.segment_keys = list(segment_keys)
        self._tails: dict[int, tuple[Explanation, str]] = {}
        header = ["key", "hash", *self.segment_keys, "included", "excluded", "orphaned", "error"]
        write(",".join(map(csv_field, header)) + "\r\n")

    def _tail(self, e: Explanation) -> str:
        hit = self._tails.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        fields = [
            *((e.verdicts.get(s) or "") for s in self.segment_keys),
            " ".join(e.included),
            " ".join(e.excluded),
            " ".join(o.ref for o in e.orphaned),
            e.error or "",
        ]
        tail = ",".join(map(csv_field, fields))
        if len(self._tails) > 50_000:
            self._tails.clear()
        self._tails[id(e)] = (e, tail)
        return tail

    def results(self, results: Iterable[ContextResult]) -> None:
        tail = self._tail
        if not isinstance(results, ResultWindow) or (columns := results.columns()) is None:
            self._write(
                "".join([f"{csv_field(r.key)},{r.hash or ''},{tail(r.explanation)}\r\n" for r in results])
            )
            return
        keys, hashes, explanations = columns
        tails = {e: "," + tail(e) + "\r\n" for e in results.counts}
        # A window's keys quoted only if one of them needs it (one scan of them all, in C).
        fields = keys if _NEEDS_QUOTES.isdisjoint("".join(keys)) else list(map(csv_field, keys))
        rows = zip(fields, repeat(","), hashes, map(tails.__getitem__, explanations))
        self._write("".join(chain.from_iterable(rows)))

    def end(self, segments: Mapping[str, SegmentInfo], tally: Tally) -> None:
        return None


_NEEDS_QUOTES = frozenset(',"\r\n')


def csv_field(value: str) -> str:
    """One field as ``csv.writer`` (QUOTE_MINIMAL) writes it."""
    if _NEEDS_QUOTES.isdisjoint(value):
        return value
    return '"' + value.replace('"', '""') + '"'


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
