"""A reader for a store connection (a ``[stores."…"]`` entry, or one built from command-line
options): the model is the readers' own (``ldtui.core.store_settings``), so nothing is copied."""

from __future__ import annotations

from pydantic import SecretStr

from ldtui.core.store_settings import DynamoDBStore, RedisStore, Store
from ldtui.stores.base import BigSegmentStoreReader


def open_reader(store: Store, prefix: str, password: SecretStr | str | None = None) -> BigSegmentStoreReader:
    """The reader for ``store``; ``password`` is the Redis password resolved from its
    reference (password_env / password_file), if any."""
    if isinstance(store, RedisStore):
        from ldtui.stores.redis_reader import RedisBigSegmentReader

        return RedisBigSegmentReader(store, prefix, password)
    if isinstance(store, DynamoDBStore):
        from ldtui.stores.dynamodb_reader import DynamoDBBigSegmentReader

        return DynamoDBBigSegmentReader(store, prefix)
    raise TypeError(f"not a store model: {type(store).__name__}")
