"""Read big segment data from Redis exactly as the SDKs do (store-schema.md §2).

Keys, with prefix ``p`` (default ``launchdarkly``; empty means default):
``p:big_segments_synchronized_on`` (string, epoch ms), ``p:big_segment_include:<hash>`` and
``p:big_segment_exclude:<hash>`` (sets of ``<segmentKey>.g<generation>``), and
``p:big_segments_cursor`` (the relay's last applied version; diagnostics only).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from typing import Any

import hiredis

from ldtui.core.bigsegments import DEFAULT_REDIS_PREFIX, Membership, parse_redis_synchronized_on
from ldtui.stores.base import (
    BigSegmentStoreReader,
    Metadata,
    Probe,
    Progress,
    ProgressCallback,
    StoreDataError,
    StoreError,
    StoreStatistics,
)
from ldtui.stores.resp import RedisSettings, RespConnection, encode

# Bulk lookups go out in windows of this many contexts (two SMEMBERS each): the next window is
# written before the previous one's replies are parsed, so the server never waits for us.
_WINDOW = 4096
_GLOB_SPECIALS = b"*?[]\\"


def _glob_escape(raw: bytes) -> bytes:
    return b"".join(b"\\" + bytes([c]) if c in _GLOB_SPECIALS else bytes([c]) for c in raw)


def _decode_ref(ref: bytes) -> str:
    # backslashreplace keeps a malformed entry visible (and never equal to a real ref).
    return ref.decode("utf-8", "backslashreplace")


class RedisBigSegmentReader(BigSegmentStoreReader):
    kind = "redis"

    def __init__(self, settings: RedisSettings, prefix: str | None = None) -> None:
        self.settings = settings
        self.prefix = prefix or DEFAULT_REDIS_PREFIX
        p = self.prefix.encode()
        self.synchronized_on_key = p + b":big_segments_synchronized_on"
        self.cursor_key = p + b":big_segments_cursor"
        self.include_prefix = p + b":big_segment_include:"
        self.exclude_prefix = p + b":big_segment_exclude:"
        self._conn = RespConnection(settings)
        self._lock = asyncio.Lock()
        # Pre-encoded command heads: the bulk path only appends the hash.
        self._smembers_inc = b"*2\r\n$8\r\nSMEMBERS\r\n$%d\r\n" % (len(self.include_prefix) + 44)
        self._smembers_exc = b"*2\r\n$8\r\nSMEMBERS\r\n$%d\r\n" % (len(self.exclude_prefix) + 44)

    @property
    def description(self) -> str:
        return f"{self.settings.description} prefix {self.prefix!r}"

    async def aclose(self) -> None:
        async with self._lock:
            await self._conn.close()

    # --- metadata ----------------------------------------------------------------------------

    async def get_metadata(self) -> Metadata:
        async with self._lock:
            sync_reply, cursor_reply = await self._conn.pipeline(
                [encode(b"GET", self.synchronized_on_key), encode(b"GET", self.cursor_key)]
            )
        key = self.synchronized_on_key.decode(errors="replace")
        if isinstance(sync_reply, hiredis.ReplyError):
            err = self._conn.error_for(sync_reply, b"GET", key)
            if isinstance(err, StoreDataError):
                raise StoreDataError(
                    f"{key} is not a string (the SDK's GET fails, so it reports the store unavailable)",
                    store=self.description,
                )
            raise err
        try:
            synchronized_on = parse_redis_synchronized_on(sync_reply)  # type: ignore[arg-type]
        except ValueError:
            raise StoreDataError(
                f"{key} holds {sync_reply[:40]!r}, not a whole number of milliseconds (the SDK "
                "reports the store unavailable)",
                store=self.description,
            ) from None
        cursor = None
        if isinstance(cursor_reply, bytes):
            cursor = cursor_reply.decode("utf-8", "backslashreplace")
        raw = sync_reply.decode("utf-8", "backslashreplace") if sync_reply is not None else None
        return Metadata(synchronized_on=synchronized_on, cursor=cursor, raw=raw)

    # --- membership --------------------------------------------------------------------------

    def _encode_lookups(self, hashes: Sequence[str]) -> bytes:
        inc_head, exc_head = self._smembers_inc, self._smembers_exc
        inc_p, exc_p = self.include_prefix, self.exclude_prefix
        parts = []
        for h in hashes:
            hb = h.encode()
            if len(hb) == 44:
                parts.append(inc_head + inc_p + hb + b"\r\n" + exc_head + exc_p + hb + b"\r\n")
            else:  # not an SDK hash; still look it up, with the general encoder
                parts.append(encode(b"SMEMBERS", inc_p + hb) + encode(b"SMEMBERS", exc_p + hb))
        return b"".join(parts)

    def _membership(
        self, h: str, inc: object, exc: object, shapes: dict[Any, Membership]
    ) -> Membership | None | StoreDataError:
        for reply, prefix in ((inc, self.include_prefix), (exc, self.exclude_prefix)):
            if isinstance(reply, hiredis.ReplyError):
                key = (prefix + h.encode()).decode(errors="replace")
                err = self._conn.error_for(reply, b"SMEMBERS", key)
                if isinstance(err, StoreDataError):
                    return StoreDataError(
                        f"{key} is not a set (the SDK's SMEMBERS fails for this context)",
                        store=self.description,
                    )
                raise err
        if not inc and not exc:
            return None
        # Contexts share a few combinations of refs: build each Membership once per call.
        shape = (tuple(inc), tuple(exc))  # type: ignore[arg-type]
        m = shapes.get(shape)
        if m is None:
            m = Membership(
                included=frozenset(map(_decode_ref, inc)),  # type: ignore[arg-type]
                excluded=frozenset(map(_decode_ref, exc)),  # type: ignore[arg-type]
            )
            if len(shapes) < 50_000:
                shapes[shape] = m
        return m

    async def get_memberships(self, hashes: Sequence[str]) -> dict[str, Membership | None | StoreDataError]:
        """Pipelined SMEMBERS include + exclude (no MULTI). A context whose key has the wrong
        type maps to a ``StoreDataError``; a refused command or a lost connection raises."""
        unique = list(dict.fromkeys(hashes))
        out: dict[str, Membership | None | StoreDataError] = {}
        shapes: dict[Any, Membership] = {}  # (include replies, exclude replies) -> Membership
        windows = [unique[i : i + _WINDOW] for i in range(0, len(unique), _WINDOW)]
        async with self._lock:
            conn = self._conn
            try:
                # Keep one window in flight: write window n+1, then parse window n's replies.
                if windows:
                    await conn.write_raw(self._encode_lookups(windows[0]))
                for n, window in enumerate(windows):
                    if n + 1 < len(windows):
                        await conn.write_raw(self._encode_lookups(windows[n + 1]))
                    self._collect(window, await conn.read_replies(2 * len(window)), out, shapes)
            except BaseException:
                await conn.close()
                raise
        return out

    def _collect(
        self,
        window: list[str],
        replies: list[object],
        out: dict[str, Membership | None | StoreDataError],
        shapes: dict[Any, Membership],
    ) -> None:
        it = iter(replies)
        for h in window:
            out[h] = self._membership(h, next(it), next(it), shapes)

    async def get_membership(self, context_hash: str) -> Membership | None:
        result = (await self.get_memberships([context_hash]))[context_hash]
        if isinstance(result, StoreError):
            raise result
        return result

    # --- probe -------------------------------------------------------------------------------

    async def probe(self) -> Probe:
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.connect_timeout + self.settings.timeout):
                async with self._lock:
                    if not self._conn.connected:
                        await self._conn.connect()
                    start = time.perf_counter()
                    await self._conn.execute(encode(b"PING"))
        except StoreError as exc:
            return Probe(False, None, str(exc))
        except TimeoutError:
            await self._conn.close()
            return Probe(False, None, f"{self.settings.description}: no answer in time")
        return Probe(True, (time.perf_counter() - start) * 1000)

    # --- statistics --------------------------------------------------------------------------

    async def statistics(
        self, *, progress: ProgressCallback | None = None, batch: int = 1000
    ) -> StoreStatistics:
        """SCAN MATCH ``p:big_segment_*`` COUNT ``batch`` and SMEMBERS of what it finds.

        As soon as a SCAN reply arrives, the next SCAN and the SMEMBERS of the keys just found
        are written, and only then are the previous keys' replies parsed: the server always has
        work queued. A context is counted once: at its include key, or at its exclude key when
        TYPE says it has no include key. Counters only: memory does not grow with the store.

        SCAN may return a key twice while Redis resizes its table under concurrent writes; the
        counts are exact for a store that is not being written during the scan."""
        stats = StoreStatistics()
        inc_counts: Counter[bytes] = Counter()
        exc_counts: Counter[bytes] = Counter()
        match = _glob_escape(self.prefix.encode() + b":big_segment_") + b"*"
        scan_count = str(max(10, batch)).encode()
        inc_p, exc_p = self.include_prefix, self.exclude_prefix
        len_inc, len_exc = len(inc_p), len(exc_p)
        done_keys = 0

        def split(found: list[bytes]) -> tuple[list[bytes], list[bytes]]:
            inc = [k for k in found if k.startswith(inc_p) and len(k) > len_inc]
            exc = [k for k in found if k.startswith(exc_p) and len(k) > len_exc]
            return inc, exc

        def requests(inc: list[bytes], exc: list[bytes]) -> bytes:
            return (
                _encode_many(_SMEMBERS, inc)
                + _encode_many(_SMEMBERS, exc)
                + _encode_many(_TYPE, [inc_p + k[len_exc:] for k in exc])
            )

        async with self._lock:
            conn = self._conn
            try:
                await conn.write_raw(encode(b"SCAN", b"0", b"MATCH", match, b"COUNT", scan_count))
                scanning = True
                pending: tuple[list[bytes], list[bytes]] = ([], [])
                while scanning or pending[0] or pending[1]:
                    new: tuple[list[bytes], list[bytes]] = ([], [])
                    if scanning:
                        (scan_reply,) = await conn.read_replies(1)
                        if isinstance(scan_reply, hiredis.ReplyError):
                            raise conn.error_for(scan_reply, b"SCAN")
                        cursor, found = scan_reply  # type: ignore[misc]
                        new = split(found)
                        scanning = cursor != b"0"
                        # The next SCAN first: its reply is the next one this loop reads.
                        payload = b""
                        if scanning:
                            payload = encode(b"SCAN", cursor, b"MATCH", match, b"COUNT", scan_count)
                        payload += requests(*new)
                        if payload:
                            await conn.write_raw(payload)
                    inc, exc = pending
                    if inc or exc:
                        replies = await conn.read_replies(len(inc) + 2 * len(exc))
                        self._count(conn, stats, inc, exc, replies, inc_counts, exc_counts)
                        done_keys += len(inc) + len(exc)
                        if progress is not None:
                            progress(Progress(done=done_keys, total=None, contexts=stats.contexts))
                    pending = new
            except BaseException:
                await conn.close()
                raise
        stats.included = {_decode_ref(k): v for k, v in inc_counts.items()}
        stats.excluded = {_decode_ref(k): v for k, v in exc_counts.items()}
        stats.complete = True
        return stats

    def _count(
        self,
        conn: RespConnection,
        stats: StoreStatistics,
        inc: list[bytes],
        exc: list[bytes],
        replies: list[object],
        inc_counts: Counter[bytes],
        exc_counts: Counter[bytes],
    ) -> None:
        """Replies are: SMEMBERS of each include key, of each exclude key, then TYPE of each
        exclude key's include twin."""
        ni, ne = len(inc), len(exc)
        bad: set[int] = set()
        if hiredis.ReplyError in set(map(type, replies)):
            bad = {i for i, r in enumerate(replies) if r.__class__ is hiredis.ReplyError}
            keys = [*inc, *exc, *(self.include_prefix + k[len(self.exclude_prefix) :] for k in exc)]
            for i in sorted(bad):
                command = b"TYPE" if i >= ni + ne else b"SMEMBERS"
                key = keys[i].decode(errors="replace")
                err = conn.error_for(replies[i], command, key)  # type: ignore[arg-type]
                if command == b"TYPE" or not isinstance(err, StoreDataError):
                    raise err
                stats.anomalies += 1
                if len(stats.anomaly_examples) < 5:
                    stats.anomaly_examples.append(f"{key} is not a set")
        inc_sets = replies[:ni]
        exc_sets = replies[ni : ni + ne]
        types = replies[ni + ne :]
        if bad:
            inc_sets = [r for i, r in enumerate(inc_sets) if i not in bad]
            types = [t for j, t in enumerate(types) if ni + j not in bad]
            exc_sets = [r for j, r in enumerate(exc_sets) if ni + j not in bad]
        inc_counts.update(chain.from_iterable(inc_sets))  # type: ignore[arg-type]
        exc_counts.update(chain.from_iterable(exc_sets))  # type: ignore[arg-type]
        stats.contexts += len(inc_sets) + types.count(b"none")


_SMEMBERS = b"*2\r\n$8\r\nSMEMBERS\r\n"
_TYPE = b"*2\r\n$4\r\nTYPE\r\n"


def _encode_many(head: bytes, keys: list[bytes]) -> bytes:
    """One single-key command per key, from a template. Keys of one length are joined in one
    C-level call (a store's keys share a length: prefix + 44-character hash)."""
    if not keys:
        return b""
    by_length: dict[int, list[bytes]] = {}
    for k in keys:
        by_length.setdefault(len(k), []).append(k)
    parts = []
    for n, same in by_length.items():
        h = head + b"$%d\r\n" % n
        parts.append(h + (b"\r\n" + h).join(same) + b"\r\n")
    return b"".join(parts)
