"""The inspector's engine: read memberships straight from a store, learn each big segment's
current generation (typed, or from the segments API), and explain. Used by the inspector
screens and by ``ldtui inspect`` alike. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import stat
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from ldtui.config_file import HomeNotFound, expand_home
from ldtui.core.bigsegments import StoreStatus, store_status
from ldtui.core.explain import (
    ContextResult,
    Explainer,
    Explanation,
    ResultWindow,
    SegmentInfo,
    segment_keys_in,
)
from ldtui.core.key_input import KeyInputError, hash_checked, hash_keys, keys_from_file
from ldtui.core.reports import GenerationCount, Tally, generation_counts, results_json, store_json
from ldtui.stores.base import (
    BigSegmentStoreReader,
    Progress,
    StoreDataError,
    StoreError,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from pydantic import SecretStr

    from ldtui.config import Config
    from ldtui.core.store_settings import Store
    from ldtui.stores.base import StoreStatistics

# A bulk run reads this many contexts per store call, reporting progress between calls.
CHUNK = 20_000
# Segments found only in a store's sets are looked up in the segments API at most this many
# per session: a store full of junk refs must not burn the account's shared rate limit with
# thousands of requests (the rest are reported as unknown refs; --segment names any of them).
MAX_REF_LOOKUPS = 50

SegmentLookup = Callable[[str], Awaitable[SegmentInfo]]
# LaunchDarkly's word on one context in one big segment: (segment key, context key) -> the
# verdict the store should give ("included", "excluded" or "no-data").
MembershipCheck = Callable[[str, str], Awaitable[str]]
# The cross-check asks LaunchDarkly about at most this many contexts and calls in all: it is
# for explaining one context (or a handful), never a bulk run against a shared rate limit.
CROSS_CHECK_CONTEXTS = 10
CROSS_CHECK_CALLS = 50
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


def api_membership_check(client: Any, project: str, environment: str) -> MembershipCheck:
    """LaunchDarkly's view through ``GET /api/v2/segments/{p}/{e}/{segment}/contexts/{key}``:
    included wins over excluded, as in the store."""

    async def check(segment: str, key: str) -> str:
        target = await client.get_segment_membership(project, environment, segment, key)
        if target.included:
            return "included"
        return "excluded" if target.excluded else "no-data"

    return check


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
        # LaunchDarkly's own membership answers, when an API is at hand (``cross_check``).
        self.membership_check: MembershipCheck | None = None
        self.stale_after_ms = stale_after_ms
        self.clock = clock
        self.segments: dict[str, SegmentInfo] = {}
        self.wanted: list[str] = []  # segments judged for every context: named, or found by a scan
        self.asked: list[str] = []  # of those, the ones named (an unknown one is said so)
        self._ref_lookups = 0  # segments found only in sets, asked of the API so far
        self._over_budget: set[str] = set()
        # What this inspector opened and closes with itself (the API client of an integration).
        self.owned: list[Any] = []
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
            if key not in self.asked:
                self.asked.append(key)
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
        """Current generations for these segment keys (asked once per session each). Keys
        not named by the person count against ``MAX_REF_LOOKUPS``; past it they stay unknown."""
        # An earlier API failure is asked again (unless it was the budget); the rest is kept.
        missing = [
            k
            for k in dict.fromkeys(keys)
            if k not in self.segments
            or (self.lookup is not None and not self.segments[k].resolved and k not in self._over_budget)
        ]
        if self.lookup is not None:
            allowed = []
            for k in missing:
                if k in self.asked:
                    allowed.append(k)
                elif self._ref_lookups < MAX_REF_LOOKUPS:
                    self._ref_lookups += 1
                    allowed.append(k)
                else:
                    self._over_budget.add(k)
                    self.segments[k] = SegmentInfo(
                        k,
                        None,
                        source="unknown",
                        note=f"not looked up: this run asked LaunchDarkly about {MAX_REF_LOOKUPS} segments "
                        "found only in the store's sets already; name it with --segment KEY[=GEN]",
                    )
            missing = allowed
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

    async def stream(
        self,
        keys: Iterable[str],
        *,
        kind: str | None = None,
        progress: ProgressFn | None = None,
        total: int | None = None,
        window: int = CHUNK,
    ) -> AsyncIterator[ResultWindow]:
        """Every key explained, in input order, a window at a time: hash, one store read,
        the segments the window references resolved, explained, handed out; memory holds one
        window, whatever the number of keys. Bad keys and contexts whose store entries are not
        in the schema get an error in their result; an unreachable store raises. Cancel by
        cancelling the task (between windows the event loop runs)."""
        explainer = Explainer(self.segments, kind=kind, judged=self.wanted, asked=self.asked)
        done = 0
        if progress is not None:
            progress(Progress(0, total, 0))
        checked = getattr(keys, "checked", False)
        if hasattr(keys, "windows"):
            batches: Iterator[list[str]] = keys.windows(window)
        else:
            iterator = iter(keys)
            batches = iter(lambda: list(itertools.islice(iterator, window)), [])
        if checked:  # every key valid (checked in a first pass): the fast path
            async with contextlib.aclosing(self._stream_checked(batches, explainer)) as windows:
                async for out in windows:
                    done += len(out)
                    if progress is not None:
                        progress(Progress(done, total, done))
                    yield out
                    await asyncio.sleep(0)
            return
        for batch in batches:  # keys not checked yet: each one hashed, or refused, here
            hashed = hash_keys(batch)
            lookups = [k.hash for k in hashed if k.error is None and k.hash is not None]
            found = await self.reader.get_memberships(lookups) if lookups else {}
            await self._resolve_referenced(found.values())
            results: list[ContextResult] = []
            for key, h, err in hashed:  # HashedKey
                if err is not None or h is None:
                    results.append(explainer.failed(key, None, err or "not looked up"))
                else:
                    results.append(ContextResult(key, h, self._explain_answer(explainer, found.get(h))))
            done += len(batch)
            if progress is not None:
                progress(Progress(done, total, done))
            yield ResultWindow.of(results)
            await asyncio.sleep(0)

    async def _stream_checked(
        self, batches: Iterator[list[str]], explainer: Explainer
    ) -> AsyncGenerator[ResultWindow, None]:
        """The fast path (every key checked in a first pass), with one store read in flight
        while this process works: the next window is hashed while the store answers this one,
        and its read is sent before this one is explained and written. ldtui and redis-server
        then work at the same time (on two cores, the whole run is the slower of the two, not
        their sum). Never more than one read in flight; one is cancelled if the stream is."""

        def read(hashes: list[str]) -> asyncio.Task[Any]:
            return asyncio.ensure_future(self.reader.memberships_in_order(hashes))

        batch = next(batches, None)
        if batch is None:
            return
        hashes = hash_checked(batch)
        task: asyncio.Task[Any] | None = read(hashes)
        try:
            while batch is not None and task is not None:
                await asyncio.sleep(0)  # the read's commands go out before the hashing below
                following = next(batches, None)
                following_hashes = hash_checked(following) if following is not None else []
                found: list[Any] = await task
                task = read(following_hashes) if following is not None else None
                if task is not None:
                    await asyncio.sleep(0)  # its commands go out now, before this window's work
                # One explanation per distinct answer in the window (the reader shares one object
                # per distinct pair of sets); per key, lookups done in C (map), no Python step.
                ids = list(map(id, found))
                distinct = dict(zip(ids, found, strict=True))
                await self._resolve_referenced(distinct.values())
                by_id = {i: self._explain_answer(explainer, a) for i, a in distinct.items()}
                explanations = list(map(by_id.__getitem__, ids))
                yield ResultWindow(batch, hashes, explanations)
                batch, hashes = following, following_hashes
        finally:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _resolve_referenced(self, answers: Iterable[Any]) -> None:
        """Resolve the segments a window's answers reference that are not known yet."""
        answers = list(answers)
        distinct = dict(zip(map(id, answers), answers, strict=True))  # a few objects, shared
        memberships = [m for m in distinct.values() if m is not None and not isinstance(m, StoreError)]
        new = [k for k in segment_keys_in(memberships) if k not in self.segments]
        if new:
            await self.resolve(sorted(new))

    @staticmethod
    def _explain_answer(explainer: Explainer, answer: Any) -> Explanation:
        if isinstance(answer, StoreDataError):
            return explainer.failed("", None, answer.message).explanation
        return explainer.explanation_for(answer)

    async def inspect(
        self,
        keys: Sequence[str],
        *,
        kind: str | None = None,
        progress: ProgressFn | None = None,
        chunk: int = CHUNK,
    ) -> list[ContextResult]:
        """Every key explained, in input order (``stream``, collected: for inputs that fit in
        memory, a pasted list or one key)."""
        await self.resolve(self.wanted)
        out: list[ContextResult] = []
        async for part in self.stream(keys, kind=kind, progress=progress, total=len(keys), window=chunk):
            out += part
        return out

    async def cross_check(self, results: Sequence[ContextResult]) -> int:
        """Ask LaunchDarkly, for the first few contexts, whether each is in each big segment it
        was judged for, and record its word (``ContextResult.launchdarkly``): a verdict that
        differs means the store lags, or is not the one LaunchDarkly writes (prefix, table).
        Bounded (``CROSS_CHECK_CONTEXTS``, ``CROSS_CHECK_CALLS``); an API failure leaves the
        word out. Returns the number of disagreements."""
        from ldtui.api.errors import ApiError

        check = self.membership_check
        if check is None:
            return 0
        judged = ("included", "excluded", "no-data")
        asks = [
            (r, a.segment_key)
            for r in results[:CROSS_CHECK_CONTEXTS]
            if r.error is None
            for a in r.answers
            if a.verdict in judged
        ][:CROSS_CHECK_CALLS]
        gate = asyncio.Semaphore(4)

        async def one(r: ContextResult, segment: str) -> None:
            async with gate:
                try:
                    word = await check(segment, r.key)
                except ApiError:
                    return
            if r.launchdarkly is None:
                r.launchdarkly = {}
            r.launchdarkly[segment] = word

        await asyncio.gather(*(one(r, seg) for r, seg in asks))
        return sum(len(r.disagreements) for r in results)

    async def segment_view(self, segment_key: str, *, progress: ProgressFn | None = None) -> SegmentView:
        """Contexts included and excluded per generation of one segment, counted over the
        whole store by streaming statistics (memory does not grow with the store)."""
        info = (await self.resolve([segment_key]))[segment_key]
        stats = await self.reader.statistics(progress=progress)
        counts = generation_counts(segment_key, stats.included, stats.excluded, info.current_generation)
        return SegmentView(info, counts, stats)

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

    async def report(
        self,
        keys: Sequence[str],
        *,
        kind: str | None = None,
        discover: bool = False,
        progress: ProgressFn | None = None,
        chunk: int = CHUNK,
    ) -> InspectionReport:
        """The whole lookup, as ``ldtui inspect`` and the bulk screen run it: the store's
        freshness, optionally a scan for every segment it holds, every key explained, and
        the counts. ``StoreUnavailable`` when the store cannot be reached."""
        state = await self.store_state()
        if discover:
            await self.discover(progress=progress)
        results = await self.inspect(keys, kind=kind, progress=progress, chunk=chunk)
        tally = Tally()
        tally.add(results)
        return InspectionReport(self.kind, self.prefix, state, results, dict(self.segments), tally)

    async def report_stream(
        self,
        keys: Iterable[str],
        *,
        kind: str | None = None,
        discover: bool = False,
        progress: ProgressFn | None = None,
        total: int | None = None,
        window: int = CHUNK,
    ) -> StreamedReport:
        """The whole lookup, streamed, as ``ldtui inspect --keys-file`` and the bulk screen's
        exports run it: the store's freshness and, optionally, a scan for every segment it
        holds, first; then the results a window at a time (``windows``), counted as they
        pass. Memory holds a window, whatever the number of keys. ``StoreUnavailable`` when
        the store cannot be reached."""
        state = await self.store_state()
        if discover:
            await self.discover(progress=progress)
        await self.resolve(self.wanted)
        tally = Tally()
        windows = self.stream(keys, kind=kind, progress=progress, total=total, window=window)

        async def counted() -> AsyncIterator[ResultWindow]:
            async for part in windows:
                tally.add(part)
                yield part

        return StreamedReport(
            self.kind, self.prefix, state, self.segments, tally, counted(), list(self.wanted)
        )

    async def aclose(self) -> None:
        try:
            await self.reader.aclose()
        finally:
            owned, self.owned = self.owned, []
            for thing in reversed(owned):
                await thing.aclose()


