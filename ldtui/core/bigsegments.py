"""Big segment semantics, exactly as the server-side SDKs apply them (store-schema.md §1, §5, §6).

Pure: no I/O, the clock is a parameter. The store readers return raw data; these functions
decide what it means.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_STALE_AFTER_MS = 120_000
DEFAULT_REDIS_PREFIX = "launchdarkly"


def context_key_hash(key: str) -> str:
    """base64 (standard alphabet, padded) of SHA-256 of the UTF-8 context key: 44 characters.

    Only the key is hashed: no kind, no salt, no environment. ``UnicodeEncodeError`` for a key
    holding lone surrogates, which no SDK can look up either.
    """
    return base64.b64encode(hashlib.sha256(key.encode("utf-8")).digest()).decode("ascii")


def resolve_prefix(kind: str, *, configured: str | None = None, client_side_id: str | None = None) -> str:
    """The prefix a store is read with (store-schema.md §1.3, §2, §3).

    An explicit prefix from configuration wins. Otherwise, a store written by a LaunchDarkly-
    hosted integration uses the environment's client-side ID (the ``_id`` of the Environment).
    Otherwise the SDK defaults: ``launchdarkly`` for Redis (an empty prefix means the default
    there too), none for DynamoDB.
    """
    if configured is not None and (configured or kind != "redis"):
        return configured
    if client_side_id:
        return client_side_id
    return DEFAULT_REDIS_PREFIX if kind == "redis" else ""


# --- segment references -----------------------------------------------------------------------

_GENERATION = re.compile(r"^g(0|[1-9][0-9]*)$")


def segment_ref(segment_key: str, generation: int) -> str:
    """``<segmentKey>.g<generation>``, as stored in the include/exclude sets."""
    return f"{segment_key}.g{generation}"


@dataclass(frozen=True)
class SegmentRef:
    ref: str
    segment_key: str | None
    generation: int | None

    @property
    def well_formed(self) -> bool:
        return self.segment_key is not None


def parse_segment_ref(ref: str) -> SegmentRef:
    """Split at the **last** dot (segment keys may contain dots, as the relay assumes)."""
    key, dot, gen = ref.rpartition(".")
    m = _GENERATION.match(gen) if dot else None
    if not key or m is None:
        return SegmentRef(ref, None, None)
    return SegmentRef(ref, key, int(m.group(1)))


# --- membership and verdicts ------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    """The include and exclude sets stored for one context hash."""

    included: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()

    @property
    def has_data(self) -> bool:
        return bool(self.included or self.excluded)

    def as_sdk_dict(self) -> dict[str, bool] | None:
        """What the SDK's ``get_membership`` returns: ``None`` for no data, else ref -> bool
        with excludes first so that includes override them."""
        if not self.has_data:
            return None
        out = dict.fromkeys(self.excluded, False)
        out.update(dict.fromkeys(self.included, True))
        return out


NO_MEMBERSHIP = Membership()


class Verdict(StrEnum):
    INCLUDED = "included"
    EXCLUDED = "excluded"
    NO_DATA = "no-data"
    # The segment has no generation: the SDK never queries the store and the context is not a
    # member, whatever the rules say (store-schema.md §5.1).
    NOT_CONFIGURED = "not-configured"


@dataclass(frozen=True)
class SegmentVerdict:
    segment_key: str
    generation: int | None
    ref: str | None
    verdict: Verdict
    reason: str


def segment_verdict(
    membership: Membership | None, segment_key: str, generation: int | None
) -> SegmentVerdict:
    """The store's answer for one big segment at its current generation."""
    if generation is None:
        return SegmentVerdict(
            segment_key,
            None,
            None,
            Verdict.NOT_CONFIGURED,
            "the segment has no generation, so SDKs do not query the store and the context is not a member",
        )
    ref = segment_ref(segment_key, generation)
    m = membership or NO_MEMBERSHIP
    if ref in m.included:
        reason = f"{ref} is in the include set"
        if ref in m.excluded:
            reason += " (it is also in the exclude set; include wins)"
        return SegmentVerdict(segment_key, generation, ref, Verdict.INCLUDED, reason)
    if ref in m.excluded:
        return SegmentVerdict(
            segment_key,
            generation,
            ref,
            Verdict.EXCLUDED,
            f"{ref} is in the exclude set: not a member even if a segment rule matches",
        )
    if not m.has_data:
        reason = "the store holds no data for this context; the segment's rules decide"
    else:
        reason = f"{ref} is in neither set; the segment's rules decide"
    return SegmentVerdict(segment_key, generation, ref, Verdict.NO_DATA, reason)


@dataclass(frozen=True)
class OrphanedRef:
    ref: str
    segment_key: str | None
    generation: int | None
    current_generation: int | None
    side: str  # "included" or "excluded"

    @property
    def reason(self) -> str:
        if self.segment_key is None:
            return f"{self.ref!r} is not a <segment key>.g<generation> reference"
        if self.current_generation is None:
            return f"no big segment {self.segment_key!r} is known in this environment"
        return (
            f"generation {self.generation} of {self.segment_key!r}; the current one is "
            f"{self.current_generation}, so SDKs ignore this entry"
        )


def orphaned_refs(
    membership: Membership | None, current_generations: Mapping[str, int | None]
) -> list[OrphanedRef]:
    """Refs in the sets that no SDK will ever read: other generations, unknown segments,
    malformed entries. Sorted for stable display."""
    if membership is None:
        return []
    out = []
    for side, refs in (("included", membership.included), ("excluded", membership.excluded)):
        for ref in sorted(refs):
            parsed = parse_segment_ref(ref)
            current = current_generations.get(parsed.segment_key) if parsed.segment_key else None
            if parsed.segment_key is not None and current == parsed.generation:
                continue
            out.append(OrphanedRef(ref, parsed.segment_key, parsed.generation, current, side))
    return out


