"""Write big segment data the way LaunchDarkly's sync (the Relay Proxy's code) does.

This is LaunchDarkly's side of the store, for the emulator's syncer, the demo and the tests.
The readers never import this module (a test checks it).

Redis (store-schema.md §4): ``WATCH p:big_segments_lock``; ``GET`` the cursor; skip the patch if
it is out of order; ``MULTI``; ``SET`` lock; ``SET`` cursor; ``SADD``/``SREM``; ``EXEC``. One
transaction: a patch is applied whole or not at all.

DynamoDB: ``TransactWriteItems`` batches of one ``ConditionCheck`` on the metadata item plus up
to 24 ``Update``s, then ``UpdateItem SET lastVersion`` under the same condition. A patch that is
out of order fails the first batch's condition and changes nothing. The cursor moves only after
the last batch, and set ADD/DELETE are idempotent, so a patch interrupted between batches is
completed by applying it again.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ldtui.core.bigsegments import DEFAULT_REDIS_PREFIX, BigSegmentPatch, PatchOutcome


def now_ms() -> int:
    return int(time.time() * 1000)


class RedisBigSegmentWriter:
    def __init__(self, client: Any, prefix: str | None = None) -> None:
        """``client``: a ``redis.asyncio.Redis``."""
        self.client = client
        self.prefix = prefix or DEFAULT_REDIS_PREFIX
        p = self.prefix
        self.lock_key = f"{p}:big_segments_lock"
        self.cursor_key = f"{p}:big_segments_cursor"
        self.synchronized_on_key = f"{p}:big_segments_synchronized_on"
        self.include_prefix = f"{p}:big_segment_include:"
        self.exclude_prefix = f"{p}:big_segment_exclude:"

    @classmethod
    def from_url(cls, url: str, prefix: str | None = None, **kwargs: Any) -> RedisBigSegmentWriter:
        import redis.asyncio as aredis

        return cls(aredis.Redis.from_url(url, **kwargs), prefix)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def apply_patch(self, patch: BigSegmentPatch) -> PatchOutcome:
        from redis.exceptions import WatchError

        async with self.client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.lock_key)
                raw = await pipe.get(self.cursor_key)
                cursor = None if raw is None else raw.decode()
                if not patch.applies_after(cursor):
                    return PatchOutcome(
                        False,
                        f"out of order: store cursor {cursor!r}, patch previousVersion "
                        f"{patch.previous_version!r}; skipped",
                    )
                pipe.multi()
                pipe.set(self.lock_key, "")
                pipe.set(self.cursor_key, patch.version)
                ref = patch.segment_id
                for h in patch.included_add:
                    pipe.sadd(self.include_prefix + h, ref)
                for h in patch.included_remove:
                    pipe.srem(self.include_prefix + h, ref)
                for h in patch.excluded_add:
                    pipe.sadd(self.exclude_prefix + h, ref)
                for h in patch.excluded_remove:
                    pipe.srem(self.exclude_prefix + h, ref)
                await pipe.execute()
            except WatchError:
                return PatchOutcome(False, "another writer changed the store; not applied")
        return PatchOutcome(True)

    async def set_synchronized_on(self, when_ms: int | None = None) -> int:
        when = now_ms() if when_ms is None else when_ms
        await self.client.set(self.synchronized_on_key, str(when))
        return when

    async def get_cursor(self) -> str | None:
        """The last applied patch version, as stored (``None``: nothing applied yet)."""
        raw = await self.client.get(self.cursor_key)
        return None if raw is None else raw.decode()


class DynamoDBBigSegmentWriter:
    """Synchronous boto3 calls run in a thread so the event loop stays free."""

    BATCH_UPDATES = 24

    def __init__(self, client: Any, table: str, prefix: str | None = None) -> None:
        """``client``: a boto3 DynamoDB client."""
        self.client = client
        self.table = table
        self.prefix = prefix or ""
        ns = f"{prefix}:" if prefix else ""
        self.metadata_key = f"{ns}big_segments_metadata"
        self.user_namespace = f"{ns}big_segments_user"

    def _metadata_item_key(self) -> dict[str, Any]:
        return {"namespace": {"S": self.metadata_key}, "key": {"S": self.metadata_key}}

    async def apply_patch(self, patch: BigSegmentPatch) -> PatchOutcome:
        return await asyncio.to_thread(self._apply_patch, patch)

    def _condition(self, patch: BigSegmentPatch) -> tuple[str, dict[str, Any]]:
        return (
            "attribute_not_exists(lastVersion) OR lastVersion = :prev",
            {":prev": {"S": patch.previous_version}},
        )

    def _apply_patch(self, patch: BigSegmentPatch) -> PatchOutcome:
        condition, values = self._condition(patch)
        updates = []
        for h, sides in patch.net_changes().items():
            adds = [f"{side} :{side[:3]}" for side, op in sides.items() if op == "add"]
            removes = [f"{side} :{side[:3]}" for side, op in sides.items() if op == "remove"]
            parts = []
            if adds:
                parts.append("ADD " + ", ".join(adds))
            if removes:
                parts.append("DELETE " + ", ".join(removes))
            updates.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"namespace": {"S": self.user_namespace}, "key": {"S": h}},
                        "UpdateExpression": " ".join(parts),
                        "ExpressionAttributeValues": {
                            f":{side[:3]}": {"SS": [patch.segment_id]} for side in sides
                        },
                    }
                }
            )
        check = {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": self._metadata_item_key(),
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }
        for i in range(0, max(len(updates), 1), self.BATCH_UPDATES):
            batch = updates[i : i + self.BATCH_UPDATES]
            if not batch:
                break
            try:
                self.client.transact_write_items(TransactItems=[check, *batch])
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get("CancellationReasons") or []
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    if i == 0:
                        return PatchOutcome(
                            False,
                            f"out of order: patch previousVersion {patch.previous_version!r} "
                            "is not the stored lastVersion; skipped",
                        )
                    return PatchOutcome(False, "another writer moved the cursor mid-patch")
                raise
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._metadata_item_key(),
                UpdateExpression="SET lastVersion = :v",
                ConditionExpression=condition,
                ExpressionAttributeValues={**values, ":v": {"S": patch.version}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            if not updates:
                return PatchOutcome(
                    False,
                    f"out of order: patch previousVersion {patch.previous_version!r} "
                    "is not the stored lastVersion; skipped",
                )
            return PatchOutcome(False, "another writer moved the cursor mid-patch")
        return PatchOutcome(True)

    async def get_cursor(self) -> str | None:
        response = await asyncio.to_thread(
            self.client.get_item,
            TableName=self.table,
            Key=self._metadata_item_key(),
            ConsistentRead=True,
        )
        last = (response.get("Item") or {}).get("lastVersion")
        return None if not last else last.get("S")

    async def set_synchronized_on(self, when_ms: int | None = None) -> int:
        when = now_ms() if when_ms is None else when_ms
        await asyncio.to_thread(
            self.client.update_item,
            TableName=self.table,
            Key=self._metadata_item_key(),
            UpdateExpression="SET synchronizedOn = :t",
            ExpressionAttributeValues={":t": {"N": str(when)}},
        )
        return when