class SegmentView(NamedTuple):
    info: SegmentInfo
    counts: list[GenerationCount]
    stats: StoreStatistics


@dataclass(frozen=True)
class InspectionReport:
    """One lookup's answer: everything a rendering needs, nothing it must compute."""

    kind: str
    prefix: str
    state: StoreStatus
    results: list[ContextResult]
    segments: dict[str, SegmentInfo]
    tally: Tally

    @property
    def store(self) -> dict[str, object]:
        return store_json(self.kind, self.prefix, self.state)

    def json_text(self) -> str:
        return results_json(self.store, self.results, self.segments)

    @property
    def unresolved(self) -> list[SegmentInfo]:
        """Segments whose generation nobody could say, with the reason in ``note``."""
        return [s for s in self.segments.values() if s.note and not s.resolved]


@dataclass
class StreamedReport:
    """A lookup whose results arrive as ``windows``; ``tally`` and ``segments`` are complete
    once they have all been read."""

    kind: str
    prefix: str
    state: StoreStatus
    segments: dict[str, SegmentInfo]
    tally: Tally
    windows: AsyncIterator[ResultWindow]
    asked: list[str]  # the segments named by the person

    @property
    def store(self) -> dict[str, object]:
        return store_json(self.kind, self.prefix, self.state)

    @property
    def unresolved(self) -> list[SegmentInfo]:
        return [s for s in self.segments.values() if s.note and not s.resolved]

    @property
    def unknown(self) -> list[SegmentInfo]:
        """Segments named that LaunchDarkly does not have as big segments (or could not say)."""
        found = [self.segments[k] for k in self.asked if k in self.segments]
        return [s for s in found if not s.resolved or not s.exists or not s.big]


