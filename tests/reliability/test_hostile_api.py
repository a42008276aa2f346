"""An API that is slow, broken or hostile: every answer ends in a clear ``ApiError`` within a
deadline, no body is read past its bound, and nothing from the server reaches a terminal
unescaped. The "server" is a raw asyncio TCP server, so it can drip, lie about lengths and
send what no framework would."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ldtui.api.client import MAX_MESSAGE_CHARS, LaunchDarklyClient, RetryPolicy
from ldtui.api.errors import INVALID_RESPONSE, TIMEOUT, ApiError
from ldtui.core.text import literal

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> None:
    while (await reader.readline()) not in (b"\r\n", b""):
        pass


async def serve(handler: Handler) -> tuple[asyncio.AbstractServer, str]:
    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _read_request(reader)
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def response(status: int, body: bytes, *, headers: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status} X", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[..., Awaitable[LaunchDarklyClient]]]:
    made: list[tuple[asyncio.AbstractServer, LaunchDarklyClient]] = []

    async def make(handler: Handler, **options: object) -> LaunchDarklyClient:
        server, url = await serve(handler)

        async def no_sleep(seconds: float) -> None:
            return None

        client = LaunchDarklyClient(url, "api-test", sleep=no_sleep, **options)  # type: ignore[arg-type]
        made.append((server, client))
        return client

    yield make
    for server, client in made:
        await client.aclose()
        server.close()


async def test_a_server_that_drips_one_byte_at_a_time_meets_the_deadline(client_for) -> None:  # type: ignore[no-untyped-def]
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = json.dumps({"_links": {"self": {}}, "items": []}).encode()
        for byte in response(200, body):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)  # every read is well within httpx's timeout

    client = await client_for(drip, timeout=5.0, deadline=1.0, retry=RetryPolicy(server_error_attempts=2))
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        await client.list_integrations()
    assert caught.value.code == TIMEOUT
    assert "within 1 s" in caught.value.message
    assert time.monotonic() - started < 4  # two attempts of 1 s, not 200 s of dripping


async def test_a_huge_declared_body_is_refused_without_reading_it(client_for) -> None:  # type: ignore[no-untyped-def]
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n["
        )
        await writer.drain()
        await asyncio.sleep(5)

    client = await client_for(huge)
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        await client.list_integrations()
    assert caught.value.code == INVALID_RESPONSE and "larger than 32 MiB" in caught.value.message
    assert time.monotonic() - started < 2


async def test_an_endless_body_is_cut_at_the_bound(client_for) -> None:  # type: ignore[no-untyped-def]
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 65536
        for _ in range(200):  # 12.5 MiB offered; the bound below is 1 MiB
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()

    client = await client_for(endless, max_body_bytes=1024 * 1024)
    with pytest.raises(ApiError) as caught:
        await client.list_integrations()
    assert caught.value.code == INVALID_RESPONSE and "larger than" in caught.value.message


@pytest.mark.parametrize(
    "body, words",
    [
        (b'{"_links": {"self": {}}, "items": [', "not JSON"),
        (b'{"items": "a string"}', "does not match"),
        (b"<html><body>502 from a proxy</body></html>", "not JSON"),
        (b"", "not JSON"),
    ],
)
async def test_truncated_and_wrong_bodies_say_what_came(client_for, body: bytes, words: str) -> None:  # type: ignore[no-untyped-def]
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, body))
        await writer.drain()

    client = await client_for(answer)
    with pytest.raises(ApiError) as caught:
        await client.list_integrations()
    assert caught.value.code == INVALID_RESPONSE and words in caught.value.message


async def test_an_error_message_is_bounded_and_escaped_at_the_terminal(client_for) -> None:  # type: ignore[no-untyped-def]
    evil = "\x1b]52;c;ZWNobyBwd25lZA==\x07 \x1b[2J \u202e \udc9b " + "x" * 5000

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = json.dumps({"code": "forbidden", "message": evil}).encode()
        writer.write(response(403, body))
        await writer.drain()

    client = await client_for(answer)
    with pytest.raises(ApiError) as caught:
        await client.list_integrations()
    message = caught.value.message
    assert len(message) <= MAX_MESSAGE_CHARS + 10
    shown = literal(str(caught.value))
    assert "\x1b" not in shown and "\u202e" not in shown and "\\x1b]52" in shown
    shown.encode("utf-8")  # a lone surrogate is spelled out, printing it cannot raise


async def test_a_lone_surrogate_in_a_name_parses_and_shows_escaped(client_for) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import integration_body

    item = integration_body(name="evil \udc9b name")
    body = json.dumps({"_links": {"self": {"href": "/x"}}, "items": [item]}).encode()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, body))
        await writer.drain()

    client = await client_for(answer)
    listing = await client.list_integrations()
    assert literal(listing.items[0].name) == "evil \\udc9b name"
