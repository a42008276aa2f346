"""``ldtui serve``: textual-serve on loopback by default, a loud warning anywhere else."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import pytest

from ldtui.core.net import is_loopback

pytestmark = pytest.mark.network


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ldtui", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # No configuration of the person running the tests: a HOME of its own.
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("LDTUI_", "XDG_CONFIG"))},
            "HOME": tempfile.mkdtemp(prefix="ldtui-serve-"),
        },
    )


def wait_for(url: str, proc: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.time() + 30
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def screen_text(stream: bytes) -> bytes:
    """The terminal output without its escape sequences (styles split a row into spans)."""
    import re

    return re.sub(rb"\x1b\[[0-9;?$]*[A-Za-z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)", b"", stream)


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_serves_the_page_on_loopback_without_a_warning() -> None:
    port = free_port()
    proc = start("--port", str(port))
    try:
        page = wait_for(f"http://127.0.0.1:{port}/", proc)
        assert page.status_code == 200 and "ldtui" in page.text
    finally:
        err = stop(proc)
    assert "WARNING" not in err and f"http://127.0.0.1:{port}" in err


def test_warns_when_bound_beyond_loopback() -> None:
    port = free_port()
    proc = start("--host", "0.0.0.0", "--port", str(port))
    try:
        wait_for(f"http://127.0.0.1:{port}/", proc)
    finally:
        err = stop(proc)
    assert "WARNING: listening on 0.0.0.0, not loopback" in err and "no authentication" in err


def test_loopback_detection_and_bad_port() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("example.com")
    run = subprocess.run(
        [sys.executable, "-m", "ldtui", "serve", "--port", "70000"], capture_output=True, text=True
    )
    assert run.returncode == 64 and "not a TCP port" in run.stderr and "Traceback" not in run.stderr


async def test_a_browser_session_runs_ldtui() -> None:
    """What the page's JavaScript does: open the websocket; textual-serve starts `ldtui --demo`
    with the web driver and streams its screen."""
    import asyncio

    import aiohttp

    port = free_port()
    proc = start("--port", str(port), "--demo")
    try:
        await asyncio.to_thread(wait_for, f"http://127.0.0.1:{port}/", proc)
        seen = b""
        url = f"ws://127.0.0.1:{port}/ws?width=120&height=36"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while b"Prod Redis store" not in screen_text(seen) and loop.time() < deadline:
                try:
                    msg = await ws.receive(timeout=5)
                except TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.BINARY:
                    seen += msg.data
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
            await ws.send_str('["stdin", "q"]')
        assert b"Prod Redis store" in screen_text(seen), screen_text(seen)[-500:]
    finally:
        stop(proc)
