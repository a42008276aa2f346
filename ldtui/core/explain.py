"""What a store's include and exclude sets mean for one context: the verdict per big segment
at its current generation, and the refs no SDK reads (store-schema.md §5). No I/O: the store's
answers arrive as ``Membership`` values, the API's segments as ``SegmentInfo``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, repeat
from typing import overload

from ldtui.core.bigsegments import (
    Membership,
    OrphanedRef,
    SegmentVerdict,
    orphaned_refs,
    parse_segment_ref,
    segment_ref,
)


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
# A segment asked for by name that LaunchDarkly does not have (or that is not a big segment):
# said, never dropped (a typo must not read as "nothing to report").
UNKNOWN_SEGMENT = "unknown-segment"


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
        return json.dumps(self.to_json(), ensure_ascii=True)[1:-1]


class ContextResult:
    """One context's answer: its key, its hash and the (shared) explanation of its sets. A plain
    slotted class, not a dataclass: a bulk run makes one per key, millions of them."""

    __slots__ = ("key", "hash", "explanation", "launchdarkly")

    def __init__(self, key: str, hash: str | None, explanation: Explanation) -> None:  # noqa: A002
        self.key = key
        self.hash = hash
        self.explanation = explanation
        # LaunchDarkly's own word per segment, when it was asked (``cross_check``).
        self.launchdarkly: dict[str, str] | None = None

    @property
    def disagreements(self) -> list[str]:
        """Segments where LaunchDarkly's word and the store's verdict differ."""
        if not self.launchdarkly:
            return []
        return [s for s, word in sorted(self.launchdarkly.items()) if self.verdict_of(s) != word]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ContextResult)
            and (self.key, self.hash) == (other.key, other.hash)
            and self.explanation is other.explanation
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ContextResult(key={self.key!r}, hash={self.hash!r})"

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
        out = {"key": self.key, "hash": self.hash, **self.explanation.to_json()}
        if self.launchdarkly is not None:
            out["launchDarkly"] = dict(sorted(self.launchdarkly.items()))
            out["disagree"] = self.disagreements
        return out

    def json_text(self) -> str:
        """``json.dumps(self.to_json())``, fast: the hash needs no escaping (base64), the rest
        is the explanation's shared fragment."""
        if self.launchdarkly is not None:
            return json.dumps(self.to_json(), ensure_ascii=True)
        h = "null" if self.hash is None else f'"{self.hash}"'
        return f'{{"key": {_encode_string(self.key)}, "hash": {h}, {self.explanation.json_fragment}}}'


_encode_string = json.encoder.encode_basestring_ascii


class ResultWindow(Sequence[ContextResult]):
    """A window of a bulk lookup's results, kept as three columns (keys, hashes, explanations)
    with how many share each explanation. A writer formats a window from its columns in a few
    C-level calls (``columns``), and tallies it from its counts: a million contexts then cost
    no Python step each. The ``ContextResult`` objects are made when something reads the
    window's items (a screen, a cross-check); from then on ``columns`` is None and writers read
    the items, which a cross-check may have given LaunchDarkly's word."""

    __slots__ = ("_keys", "_hashes", "_explanations", "_items", "counts")

    def __init__(
        self,
        keys: Sequence[str],
        hashes: Sequence[str],
        explanations: Sequence[Explanation],
        counts: Counter[Explanation] | None = None,
    ) -> None:
        if not len(keys) == len(hashes) == len(explanations):
            raise ValueError("a result window's columns must have one entry per key")
        self._keys, self._hashes, self._explanations = keys, hashes, explanations
        self._items: list[ContextResult] | None = None
        self.counts = Counter(explanations) if counts is None else counts

    @classmethod
    def of(cls, results: Iterable[ContextResult]) -> ResultWindow:
        """A window of results made one by one (the path that checks each key itself)."""
        items = list(results)
        window = cls((), (), ())
        window._items = items
        window.counts = Counter(r.explanation for r in items)
        return window

    def columns(self) -> tuple[Sequence[str], Sequence[str], Sequence[Explanation]] | None:
        """(keys, hashes, explanations), while no item has been handed out; else None."""
        if self._items is not None:
            return None
        return self._keys, self._hashes, self._explanations

    def _results(self) -> list[ContextResult]:
        if self._items is None:
            self._items = list(map(ContextResult, self._keys, self._hashes, self._explanations))
            self._keys = self._hashes = self._explanations = ()
        return self._items

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else len(self._keys)

    def __iter__(self) -> Iterator[ContextResult]:
        return iter(self._results())

    @overload
    def __getitem__(self, index: int) -> ContextResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[ContextResult]: ...

    def __getitem__(self, index: int | slice) -> ContextResult | list[ContextResult]:
        return self._results()[index]

    def __repr__(self) -> str:
        return f"ResultWindow({len(self)} results)"


