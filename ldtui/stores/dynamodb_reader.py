"""Read big segment data from DynamoDB exactly as the SDKs do (store-schema.md §3).

Items (prefix ``p``, none by default; when set, namespaces are ``"p:" + base``):
metadata ``namespace = key = p:big_segments_metadata`` with ``synchronizedOn`` (N, epoch ms)
and ``lastVersion`` (S, relay cursor); membership ``namespace = p:big_segments_user``,
``key = <hash>`` with ``included``/``excluded`` string sets.

boto3 is synchronous: every call runs in a thread (``asyncio.to_thread``) under a total
deadline. Only GetItem, BatchGetItem, Query and DescribeTable are ever called (and STS
AssumeRole, when the store names a role; and Scan, for ``ldtui doctor --scan`` only).
Throttling is retried with backoff, and so are BatchGetItem's UnprocessedKeys, both bounded
in attempts and in time; assumed-role credentials refresh themselves before they expire.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ldtui.core.bigsegments import Membership, parse_dynamodb_synchronized_on
from ldtui.core.doctor import PrefixFound
from ldtui.core.store_settings import DynamoDBStore
from ldtui.stores.base import (
    BigSegmentStoreReader,
    Metadata,
    Probe,
    Progress,
    ProgressCallback,
    StoreDataError,
    StoreError,
    StorePermissionDenied,
    StoreStatistics,
    StoreThrottled,
    StoreUnavailable,
)

BATCH_GET_LIMIT = 100
# How long an assumed role's credentials last; botocore refreshes them 15 minutes before.
ROLE_SESSION_SECONDS = 3600
_PERMISSION_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidClientTokenId",
    "MissingAuthenticationTokenException",
}
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "Throttling"}
)
_CURSOR_MAX_CHARS = 256
_THROTTLE_HINT = (
    "the table's read capacity is exhausted: raise it (or use on-demand capacity), retry later, "
    "or lower parallelism for this store"
)


def role_session(
    store: DynamoDBStore, source: Any, *, config: Any = None, seconds: int = ROLE_SESSION_SECONDS
) -> Any:
    """A boto3 session whose credentials are the store's ``role_arn`` assumed with the
    ``source`` session's credentials, refreshed by botocore before they expire (the way it
    does for a profile with ``role_arn``), so a session outlives the role's hour.

    AssumeRole goes to AWS STS as botocore finds it (``AWS_ENDPOINT_URL_STS`` or the profile's
    configuration change it), never to the store's DynamoDB ``endpoint_url``."""
    import boto3
    import botocore.session
    from botocore.credentials import (
        AssumeRoleCredentialFetcher,
        CredentialProvider,
        CredentialResolver,
        DeferredRefreshableCredentials,
    )
    from botocore.exceptions import NoCredentialsError

    if not store.role_arn:
        raise ValueError("role_session needs a store with role_arn")
    source_credentials = source.get_credentials()
    if source_credentials is None:
        raise NoCredentialsError()
    extra: dict[str, Any] = {"RoleSessionName": "ldtui", "DurationSeconds": seconds}
    if store.external_id:
        extra["ExternalId"] = store.external_id

    def sts_client(service: str, **kwargs: Any) -> Any:
        return source.client(service, region_name=store.region or source.region_name, config=config, **kwargs)

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client,
        source_credentials=source_credentials,
        role_arn=store.role_arn,
        extra_args=extra,
    )
    credentials = DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method="assume-role"
    )

    class AssumedRole(CredentialProvider):
        METHOD = "assume-role"

        def load(self) -> Any:
            return credentials

    assumed = botocore.session.Session(profile=store.aws_profile)
    assumed.register_component("credential_provider", CredentialResolver(providers=[AssumedRole()]))
    return boto3.session.Session(botocore_session=assumed, region_name=store.region or source.region_name)


def dynamodb_client(
    store: DynamoDBStore, *, role_seconds: int = ROLE_SESSION_SECONDS, session: Any = None
) -> Any:
    """The DynamoDB client for ``store``: its profile and region, its timeouts, a connection
    pool as large as its parallelism, and the role it names (refreshable credentials)."""
    import boto3
    from botocore.config import Config

    source = session or boto3.session.Session(profile_name=store.aws_profile, region_name=store.region)
    config = Config(
        connect_timeout=store.timeout,
        read_timeout=store.timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=max(10, store.parallelism),
    )
    if store.role_arn:
        source = role_session(store, source, config=config, seconds=role_seconds)
    return source.client(
        "dynamodb", endpoint_url=store.endpoint_url, region_name=store.region or None, config=config
    )


