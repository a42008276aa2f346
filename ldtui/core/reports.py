"""Results made into reports: counts per verdict (``Tally``), the JSON and CSV documents of a
lookup, and the per-generation counts of the segment view. No I/O."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ldtui.core.bigsegments import StoreStatus, parse_segment_ref
from ldtui.core.explain import ContextResult, SegmentInfo


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
