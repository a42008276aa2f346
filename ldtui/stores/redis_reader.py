"""Read big segment data from Redis as the SDKs do (store-schema.md §2), with bounded reads.

Keys, with prefix ``p`` (default ``launchdarkly``; empty means default):
``p:big_segments_synchronized_on`` (string, epoch ms), ``p:big_segment_include:<hash>`` and
``p:big_segment_exclude:<hash>`` (sets of ``<segmentKey>.g<generation>``), and
``p:big_segments_cursor`` (the relay's last applied version; diagnostics only).

The SDKs read with GET and SMEMBERS, which load a value whole however large it is. ldtui reads
the same data with bounds: ``GETRANGE key 0 32`` (and ``TYPE``, to tell a missing key from an
empty one) for the metadata, and ``SRANDMEMBER key N+1`` for a set, which returns the whole set
when it has at most N members and N+1 of them otherwise: a set over the store's
``max_members`` is reported as unreadable for its context, never loaded.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from itertools import chain, repeat
from typing import Any

import hiredis
from pydantic import SecretStr

from ldtui.core.bigsegments import DEFAULT_REDIS_PREFIX, Membership, parse_redis_synchronized_on
from ldtui.core.doctor import PrefixFound
from ldtui.core.store_settings import RedisEndpoint, RedisStore
from ldtui.stores.base import (
    BigSegmentStoreReader,
    Metadata,
    Probe,
    Progress,
    ProgressCallback,
    StoreDataError,
    StoreError,
    StoreStatistics,
    StoreUnavailable,
)
from ldtui.stores.resp import RespConnection, encode

# Bulk lookups go out in windows of this many contexts (two set reads each), written ahead of
# the one whose replies are parsed, so the server never waits for us.
_WINDOW = 4096
# Windows written ahead of the one being parsed (8 x 4096 contexts: about 7 MB of commands).
_AHEAD = 8
_GLOB_SPECIALS = b"*?[]\\"
# The schema's synchronizedOn is epoch milliseconds (13 digits today); anything longer than
# this is not one, and is not read further.
SYNCHRONIZED_ON_MAX_BYTES = 32
CURSOR_MAX_BYTES = 256


def _glob_escape(raw: bytes) -> bytes:
    return b"".join(b"\\" + bytes([c]) if c in _GLOB_SPECIALS else bytes([c]) for c in raw)


def _decode_ref(ref: bytes) -> str:
    # backslashreplace keeps a malformed entry visible (and never equal to a real ref).
    return ref.decode("utf-8", "backslashreplace")


def _cluster_check_tags() -> list[bytes]:
    """Sixteen hash tags whose Redis Cluster slots are spread over the 16384 (one in each
    1024-slot sixteenth): on a cluster of two or more masters, some of them live on another
    node, which answers MOVED."""
    tags = []
    for sixteenth in range(16):
        n = 0
        while binascii.crc_hqx(b"%d" % n, 0) % 16384 // 1024 != sixteenth:
            n += 1
        tags.append(b"%d" % n)
    return tags


_CLUSTER_TAGS = _cluster_check_tags()


def cluster_check_keys(prefix: bytes) -> list[bytes]:
    """Keys (which never exist) whose TYPE the reader asks when it connects: a cheap way to
    recognise a Redis Cluster with no permission beyond the reader's own (+type on
    ``~<prefix>:big_segment*``)."""
    return [prefix + b":big_segments_cluster_check{" + tag + b"}" for tag in _CLUSTER_TAGS]


class RedisBigSegmentReader(BigSegmentStoreReader):
    kind = "redis"

    def __init__(
        self, store: RedisStore, prefix: str | None = None, password: SecretStr | str | None = None
    ) -> None:
        self.store = store
        self.endpoint = store.endpoint(password)
        self.prefix = prefix or DEFAULT_REDIS_PREFIX
        self.max_members = store.max_members
        p = self.prefix.encode()
        self.synchronized_on_key = p + b":big_segments_synchronized_on"
        self.cursor_key = p + b":big_segments_cursor"
        self.include_prefix = p + b":big_segment_include:"
        self.exclude_prefix = p + b":big_segment_exclude:"
        self.key_pattern = "~" + _glob_escape(p).decode(errors="replace") + ":big_segment*"
        self._conn = RespConnection(
            self.endpoint, key_pattern=self.key_pattern, setup_keys=cluster_check_keys(p)
        )
        self._lock = asyncio.Lock()
        # Pre-encoded commands: the bulk path only puts the hash between a head and a tail.
        count = b"%d" % (self.max_members + 1)
        self._set_tail = b"\r\n$%d\r\n%s\r\n" % (len(count), count)
        self._srand_inc = b"*3\r\n$11\r\nSRANDMEMBER\r\n$%d\r\n" % (len(self.include_prefix) + 44)
        self._srand_exc = b"*3\r\n$11\r\nSRANDMEMBER\r\n$%d\r\n" % (len(self.exclude_prefix) + 44)
        self._count_arg = count
        # The same pieces as text (latin-1 maps each byte to one character and back), for a
        # window of SDK hashes joined as one string and encoded once.
        self._text_pieces = tuple(
            piece.decode("latin-1")
            for piece in (
                self._srand_inc + self.include_prefix,
                self._set_tail + self._srand_exc + self.exclude_prefix,
                self._set_tail,
            )
        )

    @property
    def description(self) -> str:
        return f"{self._conn.description} prefix {self.prefix!r}"

    @property
    def _deadline(self) -> float:
        """The most one call that opens a connection and makes one exchange may take."""
        ep = self.endpoint
        discovery = (ep.connect_timeout + ep.timeout * len(ep.sentinels)) if ep.sentinels else 0.0
        return discovery + ep.connect_timeout + 2 * ep.timeout + 1

    @contextlib.asynccontextmanager
    async def _within_deadline(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._deadline):
                yield
        except TimeoutError:
            await self._conn.close()
            raise StoreUnavailable(
                f"no answer within {self._deadline:g} s",
                store=self.description,
                hint="the server is overloaded, unreachable or too slow; raise the store timeout",
            ) from None

    async def aclose(self) -> None:
        async with self._lock:
            await self._conn.close()

    def set_command(self, key: bytes) -> bytes:
        """The bounded read of one set (SRANDMEMBER key max_members+1)."""
        return encode(b"SRANDMEMBER", key, self._count_arg)

    # --- metadata ----------------------------------------------------------------------------

    async def get_metadata(self) -> Metadata:
        sync_key, cursor_key = self.synchronized_on_key, self.cursor_key
        async with self._lock, self._within_deadline():
            sync_type, sync_reply, cursor_type, cursor_reply = await self._conn.pipeline(
                [
                    encode(b"TYPE", sync_key),
                    encode(b"GETRANGE", sync_key, b"0", b"%d" % SYNCHRONIZED_ON_MAX_BYTES),
                    encode(b"TYPE", cursor_key),
                    encode(b"GETRANGE", cursor_key, b"0", b"%d" % (CURSOR_MAX_BYTES - 1)),
                ]
            )
        key = sync_key.decode(errors="replace")
        for command, reply in ((b"TYPE", sync_type), (b"GETRANGE", sync_reply)):
            if isinstance(reply, hiredis.ReplyError):
                err = self._conn.error_for(reply, command, key)
                if isinstance(err, StoreDataError):
                    raise StoreDataError(
                        f"{key} is not a string (the SDK's GET fails, so it reports the store unavailable)",
                        store=self.description,
                        code=err.code,
                    )
                raise err
        if not isinstance(sync_reply, bytes):
            raise StoreDataError(
                f"GETRANGE {key} answered with something that is not a string", store=self.description
            )
        raw: bytes | None = None if sync_type == b"none" and not sync_reply else sync_reply
        if raw is not None and len(raw) > SYNCHRONIZED_ON_MAX_BYTES:
            raise StoreDataError(
                f"{key} holds more than {SYNCHRONIZED_ON_MAX_BYTES} bytes, so it is not a timestamp; "
                "not read further (the SDK reports the store unavailable)",
                store=self.description,
            )
        try:
            synchronized_on = parse_redis_synchronized_on(raw)
        except ValueError:
            raise StoreDataError(
                f"{key} holds {raw!r}, not a whole number of milliseconds (the SDK reports the store "
                "unavailable)",
                store=self.description,
            ) from None
        cursor = None
        for reply in (cursor_type, cursor_reply):
            if isinstance(reply, hiredis.ReplyError):
                err = self._conn.error_for(reply, b"GETRANGE", cursor_key.decode(errors="replace"))
                if not isinstance(err, StoreDataError):
                    raise err
        if cursor_type == b"string" and isinstance(cursor_reply, bytes):
            cursor = cursor_reply.decode("utf-8", "backslashreplace")
            if len(cursor_reply) >= CURSOR_MAX_BYTES:
                cursor += "…"
        shown = raw.decode("utf-8", "backslashreplace") if raw is not None else None
        return Metadata(synchronized_on=synchronized_on, cursor=cursor, raw=shown)

    # --- membership --------------------------------------------------------------------------

    def _encode_lookups(self, hashes: Sequence[str]) -> bytes:
        if "".join(hashes).isascii() and set(map(len, hashes)) == {44}:  # SDK hashes: joined in C
            first, middle, last = map(repeat, self._text_pieces)
            commands = zip(first, hashes, middle, hashes, last, strict=False)  # repeat never ends
            return "".join(chain.from_iterable(commands)).encode("latin-1")
        inc_head = self._srand_inc + self.include_prefix
        between = self._set_tail + self._srand_exc + self.exclude_prefix
        tail = self._set_tail
        inc_p, exc_p = self.include_prefix, self.exclude_prefix
        parts = []
        for h in hashes:
            hb = h.encode()
            if len(hb) == 44:
                parts.append(inc_head + hb + between + hb + tail)
            else:  # not an SDK hash; still look it up, with the general encoder
                parts.append(self.set_command(inc_p + hb) + self.set_command(exc_p + hb))
        return b"".join(parts)

    def _unusual(self, h: str, inc: object, exc: object) -> Membership | None | StoreDataError:
        """A context whose replies are not two sets within the cap: an error reply, or a set
        too large to read. Wrong types and oversized sets belong to this context only; any
        other error is the server's, and raises."""
        problems = []
        for reply, prefix in ((inc, self.include_prefix), (exc, self.exclude_prefix)):
            key = (prefix + h.encode()).decode(errors="replace")
            if isinstance(reply, hiredis.ReplyError):
                err = self._conn.error_for(reply, b"SRANDMEMBER", key)
                if not isinstance(err, StoreDataError):
                    raise err
                problems.append(f"{key} is not a set (the SDK's SMEMBERS fails for this context)")
            elif not isinstance(reply, list):
                problems.append(f"{key}: the server's reply is not a set")
            elif len(reply) > self.max_members:
                problems.append(f"{key} has more than {self.max_members} members; not read (max_members)")
        if problems:
            return StoreDataError("; ".join(problems), store=self.description)
        return self._checked_membership(h, inc, exc, {})

    def _checked_membership(
        self, h: str, inc: Any, exc: Any, shapes: dict[Any, Membership]
    ) -> Membership | None | StoreDataError:
        try:
            return self._membership(inc, exc, shapes)
        except (AttributeError, TypeError):  # members that are not strings: not a Redis reply
            return StoreDataError(
                f"the server's reply for context {h} is not a set of strings", store=self.description
            )

    @staticmethod
    def _membership(inc: Any, exc: Any, shapes: dict[Any, Membership]) -> Membership | None:
        if not inc and not exc:
            return None
        # Contexts share a few combinations of refs: build each Membership once per call.
        shape = (tuple(inc), tuple(exc))
        m = shapes.get(shape)
        if m is None:
            m = Membership(
                included=frozenset(map(_decode_ref, inc)),
                excluded=frozenset(map(_decode_ref, exc)),
            )
            if len(shapes) < 50_000:
                shapes[shape] = m
        return m

    async def get_memberships(self, hashes: Sequence[str]) -> dict[str, Membership | None | StoreDataError]:
        """Pipelined bounded set reads, include + exclude (no MULTI). A context whose key has
        the wrong type, or a set over ``max_members``, maps to a ``StoreDataError``; a refused
        command, a server error or a lost connection raises."""
        unique = list(dict.fromkeys(hashes))
        async with self._lock:
            return dict(zip(unique, await self._lookup(unique), strict=True))

    async def memberships_in_order(self, hashes: Sequence[str]) -> list[Membership | None | StoreDataError]:
        """``get_memberships`` in the order of ``hashes``, with no dictionary on the way (a hash
        given twice is read twice: a bulk file rarely repeats a key, and one dictionary pass
        per context costs more than the odd repeated read)."""
        async with self._lock:
            return await self._lookup(hashes)

    async def _lookup(self, hashes: Sequence[str]) -> list[Membership | None | StoreDataError]:
        """The answers for ``hashes`` in their order, with the lock held."""
        out: list[Membership | None | StoreDataError] = []
        shapes: dict[Any, Membership] = {}  # (include replies, exclude replies) -> Membership
        windows = [hashes[i : i + _WINDOW] for i in range(0, len(hashes), _WINDOW)]
        conn = self._conn
        sent = 0
        try:
            # Keep up to _AHEAD windows in flight: the server works through them while this
            # process parses, or does something else entirely (a bulk lookup explains and writes
            # the window before while the store answers this one).
            for n, window in enumerate(windows):
                while sent < len(windows) and sent <= n + _AHEAD:
                    await conn.write_raw(self._encode_lookups(windows[sent]))
                    sent += 1
                out += self._collect(window, await conn.read_replies(2 * len(window)), shapes)
        except BaseException:
            await conn.close()
            raise
        return out

    def _collect(
        self, window: Sequence[str], replies: list[object], shapes: dict[Any, Membership]
    ) -> list[Membership | None | StoreDataError]:
        """The window's answers, in its order."""
        fast = self._collect_sets(replies, shapes)
        if fast is not None:
            return fast
        out: list[Membership | None | StoreDataError] = []
        it = iter(replies)
        cap = self.max_members
        membership = self._membership
        for h in window:
            inc = next(it)
            exc = next(it)
            if inc.__class__ is list and exc.__class__ is list and len(inc) <= cap and len(exc) <= cap:
                try:
                    out.append(membership(inc, exc, shapes))
                except (AttributeError, TypeError):
                    out.append(self._checked_membership(h, inc, exc, shapes))
            else:
                out.append(self._unusual(h, inc, exc))
        return out

    def _collect_sets(
        self, replies: list[Any], shapes: dict[Any, Membership]
    ) -> list[Membership | None | StoreDataError] | None:
        """``_collect`` for a window whose replies are all sets of strings within the cap (a
        store in the schema): in a few C-level calls, one ``Membership`` per distinct pair of
        sets. None for any other window (the per-context path then says which context is in
        error and why)."""
        if not replies or set(map(type, replies)) != {list} or max(map(len, replies)) > self.max_members:
            return None
        try:
            pairs: list[tuple[Any, Any]] = list(
                zip(map(tuple, replies[0::2]), map(tuple, replies[1::2]), strict=True)
            )
            distinct = set(pairs)  # members that are not hashable (nested arrays): TypeError
            answers = {pair: self._membership(pair[0], pair[1], shapes) for pair in distinct}
        except (AttributeError, TypeError):  # members that are not strings
            return None
        return list(map(answers.__getitem__, pairs))

    async def get_membership(self, context_hash: str) -> Membership | None:
        async with self._lock, self._within_deadline():
            (result,) = await self._lookup([context_hash])
        if isinstance(result, StoreError):
            raise result
        return result

    # --- probe -------------------------------------------------------------------------------

    async def probe(self) -> Probe:
        start = time.perf_counter()
        try:
            async with self._lock, self._within_deadline():
                if not self._conn.connected:
                    await self._conn.connect()
                start = time.perf_counter()
                await self._conn.execute(encode(b"PING"))
        except StoreError as exc:
            return Probe(False, None, str(exc))
        return Probe(True, (time.perf_counter() - start) * 1000)

    # --- prefixes ----------------------------------------------------------------------------

    @property
    def address(self) -> RedisEndpoint:
        """Where the reader connects (after a Sentinel's discovery, the master it named)."""
        return self._conn.address

    async def metadata_prefixes(
        self,
        *,
        limit: int = 1000,
        batch: int = 1000,
        deadline_s: float = 60.0,
        progress: ProgressCallback | None = None,
    ) -> tuple[list[PrefixFound], bool]:
        """Every prefix holding big segment metadata (``SCAN MATCH *:big_segments_synchronized_on``)
        with its synchronizedOn, streamed: at most ``limit`` prefixes and ``deadline_s`` seconds.
        Returns them and whether the scan finished. A key the reader's ACL may not read is
        still listed, with the refusal as its error."""
        suffix = b":big_segments_synchronized_on"
        found: list[PrefixFound] = []
        cursor = b"0"
        scanned = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        async with self._lock:
            conn = self._conn
            try:
                while True:
                    async with asyncio.timeout(max(0.1, end - loop.time()) + self.endpoint.timeout):
                        reply = await conn.execute(
                            encode(b"SCAN", cursor, b"MATCH", b"*" + suffix, b"COUNT", b"%d" % max(10, batch))
                        )
                    if not isinstance(reply, list) or len(reply) != 2 or not isinstance(reply[1], list):
                        raise StoreDataError("SCAN answered with something that is not a scan reply")
                    cursor = reply[0]
                    keys = [k for k in reply[1] if isinstance(k, bytes) and k.endswith(suffix)]
                    scanned += 1
                    if keys:
                        replies = await conn.pipeline(
                            [encode(b"GETRANGE", k, b"0", b"%d" % SYNCHRONIZED_ON_MAX_BYTES) for k in keys]
                        )
                        for k, r in zip(keys, replies, strict=True):
                            found.append(self._prefix_found(conn, k[: -len(suffix)], k, r))
                    if progress is not None:
                        progress(Progress(done=scanned, total=None, contexts=len(found)))
                    if cursor == b"0":
                        return found, True
                    if len(found) >= limit or loop.time() >= end:
                        return found, False
            except BaseException:
                await conn.close()
                raise

    def _prefix_found(self, conn: RespConnection, prefix: bytes, key: bytes, reply: object) -> PrefixFound:
        name = prefix.decode("utf-8", "backslashreplace")
        if isinstance(reply, hiredis.ReplyError):
            err = conn.error_for(reply, b"GETRANGE", key.decode(errors="replace"))
            return PrefixFound(name, None, err.message)
        if not isinstance(reply, bytes):
            return PrefixFound(name, None, "not a string")
        try:
            return PrefixFound(name, parse_redis_synchronized_on(reply or None))
        except ValueError:
            return PrefixFound(name, None, "not a whole number of milliseconds")

    # --- statistics --------------------------------------------------------------------------

    async def statistics(
        self, *, progress: ProgressCallback | None = None, batch: int = 1000
    ) -> StoreStatistics:
        """SCAN MATCH ``p:big_segment_*`` COUNT ``batch`` and a bounded read of each set found.

        As soon as a SCAN reply arrives, the next SCAN and the set reads of the keys just found
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
        set_head = b"*3\r\n$11\r\nSRANDMEMBER\r\n"
        done_keys = 0

        def requests(inc: list[bytes], exc: list[bytes]) -> tuple[bytes, list[bytes], list[bytes]]:
            """The commands for the keys found, and the keys in the order their replies come."""
            inc_payload, inc = _encode_many(set_head, inc, self._set_tail)
            exc_payload, exc = _encode_many(set_head, exc, self._set_tail)
            type_payload, _ = _encode_many(_TYPE, [inc_p + k[len_exc:] for k in exc])
            return inc_payload + exc_payload + type_payload, inc, exc

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
                        if not isinstance(scan_reply, list) or len(scan_reply) != 2:
                            raise StoreDataError("SCAN answered with something that is not a scan reply")
                        cursor: bytes = scan_reply[0]
                        found: list[bytes] = scan_reply[1]
                        inc_found = [k for k in found if k.startswith(inc_p) and len(k) > len_inc]
                        exc_found = [k for k in found if k.startswith(exc_p) and len(k) > len_exc]
                        scanning = cursor != b"0"
                        # The next SCAN first: its reply is the next one this loop reads.
                        payload = b""
                        if scanning:
                            payload = encode(b"SCAN", cursor, b"MATCH", match, b"COUNT", scan_count)
                        more, inc_found, exc_found = requests(inc_found, exc_found)
                        new = (inc_found, exc_found)
                        payload += more
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
            except (AttributeError, TypeError, ValueError):
                # Replies of shapes Redis never sends (members that are not strings...).
                await conn.close()
                raise StoreDataError(
                    "the server's replies to SCAN and the set reads are not Redis's", store=self.description
                ) from None
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
        replies: list[Any],
        inc_counts: Counter[bytes],
        exc_counts: Counter[bytes],
    ) -> None:
        """Replies are: the set read of each include key, of each exclude key, then TYPE of
        each exclude key's include twin (in the order of ``inc`` and ``exc``)."""
        ni, ne = len(inc), len(exc)
        cap = self.max_members
        bad: set[int] = set()
        for i in range(ni + ne):
            r = replies[i]
            if r.__class__ is not list or len(r) > cap:
                bad.add(i)
        for j in range(ni + ne, len(replies)):
            if replies[j].__class__ is hiredis.ReplyError:
                bad.add(j)
        if bad:
            keys = [*inc, *exc, *(self.include_prefix + k[len(self.exclude_prefix) :] for k in exc)]
            for i in sorted(bad):
                key = keys[i].decode(errors="replace")
                if i >= ni + ne:
                    raise conn.error_for(replies[i], b"TYPE", key)
                if isinstance(replies[i], hiredis.ReplyError):
                    err = conn.error_for(replies[i], b"SRANDMEMBER", key)
                    if not isinstance(err, StoreDataError):
                        raise err
                    example = f"{key} is not a set"
                else:
                    example = f"{key} has more than {cap} members; not read (max_members)"
                stats.anomalies += 1
                if len(stats.anomaly_examples) < 5:
                    stats.anomaly_examples.append(example)
        inc_sets = replies[:ni]
        exc_sets = replies[ni : ni + ne]
        types = replies[ni + ne :]
        if bad:
            inc_sets = [r for i, r in enumerate(inc_sets) if i not in bad]
            # An exclude key that could not be read does not make its context counted.
            types = [t for j, t in enumerate(types) if ni + j not in bad]
            exc_sets = [r for j, r in enumerate(exc_sets) if ni + j not in bad]
        inc_counts.update(chain.from_iterable(inc_sets))
        exc_counts.update(chain.from_iterable(exc_sets))
        stats.contexts += len(inc_sets) + types.count(b"none")


_TYPE = b"*2\r\n$4\r\nTYPE\r\n"


def _encode_many(head: bytes, keys: list[bytes], tail: bytes = b"\r\n") -> tuple[bytes, list[bytes]]:
    """One single-key command per key, from a template (``head``, the key's length and the key,
    ``tail``). Keys of one length are joined in one C-level call (a store's keys share a length:
    prefix + 44-character hash), so the commands come out grouped by length: the keys are
    returned in that order, which is the order of their replies."""
    if not keys:
        return b"", keys
    by_length: dict[int, list[bytes]] = {}
    for k in keys:
        by_length.setdefault(len(k), []).append(k)
    ordered = keys if len(by_length) == 1 else [k for same in by_length.values() for k in same]
    parts = []
    for n, same in by_length.items():
        h = head + b"$%d\r\n" % n
        parts.append(h + (tail + h).join(same) + tail)
    return b"".join(parts), ordered
