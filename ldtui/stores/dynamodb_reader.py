"""Read big segment data from DynamoDB exactly as the SDKs do (store-schema.md §3).

Items (prefix ``p``, none by default; when set, namespaces are ``"p:" + base``):
metadata ``namespace = key = p:big_segments_metadata`` with ``synchronizedOn`` (N, epoch ms)
and ``lastVersion`` (S, relay cursor); membership ``namespace = p:big_segments_user``,
``key = <hash>`` with ``included``/``excluded`` string sets.

boto3 is synchronous: every call runs in a thread (``asyncio.to_thread``). Only GetItem,
BatchGetItem, Query and DescribeTable are ever called.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ldtui.core.bigsegments import Membership, parse_dynamodb_synchronized_on
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
    StoreUnavailable,
)

BATCH_GET_LIMIT = 100
_PERMISSION_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
}


@dataclass(frozen=True)
class DynamoDBSettings:
    table: str
    region: str | None = None
    aws_profile: str | None = None
    endpoint_url: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    timeout: float = 3.0
    # How often to retry UnprocessedKeys before giving up (with exponential backoff).
    unprocessed_attempts: int = 8

    @property
    def description(self) -> str:
        where = self.endpoint_url or (f"region {self.region}" if self.region else "default region")
        return f"dynamodb table {self.table!r} ({where})"


def _client_factory(settings: DynamoDBSettings) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(profile_name=settings.aws_profile, region_name=settings.region)
    config = Config(
        connect_timeout=settings.timeout,
        read_timeout=settings.timeout,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    if settings.role_arn:
        sts = session.client("sts", endpoint_url=settings.endpoint_url, config=config)
        args: dict[str, Any] = {"RoleArn": settings.role_arn, "RoleSessionName": "ldtui"}
        if settings.external_id:
            args["ExternalId"] = settings.external_id
        creds = sts.assume_role(**args)["Credentials"]
        return session.client(
            "dynamodb",
            endpoint_url=settings.endpoint_url,
            config=config,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    return session.client("dynamodb", endpoint_url=settings.endpoint_url, config=config)


def _string_set(item: Mapping[str, Any], name: str) -> list[str] | None:
    """As the SDK reads it: only an ``SS`` value counts; anything else reads as absent."""
    attr = item.get(name)
    if not isinstance(attr, Mapping):
        return None
    return attr.get("SS")


def membership_from_item(item: Mapping[str, Any] | None) -> Membership | None:
    if not item:
        return None
    inc = _string_set(item, "included") or []
    exc = _string_set(item, "excluded") or []
    if not inc and not exc:
        return None
    return Membership(included=frozenset(inc), excluded=frozenset(exc))


class DynamoDBBigSegmentReader(BigSegmentStoreReader):
    kind = "dynamodb"

    def __init__(
        self,
        settings: DynamoDBSettings,
        prefix: str | None = None,
        *,
        client_factory: Callable[[DynamoDBSettings], Any] = _client_factory,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.prefix = prefix or ""
        ns = f"{prefix}:" if prefix else ""
        self.metadata_key = f"{ns}big_segments_metadata"
        self.user_namespace = f"{ns}big_segments_user"
        self._client_factory = client_factory
        self._client: Any = None
        self._client_lock = asyncio.Lock()
        self._sleep = sleep

    @property
    def description(self) -> str:
        return f"{self.settings.description} prefix {self.prefix!r}"

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    async def _call(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(client)`` in a thread, turning boto errors into store errors."""
        async with self._client_lock:
            if self._client is None:
                try:
                    self._client = await asyncio.to_thread(self._client_factory, self.settings)
                except Exception as exc:
                    raise self._error(exc) from None
        client = self._client
        try:
            return await asyncio.to_thread(fn, client)
        except StoreError:
            raise
        except Exception as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> StoreError:
        from botocore import exceptions as bx

        store = self.settings.description
        if isinstance(exc, bx.ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "") or code
            op = getattr(exc, "operation_name", "")
            if code in _PERMISSION_CODES:
                return StorePermissionDenied(
                    f"{op} refused: {code}: {message}",
                    store=store,
                    hint="check the AWS credentials (aws_profile, role_arn) and that the "
                    "policy allows dynamodb:GetItem, BatchGetItem and Query on the table",
                )
            if code == "ResourceNotFoundException":
                return StoreUnavailable(
                    f"table {self.settings.table!r} not found",
                    store=store,
                    hint="check the table name and the region",
                )
            if code == "ValidationException":
                return StoreDataError(f"{op} rejected: {message}", store=store)
            return StoreUnavailable(f"{op} failed: {code}: {message}", store=store)
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
            lambda c: c.get_item(TableName=self.settings.table, Key=key, ConsistentRead=True)
        )
        item = response.get("Item")
        try:
            synchronized_on = parse_dynamodb_synchronized_on(item)
        except ValueError:
            raw = item["synchronizedOn"]["N"] if item else None
            raise StoreDataError(
                f"synchronizedOn is {raw!r}, not a whole number of milliseconds (the SDK reports "
                "the store unavailable)",
                store=self.description,
            ) from None
        cursor = None
        raw_text = None
        if item:
            last = item.get("lastVersion")
            if isinstance(last, Mapping) and "S" in last:
                cursor = last["S"]
            sync = item.get("synchronizedOn")
            if isinstance(sync, Mapping):
                raw_text = next(iter(sync.values()), None)
                raw_text = None if raw_text is None else str(raw_text)
        return Metadata(synchronized_on=synchronized_on, cursor=cursor, raw=raw_text)

    # --- membership --------------------------------------------------------------------------

    def _batch_get(self, client: Any, hashes: Sequence[str]) -> dict[str, Membership | None]:
        table = self.settings.table
        found: dict[str, Membership | None] = dict.fromkeys(hashes)
        request: dict[str, Any] = {
            table: {
                "Keys": [self._key(self.user_namespace, h) for h in hashes],
                "ProjectionExpression": "#k, included, excluded",
                "ExpressionAttributeNames": {"#k": "key"},
            }
        }
        for attempt in range(self.settings.unprocessed_attempts + 1):
            response = client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[item["key"]["S"]] = membership_from_item(item)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            if attempt < self.settings.unprocessed_attempts:
                self._sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random() / 2))
        raise StoreUnavailable(
            f"DynamoDB left keys unprocessed after {self.settings.unprocessed_attempts} retries",
            store=self.description,
            hint="the table is throttled; raise its read capacity or retry later",
        )

    async def get_memberships(self, hashes: Sequence[str]) -> dict[str, Membership | None | StoreDataError]:
        """BatchGetItem in chunks of 100, a few chunks at a time; UnprocessedKeys retried with
        exponential backoff."""
        unique = list(dict.fromkeys(hashes))
        if len(unique) == 1:
            # One lookup, one round trip, and the SDK's own call.
            membership = await self._get_one(unique[0])
            return {unique[0]: membership}
        chunks = [unique[i : i + BATCH_GET_LIMIT] for i in range(0, len(unique), BATCH_GET_LIMIT)]
        out: dict[str, Membership | None | StoreDataError] = {}
        limit = asyncio.Semaphore(4)

        async def one(chunk: list[str]) -> None:
            async with limit:
                out.update(await self._call(lambda c: self._batch_get(c, chunk)))

        try:
            async with asyncio.TaskGroup() as tg:
                for chunk in chunks:
                    tg.create_task(one(chunk))
        except BaseExceptionGroup as group:
            # One failed chunk fails the lookup; report its error, not a group.
            raise group.exceptions[0] from None
        return {h: out[h] for h in unique}

    async def _get_one(self, context_hash: str) -> Membership | None:
        key = self._key(self.user_namespace, context_hash)
        response = await self._call(
            lambda c: c.get_item(TableName=self.settings.table, Key=key, ConsistentRead=True)
        )
        return membership_from_item(response.get("Item"))

    async def get_membership(self, context_hash: str) -> Membership | None:
        return await self._get_one(context_hash)

    # --- probe -------------------------------------------------------------------------------

    async def probe(self) -> Probe:
        key = self._key(self.metadata_key, self.metadata_key)
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.timeout * 3 + 1):
                await self._call(
                    lambda c: c.get_item(
                        TableName=self.settings.table,
                        Key=key,
                        ProjectionExpression="#k",
                        ExpressionAttributeNames={"#k": "key"},
                    )
                )
        except StoreError as exc:
            return Probe(False, None, str(exc))
        except TimeoutError:
            return Probe(False, None, f"{self.description}: no answer in time")
        return Probe(True, (time.perf_counter() - start) * 1000)

    async def describe_table(self) -> dict[str, Any]:
        """Key schema and item count (diagnostics; needs dynamodb:DescribeTable)."""
        response = await self._call(lambda c: c.describe_table(TableName=self.settings.table))
        return response["Table"]

    # --- statistics --------------------------------------------------------------------------

    async def statistics(
        self, *, progress: ProgressCallback | None = None, batch: int = 1000
    ) -> StoreStatistics:
        """Paginated Query of the user partition; counters only."""
        stats = StoreStatistics()
        inc: Counter[str] = Counter()
        exc: Counter[str] = Counter()
        start_key: dict[str, Any] | None = None
        done = 0
        while True:
            args: dict[str, Any] = {
                "TableName": self.settings.table,
                "KeyConditionExpression": "#ns = :ns",
                "ExpressionAttributeNames": {"#ns": "namespace"},
                "ExpressionAttributeValues": {":ns": {"S": self.user_namespace}},
                "ProjectionExpression": "included, excluded",
                "Limit": max(1, batch),
            }
            if start_key:
                args["ExclusiveStartKey"] = start_key
            page = await self._call(lambda c, a=args: c.query(**a))
            for item in page.get("Items", []):
                included = _string_set(item, "included") or []
                excluded = _string_set(item, "excluded") or []
                for name in ("included", "excluded"):
                    attr = item.get(name)
                    if attr is not None and "SS" not in attr:
                        stats.anomalies += 1
                        if len(stats.anomaly_examples) < 5:
                            stats.anomaly_examples.append(
                                f"an item's {name} is {next(iter(attr), '?')}, not a string set"
                            )
                if included or excluded:
                    stats.contexts += 1
                inc.update(included)
                exc.update(excluded)
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
