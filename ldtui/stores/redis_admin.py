"""What ``ldtui doctor`` asks of a Redis server beyond the reader's reads: server facts (INFO,
CONFIG GET), ACL questions (ACL DRYRUN, GETUSER, CAT, WHOAMI), a TLS handshake, whether the
server lets anyone in without a password, and, only when asked (``--write-probe``), the
writer's commands run as the writer on a key no SDK reads.

The admin connection is redis-py's (``redis.asyncio``), separate from the reader's RESP client,
whose allowlist stays read-only. It too sends only what ``ADMIN_COMMANDS`` lists: questions,
never a change. The write probe is the one place here that writes, and it removes what it wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import SecretStr

from ldtui.core.doctor import TlsPeer
from ldtui.core.store_settings import RedisEndpoint
from ldtui.stores.base import (
    StoreAuthenticationFailed,
    StoreError,
    StorePermissionDenied,
    StoreUnavailable,
)
from ldtui.stores.resp import RespConnection, encode, redis_py_tls, reply_error, tls_context

# The admin connection asks questions only: (command, subcommand) pairs it may send.
ADMIN_COMMANDS = frozenset(
    {
        ("INFO", ""),
        ("CONFIG", "GET"),
        ("ACL", "DRYRUN"),
        ("ACL", "GETUSER"),
        ("ACL", "CAT"),
        ("ACL", "WHOAMI"),
        ("PING", ""),
    }
)
# The probe's keys: inside ``<prefix>:big_segment*`` (where a writer's ACL lets it write) but
# none that an SDK, the Relay Proxy or ldtui's statistics read.
PROBE_KEY = ":big_segments_ldtui_doctor_probe"


def _admin_key(args: tuple[str, ...]) -> tuple[str, str]:
    name = args[0].upper()
    sub = args[1].upper() if name in ("CONFIG", "ACL") and len(args) > 1 else ""
    return name, sub


def _no_client_setinfo() -> dict[str, Any]:
    import inspect

    import redis.asyncio

    if "driver_info" in inspect.signature(redis.asyncio.Redis.__init__).parameters:
        return {"driver_info": None}  # redis-py 7.1 and later
    return {"lib_name": None, "lib_version": None}


_NO_CLIENT_SETINFO = _no_client_setinfo()


def redis_py_options(ep: RedisEndpoint, username: str | None, password: SecretStr | None) -> dict[str, Any]:
    """redis-py connection options for an endpoint (its TLS settings and timeouts), with
    these credentials instead of its own."""
    options: dict[str, Any] = {
        "socket_timeout": ep.timeout,
        "socket_connect_timeout": ep.connect_timeout,
        "db": ep.db,
        "username": username,
        "password": password.get_secret_value() if password is not None else None,
    }
    # No CLIENT SETINFO on connect: the doctor asks questions and changes nothing.
    options.update(_NO_CLIENT_SETINFO)
    if ep.unix_path:
        options["unix_socket_path"] = ep.unix_path
    else:
        options.update(host=ep.host, port=ep.port)
    options.update(redis_py_tls(ep))
    return options


def _error(exc: BaseException, command: str, store: str) -> StoreError:
    from redis import exceptions as rx

    if isinstance(exc, rx.AuthenticationError | rx.AuthenticationWrongNumberOfArgsError):
        return StoreAuthenticationFailed(f"authentication failed ({str(exc)[:200]})", store=store)
    if isinstance(exc, rx.NoPermissionError):
        return reply_error(f"NOPERM {exc}", command.encode(), store=store)
    if isinstance(exc, rx.ResponseError):
        return reply_error(str(exc), command.encode(), store=store)
    if isinstance(exc, TimeoutError | rx.TimeoutError):
        return StoreUnavailable("no answer in time", store=store)
    return StoreUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}", store=store)


class RedisAdmin:
    """Questions to a Redis server over a connection of their own (redis-py)."""

    def __init__(
        self, endpoint: RedisEndpoint, *, username: str | None = None, password: SecretStr | None = None
    ) -> None:
        import redis.asyncio

        self.endpoint = endpoint
        self.username = username
        self.description = endpoint.description
        self._client = redis.asyncio.Redis(**redis_py_options(endpoint, username, password))
        self.sent: list[tuple[str, ...]] = []  # what was asked (tests check it asked only questions)

    async def command(self, *args: str) -> Any:
        if _admin_key(args) not in ADMIN_COMMANDS:
            raise ValueError(f"{' '.join(args[:2])} is not a question")
        self.sent.append(args)
        try:
            async with asyncio.timeout(self.endpoint.connect_timeout + 2 * self.endpoint.timeout + 1):
                return await self._client.execute_command(*args)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise _error(exc, " ".join(_admin_key(args)).strip(), self.description) from None

    async def info(self, section: str) -> dict[str, str]:
        reply = await self.command("INFO", section)
        if isinstance(reply, Mapping):
            return {str(k): str(v) for k, v in reply.items()}
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        out = {}
        for line in text.splitlines()[:2000]:
            name, sep, value = line.partition(":")
            if sep and not name.startswith("#"):
                out[name.strip()] = value.strip()
        return out

    async def config_get(self, name: str) -> str | None:
        reply = await self.command("CONFIG", "GET", name)
        if isinstance(reply, Mapping):
            value = next(iter(reply.values()), None)
        elif isinstance(reply, list | tuple) and len(reply) >= 2:
            value = reply[1]
        else:
            return None
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    async def acl_dryrun(self, user: str, *argv: str) -> str | None:
        """``None`` when ``user`` may run ``argv``, else the server's reason."""
        reply = await self.command("ACL", "DRYRUN", user, *argv)
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return None if text == "OK" or reply is True else text[:200]

    async def acl_getuser(self, user: str) -> Any:
        return await self.command("ACL", "GETUSER", user)

    async def acl_cat(self, category: str) -> frozenset[str]:
        reply = await self.command("ACL", "CAT", category)
        return frozenset(
            (c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)).lower() for c in reply or []
        )

    async def whoami(self) -> str:
        reply = await self.command("ACL", "WHOAMI")
        return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.aclose()