def _attribute_type(attr: object) -> str:
    if isinstance(attr, Mapping) and len(attr) == 1:
        return str(next(iter(attr)))[:8]
    return "not an attribute value"


def membership_from_item(
    item: Mapping[str, Any] | None, max_members: int | None = None
) -> Membership | None | StoreDataError:
    """A membership item as the SDK reads it, checked against the schema: an ``included`` or
    ``excluded`` that is not a string set (the SDK reads it as absent), or a set over
    ``max_members``, gives a ``StoreDataError`` for this context."""
    if not item:
        return None
    sets: dict[str, list[str]] = {}
    problems = []
    for name in ("included", "excluded"):
        attr = item.get(name)
        if attr is None:
            continue
        values = attr.get("SS") if isinstance(attr, Mapping) and len(attr) == 1 else None
        if not isinstance(values, list):
            problems.append(
                f"{name} is of type {_attribute_type(attr)}, not a string set (SS): not in the schema "
                "(the SDK reads it as absent)"
            )
        elif max_members is not None and len(values) > max_members:
            problems.append(f"{name} has more than {max_members} members; not read (max_members)")
        else:
            sets[name] = values
    if problems:
        key = item.get("key")
        where = (
            f"item {key['S'][:64]!r}: " if isinstance(key, Mapping) and isinstance(key.get("S"), str) else ""
        )
        return StoreDataError(where + "; ".join(problems))
    inc = sets.get("included") or []
    exc = sets.get("excluded") or []
    if not inc and not exc:
        return None
    return Membership(included=frozenset(inc), excluded=frozenset(exc))


