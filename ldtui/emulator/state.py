"""The emulator's world: projects, environments, big segments with their membership history,
integrations with their sync status, tokens, faults and rate limits.

Everything the REST API returns is rendered from here, in the exact shapes of the OpenAPI
subset. Plain data and pure functions; the ASGI app and the syncer do the I/O.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ldtui.core.bigsegments import BigSegmentPatch, context_key_hash, segment_ref
from ldtui.core.secrets import redact_like_launchdarkly

Role = Literal["writer", "reader"]
BASE = "/api/v2/integration-capabilities/big-segment-store"
# How long after the last successful sync the API still calls an integration available
# ("lastSync occurred within a few minutes"; an emulator choice).
DEFAULT_STATUS_STALE_AFTER_MS = 180_000
MAX_STATUS_ERRORS = 10


def link(href: str) -> dict[str, str]:
    return {"href": href, "type": "application/json"}


@dataclass
class Segment:
    key: str
    name: str
    generation: int | None
    created_ms: int
    context_kind: str = "user"
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    external: str | None = None  # e.g. "amplitude" for a synced segment
    external_link: str | None = None
    included: set[str] = field(default_factory=set)  # context keys (plain)
    excluded: set[str] = field(default_factory=set)
    rules: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1
    modified_ms: int = 0
    env_id: str = ""
    segment_id: str = ""

    @property
    def ref(self) -> str | None:
        return None if self.generation is None else segment_ref(self.key, self.generation)


@dataclass
class Environment:
    key: str
    name: str
    id: str  # the client-side ID, and the prefix of hosted integrations' stores
    api_key: str
    mobile_key: str
    color: str
    critical: bool = False
    tags: list[str] = field(default_factory=list)
    segments: dict[str, Segment] = field(default_factory=dict)
    # LaunchDarkly's big segment history for this environment, in order.
    patch_log: list[BigSegmentPatch] = field(default_factory=list)
    # Patch version -> its index in patch_log.
    version_index: dict[str, int] = field(default_factory=dict)


@dataclass
class Project:
    key: str
    name: str
    id: str
    tags: list[str] = field(default_factory=list)
    environments: dict[str, Environment] = field(default_factory=dict)


@dataclass
class SyncStatus:
    last_sync: int | None = None
    last_error: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Index into the environment's patch log of the next patch this integration must write.
    position: int = 0
    last_heartbeat: int | None = None
    # After a failure, no attempt before this time (the relay retries after 10 s).
    next_attempt: int = 0
    paused: bool = False
    # With ``paused``: the sync stopped this long ago, after one full sync (seeded stale state).
    stopped_ms_ago: int = 0

    def record_error(self, when: int, message: str, status_code: int = 500) -> None:
        self.last_error = when
        self.errors.append({"statusCode": status_code, "message": message, "timestamp": when})
        del self.errors[:-MAX_STATUS_ERRORS]


@dataclass
class Integration:
    id: str
    kind: str
    project: str
    environment: str
    config: dict[str, Any]  # as stored: secrets in clear
    on: bool
    tags: list[str]
    name: str
    version: int = 1
    sync: SyncStatus = field(default_factory=SyncStatus)

    @property
    def path(self) -> str:
        return f"{BASE}/{self.project}/{self.environment}/{self.kind}/{self.id}"


@dataclass
class Faults:
    """Knobs for the demo and the tests; changed at run time through ``/_emulator/faults``."""

    latency_ms: int = 0
    error_rate: float = 0.0  # share of API requests answered with error_status
    error_status: int = 500
    malformed_rate: float = 0.0  # share of successful responses with a truncated body
    sync_paused: bool = False  # the syncer writes nothing, for every integration

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RateLimits:
    """Requests allowed per route per window (10 s, opened by its first request); ``None`` = unlimited."""

    per_route: int | None = None
    routes: dict[str, int] = field(default_factory=dict)  # route name -> budget, overrides
    retry_after: bool = False  # also send Retry-After (seconds), as IP-based limits do
    window_ms: int = 10_000

    def budget(self, route: str) -> int | None:
        return self.routes.get(route, self.per_route)


class EmulatorState:
    def __init__(
        self,
        *,
        seed: int = 1,
        tokens: dict[str, Role] | None = None,
        clock: Callable[[], float] = time.time,
        status_stale_after_ms: int = DEFAULT_STATUS_STALE_AFTER_MS,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.tokens: dict[str, Role] = dict(tokens or {})
        self.clock = clock
        self.status_stale_after_ms = status_stale_after_ms
        self.projects: dict[str, Project] = {}
        self.integrations: dict[str, Integration] = {}
        self.faults = Faults()
        self.rate_limits = RateLimits()
        # Requests answered per API route (``/_emulator/stats``): tests count polls with it.
        self.request_counts: Counter[str] = Counter()
        self._versions: dict[str, int] = {}

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def new_id(self) -> str:
        """A 24-hex-character ID like LaunchDarkly's, deterministic from the seed."""
        return f"{self.rng.getrandbits(96):024x}"

    # --- lookups -----------------------------------------------------------------------------

    def environment(self, project: str, environment: str) -> Environment | None:
        proj = self.projects.get(project)
        return None if proj is None else proj.environments.get(environment)

    def integration(self, project: str, environment: str, kind: str, id: str) -> Integration | None:
        integ = self.integrations.get(id)
        if integ is None or (integ.project, integ.environment, integ.kind) != (
            project,
            environment,
            kind,
        ):
            return None
        return integ

    # --- big segment history -----------------------------------------------------------------

    def change_membership(
        self,
        env: Environment,
        segment: Segment,
        *,
        include: Iterable[str] = (),
        uninclude: Iterable[str] = (),
        exclude: Iterable[str] = (),
        unexclude: Iterable[str] = (),
    ) -> BigSegmentPatch | None:
        """Change a big segment's lists and record the patch LaunchDarkly would send."""
        if segment.ref is None:
            raise ValueError(f"segment {segment.key!r} has no generation")
        include, uninclude = list(include), list(uninclude)
        exclude, unexclude = list(exclude), list(unexclude)
        if not (include or uninclude or exclude or unexclude):
            return None
        segment.included.update(include)
        segment.included.difference_update(uninclude)
        segment.excluded.update(exclude)
        segment.excluded.difference_update(unexclude)
        segment.version += 1
        segment.modified_ms = self.now_ms()
        n = self._versions.get(env.id, 0) + 1
        self._versions[env.id] = n
        previous = env.patch_log[-1].version if env.patch_log else ""
        patch = BigSegmentPatch(
            environment_id=env.id,
            segment_id=segment.ref,
            version=f"{n:024x}",
            previous_version=previous,
            included_add=tuple(context_key_hash(k) for k in include),
            included_remove=tuple(context_key_hash(k) for k in uninclude),
            excluded_add=tuple(context_key_hash(k) for k in exclude),
            excluded_remove=tuple(context_key_hash(k) for k in unexclude),
        )
        env.version_index[patch.version] = len(env.patch_log)
        env.patch_log.append(patch)
        return patch

    def recreate_segment(self, env: Environment, key: str) -> Segment:
        """Delete and recreate a segment: the generation goes up; entries of the old generation
        stay in the stores (nothing removes them), where SDKs ignore them."""
        old = env.segments[key]
        new = Segment(
            key=old.key,
            name=old.name,
            generation=(old.generation or 0) + 1,
            created_ms=self.now_ms(),
            context_kind=old.context_kind,
            description=old.description,
            tags=list(old.tags),
            external=old.external,
            external_link=old.external_link,
            rules=list(old.rules),
            modified_ms=self.now_ms(),
            env_id=env.id,
            segment_id=self.new_id(),
        )
        env.segments[key] = new
        return new

    # --- rendering -----------------------------------------------------------------------------

    def status_json(self, integ: Integration) -> dict[str, Any]:
        s = integ.sync
        if s.last_sync is None and s.last_error is None:
            return {}
        out: dict[str, Any] = {}
        now = self.now_ms()
        fresh = s.last_sync is not None and now - s.last_sync < self.status_stale_after_ms
        failing = s.last_error is not None and (s.last_sync is None or s.last_error > s.last_sync)
        available = integ.on and fresh and not failing
        out["available"] = available
        out["potentiallyStale"] = not available
        if s.last_sync is not None:
            out["lastSync"] = s.last_sync
        if s.last_error is not None:
            out["lastError"] = s.last_error
        if s.errors:
            out["errors"] = [dict(e) for e in s.errors]
        return out

    def integration_json(self, integ: Integration) -> dict[str, Any]:
        config = dict(integ.config)
        if isinstance(config.get("password"), str) and config["password"]:
            config["password"] = redact_like_launchdarkly(config["password"])
        return {
            "_links": {
                "self": link(integ.path),
                "parent": link(BASE),
                "project": link(f"/api/v2/projects/{integ.project}"),
                "environment": link(f"/api/v2/projects/{integ.project}/environments/{integ.environment}"),
            },
            "_id": integ.id,
            "integrationKey": integ.kind,
            "projectKey": integ.project,
            "environmentKey": integ.environment,
            "config": config,
            "on": integ.on,
            "tags": list(integ.tags),
            "name": integ.name,
            "version": integ.version,
            "_access": {"denied": [], "allowed": []},
            "_status": self.status_json(integ),
        }

    def environment_json(self, project: Project, env: Environment) -> dict[str, Any]:
        return {
            "_links": {
                "self": link(f"/api/v2/projects/{project.key}/environments/{env.key}"),
                "analytics": link(f"https://app.launchdarkly.com/snippet/events/v1/{env.id}.js"),
            },
            "_id": env.id,
            "key": env.key,
            "name": env.name,
            "apiKey": env.api_key,
            "mobileKey": env.mobile_key,
            "color": env.color,
            "defaultTtl": 0,
            "secureMode": False,
            "defaultTrackEvents": False,
            "requireComments": False,
            "confirmChanges": False,
            "tags": list(env.tags),
            "critical": env.critical,
        }

    def project_json(self, project: Project, *, expand_environments: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "_links": {
                "self": link(f"/api/v2/projects/{project.key}"),
                "environments": link(f"/api/v2/projects/{project.key}/environments"),
            },
            "_id": project.id,
            "key": project.key,
            "includeInSnippetByDefault": False,
            "defaultClientSideAvailability": {"usingMobileKey": False, "usingEnvironmentId": False},
            "name": project.name,
            "tags": list(project.tags),
        }
        if expand_environments:
            envs = [self.environment_json(project, e) for e in project.environments.values()]
            out["environments"] = {
                "_links": {"self": link(f"/api/v2/projects/{project.key}/environments")},
                "totalCount": len(envs),
                "items": envs,
            }
        return out

    def segment_json(self, project: Project, env: Environment, seg: Segment) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": seg.name,
            "tags": list(seg.tags),
            "creationDate": seg.created_ms,
            "lastModifiedDate": seg.modified_ms or seg.created_ms,
            "key": seg.key,
            "included": [],
            "_links": {
                "self": link(f"/api/v2/segments/{project.key}/{env.key}/{seg.key}"),
                "parent": link(f"/api/v2/segments/{project.key}/{env.key}"),
            },
            "rules": [dict(r) for r in seg.rules],
            "version": seg.version,
            "deleted": False,
            "unbounded": True,
            "unboundedContextKind": seg.context_kind,
            "_unboundedMetadata": {
                "envId": env.id,
                "segmentId": seg.segment_id,
                "version": seg.version,
                "includedCount": len(seg.included),
                "excludedCount": len(seg.excluded),
                "lastModified": seg.modified_ms or seg.created_ms,
                "deleted": False,
            },
        }
        if seg.generation is not None:
            out["generation"] = seg.generation
        else:
            # Required by the schema; a segment of the older schema reports 0.
            out["generation"] = 0
        if seg.description:
            out["description"] = seg.description
        if seg.external:
            out["_external"] = seg.external
            if seg.external_link:
                out["_externalLink"] = seg.external_link
        return out
