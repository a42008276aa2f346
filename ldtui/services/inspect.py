"""The inspector's engine: read memberships straight from a store, learn each big segment's
current generation (typed, or from the segments API), and explain. Used by the inspector
screens and by ``ldtui inspect`` alike. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ldtui.core.bigsegments import StoreStatus, store_status
from ldtui.core.inspect import (
    ContextResult,
    Explainer,
    GenerationCount,
    SegmentInfo,
    generation_counts,
    hash_keys,
    segment_keys_in,
)
from ldtui.stores.base import (
    BigSegmentStoreReader,
    Progress,
    StoreDataError,
    StoreError,
    StoreUnavailable,
)

# A bulk run reads this many contexts per store call, reporting progress between calls.
CHUNK = 20_000

SegmentLookup = Callable[[str], Awaitable[SegmentInfo]]
ProgressFn = Callable[[Progress], None]


def api_segment_lookup(client: Any, project: str, environment: str) -> SegmentLookup:
    """A segment's current generation and context kind from ``GET /api/v2/segments/...``."""
    from ldtui.api.errors import ApiError

    async def lookup(key: str) -> SegmentInfo:
        try:
            seg = await client.get_segment(project, environment, key)
        except ApiError as exc:
            if exc.status == 404:
                return SegmentInfo(
                    key, None, exists=False, note=f"no segment {key!r} in {project}/{environment}"
                )
            return SegmentInfo(
                key,
                None,
                source="unknown",
                note=f"the segments API did not answer ({exc.summary}); type KEY=GENERATION",
            )
        if not seg.is_big:
            return SegmentInfo(
                key, seg.generation, exists=True, big=False, note=f"{key!r} is not a big segment"
            )
        return SegmentInfo(key, seg.generation, seg.context_kind)

    return lookup


