"""``ldtui doctor``: every requirement LaunchDarkly's docs list for a big segment store, checked
against the store itself, AWS IAM and the API, and who writes which prefix into the store.

Used by ``ldtui doctor``, the doctor screen and the form's **Check** alike. The facts are
gathered here (through ``ldtui.stores`` and the API client); what they mean is decided in
``ldtui.core.doctor``.

Read-only unless ``write_probe``: stores get only read commands and questions (INFO, CONFIG
GET, ACL DRYRUN/GETUSER/CAT), the API only GETs, IAM only Get/List/Simulate calls.

The API's calls of one service together get ``api_deadline`` seconds (default: three of the
profile's timeouts): an API that answers nothing costs that, not every request's retries one
after the other; what it did not answer in time says so, and the stores are checked all the
same.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ldtui.api.errors import TIMEOUT, ApiError, RequestContext
from ldtui.core import doctor as judge
from ldtui.core.bigsegments import DEFAULT_REDIS_PREFIX, resolve_prefix
from ldtui.core.doctor import Check, PrefixFound, PrefixReport, Verdict
from ldtui.core.store_settings import DynamoDBStore, RedisEndpoint, RedisStore, Store
from ldtui.stores.base import (
    BigSegmentStoreReader,
    Metadata,
    StoreAuthenticationFailed,
    StoreError,
    StoreNotSupported,
    StorePermissionDenied,
    StoreUnavailable,
)
from ldtui.stores.open import open_reader

if TYPE_CHECKING:
    from ldtui.config import Config
    from ldtui.core.models import BigSegmentStoreIntegration
    from ldtui.services.inspect import DirectStore
    from ldtui.stores.iam import IamReader

Progress = Callable[[str], None]
# Discovery's bounds: prefixes found, and the projects whose environments are asked.
PREFIX_LIMIT = 1000
PROJECT_LIMIT = 200
# The API's calls together end within this many of the profile's timeouts (one request that
# gets no answer takes about three of them with its retries). Without a client's: 10 s each.
API_DEADLINE_TIMEOUTS = 3
DEFAULT_API_TIMEOUT_S = 10.0


class ApiDeadlinePassed(ApiError):
    """The doctor's API deadline passed: during a call (``asked``) or before it. An
    ``ApiError``, so every caller that copes with a failing API copes with this; its text
    names the deadline and ``fix`` (how to raise it)."""

    def __init__(self, deadline: float, fix: str, *, asked: bool) -> None:
        self.deadline = deadline
        self.fix = fix
        message = (
            f"no answer within the doctor's API deadline of {deadline:g} s"
            if asked
            else f"not asked: the doctor's API deadline of {deadline:g} s had passed"
        )
        super().__init__(status=None, code=TIMEOUT, message=message, context=RequestContext("GET", "the API"))
        self.hint = fix

    @property
    def summary(self) -> str:
        return f"{self.message}; {self.fix}" if self.fix else self.message

    def __str__(self) -> str:
        return self.summary


@dataclass(frozen=True)
class Credentials:
    """A Redis user and its password (``None``: not known). ``source`` says where the password
    came from, for messages: never the password itself."""

    username: str | None
    password: SecretStr | None = field(default=None, repr=False)
    source: str = ""


@dataclass
class DoctorTarget:
    """One store to check, and what LaunchDarkly is (or will be) told about it."""

    name: str
    kind: str  # "redis" or "dynamodb"
    store: Store | None
    password: SecretStr | None = field(default=None, repr=False)  # ldtui's own (the reader's)
    prefix: str | None = None  # the expected prefix; None when not known
    prefix_note: str = ""
    integration: BigSegmentStoreIntegration | None = None
    # The integration's config (from the API: its password redacted) or what the form holds.
    config: Mapping[str, Any] = field(default_factory=dict)
    writer: Credentials | None = None
    admin: Credentials | None = None
    project: str | None = None
    environment: str | None = None
    error: str | None = None  # why the store cannot be opened (checks then SKIP)

    @property
    def is_integration(self) -> bool:
        return self.integration is not None or bool(self.config)


def _env_secret(environ: Mapping[str, str], var: str | None) -> tuple[SecretStr | None, str]:
    if not var:
        return None, ""
    if var not in environ:
        return None, f"${var} is not set"
    return SecretStr(environ[var]), f"${var}"


class DoctorService:
    def __init__(
        self,
        client: Any,
        config: Config | None,
        *,
        write_probe: bool = False,
        scan: bool = False,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        reader_factory: Callable[[Store, str, Any], BigSegmentStoreReader] = open_reader,
        iam_factory: Callable[[DynamoDBStore], IamReader] | None = None,
        api_deadline: float | None = None,
        api_deadline_fix: str = "a longer timeout in the profile raises it",
    ) -> None:
        import os

        self.client = client
        self.config = config
        self.write_probe = write_probe
        self.scan = scan
        self.clock = clock
        self.environ: Mapping[str, str] = (
            environ if environ is not None else (config.environ if config is not None else os.environ)
        )
        self.reader_factory = reader_factory
        self.iam_factory = iam_factory
        self._environments: dict[str, str] | None = None
        self._environments_error: str | None = None
        # The targets came from offline_targets (the integrations could not be listed).
        self._listed_offline = False
        if api_deadline is None:
            # The client's deadline per attempt is the profile's timeout.
            per_request = getattr(client, "deadline", None)
            if not isinstance(per_request, int | float) or per_request <= 0:
                per_request = DEFAULT_API_TIMEOUT_S
            api_deadline = API_DEADLINE_TIMEOUTS * float(per_request)
        self.api_deadline = api_deadline
        self.api_deadline_fix = api_deadline_fix
        self.api_spent = 0.0  # seconds the API's calls have taken so far

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @contextlib.asynccontextmanager
    async def api_window(self) -> AsyncIterator[None]:
        """One step that asks the API, within what is left of ``api_deadline`` (the steps'
        time adds up; the stores' does not count). ``ApiDeadlinePassed`` when none is left
        (the step is not begun) or when the step outlasts it (it is cancelled)."""
        left = self.api_deadline - self.api_spent
        if left <= 0:
            raise ApiDeadlinePassed(self.api_deadline, self.api_deadline_fix, asked=False)
        loop = asyncio.get_running_loop()
        start = loop.time()
        window = asyncio.timeout(left)
        try:
            async with window:
                yield
        except TimeoutError:
            if not window.expired():
                raise
            raise ApiDeadlinePassed(self.api_deadline, self.api_deadline_fix, asked=True) from None
        finally:
            self.api_spent += loop.time() - start

    # --- targets ---------------------------------------------------------------------------

    def _credentials(
        self, store: Store | None, config: Mapping[str, Any]
    ) -> tuple[Credentials, Credentials | None]:
        """The writer's credentials (the integration's user; its password from
        ``writer_password_env``) and the admin connection's (``admin_*``, else none: the
        reader's are used)."""
        user = config.get("username") or None
        if isinstance(store, RedisStore):
            password, source = _env_secret(self.environ, store.writer_password_env)
            writer = Credentials(store.writer_username or user, password, source)
            admin = None
            if store.admin_username or store.admin_password_env:
                admin_password, admin_source = _env_secret(self.environ, store.admin_password_env)
                admin = Credentials(store.admin_username, admin_password, admin_source)
            return writer, admin
        return Credentials(user), None

    def _reader_password(self, store_key: str | None) -> tuple[SecretStr | None, str | None]:
        if store_key is None or self.config is None:
            return None, None
        from ldtui.config import ConfigError

        try:
            return self.config.store_password(store_key), None
        except ConfigError as exc:
            return None, str(exc)

    async def targets(self, ref: Any = None) -> list[DoctorTarget]:
        """The targets of ``ldtui status`` (every integration, then every configured store no
        integration uses), or the one integration ``ref`` names (``IntegrationRef``)."""
        from ldtui.services.inspect import SourceError
        from ldtui.services.status import StatusService

        assert self.config is not None
        status = StatusService(self.client, self.config, clock=self.clock)
        integrations = None
        async with self.api_window():
            if ref is not None:
                integrations = [
                    i
                    for i in (await self.client.list_integrations()).items
                    if (i.projectKey, i.environmentKey, i.integrationKey)
                    == (ref.project, ref.environment, ref.kind)
                ]
                if not integrations:
                    raise SourceError(f"no {ref.kind} integration in {ref.project}/{ref.environment}")
            found = await status.targets(integrations)
        if ref is not None:
            found = found[:1]
        return [self._target(t) for t in found]

    async def offline_targets(self) -> list[DoctorTarget]:
        """The targets while the API cannot list integrations: every configured store (with
        the prefix configured or remembered, never guessed; otherwise its prefix checks SKIP)."""
        from ldtui.services.state import EnvironmentCache
        from ldtui.services.status import StatusService

        assert self.config is not None
        self._listed_offline = True
        memory = EnvironmentCache.default(self.client.base_url) if self.client is not None else None
        status = StatusService(self.client, self.config, clock=self.clock, memory=memory)
        return [self._target(t) for t in await status.targets_offline()]

    async def offline_integration_target(self, ref: Any) -> tuple[list[DoctorTarget], str | None]:
        """With the API down, for the one integration ``ref`` names (``IntegrationRef``): the
        store configured for its environment (what can be checked without the API), or no
        target and a note that names the key its store would take."""
        assert self.config is not None
        found = [
            t
            for t in await self.offline_targets()
            if t.store is not None
            and (t.project, t.environment, t.kind) == (ref.project, ref.environment, ref.kind)
        ]
        if found:
            return found[:1], None
        from ldtui.services.status import store_key_to_add

        stores = self.config.settings.stores
        where = store_key_to_add(stores, ref.project, ref.environment, ref.kind)
        key = f'[stores."{where}"]'
        environment = f"{ref.project}/{ref.environment}"
        if where != environment:  # the environment's other store holds that key
            key += f'; [stores."{environment}"] is a {stores[environment].type} store'
        return (
            [],
            f"no store is configured for {ref} ({key}): without the API there is nothing of it to check",
        )

    def _target(self, t: Any) -> DoctorTarget:
        """A status ``Target`` as the doctor's."""
        integ = t.integration
        config = dict(integ.config) if integ is not None else {}
        store = t.store
        if store is None and integ is not None:
            store = store_from_config(t.kind, config)
        password, error = self._reader_password(t.store_key)
        writer, admin = self._credentials(store, config)
        # An integration remembered from an earlier run, with no [stores] entry, has no key.
        name = (
            f"stores.{t.store_key}"
            if integ is None and t.store_key
            else f"{t.project}/{t.environment}/{t.kind}"
        )
        return DoctorTarget(
            name=name,
            kind=t.kind,
            store=store,
            password=password,
            prefix=None if t.prefix_unknown else t.prefix,
            prefix_note=t.prefix_unknown or "",
            integration=integ,
            config=config,
            writer=writer,
            admin=admin,
            project=t.project,
            environment=t.environment,
            error=error,
        )

    def direct_target(
        self,
        direct: DirectStore,
        *,
        writer: Credentials | None = None,
        admin: Credentials | None = None,
        role_arn: str | None = None,
        external_id: str | None = None,
    ) -> DoctorTarget:
        """A store named by its options (``--store``): ``StoreOptionError`` names a bad one."""
        from ldtui.services.inspect import direct_store_model

        model, password, prefix = direct_store_model(direct, environ=self.environ)
        if isinstance(model, RedisStore):
            name = f"store {model.endpoint().description}"
        else:
            name = f"store {model.description}"
        config: dict[str, Any] = {}
        if role_arn or external_id:
            config = {
                "roleArn": role_arn or "",
                "externalId": external_id or "",
                "region": model_region(model),
            }
        return DoctorTarget(
            name=name,
            kind=direct.kind,
            store=model,
            password=password,
            prefix=prefix,
            config=config,
            writer=writer or Credentials(None),
            admin=admin,
        )

    def form_target(
        self, project: str, environment: str, kind: str, typed: Mapping[str, Any], client_side_id: str | None
    ) -> DoctorTarget:
        """What an integration form holds, before Save: LaunchDarkly's connection as typed
        (the typed user and password are the writer's), read with the store configured for the
        environment in ``[stores]`` when there is one, else with what was typed."""
        key, configured = None, None
        if self.config is not None:
            for k in (f"{project}/{environment}/{kind}", f"{project}/{environment}"):
                s = self.config.settings.stores.get(k)
                if s is not None and s.type == kind:
                    key, configured = k, s
                    break
        typed_password = typed.get("password")
        if isinstance(typed_password, SecretStr):
            typed_password = typed_password.get_secret_value()
        writer_password = SecretStr(typed_password) if typed_password else None
        writer_source = "typed" if writer_password else ""
        if writer_password is None and isinstance(configured, RedisStore) and configured.writer_password_env:
            # Editing, the password left unchanged: the configured reference, if any.
            writer_password, writer_source = _env_secret(self.environ, configured.writer_password_env)
        store = configured or store_from_config(kind, typed)
        password, error = self._reader_password(key)
        if configured is None and kind == "redis":
            password = writer_password  # ldtui reads with the typed user too
        admin = None
        if isinstance(configured, RedisStore) and (
            configured.admin_username or configured.admin_password_env
        ):
            admin_password, source = _env_secret(self.environ, configured.admin_password_env)
            admin = Credentials(configured.admin_username, admin_password, source)
        prefix = resolve_prefix(
            kind, configured=configured.prefix if configured else None, client_side_id=client_side_id
        )
        return DoctorTarget(
            name=f"{project}/{environment}/{kind} (as typed)",
            kind=kind,
            store=store,
            password=password,
            prefix=prefix if client_side_id or (configured and configured.prefix is not None) else None,
            prefix_note="" if client_side_id else "the environment's client-side ID is not known",
            config={k: v for k, v in typed.items() if k != "password"},
            writer=Credentials(str(typed.get("username") or "") or None, writer_password, writer_source),
            admin=admin,
            project=project,
            environment=environment,
            error=error,
        )

    async def form_target_for(
        self, project: str, environment: str, kind: str, typed: Mapping[str, Any]
    ) -> DoctorTarget:
        """``form_target`` with the environment's client-side ID asked of the API."""
        client_side_id = None
        if self.client is not None:
            try:
                async with self.api_window():
                    for env in await self.client.list_environments(project):
                        if env.key == environment:
                            client_side_id = env.id
            except ApiError:
                pass
        return self.form_target(project, environment, kind, typed, client_side_id)

    async def store_targets(self, store_key: str) -> list[DoctorTarget]:
        """The configured store ``[stores."store_key"]`` (one no integration uses)."""
        return [t for t in await self.targets() if t.name == f"stores.{store_key}"]

    # --- the API ---------------------------------------------------------------------------

    async def environments(self) -> dict[str, str]:
        """Client-side ID -> ``project/environment`` for every environment the API lists (at
        most ``PROJECT_LIMIT`` projects); empty, with the reason kept, when it cannot tell."""
        if self._environments is not None:
            return self._environments
        found: dict[str, str] = {}
        if self.client is None:
            self._environments_error = "no API to tell whose environment a prefix is"
        else:
            projects: list[Any] = []
            asked = 0
            try:
                async with self.api_window():
                    async for p in self.client.iter_projects():
                        projects.append(p)
                        if len(projects) >= PROJECT_LIMIT:
                            self._environments_error = f"only the first {PROJECT_LIMIT} projects were asked"
                            break
                    for project in projects:
                        for env in await self.client.list_environments(project.key):
                            found[env.id] = f"{project.key}/{env.key}"
                        asked += 1
            except ApiDeadlinePassed as exc:
                # What was listed in time still names its prefixes.
                if asked:
                    done = f"the environments of {asked} of {len(projects)} projects were listed, not all"
                else:
                    done = "the environments were not listed"
                self._environments_error = f"{done}: {exc.summary}"
            except ApiError as exc:
                self._environments_error = f"the API did not list the environments: {exc.summary}"
        self._environments = found
        return found

    async def outbound(self) -> Check:
        if self.client is None:
            return judge.judge_outbound(None, "no API").check("network.outbound", "launchdarkly")
        try:
            async with self.api_window():
                ips = await self.client.public_ip_list()
        except ApiError as exc:
            return judge.judge_outbound(None, exc.summary).check("network.outbound", "launchdarkly")
        return judge.judge_outbound(list(ips.outboundAddresses)).check("network.outbound", "launchdarkly")

    # --- running ---------------------------------------------------------------------------

    async def run(
        self, targets: Sequence[DoctorTarget], *, progress: Progress | None = None, outbound: bool = True
    ) -> list[Check]:
        """Every check of every target, in order; ``network.outbound`` once, first."""
        say = progress or (lambda _text: None)
        checks: list[Check] = []
        if outbound:
            say("asking LaunchDarkly for its outbound addresses…")
            checks.append(await self.outbound())
        for target in targets:
            checks += await self.check(target, progress=say)
        return checks

    async def check(self, target: DoctorTarget, *, progress: Progress | None = None) -> list[Check]:
        say = progress or (lambda _text: None)
        verdict = judge.judge_integration(target.integration, self.now_ms(), api_down=self._listed_offline)
        checks = [verdict.check("api.integration", target.name)]
        if target.kind == "redis":
            checks += await RedisDoctor(self, target, say).run()
        else:
            checks += await DynamoDBDoctor(self, target, say).run()
        return checks

    def writers_verdict(self, report: PrefixReport, target: DoctorTarget) -> Verdict:
        return judge.judge_writers(report, integration=target.is_integration, now_ms=self.now_ms())

    async def classify(
        self, target: DoctorTarget, found: list[PrefixFound], *, complete: bool, note: str = ""
    ) -> PrefixReport:
        envs = await self.environments()
        default = DEFAULT_REDIS_PREFIX if target.kind == "redis" else ""
        report = judge.classify_prefixes(
            found,
            envs,
            expected=target.prefix,
            default=default,
            now_ms=self.now_ms(),
            complete=complete,
            environments_complete=self._environments_error is None,
        )
        notes = [n for n in (note, self._environments_error) if n]
        report.note = ". ".join(notes)
        return report