def json_texts(window: Iterable[ContextResult], separator: str) -> str:
    """Each result's ``json_text`` followed by ``separator``, all in one string: from a
    window's columns in a few C-level calls when it has them (the same text, byte for byte)."""
    if not isinstance(window, ResultWindow) or (columns := window.columns()) is None:
        return "".join([r.json_text() + separator for r in window])
    keys, hashes, explanations = columns
    tails = {e: '", ' + e.json_fragment + "}" + separator for e in window.counts}
    if plain_json("".join(keys)):  # no key needs escaping: each goes in as it is, quoted here
        head, quoted, between = '{"key": "', keys, '", "hash": "'
    else:
        head, quoted, between = '{"key": ', list(map(_encode_string, keys)), ', "hash": "'
    pieces = zip(repeat(head), quoted, repeat(between), hashes, map(tails.__getitem__, explanations))
    return "".join(chain.from_iterable(pieces))


def plain_json(text: str) -> bool:
    """True when JSON (ASCII-only) writes ``text`` as it is between its quotes: printable ASCII
    without a quote or a backslash."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _answer(v: SegmentVerdict) -> SegmentAnswer:
    return SegmentAnswer(v.segment_key, v.verdict.value, v.reason, v.ref, v.generation)


def explain_membership(
    membership: Membership | None,
    segments: Mapping[str, SegmentInfo],
    *,
    kind: str | None = None,
    judged: Iterable[str] | None = None,
    asked: Iterable[str] = (),
) -> Explanation:
    """The verdict for each big segment judged, and the refs no SDK reads (orphaned).

    ``judged``: the segments to judge, besides those the membership references itself (which
    are always judged); ``None`` judges every segment known. ``asked``: segments named by the
    person, reported as ``unknown-segment`` when LaunchDarkly has no such big segment.
    ``kind`` is the context's kind; ``None`` means "whatever kind each segment targets"."""
    from ldtui.core.bigsegments import segment_verdict

    asked = set(asked)
    keys = set(segments) if judged is None else set(judged) | asked | segment_keys_in([membership])
    answers = []
    for key in sorted(keys):
        seg = segments.get(key)
        if seg is None:
            continue  # not resolved yet: its refs are reported unresolved below, if any
        if not seg.resolved:
            answers.append(SegmentAnswer(seg.key, UNRESOLVED, seg.note or "generation unknown"))
            continue
        if not seg.exists or not seg.big:
            if key in asked:
                why = seg.note or ("no such segment" if not seg.exists else "not a big segment")
                answers.append(SegmentAnswer(seg.key, UNKNOWN_SEGMENT, why))
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
    known = {k: segments[k].current_generation for k in keys if k in segments and segments[k].resolved}
    orphans = [
        o
        for o in orphaned_refs(membership, known)
        # A ref of a segment whose generation is unknown is neither current nor orphaned.
        if o.segment_key is None or o.segment_key in known
    ]
    unresolved: tuple[str, ...] = ()
    unknown = {a.segment_key for a in answers if a.verdict == UNRESOLVED} | {
        k for k in keys if k not in segments
    }
    if unknown and membership is not None:
        refs = membership.included | membership.excluded
        unresolved = tuple(sorted(r for r in refs if parse_segment_ref(r).segment_key in unknown))
    return Explanation(membership, tuple(answers), tuple(orphans), unresolved)


class Explainer:
    """Explains many contexts against one set of segments, each distinct membership once.

    Each context is judged for the segments ``judged`` (named, or found by a scan) and for
    every segment its own sets reference: what it is judged for depends only on its sets, so
    a stream of contexts can be explained window by window, in any order, the same way."""

    def __init__(
        self,
        segments: Mapping[str, SegmentInfo],
        *,
        kind: str | None = None,
        judged: Iterable[str] | None = None,
        asked: Iterable[str] = (),
    ) -> None:
        self.segments = segments
        self.kind = kind
        self.judged = None if judged is None else tuple(judged)
        self.asked = tuple(asked)
        self._cache: dict[Membership | None, Explanation] = {}
        self._errors: dict[str, Explanation] = {}

    def explanation_for(self, membership: Membership | None) -> Explanation:
        e = self._cache.get(membership)
        if e is None:
            if len(self._cache) > 50_000:  # a store of mostly unique combinations: stay bounded
                self._cache.clear()
            e = self._cache[membership] = explain_membership(
                membership, self.segments, kind=self.kind, judged=self.judged, asked=self.asked
            )
        return e

    def explain(self, key: str, context_hash: str | None, membership: Membership | None) -> ContextResult:
        return ContextResult(key, context_hash, self.explanation_for(membership))

    def failed(self, key: str, context_hash: str | None, error: str) -> ContextResult:
        e = self._errors.get(error)
        if e is None:
            e = Explanation(None, error=error)
            if len(self._errors) < 10_000:
                self._errors[error] = e
        return ContextResult(key, context_hash, e)
