"""The exporter warns by the address it actually listens on, as the kernel bound it: a name
(``localhost`` included) is judged by what it resolved to, never trusted by its spelling;
loopback spelled another way (``127.1``, ``LOCALHOST``, ``::ffff:127.0.0.1``) is loopback."""

from __future__ import annotations

import socket

import pytest

from ldtui.cli.exporter import bind, off_loopback
from ldtui.core.net import parse_listen


@pytest.mark.parametrize(
    ("listen", "warns"),
    [
        ("127.0.0.1:0", False),
        ("127.1:0", False),
        ("LOCALHOST:0", False),
        ("localhost:0", False),
        ("[::1]:0", False),
        ("0.0.0.0:0", True),
        ("0:0", True),
    ],
)
def test_the_warning_follows_the_bound_address(listen: str, warns: bool) -> None:
    sock = bind(parse_listen(listen))
    try:
        assert off_loopback(sock) is warns, (listen, sock.getsockname())
    finally:
        sock.close()


def test_an_ipv4_mapped_loopback_is_loopback() -> None:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::ffff:127.0.0.1", 0))
        assert off_loopback(sock) is False
    finally:
        sock.close()


def test_an_address_of_this_host_that_is_not_loopback_warns() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: only the route's source address
        here = probe.getsockname()[0]
    except OSError:
        pytest.skip("no route off this host")
    finally:
        probe.close()
    if here.startswith("127."):
        pytest.skip("only loopback here")
    sock = bind(parse_listen(f"{here}:0"))
    try:
        assert off_loopback(sock) is True
    finally:
        sock.close()