async def authenticate(ep: RedisEndpoint, username: str | None, password: SecretStr | None) -> None:
    """Open a connection with these credentials (AUTH) and PING; a typed error when refused."""
    conn = RespConnection(replace(ep, username=username, password=password))
    try:
        async with asyncio.timeout(ep.connect_timeout + 2 * ep.timeout + 1):
            await conn.connect()
            await conn.execute(encode(b"PING"))
    except TimeoutError:
        raise StoreUnavailable("no answer in time", store=ep.description) from None
    finally:
        await conn.close()


async def open_to_anyone(ep: RedisEndpoint) -> bool | None:
    """Whether the server answers PING without any credentials: ``True`` (anyone who reaches it
    may use it), ``False`` (it asks for a password), ``None`` (could not tell)."""
    try:
        await authenticate(ep, None, None)
    except StoreAuthenticationFailed:
        return False
    except StorePermissionDenied:
        return True  # in without a password; only PING refused
    except StoreError:
        return None
    return True


async def tls_peer(ep: RedisEndpoint) -> TlsPeer:
    """A TLS handshake with the server as the reader makes it (its CA, client certificate and
    host name check): what the certificate says, or why the handshake failed."""
    try:
        ctx = tls_context(ep)
    except StoreError as exc:
        return TlsPeer(error=exc.message)
    writer = None
    try:
        async with asyncio.timeout(ep.connect_timeout + 1):
            _reader, writer = await asyncio.open_connection(
                ep.host, ep.port, ssl=ctx, server_hostname=ep.host
            )
    except ssl.SSLCertVerificationError as exc:
        return TlsPeer(error=str(exc.verify_message or exc.reason or exc))
    except ssl.SSLError as exc:
        return TlsPeer(error=str(exc.reason or exc))
    except TimeoutError:
        return TlsPeer(error=f"no handshake within {ep.connect_timeout + 1:g} s")
    except OSError as exc:
        return TlsPeer(error=f"cannot connect: {exc.strerror or exc}")
    try:
        cert = writer.get_extra_info("peercert") or {}
        ssl_object = writer.get_extra_info("ssl_object")
        version = ssl_object.version() if ssl_object is not None else ""
        not_after = None
        if cert.get("notAfter"):
            with contextlib.suppress(ValueError):
                not_after = float(ssl.cert_time_to_seconds(cert["notAfter"]))
        subject = ""
        for rdn in cert.get("subject", ()):
            for name, value in rdn:
                if name == "commonName":
                    subject = str(value)[:100]
        return TlsPeer(
            not_after=not_after,
            subject=subject,
            verified=ctx.verify_mode != ssl.CERT_NONE,
            version=version or "",
        )
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1):
                await writer.wait_closed()


async def write_probe(
    ep: RedisEndpoint, username: str | None, password: SecretStr | None, prefix: str
) -> tuple[dict[str, str | None], str | None]:
    """Run each writer command as the writer on two keys of its own under the prefix (a string
    and a set that nothing reads), then delete them. Returns, per command, ``None`` when it ran
    or the server's refusal; and a note when the keys could not be removed."""
    import redis.asyncio
    from redis import exceptions as rx

    token = secrets.token_hex(4)
    key = f"{prefix}{PROBE_KEY}:{token}"
    set_key = f"{key}:set"
    client = redis.asyncio.Redis(**redis_py_options(ep, username, password))
    steps: list[tuple[str, tuple[str, ...]]] = [
        ("PING", ("PING",)),
        ("SET", ("SET", key, "ldtui-doctor", "EX", "300")),
        ("GET", ("GET", key)),
        ("SADD", ("SADD", set_key, "ldtui-doctor.g0")),
        ("SREM", ("SREM", set_key, "ldtui-doctor.g0")),
        ("WATCH", ("WATCH", key)),
        ("MULTI", ("MULTI",)),
        ("EXEC", ("EXEC",)),
        ("DEL", ("DEL", key, set_key)),
    ]
    answers: dict[str, str | None] = {}
    leftover = None
    try:
        async with asyncio.timeout(ep.connect_timeout + len(steps) * ep.timeout + 2):
            # One connection for all steps: WATCH / MULTI / EXEC belong together.
            async with client.client() as conn:
                for name, argv in steps:
                    try:
                        await conn.execute_command(*argv)  # type: ignore[no-untyped-call]
                        answers[name] = None
                    except rx.NoPermissionError as exc:
                        answers[name] = str(exc)[:200]
                    except rx.ResponseError as exc:
                        # EXEC without MULTI (MULTI refused) is not a permission of EXEC's.
                        answers[name] = (
                            None if name == "EXEC" and "without MULTI" in str(exc) else str(exc)[:200]
                        )
            if answers.get("DEL") is not None and answers.get("SET") is None:
                leftover = f"{key} could not be deleted (it expires in 5 minutes)"
    except TimeoutError:
        raise StoreUnavailable("the write probe got no answer in time", store=ep.description) from None
    except rx.AuthenticationError as exc:
        raise StoreAuthenticationFailed(
            f"authentication failed ({str(exc)[:200]})", store=ep.description
        ) from None
    except (rx.RedisError, OSError) as exc:
        raise _error(exc, "PING", ep.description) from None
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
    return answers, leftover