def unavailable_json(kind: str, prefix: str, error: str) -> dict[str, object]:
    """The report of a store that could not be reached at all: no contexts."""
    store = {
        "kind": kind,
        "prefix": prefix,
        "synchronizedOn": None,
        "ageSeconds": None,
        "stale": False,
        "available": False,
        "error": error,
    }
    return {"store": store, "contexts": []}


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
    lookup = check = None
    if client is not None and target.project and target.environment:
        lookup = api_segment_lookup(client, target.project, target.environment)
        check = api_membership_check(client, target.project, target.environment)
    stale_after = config.settings.status.stale_after * 1000
    inspector = Inspector(reader, typed=typed, lookup=lookup, stale_after_ms=stale_after, clock=clock)
    inspector.membership_check = check
    return inspector


@dataclass(frozen=True)
class DirectStore:
    """A store named by its connection options (``ldtui inspect --store``), no configuration
    file: validated exactly like a ``[stores."…"]`` entry."""

    kind: str  # "redis" or "dynamodb"
    redis_url: str | None = None
    redis_password_env: str | None = None
    table: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    aws_profile: str | None = None
    prefix: str | None = None
    timeout: float = 3.0


class StoreOptionError(ValueError):
    """A ``DirectStore`` option that cannot be used; ``option`` is the field's name."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(message)


def direct_store_model(
    store: DirectStore, *, environ: Mapping[str, str] | None = None
) -> tuple[Store, SecretStr | None, str]:
    """The store model, the password and the prefix that a ``DirectStore``'s options name
    (``ldtui inspect --store`` and ``ldtui doctor --store``); ``StoreOptionError`` names the
    option that is missing or wrong (never showing a password)."""
    from pydantic import SecretStr, ValidationError

    from ldtui.config import DynamoDBStore, RedisStore
    from ldtui.core.bigsegments import resolve_prefix

    env = os.environ if environ is None else environ
    model: Store
    password = None
    try:
        if store.kind == "redis":
            if not store.redis_url:
                raise StoreOptionError("redis_url", "a Redis store needs its URL")
            for option in ("table", "endpoint_url"):
                if getattr(store, option):
                    raise StoreOptionError(option, "is a DynamoDB option; this is a Redis store")
            if store.redis_password_env:
                if store.redis_password_env not in env:
                    raise StoreOptionError("redis_password_env", f"${store.redis_password_env} is not set")
                password = SecretStr(env[store.redis_password_env])
            model = RedisStore(url=store.redis_url, timeout=store.timeout)
            model.endpoint(password)  # a malformed URL fails here, naming the part
        else:
            if not store.table:
                raise StoreOptionError(
                    "table", "a DynamoDB store needs its table (and a region or an endpoint)"
                )
            if store.redis_url:
                raise StoreOptionError("redis_url", "is a Redis option; this is a DynamoDB store")
            model = DynamoDBStore(
                table=store.table,
                region=store.region,
                aws_profile=store.aws_profile,
                endpoint_url=store.endpoint_url,
                timeout=store.timeout,
            )
    except ValidationError as exc:
        from ldtui.config import error_message

        err = exc.errors()[0]
        field_name = str(err["loc"][0]) if err["loc"] else "redis_url"
        option = {"url": "redis_url"}.get(field_name, field_name)
        raise StoreOptionError(option, error_message(err)) from None
    except (StoreError, ValueError) as exc:  # a malformed URL: the message names the part, never the password
        if isinstance(exc, StoreOptionError):
            raise
        raise StoreOptionError("redis_url", str(exc)) from None
    return model, password, resolve_prefix(store.kind, configured=store.prefix)


def direct_inspector(
    store: DirectStore,
    *,
    typed: Mapping[str, int | None] | None = None,
    stale_after_ms: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> Inspector:
    """An inspector on a store given by its options; ``StoreOptionError`` names the option
    that is missing or wrong (never showing a password)."""
    from ldtui.stores.open import open_reader

    model, password, prefix = direct_store_model(store, environ=environ)
    try:
        reader = open_reader(model, prefix, password)
    except StoreError as exc:  # a malformed URL: the message names the part, never the password
        raise StoreOptionError("redis_url", str(exc)) from None
    inspector = Inspector(reader, typed=typed)
    if stale_after_ms is not None:
        inspector.stale_after_ms = stale_after_ms
    return inspector


@dataclass(frozen=True)
class IntegrationRef:
    project: str
    environment: str
    kind: str

    @classmethod
    def parse(cls, text: str) -> IntegrationRef:
        """``PROJECT/ENVIRONMENT/KIND``, or ``SourceError`` saying how to write it."""
        parts = text.split("/")
        if len(parts) != 3 or not all(parts) or parts[2] not in ("redis", "dynamodb"):
            raise SourceError(
                f"{text!r}: expected PROJECT/ENVIRONMENT/KIND, KIND redis or dynamodb (for "
                "example default/production/redis)"
            )
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.project}/{self.environment}/{self.kind}"


async def integration_inspector(
    config: Config,
    profile: str | None,
    ref: IntegrationRef,
    *,
    typed: Mapping[str, int | None] | None = None,
    prefix: str | None = None,
    stale_after_ms: float | None = None,
) -> Inspector:
    """The store behind an integration: the connection from ``[stores]`` in the
    configuration, the prefix (the environment's client-side ID unless configured or given)
    and the generations through the API. The inspector owns the API client."""
    from ldtui.config import ConfigError
    from ldtui.services.connect import connect
    from ldtui.services.status import StatusService

    client = connect(config, profile)
    try:
        service = StatusService(client, config)
        integrations = [
            i
            for i in (await client.list_integrations()).items
            if (i.projectKey, i.environmentKey, i.integrationKey) == (ref.project, ref.environment, ref.kind)
        ]
        if not integrations:
            raise SourceError(f"no {ref.kind} integration in {ref.project}/{ref.environment}")
        target = (await service.targets(integrations))[0]
        if target.store is None:
            raise SourceError(f"{ref}: {service.config_hint(target)}")
        if prefix is not None:
            target = replace(target, prefix=prefix)
        try:
            inspector = inspector_for(target, config, client=client, typed=typed)
        except StoreError as exc:  # e.g. a malformed url in [stores."…"]
            raise ConfigError(str(exc), file=config.file, key=f"stores.{target.store_key}") from None
    except BaseException:
        await client.aclose()
        raise
    inspector.owned.append(client)
    if stale_after_ms is not None:
        inspector.stale_after_ms = stale_after_ms
    return inspector


# --- files --------------------------------------------------------------------------------------


class KeySource:
    """A keys file (or stdin, spooled to a temporary file) read twice, never held in memory:
    once to check every line before anything is looked up (a bad byte on line 900,000 must not
    end a run halfway, with half a JSON document printed), then again, streamed, for the
    lookups. ``count`` is known after the check, for progress."""

    def __init__(
        self, path: str, name: str, *, column: str | None, as_csv: bool | None, spooled: bool
    ) -> None:
        self.path = path
        self.name = name
        self.column = column
        self.as_csv = as_csv
        self.spooled = spooled
        self.count = 0

    # Every key it yields passed check_key (the first pass made sure): hashed without checks.
    checked = True

    def _raw_lines(self) -> Iterator[bytes]:
        with open(self.path, "rb") as f:
            yield from _bounded_lines(f, self.name)

    def _is_csv(self) -> bool:
        return self.as_csv if self.as_csv is not None else self.name.lower().endswith(".csv")

    def blocks(self) -> Iterator[list[str]]:
        """The keys, a block (about a megabyte of the file) at a time."""
        from ldtui.core.key_input import iter_keys, key_blocks

        if self._is_csv():
            it = iter_keys(self._raw_lines(), self.name, column=self.column, as_csv=True)
            while block := list(itertools.islice(it, 20_000)):
                yield block
            return
        with open(self.path, "rb") as f:
            chunks = iter(lambda: f.read(_CHUNK_BYTES), b"")
            yield from key_blocks(chunks, self.name, line_limit=KEYS_FILE_LINE_LIMIT)

    def windows(self, size: int) -> Iterator[list[str]]:
        """The keys in lists of ``size`` (the last one shorter)."""
        pending: list[str] = []
        for block in self.blocks():
            pending += block
            while len(pending) >= size:
                yield pending[:size]
                pending = pending[size:]
        if pending:
            yield pending

    def __iter__(self) -> Iterator[str]:
        for block in self.blocks():
            yield from block

    def check(self) -> KeySource:
        """The first pass: every line decoded and checked, the keys counted."""
        n = sum(len(block) for block in self.blocks())
        if not n:
            raise KeyInputError(f"{self.name} holds no keys")
        self.count = n
        return self

    def close(self) -> None:
        if self.spooled:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def __enter__(self) -> KeySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bounded_lines(f: IO[bytes], name: str) -> Iterator[bytes]:
    n = 0
    while line := f.readline(KEYS_FILE_LINE_LIMIT + 1):
        n += 1
        if len(line) > KEYS_FILE_LINE_LIMIT and not line.endswith(b"\n"):
            raise _long_line(name, n)
        yield line


def open_keys(path: str, column: str | None = None, *, stdin: IO[bytes] | None = None) -> KeySource:
    """A checked, streamable ``KeySource``: a regular file, or ``-`` for stdin (copied to a
    temporary file as it is read, bounded). ``KeyInputError`` names the problem."""
    import tempfile

    as_csv = None if column is None else True
    if path == "-":
        if stdin is None:
            raise KeyInputError("- means standard input, and there is none to read here")
        fd, spool = tempfile.mkstemp(prefix="ldtui-keys-")
        try:
            with os.fdopen(fd, "wb") as out:
                bound = _LineBound("stdin")
                while chunk := stdin.read(_CHUNK_BYTES):
                    bound.feed(chunk)  # /dev/zero is refused after 4 MiB, not spooled
                    if bound.total > KEYS_STDIN_LIMIT:
                        limit = KEYS_STDIN_LIMIT // (1024**3)
                        raise KeyInputError(
                            f"stdin is larger than {limit} GiB (it is copied to a temporary file); "
                            "write the keys to a file and give its path instead"
                        )
                    out.write(chunk)
            source = KeySource(spool, "stdin", column=column or None, as_csv=as_csv, spooled=True)
            return source.check()
        except (OSError, ValueError) as exc:
            with contextlib.suppress(OSError):
                os.unlink(spool)
            if isinstance(exc, KeyInputError):
                raise
            raise KeyInputError(f"cannot read stdin: {getattr(exc, 'strerror', None) or exc}") from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(spool)
            raise
    try:
        p = expand_home(path)
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except HomeNotFound as exc:
        raise KeyInputError(f"cannot read {path}: {exc}") from None
    except OSError as exc:
        raise KeyInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        mode = st.st_mode
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device"
        raise KeyInputError(
            f"{path} is {kind}, not a regular file; to stream keys, use --keys-file - and pipe them in"
        )
    if st.st_size > KEYS_STREAM_LIMIT:
        raise KeyInputError(
            f"{path} is larger than {KEYS_STREAM_LIMIT // (1024**3)} GiB; split it into smaller runs"
        )
    try:
        return KeySource(str(p), str(path), column=column or None, as_csv=as_csv, spooled=False).check()
    except OSError as exc:
        raise KeyInputError(f"cannot read {path}: {exc.strerror or exc}") from None


# A keys file is streamed with these bounds: a line longer than any key (or CSV row) could be
# is the sign of a binary file or /dev/zero, and the whole is capped so memory stays bounded.
KEYS_FILE_LINE_LIMIT = 4 * 1024 * 1024
KEYS_FILE_LIMIT = 256 * 1024 * 1024  # read into memory (the TUI's paste-sized files)
KEYS_STREAM_LIMIT = 16 * 1024**3  # streamed: bounded by time, not memory
KEYS_STDIN_LIMIT = 2 * 1024**3  # stdin is spooled to a temporary file: bounded by disk too
_CHUNK_BYTES = 1024 * 1024


class _LineBound:
    """Counts bytes and lines of a stream fed in chunks and refuses, as soon as it is seen, a
    line longer than ``KEYS_FILE_LINE_LIMIT`` (a binary file, ``/dev/zero``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.total, self.line, self.pending = 0, 1, 0  # pending: bytes since the last line break

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        # A chunk is shorter than the line limit, so only a line across chunks can exceed it.
        first = chunk.find(b"\n")
        if first < 0:
            self.pending += len(chunk)
        else:
            if self.pending + first > KEYS_FILE_LINE_LIMIT:
                raise _long_line(self.name, self.line)
            self.line += chunk.count(b"\n")
            self.pending = len(chunk) - chunk.rfind(b"\n") - 1
        if self.pending > KEYS_FILE_LINE_LIMIT:
            raise _long_line(self.name, self.line)


def read_keys_source(source: IO[bytes], name: str) -> bytes:
    """All of ``source`` (a file or stdin), read in chunks and refused as soon as a line or
    the whole exceeds its bound: ``/dev/zero`` or ``yes`` on stdin end in a clear message."""
    chunks: list[bytes] = []
    bound = _LineBound(name)
    while chunk := source.read(_CHUNK_BYTES):
        if bound.total + len(chunk) > KEYS_FILE_LIMIT:
            raise KeyInputError(
                f"{name} is larger than {KEYS_FILE_LIMIT // (1024 * 1024)} MiB; split it into smaller files"
            )
        bound.feed(chunk)
        chunks.append(chunk)
    return b"".join(chunks)


def _long_line(name: str, line: int) -> KeyInputError:
    return KeyInputError(
        f"{name}, line {line} is longer than {KEYS_FILE_LINE_LIMIT // (1024 * 1024)} MiB without a "
        "line break: not a keys file (one key per line, or CSV)"
    )


def read_keys_file(path: str, column: str | None = None, *, stdin: IO[bytes] | None = None) -> list[str]:
    """Keys from a file (one per line, or a CSV column), or from ``stdin`` when ``path`` is
    ``-``. Only a regular file is read: a FIFO would block, a device may never end.
    ``KeyInputError`` names the problem."""

    if path == "-":
        if stdin is None:
            raise KeyInputError("- means standard input, and there is none to read here")
        try:
            data = read_keys_source(stdin, "stdin")
        except (OSError, ValueError) as exc:  # closed, or not readable (a terminal gone)
            raise KeyInputError(f"cannot read stdin: {getattr(exc, 'strerror', None) or exc}") from None
        return keys_from_file(data, "stdin", column=column or None)
    try:
        p = expand_home(path)
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except HomeNotFound as exc:
        raise KeyInputError(f"cannot read {path}: {exc}") from None
    except OSError as exc:
        raise KeyInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device"
        raise KeyInputError(
            f"{path} is {kind}, not a regular file; to stream keys, use --keys-file - and pipe them in"
        )
    with os.fdopen(fd, "rb") as f:
        try:
            data = read_keys_source(f, str(path))
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

    from ldtui.core.reports import results_csv

    p = expand_home(path)  # HomeNotFound is a ValueError, as the other export refusals
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


# --- a bulk run's results, spooled --------------------------------------------------------------

EXPORT_FORMATS = (".csv", ".json", ".jsonl")


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_EXCL, 0o600)


class ResultSpool:
    """A bulk run's results on disk, never all in memory: each window is written as the JSONL
    lines and the CSV rows ``ldtui inspect`` prints (its own writers), in a private temporary
    directory (0700, files 0600) that ``close`` removes. ``export`` copies them, streamed, to a
    CSV, JSON or JSONL file: the same bytes as ``ldtui inspect --csv/--json/--jsonl`` for the
    same results. ``segment_keys``: the CSV's segment columns (the segments judged for every
    context, as the CLI chooses them)."""

    def __init__(self, segment_keys: Sequence[str]) -> None:
        import tempfile

        from ldtui.core.reports import CsvReport, JsonLinesReport

        self.directory = tempfile.mkdtemp(prefix="ldtui-bulk-")
        self.count = 0
        self.finished = False
        self.store: dict[str, object] = {}
        self.segments: dict[str, SegmentInfo] = {}
        self.tally = Tally()
        try:
            self._jsonl = open(  # noqa: SIM115 (closed by finish or close)
                os.path.join(self.directory, "results.jsonl"),
                "w",
                encoding="utf-8",
                newline="",
                opener=_private_opener,
            )
            self._csv = open(  # noqa: SIM115
                os.path.join(self.directory, "results.csv"),
                "w",
                encoding="utf-8",
                newline="",
                opener=_private_opener,
            )
        except BaseException:
            self.close()
            raise
        self._jsonl_report = JsonLinesReport(self._jsonl.write)
        self._csv_report = CsvReport(self._csv.write, segment_keys)

    def add(self, window: Sequence[ContextResult]) -> None:
        self._jsonl_report.results(window)
        self._csv_report.results(window)
        self.count += len(window)

    def finish(self, store: Mapping[str, object], segments: Mapping[str, SegmentInfo], tally: Tally) -> None:
        """Every window is in: what the JSON export's head and tail say."""
        self._jsonl.close()
        self._csv.close()
        self.store, self.segments, self.tally = dict(store), dict(segments), tally
        self.finished = True

    def _copy(self, name: str, write: Callable[[str], object], separator: str | None = None) -> None:
        with open(os.path.join(self.directory, name), encoding="utf-8", newline="") as f:
            if separator is None:
                while chunk := f.read(_CHUNK_BYTES):
                    write(chunk)
                return
            first = True
            for line in f:  # one context per line, as written above (a key holds no raw LF)
                write(("" if first else separator) + line.rstrip("\n"))
                first = False

    def export(self, path: str) -> str:
        """Write the results to ``path`` (CSV, JSON or JSONL by its extension), through a
        temporary file renamed into place, so a failed export leaves nothing half-written.
        ``ValueError`` names a bad name or folder. Returns the path written."""
        import json
        import tempfile
        from pathlib import Path

        from ldtui.core.reports import segment_generations

        if not self.finished:
            raise ValueError("the run has not finished: nothing to export yet")
        p = expand_home(path)  # HomeNotFound is a ValueError, as the other export refusals
        suffix = p.suffix.lower()
        if suffix not in EXPORT_FORMATS:
            raise ValueError(f"{path}: the file name must end in .csv, .json or .jsonl")
        directory = p.parent if str(p.parent) else Path(".")
        if not directory.is_dir():
            raise ValueError(f"{path}: the folder {directory} does not exist")
        fd, tmp = tempfile.mkstemp(prefix=".ldtui-export-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                if suffix == ".csv":
                    self._copy("results.csv", f.write)
                elif suffix == ".jsonl":
                    self._copy("results.jsonl", f.write)
                else:  # what JsonReport writes: the head, the contexts, the tail
                    f.write('{"store": ' + json.dumps(self.store, ensure_ascii=True) + ', "contexts": [')
                    self._copy("results.jsonl", f.write, separator=", ")
                    tail = {
                        "segmentGenerations": segment_generations(self.segments),
                        "tally": self.tally.to_json(),
                    }
                    f.write("], " + json.dumps(tail, ensure_ascii=True)[1:] + "\n")
            os.replace(tmp, p)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return str(p)

    def close(self) -> None:
        """Remove the spool (its files and directory); safe to call more than once."""
        import shutil

        for f in (getattr(self, "_jsonl", None), getattr(self, "_csv", None)):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
        shutil.rmtree(self.directory, ignore_errors=True)


# --- LaunchDarkly's unanswered questions ----------------------------------------------------------


class NotedMembershipCheck:
    """An inspector's ``membership_check`` that notes the questions LaunchDarkly did not
    answer (``failures``: (context key, segment) -> why), so a screen can say "error" where
    ``cross_check`` leaves the word out; a later answer clears the note."""

    def __init__(self, check: MembershipCheck) -> None:
        self.check = check
        self.failures: dict[tuple[str, str], str] = {}

    async def __call__(self, segment: str, key: str) -> str:
        from ldtui.api.errors import ApiError

        try:
            word = await self.check(segment, key)
        except ApiError as exc:
            self.failures[(key, segment)] = exc.summary
            raise
        self.failures.pop((key, segment), None)
        return word


def noted_membership_check(inspector: Inspector) -> NotedMembershipCheck | None:
    """The inspector's LaunchDarkly check, noting failures (installed once, shared by every
    screen on this inspector); ``None`` when there is no API to ask."""
    check = inspector.membership_check
    if check is None:
        return None
    if not isinstance(check, NotedMembershipCheck):
        check = NotedMembershipCheck(check)
        inspector.membership_check = check
    return check