def model_region(model: Store) -> str:
    return model.region or "" if isinstance(model, DynamoDBStore) else ""


def store_from_config(kind: str, config: Mapping[str, Any]) -> Store | None:
    """ldtui's connection to the store an integration's config names, when ``[stores]`` has
    none: host, port and TLS (the password is never the API's: it redacts it)."""
    from pydantic import ValidationError

    try:
        if kind == "redis":
            host = str(config.get("host") or "")
            if not host:
                return None
            port = str(config.get("port") or "6379")
            scheme = "rediss" if config.get("tlsEnabled") else "redis"
            user = str(config.get("username") or "")
            from urllib.parse import quote

            netloc = f"{quote(user, safe='')}@" if user else ""
            shown = f"[{host}]" if ":" in host else host
            return RedisStore(url=f"{scheme}://{netloc}{shown}:{port}/0")
        table = str(config.get("tableName") or "")
        if not table:
            return None
        return DynamoDBStore(table=table, region=str(config.get("region") or "") or None)
    except ValidationError:
        return None


# --- Redis ---------------------------------------------------------------------------------------


class RedisDoctor:
    def __init__(self, service: DoctorService, target: DoctorTarget, say: Progress) -> None:
        self.service = service
        self.target = target
        self.say = say
        self.checks: list[Check] = []
        self.reader: Any = None
        self.admin: Any = None
        self.endpoint: RedisEndpoint | None = None
        self.reached = False
        self.cluster_refused = False
        self.metadata: Metadata | None = None
        self.scan: tuple[list[PrefixFound], bool] | None = None

    def add(self, check_id: str, verdict: Verdict) -> None:
        self.checks.append(verdict.check(check_id, self.target.name))

    def skip_rest(self, ids: Sequence[str], why: str, fix: str = "") -> list[Check]:
        done = {c.id for c in self.checks}
        for check_id in ids:
            if check_id not in done:
                self.add(check_id, judge.skip(why, fix))
        return self.checks

    async def run(self) -> list[Check]:
        t = self.target
        ids = [c for c in judge.CHECK_IDS if c.startswith("redis.")] + ["store.writers"]
        if not isinstance(t.store, RedisStore) or t.error:
            why = t.error or "no connection to the store is known"
            return self.skip_rest(ids, why, f'add [stores."{t.project}/{t.environment}"] with its url')
        store = t.store
        try:
            self.endpoint = store.endpoint(t.password)
            self.reader = self.service.reader_factory(store, t.prefix or DEFAULT_REDIS_PREFIX, t.password)
        except (StoreError, ValueError) as exc:
            return self.skip_rest(ids, f"the store's settings cannot be used: {exc}")
        try:
            await self._run(ids)
        finally:
            await self.reader.aclose()
            if self.admin is not None:
                await self.admin.aclose()
        order = {check_id: i for i, check_id in enumerate(ids)}
        self.checks.sort(key=lambda c: order.get(c.id, 0))
        return self.checks

    async def _run(self, ids: list[str]) -> None:
        from ldtui.stores import redis_admin

        t = self.target
        assert self.endpoint is not None
        self.say(f"{t.name}: connecting…")
        probe_error = await self._reachable()
        if not self.reached:
            if self.endpoint.tls and await self._handshake_failed():
                return
            self.skip_rest(ids, "the server could not be reached", "fix redis.reachable first")
            return
        address = self.reader.address if hasattr(self.reader, "address") else self.endpoint
        tls = self.endpoint.tls
        integration_tls = t.config.get("tlsEnabled") if "tlsEnabled" in t.config else None
        peer = await redis_admin.tls_peer(address) if tls else None
        self.add(
            "redis.tls",
            judge.judge_tls(
                peer,
                tls=tls,
                now_s=self.service.clock(),
                integration_tls=bool(integration_tls) if integration_tls is not None else None,
            ),
        )
        if isinstance(probe_error, StoreUnavailable) and probe_error.code == "TLS":
            self.skip_rest(ids, "no TLS connection could be made", "fix redis.tls first")
            return
        self.say(f"{t.name}: credentials…")
        await self._auth(address, probe_error)
        if isinstance(probe_error, StoreAuthenticationFailed):
            self.skip_rest(ids, "ldtui's own credentials were refused", "fix redis.auth first")
            return
        admin_creds = t.admin or Credentials(
            self.endpoint.username, self.endpoint.password, "the store's url"
        )
        self.admin = redis_admin.RedisAdmin(
            address, username=admin_creds.username, password=admin_creds.password
        )
        self.say(f"{t.name}: ACL…")
        await self._writer_acl(address)
        await self._reader_acl()
        self.say(f"{t.name}: server settings…")
        await self._server()
        self.say(f"{t.name}: looking for prefixes…")
        await self._prefixes()

    async def _handshake_failed(self) -> bool:
        """After a failed connection to a TLS URL: when the port takes a TCP connection but the
        handshake fails (a plain Redis answers nothing to a ClientHello), that is redis.tls's
        failure, and the rest is skipped because of it; False when the host itself is out of
        reach."""
        from ldtui.stores import redis_admin

        assert self.endpoint is not None
        address = self.reader.address if hasattr(self.reader, "address") else self.endpoint
        peer = await redis_admin.tls_peer(address)
        if peer.error is None or peer.error.startswith("cannot connect"):
            return False
        if peer.error.startswith("no handshake within"):
            verdict = judge.fail(
                f"TLS handshake failed: {peer.error} (the port takes TCP connections)",
                "the server may not speak TLS on this port: a plain Redis answers nothing to a TLS "
                "handshake; use redis:// (and tlsEnabled off), or enable TLS on the server",
            )
        else:
            verdict = judge.judge_tls(peer, tls=True, now_s=self.service.clock())
        self.add("redis.tls", verdict)
        reachable = next(c for c in self.checks if c.id == "redis.reachable")
        self.checks[self.checks.index(reachable)] = replace(
            reachable, fix=f"{reachable.fix}; see redis.tls" if reachable.fix else "see redis.tls"
        )
        ids = [c for c in judge.CHECK_IDS if c.startswith("redis.")] + ["store.writers"]
        self.skip_rest(ids, "no TLS connection could be made", "fix redis.tls first")
        return True

    async def _reachable(self) -> StoreError | None:
        probe = await self.reader.probe()
        if probe.reachable:
            self.reached = True
            self.add(
                "redis.reachable",
                judge.pass_(f"{self.reader.description} answers PING in {probe.latency_ms:.1f} ms"),
            )
            return None
        try:  # the probe says why in words; ask again for the typed error
            await self.reader.get_metadata()
        except StoreError as exc:
            error: StoreError = exc
        else:
            self.reached = True
            self.add("redis.reachable", judge.pass_(f"{self.reader.description} answers"))
            return None
        if isinstance(error, StoreNotSupported):
            self.cluster_refused = True
        reached = isinstance(error, StorePermissionDenied | StoreNotSupported) or (
            isinstance(error, StoreUnavailable) and error.code in ("TLS", "LOADING", "BUSY", "OOM")
        )
        if reached:
            self.reached = True
            self.add("redis.reachable", judge.pass_(f"the server answers ({error.message})"))
        else:
            self.add(
                "redis.reachable",
                judge.fail(error.message, error.hint or "check host, port, firewall and that Redis runs"),
            )
        return error

    async def _auth(self, address: RedisEndpoint, probe_error: StoreError | None) -> None:
        from ldtui.stores import redis_admin

        t = self.target
        found: list[str] = []
        reader_user = self.endpoint.username if self.endpoint else None
        if isinstance(probe_error, StoreAuthenticationFailed):
            self.add(
                "redis.auth",
                judge.fail(
                    f"ldtui's credentials (user {reader_user or 'default'!r}) were refused: "
                    f"{probe_error.message}",
                    probe_error.hint,
                ),
            )
            return
        found.append(f"ldtui's user {reader_user or 'default'!r} authenticates")
        writer = t.writer or Credentials(None)
        if writer.password is not None:
            try:
                await redis_admin.authenticate(address, writer.username, writer.password)
            except StoreAuthenticationFailed as exc:
                self.add(
                    "redis.auth",
                    judge.fail(
                        f"the writer's credentials (user {writer.username or 'default'!r}, password from "
                        f"{writer.source}) were refused: {exc.message}",
                        "the user and password the integration is given must be the server's",
                    ),
                )
                return
            except StoreError as exc:
                found.append(f"the writer's login could not be tried ({exc.message})")
            else:
                found.append(f"the writer {writer.username or 'default'!r} authenticates")
        else:
            why = f" ({writer.source})" if writer.source else ""
            found.append(f"the writer's password is not known{why}, so its login was not tried")
        anyone = await redis_admin.open_to_anyone(address)
        if anyone:
            self.add(
                "redis.auth",
                judge.warn(
                    "; ".join(found) + "; but the server answers without any password",
                    "require a password (ACL SETUSER default on >PASSWORD, or requirepass): the store "
                    "is reachable by LaunchDarkly, so it is reachable from outside",
                ),
            )
            return
        self.add("redis.auth", judge.pass_("; ".join(found)))

    async def _writer_acl(self, address: RedisEndpoint) -> None:
        from ldtui.stores import redis_admin

        t = self.target
        writer = t.writer or Credentials(None)
        user = writer.username or "default"
        prefix = t.prefix
        if prefix is None:
            self.add(
                "redis.writer_acl", judge.skip(f"the prefix is not known: {t.prefix_note}", "give --prefix")
            )
            return
        if self.service.write_probe:
            if writer.password is None and writer.username is not None:
                self.add(
                    "redis.writer_acl",
                    judge.skip(
                        "--write-probe needs the writer's password",
                        "set writer_password_env in [stores] (or type it in the form)",
                    ),
                )
                return
            try:
                probed, leftover = await redis_admin.write_probe(
                    address, writer.username, writer.password, prefix
                )
            except StoreError as exc:
                self.add("redis.writer_acl", judge.fail(f"the write probe failed: {exc.message}", exc.hint))
                return
            verdict = judge.judge_acl_answers(user, probed, how="write probe", prefix=prefix)
            if leftover:
                verdict = replace(verdict, found=f"{verdict.found}; {leftover}")
            self.add("redis.writer_acl", verdict)
            return
        args = judge.writer_probe_args(prefix)
        try:
            answers: dict[str, str | None] = {}
            for command, argv in args.items():
                answers[command] = await self.admin.acl_dryrun(user, *argv)
            how = "ACL DRYRUN"
        except StoreError as exc:
            message = exc.message
            if "not found" in message.lower() and "user" in message.lower():
                self.add(
                    "redis.writer_acl",
                    judge.fail(
                        f"the writer user {user!r} does not exist", f"ACL SETUSER {user} on >PASSWORD ..."
                    ),
                )
                return
            if isinstance(exc, StorePermissionDenied):
                self.add(
                    "redis.writer_acl", judge.skip(self._admin_refused("ACL DRYRUN", exc), self._admin_fix())
                )
                return
            # Redis 6 has no DRYRUN: evaluate ACL GETUSER's rules.
            try:
                answers = await self._getuser_answers(user, args)
            except StoreError as again:
                self.add(
                    "redis.writer_acl",
                    judge.skip(self._admin_refused("ACL GETUSER", again), self._admin_fix()),
                )
                return
            how = "ACL GETUSER, evaluated by ldtui"
        self.add("redis.writer_acl", judge.judge_acl_answers(user, answers, how=how, prefix=prefix))

    async def _getuser_answers(self, user: str, args: Mapping[str, Sequence[str]]) -> dict[str, str | None]:
        reply = await self.admin.acl_getuser(user)
        if reply is None:
            return dict.fromkeys(args, f"the user {user!r} does not exist")
        acl = judge.AclUser.from_reply(judge.acl_reply_map(reply))
        categories = {c: await self.admin.acl_cat(c) for c in acl.categories()}
        return acl.answers(args, categories)

    def _admin_refused(self, what: str, exc: StoreError) -> str:
        return f"the admin connection may not run {what} ({exc.message})"

    def _admin_fix(self) -> str:
        return (
            "set admin_username and admin_password_env in [stores] (a user allowed ACL, INFO and "
            "CONFIG GET), or run with --write-probe to try the commands as the writer"
        )

    async def _reader_acl(self) -> None:
        from ldtui.stores.resp import READ_COMMANDS

        commands = sorted(c.decode() for c in READ_COMMANDS)
        refused: dict[str, str] = {}
        user = (self.endpoint.username if self.endpoint else None) or "default"
        prefix = self.reader.prefix

        async def attempt(coro: Any) -> Any:
            try:
                return await coro
            except StorePermissionDenied as exc:
                refused[exc.message.split(" ", 1)[0]] = exc.message
            except StoreNotSupported:
                self.cluster_refused = True
            except StoreError:
                pass
            return None

        t = self.target
        if t.prefix is None:
            # Whose keys to try is not known: the default prefix would be a guess, and a reader
            # allowed only its environment's keys would FAIL on it. The scan needs no prefix.
            self.scan = await attempt(
                self.reader.metadata_prefixes(limit=PREFIX_LIMIT, progress=self._scan_progress)
            )
            self.add(
                "redis.reader_acl",
                judge.skip(
                    "the prefix is not known, so the reader's access to its keys was not tried: "
                    + t.prefix_note,
                    "give --prefix",
                ),
            )
            return
        self.metadata = await attempt(self.reader.get_metadata())
        await attempt(self.reader.get_memberships(["A" * 43 + "=", "B" * 43 + "="]))
        self.scan = await attempt(
            self.reader.metadata_prefixes(limit=PREFIX_LIMIT, progress=self._scan_progress)
        )
        self.add("redis.reader_acl", judge.judge_reader_acl(user, refused, commands, prefix))

    def _scan_progress(self, p: Any) -> None:
        self.say(f"{self.target.name}: scanning for prefixes ({p.done} SCAN pages, {p.contexts} prefixes)…")

    async def _server(self) -> None:
        memory: dict[str, str] | None
        cluster: dict[str, str] | None
        try:
            memory = await self.admin.info("memory")
        except StoreError:
            memory = None
        try:
            cluster = await self.admin.info("cluster")
        except StoreError:
            cluster = None
        enabled = None if cluster is None else cluster.get("cluster_enabled") == "1"
        self.add("redis.not_cluster", judge.judge_cluster(enabled, self.cluster_refused))
        policy = memory.get("maxmemory_policy") if memory else None
        if policy is None:
            try:
                policy = await self.admin.config_get("maxmemory-policy")
            except StoreError:
                policy = None
        self.add("redis.eviction", judge.judge_eviction(policy))
        used = _int(memory.get("used_memory")) if memory else None
        limit = _int(memory.get("maxmemory")) if memory else None
        if memory is not None and limit is None:
            try:
                limit = _int(await self.admin.config_get("maxmemory"))
            except StoreError:
                limit = None
        self.add("redis.memory", judge.judge_memory(used, limit, policy))

    async def _prefixes(self) -> None:
        t = self.target
        scan = self.scan
        found: list[PrefixFound] = []
        complete = False
        note = ""
        if scan is not None:
            found, complete = scan
            if not complete:
                note = f"the scan stopped at {len(found)} prefixes"
        else:
            note = "SCAN could not run, so only the expected prefix was read"
        metadata = self.metadata
        if (
            t.prefix is not None
            and metadata is not None
            and (metadata.raw is not None or metadata.cursor is not None)
            and not any(f.prefix == t.prefix for f in found)
        ):
            found.append(PrefixFound(t.prefix, metadata.synchronized_on))
        report = await self.service.classify(t, found, complete=complete, note=note)
        claims = bool(t.integration is not None and t.integration.status.lastSync)
        self.add(
            "redis.prefix",
            judge.judge_prefix(report, kind="redis", now_ms=self.service.now_ms(), claims_synced=claims),
        )
        if scan is None:
            self.add("store.writers", judge.skip(note, "grant ldtui's user +scan (see redis.reader_acl)"))
        else:
            self.add("store.writers", self.service.writers_verdict(report, t))


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