class DynamoDBBigSegmentReader(BigSegmentStoreReader):
    kind = "dynamodb"

    def __init__(
        self,
        store: DynamoDBStore,
        prefix: str | None = None,
        *,
        client_factory: Callable[[DynamoDBStore], Any] = dynamodb_client,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        unprocessed_attempts: int = 8,
        throttle_attempts: int = 6,
        deadline: float | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix or ""
        ns = f"{prefix}:" if prefix else ""
        self.metadata_key = f"{ns}big_segments_metadata"
        self.user_namespace = f"{ns}big_segments_user"
        self._client_factory = client_factory
        self._client: Any = None
        self._client_lock = asyncio.Lock()
        self._sleep = sleep
        # How often to retry UnprocessedKeys, and a throttled call, before giving up.
        self.unprocessed_attempts = unprocessed_attempts
        self.throttle_attempts = throttle_attempts
        self._deadline = deadline

    @property
    def description(self) -> str:
        return f"{self.store.description} prefix {self.prefix!r}"

    @property
    def call_deadline(self) -> float:
        """The most one DynamoDB call may take, its retries and backoff included: botocore's
        two attempts with their connect and read timeouts, and our throttling retries."""
        return self._deadline if self._deadline is not None else 6 * self.store.timeout + 5

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    async def _get_client(self) -> Any:
        async with self._client_lock:
            if self._client is None:
                # Finding credentials may ask the network (instance metadata, SSO): bounded too.
                window = asyncio.timeout(self.call_deadline)
                try:
                    async with window:
                        self._client = await asyncio.to_thread(self._client_factory, self.store)
                except Exception as exc:
                    if window.expired():
                        raise StoreUnavailable(
                            f"no AWS client within {self.call_deadline:g} s (finding credentials)",
                            store=self.description,
                            hint="check aws_profile and the credential sources it uses",
                        ) from None
                    raise self._error(exc) from None
            return self._client

    async def _call(self, fn: Callable[[Any], Any], operation: str = "") -> Any:
        """Run ``fn(client)`` in a thread within ``call_deadline``, retrying throttling with
        exponential backoff; boto errors become store errors."""
        client = await self._get_client()
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + self.call_deadline
        attempt = 0
        while True:
            window = asyncio.timeout(max(0.0, deadline - loop.time()))
            try:
                async with window:
                    return await asyncio.to_thread(fn, client)
            except StoreError:
                raise
            except Exception as exc:
                if window.expired():
                    raise StoreUnavailable(
                        f"{operation or 'a call'}: no answer within {self.call_deadline:g} s",
                        store=self.description,
                        hint="DynamoDB (or the endpoint) is unreachable or too slow; raise the store timeout",
                    ) from None
                code = _error_code(exc)
                if code not in THROTTLING_CODES:
                    raise self._error(exc) from None
                delay = min(2.0, 0.05 * 2**attempt) * (0.5 + random.random() / 2)
                if attempt >= self.throttle_attempts or loop.time() + delay > deadline:
                    raise StoreThrottled(
                        f"{getattr(exc, 'operation_name', '') or operation} throttled ({code}) "
                        f"{attempt + 1} times in {loop.time() - start:.1f} s",
                        store=self.description,
                        hint=_THROTTLE_HINT,
                        code=code,
                    ) from None
                attempt += 1
                await self._sleep(delay)

    def _error(self, exc: Exception) -> StoreError:
        from botocore import exceptions as bx

        store = self.description
        if isinstance(exc, bx.ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            message = (exc.response.get("Error", {}).get("Message", "") or code)[:300]
            op = getattr(exc, "operation_name", "")
            if code in _PERMISSION_CODES:
                return StorePermissionDenied(
                    f"{op} refused: {code}: {message}",
                    store=store,
                    hint="check the AWS credentials (aws_profile, role_arn) and that the "
                    "policy allows dynamodb:GetItem, BatchGetItem and Query on the table"
                    + (" and sts:AssumeRole on the role" if op == "AssumeRole" else ""),
                    code=code,
                )
            if code == "ResourceNotFoundException":
                return StoreUnavailable(
                    f"table {self.store.table!r} not found",
                    store=store,
                    hint="check the table name and the region",
                    code=code,
                )
            if code == "ValidationException":
                return StoreDataError(f"{op} rejected: {message}", store=store, code=code)
            return StoreUnavailable(f"{op} failed: {code}: {message}", store=store, code=code)
        if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
            return StorePermissionDenied(
                "no AWS credentials found",
                store=store,
                hint="set aws_profile for this store, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            )
        if isinstance(exc, bx.ProfileNotFound):
            return StorePermissionDenied(str(exc), store=store, hint="check aws_profile")
        if isinstance(exc, bx.NoRegionError):
            return StoreUnavailable("no AWS region configured", store=store, hint="set region for this store")
        if isinstance(exc, bx.BotoCoreError):
            return StoreUnavailable(str(exc), store=store)
        return StoreUnavailable(f"{type(exc).__name__}: {exc}", store=store)

    def _key(self, namespace: str, key: str) -> dict[str, Any]:
        return {"namespace": {"S": namespace}, "key": {"S": key}}

    # --- metadata ----------------------------------------------------------------------------

    async def get_metadata(self) -> Metadata:
        key = self._key(self.metadata_key, self.metadata_key)
        response = await self._call(
            lambda c: c.get_item(
                TableName=self.store.table,
                Key=key,
                ConsistentRead=True,
                ProjectionExpression="synchronizedOn, lastVersion",
            ),
            "GetItem",
        )
        item = response.get("Item")
        try:
            synchronized_on = parse_dynamodb_synchronized_on(item)
        except ValueError:
            raw = str(item["synchronizedOn"]["N"])[:64] if item else None
            raise StoreDataError(
                f"synchronizedOn is {raw!r}, not a whole number of milliseconds (the SDK reports "
                "the store unavailable)",
                store=self.description,
            ) from None
        cursor = None
        raw_text = None
        if item:
            last = item.get("lastVersion")
            if isinstance(last, Mapping) and isinstance(last.get("S"), str):
                cursor = last["S"]
                if len(cursor) > _CURSOR_MAX_CHARS:
                    cursor = cursor[:_CURSOR_MAX_CHARS] + "…"
            sync = item.get("synchronizedOn")
            if isinstance(sync, Mapping):
                value = next(iter(sync.values()), None)
                raw_text = None if value is None else str(value)[:64]
        return Metadata(synchronized_on=synchronized_on, cursor=cursor, raw=raw_text)

    # --- membership --------------------------------------------------------------------------

    async def _batch_get(self, hashes: Sequence[str]) -> dict[str, Membership | None | StoreDataError]:
        """One chunk of at most 100 keys; UnprocessedKeys asked again with backoff, at most
        ``unprocessed_attempts`` times and within ``call_deadline``."""
        table = self.store.table
        cap = self.store.max_members
        found: dict[str, Membership | None | StoreDataError] = dict.fromkeys(hashes)
        request: dict[str, Any] = {
            table: {
                "Keys": [self._key(self.user_namespace, h) for h in hashes],
                "ProjectionExpression": "#k, included, excluded",
                "ExpressionAttributeNames": {"#k": "key"},
            }
        }
        loop = asyncio.get_running_loop()
        start = loop.time()
        retries = 0
        while True:

            def batch_get(c: Any, r: dict[str, Any] = request) -> Any:
                return c.batch_get_item(RequestItems=r)

            response = await self._call(batch_get, "BatchGetItem")
            for item in response.get("Responses", {}).get(table, []):
                found[item["key"]["S"]] = membership_from_item(item, cap)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            delay = min(2.0, 0.05 * 2**retries) * (0.5 + random.random() / 2)
            if retries >= self.unprocessed_attempts or loop.time() - start + delay > self.call_deadline:
                break
            retries += 1
            await self._sleep(delay)
        left = len(request.get(table, {}).get("Keys", []))
        raise StoreThrottled(
            f"DynamoDB left {left} keys unprocessed after {retries} retries ({loop.time() - start:.1f} s)",
            store=self.description,
            hint=_THROTTLE_HINT,
            code="UnprocessedKeys",
        )

    async def get_memberships(self, hashes: Sequence[str]) -> dict[str, Membership | None | StoreDataError]:
        """BatchGetItem in chunks of 100, ``parallelism`` chunks at a time. An item whose sets
        are not in the schema, or too large, maps to a ``StoreDataError``."""
        unique = list(dict.fromkeys(hashes))
        if len(unique) == 1:
            # One lookup, one round trip, and the SDK's own call.
            return {unique[0]: await self._get_one(unique[0])}
        chunks = [unique[i : i + BATCH_GET_LIMIT] for i in range(0, len(unique), BATCH_GET_LIMIT)]
        out: dict[str, Membership | None | StoreDataError] = {}
        limit = asyncio.Semaphore(self.store.parallelism)

        async def one(chunk: list[str]) -> None:
            async with limit:
                out.update(await self._batch_get(chunk))

        try:
            async with asyncio.TaskGroup() as tg:
                for chunk in chunks:
                    tg.create_task(one(chunk))
        except BaseExceptionGroup as group:
            # One failed chunk fails the lookup; report its error, not a group.
            raise group.exceptions[0] from None
        return {h: out[h] for h in unique}

    async def _get_one(self, context_hash: str) -> Membership | None | StoreDataError:
        key = self._key(self.user_namespace, context_hash)
        response = await self._call(
            lambda c: c.get_item(
                TableName=self.store.table,
                Key=key,
                ConsistentRead=True,
                ProjectionExpression="#k, included, excluded",
                ExpressionAttributeNames={"#k": "key"},
            ),
            "GetItem",
        )
        return membership_from_item(response.get("Item"), self.store.max_members)

    async def get_membership(self, context_hash: str) -> Membership | None:
        result = await self._get_one(context_hash)
        if isinstance(result, StoreDataError):
            raise result
        return result

    # --- probe -------------------------------------------------------------------------------

    async def probe(self) -> Probe:
        key = self._key(self.metadata_key, self.metadata_key)
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.store.timeout * 3 + 1):
                await self._call(
                    lambda c: c.get_item(
                        TableName=self.store.table,
                        Key=key,
                        ProjectionExpression="#k",
                        ExpressionAttributeNames={"#k": "key"},
                    ),
                    "GetItem",
                )
        except StoreError as exc:
            return Probe(False, None, str(exc))
        except TimeoutError:
            return Probe(False, None, f"{self.description}: no answer in time")
        return Probe(True, (time.perf_counter() - start) * 1000)

    async def describe_table(self) -> dict[str, Any]:
        """Key schema and item count (diagnostics; needs dynamodb:DescribeTable)."""
        response = await self._call(lambda c: c.describe_table(TableName=self.store.table), "DescribeTable")
        table: dict[str, Any] = response["Table"]
        return table

    # --- prefixes (ldtui doctor) -----------------------------------------------------------

    async def metadata_for(self, prefixes: Sequence[str]) -> list[PrefixFound]:
        """The metadata item of each prefix ("" for none) that has one, in BatchGetItems of
        100, with its synchronizedOn."""
        keys = {(f"{p}:" if p else "") + "big_segments_metadata": p for p in dict.fromkeys(prefixes)}
        found: list[PrefixFound] = []
        names = list(keys)
        for start in range(0, len(names), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.store.table: {
                    "Keys": [self._key(n, n) for n in names[start : start + BATCH_GET_LIMIT]],
                    "ProjectionExpression": "#ns, synchronizedOn",
                    "ExpressionAttributeNames": {"#ns": "namespace"},
                }
            }
            for _attempt in range(self.unprocessed_attempts + 1):

                def batch_get(c: Any, r: dict[str, Any] = request) -> Any:
                    return c.batch_get_item(RequestItems=r)

                response = await self._call(batch_get, "BatchGetItem")
                for item in response.get("Responses", {}).get(self.store.table, []):
                    namespace = item.get("namespace", {}).get("S", "")
                    if namespace in keys:
                        found.append(_prefix_found(keys[namespace], item))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                await self._sleep(0.1)
        return found

    async def scan_metadata(
        self, *, limit: int = 1000, max_pages: int = 10_000, progress: ProgressCallback | None = None
    ) -> tuple[list[PrefixFound], bool]:
        """Every metadata item in the table (a paginated Scan, ``--scan`` only): at most
        ``limit`` prefixes and ``max_pages`` pages. Returns them and whether the scan finished."""
        found: list[PrefixFound] = []
        start_key: dict[str, Any] | None = None
        suffix = "big_segments_metadata"
        for page_number in range(1, max_pages + 1):
            args: dict[str, Any] = {
                "TableName": self.store.table,
                "ProjectionExpression": "#ns, #k, synchronizedOn",
                "FilterExpression": "contains(#ns, :m)",
                "ExpressionAttributeNames": {"#ns": "namespace", "#k": "key"},
                "ExpressionAttributeValues": {":m": {"S": suffix}},
            }
            if start_key:
                args["ExclusiveStartKey"] = start_key

            def scan(c: Any, a: dict[str, Any] = args) -> Any:
                return c.scan(**a)

            page = await self._call(scan, "Scan")
            for item in page.get("Items", []):
                namespace = item.get("namespace", {}).get("S", "")
                if namespace == suffix or namespace.endswith(":" + suffix):
                    found.append(_prefix_found(namespace[: -len(suffix)].removesuffix(":"), item))
            if progress is not None:
                progress(Progress(done=page_number, total=None, contexts=len(found)))
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return found, True
            if len(found) >= limit:
                break
        return found, False

    # --- statistics --------------------------------------------------------------------------

    async def statistics(
        self, *, progress: ProgressCallback | None = None, batch: int = 1000
    ) -> StoreStatistics:
        """Paginated Query of the user partition; counters only. An item not in the schema (a
        set of the wrong type, or over ``max_members``) is an anomaly, not counted."""
        stats = StoreStatistics()
        inc: Counter[str] = Counter()
        exc: Counter[str] = Counter()
        start_key: dict[str, Any] | None = None
        done = 0
        cap = self.store.max_members
        while True:
            args: dict[str, Any] = {
                "TableName": self.store.table,
                "KeyConditionExpression": "#ns = :ns",
                "ExpressionAttributeNames": {"#ns": "namespace", "#k": "key"},
                "ExpressionAttributeValues": {":ns": {"S": self.user_namespace}},
                "ProjectionExpression": "#k, included, excluded",
                "Limit": max(1, batch),
            }
            if start_key:
                args["ExclusiveStartKey"] = start_key

            def query(c: Any, a: dict[str, Any] = args) -> Any:
                return c.query(**a)

            page = await self._call(query, "Query")
            for item in page.get("Items", []):
                m = membership_from_item(item, cap)
                if isinstance(m, StoreDataError):
                    stats.anomalies += 1
                    if len(stats.anomaly_examples) < 5:
                        stats.anomaly_examples.append(m.message)
                elif m is not None:
                    stats.contexts += 1
                    inc.update(m.included)
                    exc.update(m.excluded)
            done += len(page.get("Items", []))
            if progress is not None:
                progress(Progress(done=done, total=None, contexts=stats.contexts))
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                break
        stats.included = dict(inc)
        stats.excluded = dict(exc)
        stats.complete = True
        return stats


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error")
        if isinstance(error, Mapping):
            return str(error.get("Code", ""))
    return ""


def _prefix_found(prefix: str, item: Mapping[str, Any]) -> PrefixFound:
    try:
        return PrefixFound(prefix, parse_dynamodb_synchronized_on(item))
    except ValueError:
        return PrefixFound(prefix, None, "synchronizedOn is not a whole number of milliseconds")
