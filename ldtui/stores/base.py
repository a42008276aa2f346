"""The one interface every big segment store reader implements, its results and its errors.

Readers are read-only by construction and return raw facts (timestamps, sets); what they mean
is decided in ``ldtui.core.bigsegments``. No Textual here.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ldtui.core.bigsegments import Membership

# --- errors -----------------------------------------------------------------------------------


class StoreError(Exception):
    """Something about the store a person has to act on. The text says what and where.

    ``code`` is the store's own word for it when it gave one (Redis ``LOADING``, DynamoDB
    ``ProvisionedThroughputExceededException``), for scripts and for searching the docs."""

    def __init__(self, message: str, *, store: str = "", hint: str = "", code: str = "") -> None:
        self.message = message
        self.store = store
        self.hint = hint
        self.code = code
        text = f"{store}: {message}" if store else message
        super().__init__(f"{text} — {hint}" if hint else text)


class StoreUnavailable(StoreError):
    """Cannot use the store now: refused, DNS, TLS, timeout, server gone or not serving."""


class StoreLoading(StoreUnavailable):
    """Redis is loading its dataset into memory (``LOADING``): try again in a while."""


class StoreReadOnlyReplica(StoreUnavailable):
    """The server is a replica that cannot serve this (``READONLY``, ``MASTERDOWN``)."""


class StoreNotSupported(StoreUnavailable):
    """A deployment LaunchDarkly's writers do not support (Redis Cluster)."""


class StoreThrottled(StoreUnavailable):
    """The store kept refusing for capacity (DynamoDB throttling) after retries."""


class StorePermissionDenied(StoreError):
    """The store refused a command or an API call for lack of permission (Redis ACL, IAM)."""


class StoreAuthenticationFailed(StorePermissionDenied):
    """Wrong or missing credentials (Redis ``WRONGPASS``/``NOAUTH``)."""


class StoreDataError(StoreError):
    """The store answered, but with data not in the schema (wrong type, non-numeric value,
    a value larger than the schema allows)."""


class StoreServerError(StoreError):
    """The store answered a command with an error ldtui has no better word for."""


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    """The metadata read: ``synchronizedOn`` in epoch ms, or ``None`` when missing."""

    synchronized_on: int | None
    # Extra facts for diagnostics (Redis cursor; DynamoDB lastVersion), never for verdicts.
    cursor: str | None = None
    raw: str | None = None


@dataclass(frozen=True)
class Probe:
    reachable: bool
    latency_ms: float | None
    error: str | None = None


@dataclass
class StoreStatistics:
    """Counts over the whole store: contexts with data, and per segment ref the number of
    contexts included and excluded. Built incrementally; memory does not grow with the store."""

    contexts: int = 0
    included: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    # Entries that do not follow the schema (e.g. a string where a set belongs).
    anomalies: int = 0
    anomaly_examples: list[str] = field(default_factory=list)
    complete: bool = False

    def refs(self) -> list[str]:
        return sorted(set(self.included) | set(self.excluded))


@dataclass(frozen=True)
class Progress:
    """Told to a progress callback: ``done`` units of ``total`` (``None`` when unknown)."""

    done: int
    total: int | None
    contexts: int


ProgressCallback = Callable[[Progress], None]


class BigSegmentStoreReader(abc.ABC):
    """Reads what the SDKs read, and a little more for diagnostics. Never writes."""

    kind: str
    prefix: str

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where this reader reads from, secrets masked (for messages and the UI)."""

    @abc.abstractmethod
    async def get_metadata(self) -> Metadata:
        """``synchronizedOn``. Raises ``StoreError`` when it cannot be read or is not a
        number (the SDK then reports the store unavailable)."""

    @abc.abstractmethod
    async def get_memberships(self, hashes: Sequence[str]) -> dict[str, Membership | None | StoreDataError]:
        """Membership for many context hashes at once; ``None`` where the store has no data, a
        ``StoreDataError`` for a context whose entry is not in the schema (the others are still
        answered). A store that cannot be read raises."""

    async def memberships_in_order(self, hashes: Sequence[str]) -> list[Membership | None | StoreDataError]:
        """``get_memberships``' answers as a list in the order of ``hashes`` (a hash given twice
        is answered twice): the bulk path, which needs no dictionary."""
        found = await self.get_memberships(hashes)
        return list(map(found.__getitem__, hashes))

    async def get_membership(self, context_hash: str) -> Membership | None:
        """One context: one round trip. ``StoreDataError`` when its entry is not in the schema."""
        result = (await self.get_memberships([context_hash]))[context_hash]
        if isinstance(result, StoreDataError):
            raise result
        return result

    @abc.abstractmethod
    async def probe(self) -> Probe:
        """Reachability and round-trip latency. Never raises, never hangs past its timeout."""

    @abc.abstractmethod
    async def statistics(
        self,
        *,
        progress: ProgressCallback | None = None,
        batch: int = 1000,
    ) -> StoreStatistics:
        """Counts over the whole store, streamed. Cancel by cancelling the awaiting task."""

    @abc.abstractmethod
    async def aclose(self) -> None: ...

    async def __aenter__(self) -> BigSegmentStoreReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
