"""A reader for a configured store connection (``[stores."…"]``, or one built from command-line
options): the one place that turns configuration into Redis or DynamoDB settings."""

from __future__ import annotations

from typing import Any

from ldtui.config import DynamoDBStore, RedisStore, Store
from ldtui.stores.base import BigSegmentStoreReader


def open_reader(store: Store, prefix: str, password: Any = None) -> BigSegmentStoreReader:
    if isinstance(store, RedisStore):
        from ldtui.stores.redis_reader import RedisBigSegmentReader
        from ldtui.stores.resp import RedisSettings

        settings = RedisSettings.from_url(
            store.url, password=password, ca_file=store.ca_file, timeout=store.timeout
        )
        return RedisBigSegmentReader(settings, prefix)
    from ldtui.stores.dynamodb_reader import DynamoDBBigSegmentReader, DynamoDBSettings

    assert isinstance(store, DynamoDBStore)
    dynamodb = DynamoDBSettings(
        table=store.table,
        region=store.region,
        aws_profile=store.aws_profile,
        endpoint_url=store.endpoint_url,
        role_arn=store.role_arn,
        external_id=store.external_id,
        timeout=store.timeout,
    )
    return DynamoDBBigSegmentReader(dynamodb, prefix)
