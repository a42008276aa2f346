"""Store health: every integration (and every configured store with no integration, such as a
Relay Proxy's), judged from LaunchDarkly's ``_status`` and from the store itself.

Used by ``ldtui status`` and by the status screen alike; only the rendering differs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ldtui.config import Config, ConfigError, Store
from ldtui.core.bigsegments import resolve_prefix, store_status
from ldtui.core.health import (
    SDK_READER,
    ApiSide,
    Health,
    Reader,
    ReaderVerdict,
    StoreSide,
    reader_verdicts,
    readers,
    verdict,
)
from ldtui.core.integration_status import summarize
from ldtui.core.models import BigSegmentStoreIntegration
from ldtui.stores.base import BigSegmentStoreReader, Metadata, StoreError, StoreUnavailable
from ldtui.stores.open import open_reader

if TYPE_CHECKING:
    from ldtui.services.state import EnvironmentCache


@dataclass(frozen=True)
class Target:
    id: str  # the integration ID, or "store:<config key>"
    project: str | None
    environment: str | None
    kind: str
    name: str
    prefix: str
    integration: BigSegmentStoreIntegration | None = None
    store_key: str | None = None  # the [stores."…"] key, when configured
    store: Store | None = None
    # Why the prefix is not known (the API is down and never told this environment's
    # client-side ID): the store is then not probed rather than probed under a guess.
    prefix_unknown: str | None = None
    # Known from the last listing only (the API did not answer this time).
    from_memory: bool = False

    @property
    def where(self) -> str:
        return f"{self.project}/{self.environment}" if self.project else "-"


@dataclass
class TargetStatus:
    target: Target
    health: Health
    reason: str
    api: ApiSide | None
    store: StoreSide
    checked_ms: int
    metadata: Metadata | None = None
    diagnostics: list[str] = field(default_factory=list)
    # The verdict rests on LaunchDarkly's word alone (the store could not be probed).
    api_only: bool = False
    # Every reader's view of the store's synchronizedOn at the check.
    readers: list[ReaderVerdict] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``UNAVAILABLE`` or, when it is LaunchDarkly's word alone, ``UNAVAILABLE (LaunchDarkly)``."""
        return f"{self.health.value} (LaunchDarkly)" if self.api_only else self.health.value

    @property
    def synchronized_on(self) -> int | None:
        st = self.store.status
        return st.synchronized_on if st is not None else None

    def to_json(self) -> dict[str, Any]:
        t, s = self.target, self.store
        api = None
        if self.api is not None:
            api = {
                "on": self.api.on,
                "available": self.api.available,
                "potentiallyStale": self.api.potentially_stale,
                "lastSync": self.api.last_sync,
                "lastError": self.api.last_error,
                "errorCount": self.api.error_count,
                "lastErrorMessage": self.api.last_error_message,
                "failingSince": self.api.failing_since,
                "failingSinceExact": self.api.failing_since_exact,
            }
        status = s.status
        return {
            "id": t.id,
            "project": t.project,
            "environment": t.environment,
            "kind": t.kind,
            "name": t.name,
            "verdict": self.health.value,
            "verdictSource": (
                "launchdarkly" if self.api_only else ("store" if self.store.configured else None)
            ),
            "reason": self.reason,
            "api": api,
            "store": {
                "configured": s.configured,
                "configKey": f"stores.{t.store_key}" if t.store_key else None,
                "prefix": t.prefix,
                "endpoint": s.endpoint,
                "reachable": s.reachable,
                "latencyMs": None if s.latency_ms is None else round(s.latency_ms, 2),
                "available": status.available if status else None,
                "stale": status.stale if status else None,
                "synchronizedOn": status.synchronized_on if status else None,
                "ageSeconds": None if not status or status.age_ms is None else status.age_ms / 1000,
                "error": s.error,
            },
            "readers": [r.to_json() for r in self.readers],
            "diagnostics": list(self.diagnostics),
            "checkedAt": self.checked_ms,
        }


def api_side(integration: BigSegmentStoreIntegration, now_ms: int) -> ApiSide:
    s = integration.status
    summary = summarize(integration, now_ms)
    return ApiSide(
        on=integration.on,
        available=s.available,
        potentially_stale=s.potentiallyStale,
        last_sync=s.lastSync,
        last_error=s.lastError,
        error_count=summary.error_count,
        last_error_message=summary.last_error_message,
        failing_since=summary.failing_since,
        failing_since_exact=summary.failing_since_exact,
    )