class Inspector:
    """One store, one environment's segments. Segment answers are cached for the session."""

    def __init__(
        self,
        reader: BigSegmentStoreReader,
        *,
        typed: Mapping[str, int | None] | None = None,
        lookup: SegmentLookup | None = None,
        stale_after_ms: float = 120_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reader = reader
        self.lookup = lookup
        self.stale_after_ms = stale_after_ms
        self.clock = clock
        self.segments: dict[str, SegmentInfo] = {}
        self.wanted: list[str] = []  # segments asked for by name, checked for every context
        self.set_typed(typed or {})

    @property
    def kind(self) -> str:
        return self.reader.kind

    @property
    def prefix(self) -> str:
        return self.reader.prefix

    def set_typed(self, typed: Mapping[str, int | None]) -> None:
        """Segments named by the user; a generation typed with them wins over the API's."""
        for key, gen in typed.items():
            if key not in self.wanted:
                self.wanted.append(key)
            if gen is not None:
                self.segments[key] = SegmentInfo(key, gen, source="typed")
            elif self.segments.get(key, None) is not None and self.segments[key].source == "typed":
                del self.segments[key]

    async def store_state(self) -> StoreStatus:
        """The store's freshness as the SDKs judge it; ``StoreUnavailable`` when the store
        cannot be reached at all."""
        now = int(self.clock() * 1000)
        try:
            metadata = await self.reader.get_metadata()
        except StoreUnavailable:
            raise
        except StoreError as exc:
            return store_status(synchronized_on=None, now_ms=now, error=str(exc))
        return store_status(
            synchronized_on=metadata.synchronized_on, now_ms=now, stale_after_ms=self.stale_after_ms
        )

    async def resolve(self, keys: Sequence[str]) -> dict[str, SegmentInfo]:
        """Current generations for these segment keys (asked once per session each)."""
        # An earlier API failure is asked again; everything else is remembered.
        missing = [
            k
            for k in dict.fromkeys(keys)
            if k not in self.segments or (self.lookup is not None and not self.segments[k].resolved)
        ]
        if missing:
            if self.lookup is None:
                for k in missing:
                    self.segments[k] = SegmentInfo(
                        k,
                        None,
                        source="unknown",
                        note="no API to ask for its generation: name it as KEY=GENERATION",
                    )
            else:
                lookup = self.lookup
                # A store may hold hundreds of segments: a few requests at a time, not a burst
                # that the API's rate limit answers with 429s.
                gate = asyncio.Semaphore(8)

                async def one(key: str) -> SegmentInfo:
                    async with gate:
                        return await lookup(key)

                infos = await asyncio.gather(*(one(k) for k in missing))
                for info in infos:
                    self.segments[info.key] = info
        return {k: self.segments[k] for k in dict.fromkeys(keys)}

    async def inspect(
        self,
        keys: Sequence[str],
        *,
        kind: str | None = None,
        progress: ProgressFn | None = None,
        chunk: int = CHUNK,
    ) -> list[ContextResult]:
        """Every key explained, in input order. Bad keys and contexts whose store entries are
        not in the schema get an error in their result; an unreachable store raises.

        Work goes in chunks (hash, read, then explain), yielding to the event loop between
        them, so a screen stays responsive during a long run. Cancel by cancelling the task."""
        total = len(keys)
        hashed: list[tuple[str, str | None, str | None]] = []
        found: dict[str, Any] = {}
        if progress is not None:
            progress(Progress(0, total, 0))
        for start in range(0, total, chunk):
            part = hash_keys(keys[start : start + chunk])
            hashed += part
            lookups = [h for _, h, err in part if err is None and h is not None]
            if lookups:
                found.update(await self.reader.get_memberships(lookups))
            else:
                await asyncio.sleep(0)
            if progress is not None:
                done = min(start + chunk, total)
                progress(Progress(done, total, done))
        distinct = {id(m): m for m in found.values() if m is not None and not isinstance(m, StoreError)}
        await self.resolve([*self.wanted, *sorted(segment_keys_in(distinct.values()))])
        explainer = Explainer(self.segments, kind=kind)
        out: list[ContextResult] = []
        for start in range(0, total, chunk):
            for key, h, err in hashed[start : start + chunk]:
                if err is not None or h is None:
                    out.append(explainer.failed(key, None, err or "not looked up"))
                    continue
                m = found.get(h)
                if isinstance(m, StoreDataError):
                    out.append(explainer.failed(key, h, m.message))
                else:
                    out.append(explainer.explain(key, h, m))
            if total > chunk:
                await asyncio.sleep(0)
        return out

    async def segment_view(
        self, segment_key: str, *, progress: ProgressFn | None = None
    ) -> tuple[SegmentInfo, list[GenerationCount], Any]:
        """Contexts included and excluded per generation of one segment, counted over the
        whole store by streaming statistics (memory does not grow with the store)."""
        info = (await self.resolve([segment_key]))[segment_key]
        stats = await self.reader.statistics(progress=progress)
        counts = generation_counts(segment_key, stats.included, stats.excluded, info.current_generation)
        return info, counts, stats

    async def discover(self, *, progress: ProgressFn | None = None) -> list[str]:
        """Every segment with an entry anywhere in the store (a full, streamed scan), added to
        the segments checked for each context, generations resolved. Returns their keys."""
        from ldtui.core.bigsegments import parse_segment_ref

        stats = await self.reader.statistics(progress=progress)
        keys = sorted(
            {k for k in (parse_segment_ref(ref).segment_key for ref in stats.refs()) if k is not None}
        )
        for key in keys:
            if key not in self.wanted:
                self.wanted.append(key)
        await self.resolve(keys)
        return keys

    async def aclose(self) -> None:
        await self.reader.aclose()


# --- where the store is -------------------------------------------------------------------------


class SourceError(Exception):
    """The store or integration named cannot be used; the text says why and what to do."""


def inspector_for(
    target: Any,
    config: Any,
    *,
    client: Any = None,
    typed: Mapping[str, int | None] | None = None,
    reader_factory: Callable[[Any, str, Any], BigSegmentStoreReader] | None = None,
    clock: Callable[[], float] = time.time,
) -> Inspector:
    """An inspector reading a status ``Target``'s store, asking the API for generations when
    the target names an environment and a client is at hand. ``SourceError`` when no store
    connection is configured for it; ``ConfigError`` when its password cannot be read."""
    from ldtui.stores.open import open_reader

    if target.store is None:
        raise SourceError(f"{target.name}: no store connection is configured")
    password = config.store_password(target.store_key) if target.store_key else None
    reader = (reader_factory or open_reader)(target.store, target.prefix, password)
    lookup = None
    if client is not None and target.project and target.environment:
        lookup = api_segment_lookup(client, target.project, target.environment)
    stale_after = config.settings.status.stale_after * 1000
    return Inspector(reader, typed=typed, lookup=lookup, stale_after_ms=stale_after, clock=clock)


# --- files --------------------------------------------------------------------------------------


def read_keys_file(path: str, column: str | None = None) -> list[str]:
    """Keys from a file (one per line, or a CSV column). ``KeyInputError`` names the problem."""
    from pathlib import Path

    from ldtui.core.inspect import KeyInputError, keys_from_file

    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise KeyInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return keys_from_file(data, str(path), column=column or None)


def export_results(
    path: str,
    results: Sequence[ContextResult],
    segments: Mapping[str, SegmentInfo],
    store: Mapping[str, object],
) -> str:
    """Write the results as CSV or JSON (by the file's extension). Written to a temporary file
    and renamed, so a failed export leaves nothing half-written. Returns the path written."""
    import os
    import tempfile
    from pathlib import Path

    from ldtui.core.inspect import results_csv, results_json

    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(f"{path}: the file name must end in .csv or .json")
    if suffix == ".json":
        text = results_json(store, results, segments)
    else:
        keys = sorted(k for k, s in segments.items() if s.resolved and s.exists and s.big)
        text = results_csv(results, keys)
    directory = p.parent if str(p.parent) else Path(".")
    if not directory.is_dir():
        raise ValueError(f"{path}: the folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".ldtui-export-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return str(p)
