"""The inspector's engine: read memberships straight from a store, learn each big segment's
current generation (typed, or from the segments API), and explain. Used by the inspector
screens and by ``ldtui inspect`` alike. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from ldtui.core.bigsegments import StoreStatus, store_status
from ldtui.core.explain import ContextResult, Explainer, SegmentInfo, segment_keys_in
from ldtui.core.key_input import HashedKey, KeyInputError, hash_keys, keys_from_file
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
        hashed: list[HashedKey] = []
        found: dict[str, Any] = {}
        if progress is not None:
            progress(Progress(0, total, 0))
        for start in range(0, total, chunk):
            part = hash_keys(keys[start : start + chunk])
            hashed += part
            lookups = [k.hash for k in part if k.error is None and k.hash is not None]
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
            for key, h, err in hashed[start : start + chunk]:  # HashedKey
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
    lookup = None
    if client is not None and target.project and target.environment:
        lookup = api_segment_lookup(client, target.project, target.environment)
    stale_after = config.settings.status.stale_after * 1000
    return Inspector(reader, typed=typed, lookup=lookup, stale_after_ms=stale_after, clock=clock)


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

# A keys file is streamed with these bounds: a line longer than any key (or CSV row) could be
# is the sign of a binary file or /dev/zero, and the whole is capped so memory stays bounded.
KEYS_FILE_LINE_LIMIT = 4 * 1024 * 1024
KEYS_FILE_LIMIT = 256 * 1024 * 1024
_CHUNK_BYTES = 1024 * 1024


def read_keys_source(source: IO[bytes], name: str) -> bytes:
    """All of ``source`` (a file or stdin), read in chunks and refused as soon as a line or
    the whole exceeds its bound: ``/dev/zero`` or ``yes`` on stdin end in a clear message."""
    chunks: list[bytes] = []
    total, line, pending = 0, 1, 0  # pending: bytes since the last line break
    while chunk := source.read(_CHUNK_BYTES):
        total += len(chunk)
        if total > KEYS_FILE_LIMIT:
            raise KeyInputError(
                f"{name} is larger than {KEYS_FILE_LIMIT // (1024 * 1024)} MiB; split it into smaller files"
            )
        # A chunk is shorter than the line limit, so only a line across chunks can exceed it.
        first = chunk.find(b"\n")
        if first < 0:
            pending += len(chunk)
        else:
            if pending + first > KEYS_FILE_LINE_LIMIT:
                raise _long_line(name, line)
            line += chunk.count(b"\n")
            pending = len(chunk) - chunk.rfind(b"\n") - 1
        if pending > KEYS_FILE_LINE_LIMIT:
            raise _long_line(name, line)
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
    from pathlib import Path

    if path == "-":
        if stdin is None:
            raise KeyInputError("- means standard input, and there is none to read here")
        try:
            data = read_keys_source(stdin, "stdin")
        except (OSError, ValueError) as exc:  # closed, or not readable (a terminal gone)
            raise KeyInputError(f"cannot read stdin: {getattr(exc, 'strerror', None) or exc}") from None
        return keys_from_file(data, "stdin", column=column or None)
    p = Path(path).expanduser()
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
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