def diagnose(metadata: Metadata | None, api: ApiSide | None, now_ms: int) -> list[str]:
    """What the store-schema's known failure modes (§8) suggest."""
    out: list[str] = []
    if metadata is None:
        return out
    if metadata.synchronized_on is None and metadata.cursor is not None:
        out.append(
            "a cursor is stored but no synchronizedOn: patches were applied but no sync ever "
            "finished (initial paging, or a writer error swallowed in a loop)"
        )
    if metadata.synchronized_on is None and metadata.cursor is None:
        out.append(
            "no metadata under this prefix: no big segment in the environment yet, nothing "
            "writing this store, or the wrong prefix or table"
        )
    if metadata.synchronized_on is not None:
        age = now_ms - metadata.synchronized_on
        if 60_000 < age < 120_000:
            out.append(
                "synchronizedOn is over 60 s old: a healthy writer refreshes it every 30 s; "
                "it is not receiving heartbeats"
            )
        if api is not None and api.claims_fresh and age >= 120_000:
            out.append(
                "LaunchDarkly reports fresh syncs that this store does not show: is ldtui "
                "reading the store LaunchDarkly writes (host, table, prefix)?"
            )
    return out


def store_key_to_add(
    stores: Mapping[str, Any], project: str | None, environment: str | None, kind: str
) -> str:
    """The ``[stores]`` key a store of ``kind`` for this environment would take: ``P/E``, or
    ``P/E/KIND`` when the environment's other store holds ``P/E``."""
    where = f"{project}/{environment}"
    return f"{where}/{kind}" if where in stores else where