# --- DynamoDB ------------------------------------------------------------------------------------


class DynamoDBDoctor:
    def __init__(self, service: DoctorService, target: DoctorTarget, say: Progress) -> None:
        self.service = service
        self.target = target
        self.say = say
        self.checks: list[Check] = []

    def add(self, check_id: str, verdict: Verdict) -> None:
        self.checks.append(verdict.check(check_id, self.target.name))

    async def run(self) -> list[Check]:
        t = self.target
        config = t.config
        store = t.store if isinstance(t.store, DynamoDBStore) else None
        region = str(config.get("region") or "") or (store.region if store else None)
        role_arn = str(config.get("roleArn") or "") or None
        external_id = str(config.get("externalId") or "") or None
        description: dict[str, Any] | None = None
        reader: Any = None
        if store is None or t.error:
            why = t.error or "no table is known"
            for check_id in ("dynamodb.table", "dynamodb.key_schema"):
                self.add(check_id, judge.skip(why, "give the table (--table, or tableName)"))
        else:
            reader = self.service.reader_factory(store, t.prefix or "", None)
        try:
            if reader is not None:
                self.say(f"{t.name}: describing the table…")
                try:
                    description = await reader.describe_table()
                    self.add("dynamodb.table", judge.judge_table(description))
                except StorePermissionDenied as exc:
                    self.add(
                        "dynamodb.table",
                        judge.skip(
                            f"DescribeTable refused: {exc.message}", "let ldtui call dynamodb:DescribeTable"
                        ),
                    )
                except StoreError as exc:
                    missing = exc.code == "ResourceNotFoundException"
                    fix = (
                        ""
                        if missing
                        else exc.hint or "check the region, the endpoint and the way to DynamoDB"
                    )
                    self.add("dynamodb.table", judge.judge_table(None, exc.message, fix))
                self.add("dynamodb.key_schema", judge.judge_key_schema(description))
            self.add(
                "dynamodb.region",
                judge.judge_region(
                    region, store_region=store.region if store and config.get("region") else None
                ),
            )
            self.add("dynamodb.role_arn", judge.judge_role_arn(role_arn))
            await self._iam(store, role_arn, external_id, description, region)
            await self._prefixes(reader)
        finally:
            if reader is not None:
                await reader.aclose()
        return self.checks

    async def _iam(
        self,
        store: DynamoDBStore | None,
        role_arn: str | None,
        external_id: str | None,
        description: Mapping[str, Any] | None,
        region: str | None,
    ) -> None:
        from ldtui.stores.iam import IamReader, SimulationUnavailable

        parsed = judge.parse_role_arn(role_arn) if role_arn else None
        if parsed is None:
            why = "no valid role ARN (see dynamodb.role_arn)"
            self.add("dynamodb.trust", judge.skip(why))
            self.add("dynamodb.permissions", judge.skip(why))
            return
        assert role_arn is not None
        partition, account, role_name = parsed
        factory = self.service.iam_factory
        iam = (
            factory(store or DynamoDBStore(table="unknown-table"))
            if factory
            else IamReader(profile=store.aws_profile if store else None, region=region or None)
        )
        try:
            self.say(f"{self.target.name}: reading the role…")
            try:
                role = await iam.get_role(role_name)
            except StoreError as exc:
                why = f"the role could not be read ({exc.message})"
                fix = "run with AWS credentials of the role's account that may call iam:GetRole"
                self.add("dynamodb.trust", judge.skip(why, fix))
                self.add("dynamodb.permissions", judge.skip(why, fix))
                return
            self.add("dynamodb.trust", judge.judge_trust(role.get("AssumeRolePolicyDocument"), external_id))
            table_arn = str((description or {}).get("TableArn") or "")
            if not table_arn:
                table_name = store.table if store else "TABLE"
                table_arn = f"arn:{partition}:dynamodb:{region or '*'}:{account}:table/{table_name}"
            actions = judge.WRITER_ACTIONS
            try:
                decisions = await iam.simulate(role_arn, actions, table_arn)
                self.add(
                    "dynamodb.permissions",
                    judge.judge_permissions(decisions, table_arn, how="iam:SimulatePrincipalPolicy"),
                )
                return
            except SimulationUnavailable:
                pass
            try:
                documents = [doc for _, doc in await iam.role_policies(role_name)]
            except StoreError as exc:
                self.add(
                    "dynamodb.permissions",
                    judge.skip(
                        "neither SimulatePrincipalPolicy nor the role's policies could be read "
                        f"({exc.message})",
                        "let ldtui's AWS identity call iam:SimulatePrincipalPolicy, or "
                        "iam:List/GetRolePolicy",
                    ),
                )
                return
            verdicts = {a: judge.evaluate_policies(documents, a, table_arn) for a in actions}
            decisions = {a: "allowed" if v.allowed else v.reason for a, v in verdicts.items()}
            self.add(
                "dynamodb.permissions",
                judge.judge_permissions(
                    decisions, table_arn, how="the role's policies, read by ldtui", approximate=True
                ),
            )
        finally:
            await iam.aclose()

    async def _prefixes(self, reader: Any) -> None:
        t = self.target
        if reader is None:
            self.add("dynamodb.prefix", judge.skip("no table is known"))
            self.add("store.writers", judge.skip("no table is known"))
            return
        schema = next((c for c in self.checks if c.id == "dynamodb.key_schema"), None)
        if schema is not None and schema.result == "FAIL":
            # Reads would only bring DynamoDB's ValidationException: the SDKs cannot read it either.
            why = "skipped: the table's key schema is not the one the SDKs read (see dynamodb.key_schema)"
            self.add("dynamodb.prefix", judge.skip(why, "fix dynamodb.key_schema first"))
            self.add("store.writers", judge.skip(why, "fix dynamodb.key_schema first"))
            return
        self.say(f"{t.name}: looking for prefixes…")
        found: list[PrefixFound] = []
        complete = True
        note = ""
        try:
            if self.service.scan:
                found, complete = await reader.scan_metadata(
                    limit=PREFIX_LIMIT,
                    progress=lambda p: self.say(f"{t.name}: scanning the table ({p.done} pages)…"),
                )
                if not complete:
                    note = f"the scan stopped at {len(found)} prefixes"
            else:
                envs = await self.service.environments()
                wanted = [*([t.prefix] if t.prefix is not None else []), "", *envs]
                found = await reader.metadata_for(wanted)
                note = (
                    "only the prefixes of the environments the API knows, and no prefix, were looked "
                    "up; --scan reads every item"
                )
        except StoreError as exc:
            why = f"the metadata could not be read: {exc.message}"
            fix = exc.hint
            if exc.code == "ValidationException":  # the key schema could not be looked at
                why += "; the table's key schema may not be the one the SDKs read"
                fix = fix or "compare the table's keys with namespace (S) HASH and key (S) RANGE"
            self.add("dynamodb.prefix", judge.skip(why, fix))
            self.add("store.writers", judge.skip(why, fix))
            return
        report = await self.service.classify(t, found, complete=complete, note=note)
        claims = bool(t.integration is not None and t.integration.status.lastSync)
        self.add(
            "dynamodb.prefix",
            judge.judge_prefix(report, kind="dynamodb", now_ms=self.service.now_ms(), claims_synced=claims),
        )
        self.add("store.writers", self.service.writers_verdict(report, t))