def explain(
    membership: Membership | None, generations: Mapping[str, int | None]
) -> tuple[list[SegmentVerdict], list[OrphanedRef]]:
    """Verdicts for every known big segment, and the orphaned refs."""
    verdicts = [segment_verdict(membership, key, gen) for key, gen in sorted(generations.items())]
    return verdicts, orphaned_refs(membership, generations)


# --- store status -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreStatus:
    """What the SDK's BigSegmentStoreStatusProvider would report, plus the details behind it."""

    available: bool
    stale: bool
    synchronized_on: int | None
    age_ms: int | None
    error: str | None = None

    @property
    def word(self) -> str:
        if not self.available:
            return "UNAVAILABLE"
        return "STALE" if self.stale else "HEALTHY"

    @property
    def reason(self) -> str:
        if not self.available:
            return f"metadata read failed: {self.error}"
        if self.synchronized_on is None:
            return "no synchronizedOn in the store: never synchronized, or wrong prefix/table"
        age = (self.age_ms or 0) / 1000
        if self.stale:
            return f"last synchronized {age:.0f} s ago"
        return f"synchronized {age:.0f} s ago"


def store_status(
    *,
    synchronized_on: int | None,
    now_ms: int,
    stale_after_ms: float = DEFAULT_STALE_AFTER_MS,
    error: str | None = None,
) -> StoreStatus:
    """available = the metadata read did not fail; stale = available and (no timestamp, or
    ``now - synchronizedOn >= staleAfter``). An unavailable store is not stale."""
    if error is not None:
        return StoreStatus(False, False, None, None, error)
    if synchronized_on is None:
        return StoreStatus(True, True, None, None)
    age = now_ms - synchronized_on
    return StoreStatus(True, age >= stale_after_ms, synchronized_on, age)


def parse_redis_synchronized_on(raw: bytes | None) -> int | None:
    """The Redis metadata value as the Python SDK reads it: ``int(value)`` on the raw bytes.

    ``None`` when the key is missing; ``ValueError`` when it is not an integer (the SDK then
    reports the store unavailable)."""
    if raw is None:
        return None
    return int(raw)


def parse_dynamodb_synchronized_on(item: Mapping[str, object] | None) -> int | None:
    """The DynamoDB metadata item as the Python SDK reads it: only an ``N`` value counts; an
    ``S`` value or a missing attribute reads as missing; a non-integer number raises."""
    if not item:
        return None
    attr = item.get("synchronizedOn")
    if not isinstance(attr, Mapping):
        return None
    value = attr.get("N")
    return None if value is None else int(str(value))


# --- LaunchDarkly's big segment patches (what the relay applies; store-schema.md §4) ----------


@dataclass(frozen=True)
class BigSegmentPatch:
    """One patch from LaunchDarkly's big segment sync. Context keys are already hashed."""

    environment_id: str
    segment_id: str  # the segment ref, "<key>.g<generation>"
    version: str
    previous_version: str
    included_add: tuple[str, ...] = ()
    included_remove: tuple[str, ...] = ()
    excluded_add: tuple[str, ...] = ()
    excluded_remove: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> BigSegmentPatch:
        changes = data.get("changes") or {}
        if not isinstance(changes, Mapping):
            raise ValueError("a big segment patch's changes must be an object")

        def side(name: str, op: str) -> tuple[str, ...]:
            part = changes.get(name) or {}
            if not isinstance(part, Mapping):
                raise ValueError(f"a big segment patch's {name} must be an object")
            keys = part.get(op) or ()
            if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
                raise ValueError(f"a big segment patch's {name}.{op} must be a list of strings")
            return tuple(keys)

        return cls(
            environment_id=str(data.get("environmentId", "")),
            segment_id=str(data["segmentId"]),
            version=str(data.get("version") or ""),
            previous_version=str(data.get("previousVersion") or ""),
            included_add=side("included", "add"),
            included_remove=side("included", "remove"),
            excluded_add=side("excluded", "add"),
            excluded_remove=side("excluded", "remove"),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "environmentId": self.environment_id,
            "segmentId": self.segment_id,
            "version": self.version,
            "previousVersion": self.previous_version,
            "changes": {
                "included": {"add": list(self.included_add), "remove": list(self.included_remove)},
                "excluded": {"add": list(self.excluded_add), "remove": list(self.excluded_remove)},
            },
        }

    def applies_after(self, cursor: str | None) -> bool:
        """The relay's ordering rule: apply when no cursor is stored or it equals
        ``previousVersion``; otherwise the patch is out of order and skipped."""
        return cursor is None or cursor == self.previous_version

    def net_changes(self) -> dict[str, dict[str, str]]:
        """Per context hash, the final operation on each side, as applying the lists in order
        (add, then remove) would leave it: ``{hash: {"included": "add"|"remove", ...}}``."""
        out: dict[str, dict[str, str]] = {}
        for side_name, adds, removes in (
            ("included", self.included_add, self.included_remove),
            ("excluded", self.excluded_add, self.excluded_remove),
        ):
            for h in adds:
                out.setdefault(h, {})[side_name] = "add"
            for h in removes:
                out.setdefault(h, {})[side_name] = "remove"
        return out


@dataclass(frozen=True)
class PatchOutcome:
    applied: bool
    reason: str = ""