class StatusService:
    def __init__(
        self,
        client: Any,
        config: Config,
        *,
        stale_after_ms: float | None = None,
        reader: str | None = None,
        clock: Callable[[], float] = time.time,
        reader_factory: Callable[[Store, str, Any], BigSegmentStoreReader] = open_reader,
        memory: EnvironmentCache | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        # Measures probe latency (tests give a fixed one: snapshots must not vary with load).
        self.timer = timer
        self.client = client
        # Client-side IDs and the roster of integrations from earlier runs (None: remember
        # nothing, as tests and one-off calls want).
        self.memory = memory
        self.reader_factory = reader_factory
        self.config = config
        status = config.settings.status
        sdk_s = stale_after_ms / 1000 if stale_after_ms is not None else status.stale_after
        self.readers: list[Reader] = readers(sdk_s, status.relay_stale_after, status.readers)
        # The reader whose threshold makes the verdict (and the exit code): the SDKs unless
        # --reader names another (an application of [status.readers], or "relay").
        chosen = reader or SDK_READER
        by_name = {r.name: r for r in self.readers}
        if chosen not in by_name:
            known = ", ".join(by_name)
            raise ConfigError(f"unknown reader {chosen!r}; known: {known}", key="status.readers")
        self.reader = by_name[chosen]
        self.stale_after_ms = self.reader.stale_after_ms
        self.clock = clock
        self._readers: dict[tuple[str, str], BigSegmentStoreReader] = {}
        self._env_ids: dict[tuple[str, str], str] = {}

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _store_for(self, project: str, environment: str, kind: str) -> tuple[str | None, Store | None]:
        stores = self.config.settings.stores
        for key in (f"{project}/{environment}/{kind}", f"{project}/{environment}"):
            store = stores.get(key)
            if store is not None and store.type == kind:
                return key, store
        return None, None

    async def _client_side_id(self, project: str, environment: str, *, online: bool = True) -> str | None:
        """The environment's client-side ID: asked of the API once per session (and
        remembered for the next run); when the API cannot tell, what was remembered."""
        if (project, environment) not in self._env_ids and online:
            from ldtui.api.errors import ApiError

            try:
                for env in await self.client.list_environments(project):
                    self._env_ids[(project, env.key)] = env.id
                    if self.memory is not None:
                        self.memory.put(project, env.key, env.id)
            except ApiError:
                pass
        found = self._env_ids.get((project, environment))
        if found is None and self.memory is not None:
            found = self.memory.get(project, environment)
        return found

    def _unknown_prefix(self, where: str) -> str:
        return (
            f"the store's prefix is the client-side ID of {where}, which LaunchDarkly's API must "
            f'tell (it did not answer); set prefix = "…" in [stores."{where}"] to probe it without '
            "the API"
        )

    async def targets(self, integrations: list[BigSegmentStoreIntegration] | None = None) -> list[Target]:
        """Every integration, then every configured store no integration uses. Raises
        ``ApiError`` when the listing fails (``targets_offline`` is the fallback)."""
        fetched = integrations is None
        if integrations is None:
            integrations = (await self.client.list_integrations()).items
        out = [await self._integration_target(integ) for integ in integrations]
        if fetched and self.memory is not None:
            self.memory.put_roster(
                [
                    {
                        "id": i.id,
                        "project": i.projectKey,
                        "environment": i.environmentKey,
                        "kind": i.integrationKey,
                        "name": i.name,
                    }
                    for i in integrations
                ]
            )
            self.memory.save()
        return out + self._store_targets({t.store_key for t in out if t.store_key})

    async def targets_offline(self, known: list[BigSegmentStoreIntegration] | None = None) -> list[Target]:
        """The targets while the API is down: the integrations known (the screen's last
        listing, else the roster remembered from the last run), each with the prefix known
        for it (configured, or remembered; never guessed), and every configured store."""
        out: list[Target] = []
        if known:
            out = [await self._integration_target(i, online=False, from_memory=True) for i in known]
        elif self.memory is not None:
            for r in self.memory.roster:
                key, store = self._store_for(r["project"], r["environment"], r["kind"])
                configured = store.prefix if store else None
                client_side_id = await self._client_side_id(r["project"], r["environment"], online=False)
                prefix = resolve_prefix(r["kind"], configured=configured, client_side_id=client_side_id)
                unknown = None
                if configured is None and client_side_id is None:
                    unknown = self._unknown_prefix(f"{r['project']}/{r['environment']}")
                out.append(
                    Target(
                        id=r["id"],
                        project=r["project"],
                        environment=r["environment"],
                        kind=r["kind"],
                        name=r["name"],
                        prefix=prefix,
                        store_key=key,
                        store=store,
                        prefix_unknown=unknown,
                        from_memory=True,
                    )
                )
        return out + self._store_targets({t.store_key for t in out if t.store_key}, api_down=not out)

    async def _integration_target(
        self, integ: BigSegmentStoreIntegration, *, online: bool = True, from_memory: bool = False
    ) -> Target:
        key, store = self._store_for(integ.projectKey, integ.environmentKey, integ.integrationKey)
        configured = store.prefix if store else None
        client_side_id = await self._client_side_id(integ.projectKey, integ.environmentKey, online=online)
        prefix = resolve_prefix(integ.integrationKey, configured=configured, client_side_id=client_side_id)
        unknown = None
        if configured is None and client_side_id is None:
            unknown = self._unknown_prefix(f"{integ.projectKey}/{integ.environmentKey}")
        return Target(
            id=integ.id,
            project=integ.projectKey,
            environment=integ.environmentKey,
            kind=integ.integrationKey,
            name=integ.name,
            prefix=prefix,
            integration=integ,
            store_key=key,
            store=store,
            prefix_unknown=unknown,
            from_memory=from_memory,
        )

    def _store_targets(self, used: set[str], *, api_down: bool = False) -> list[Target]:
        """Configured stores no known integration uses: a Relay Proxy's, or (with the API down
        and nothing remembered) possibly an integration's, whose prefix is then not known."""
        out: list[Target] = []
        for key, store in self.config.settings.stores.items():
            if key in used:
                continue
            parts = key.split("/")
            project = parts[0] if len(parts) >= 2 else None
            environment = parts[1] if len(parts) >= 2 else None
            unknown = None
            name = f"{key} (no integration: Relay Proxy or self-managed)"
            if api_down and store.prefix is None:
                # Whose store it is cannot be told without the API: a guessed prefix would
                # read as "no data, STALE" (seen), so it is not probed.
                name = f"{key} (LaunchDarkly API unreachable)"
                unknown = (
                    f"without the API ldtui cannot tell whether an integration writes this store "
                    f'(prefix: its environment\'s client-side ID) or a Relay Proxy; set prefix = "…" '
                    f'in [stores."{key}"] to probe it regardless'
                )
            out.append(
                Target(
                    id=f"store:{key}",
                    project=project,
                    environment=environment,
                    kind=store.type,
                    name=name,
                    prefix=resolve_prefix(store.type, configured=store.prefix),
                    store_key=key,
                    store=store,
                    prefix_unknown=unknown,
                )
            )
        return out

    def config_hint(self, target: Target) -> str:
        where = store_key_to_add(self.config.settings.stores, target.project, target.environment, target.kind)
        if target.kind == "redis":
            example = 'type = "redis", url = "redis://HOST:6379/0"'
        else:
            example = 'type = "dynamodb", table = "TABLE", region = "REGION"'
        return f'add [stores."{where}"] with {example} to {self.config.file} to probe this store'

    def _reader(self, target: Target) -> BigSegmentStoreReader:
        key = (target.id, target.prefix)
        reader = self._readers.get(key)
        if reader is None:
            assert target.store is not None and target.store_key is not None
            password = self.config.store_password(target.store_key)
            reader = self.reader_factory(target.store, target.prefix, password)
            self._readers[key] = reader
        return reader

    async def check(self, target: Target) -> TargetStatus:
        now = self.now_ms()
        api = api_side(target.integration, now) if target.integration is not None else None
        metadata = None
        if target.store is None:
            store = StoreSide(configured=False, config_hint=self.config_hint(target))
        elif target.prefix_unknown is not None:
            store = StoreSide(configured=False, config_hint=target.prefix_unknown)
        else:
            try:
                reader = self._reader(target)
            except (ConfigError, StoreError) as exc:
                store = StoreSide(
                    configured=False,
                    config_hint=f"stores.{target.store_key}: {exc}",
                )
            else:
                # The metadata read is the probe: one round trip per target and poll, with a
                # deadline of its own (a store that drips bytes cannot hold the others up).
                start = self.timer()
                deadline = self.deadline_s(target)
                try:
                    try:
                        async with asyncio.timeout(deadline):
                            metadata = await reader.get_metadata()
                    except TimeoutError:
                        raise StoreUnavailable(
                            f"no answer within {deadline:g} s", store=reader.description
                        ) from None
                    latency = (self.timer() - start) * 1000
                    checked = self.now_ms()
                    status = store_status(
                        synchronized_on=metadata.synchronized_on,
                        now_ms=checked,
                        stale_after_ms=self.stale_after_ms,
                    )
                    # The Relay Proxy says "stale" only past its threshold (a strict >).
                    if self.reader.strict and status.synchronized_on is not None:
                        status = replace(status, stale=self.reader.stale(status.synchronized_on, checked))
                    store = StoreSide(True, True, latency, status, endpoint=reader.description)
                except StoreUnavailable as exc:
                    store = StoreSide(
                        configured=True, reachable=False, error=str(exc), endpoint=reader.description
                    )
                except StoreError as exc:
                    # Reachable, but the metadata cannot be read: what SDKs call unavailable.
                    latency = (self.timer() - start) * 1000
                    status = store_status(synchronized_on=None, now_ms=now, error=str(exc))
                    store = StoreSide(
                        True, True, latency, status, error=str(exc), endpoint=reader.description
                    )
        judged = verdict(api, store, self.now_ms())
        views = []
        if store.status is not None and store.status.available:
            views = reader_verdicts(store.status.synchronized_on, self.now_ms(), self.readers)
        return TargetStatus(
            target,
            judged.health,
            judged.reason,
            api,
            store,
            now,
            metadata,
            diagnose(metadata, api, now),
            api_only=judged.api_only,
            readers=views,
        )

    def deadline_s(self, target: Target) -> float:
        """How long one probe of ``target`` may take in all: its store's timeout (connect and
        each read), plus a second for the rest."""
        timeout = target.store.timeout if target.store is not None else 3.0
        return timeout + 1.0

    def store_deadline_s(self) -> float:
        """The longest probe deadline of any configured store (they run at once): the time a
        round keeps for the stores, whatever the API does."""
        stores = self.config.settings.stores.values()
        return max((store.timeout for store in stores), default=3.0) + 1.0

    async def check_all(self, targets: list[Target]) -> list[TargetStatus]:
        return list(await asyncio.gather(*(self.check(t) for t in targets)))

    async def check_each(self, targets: list[Target]) -> AsyncIterator[TargetStatus]:
        """Every target at once; each result as soon as it is known (a slow store delays only
        its own row)."""
        tasks = [asyncio.ensure_future(self.check(t)) for t in targets]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            for task in tasks:
                task.cancel()

    async def aclose(self) -> None:
        readers, self._readers = self._readers, {}
        for reader in readers.values():
            await reader.aclose()
