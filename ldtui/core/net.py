"""Addresses: pure helpers for the servers ldtui starts (the emulator, ``ldtui serve``,
``ldtui exporter``)."""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); names are not resolved."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ListenAddress(NamedTuple):
    host: str
    port: int  # 0: any free port

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


_HOST_NAME = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def parse_listen(text: str) -> ListenAddress:
    """``HOST:PORT`` as servers are told where to listen: ``127.0.0.1:9786``, ``[::1]:9786``,
    ``0.0.0.0:9786``, ``localhost:9786``; port 0 means any free port. ``ValueError`` says what
    is wrong and what to write instead."""
    example = 'HOST:PORT, e.g. "127.0.0.1:9786" (IPv6 in brackets: "[::1]:9786")'
    if len(text) > 300:
        raise ValueError(f"too long for an address; expected {example}")
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            raise ValueError(f"expected {example}")
        host, port = text[1:end], text[end + 2 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"not an IPv6 address between the brackets; expected {example}") from None
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f"expected {example}")
        if ":" in host:
            raise ValueError(f"an IPv6 address goes in brackets; expected {example}")
        if not _HOST_NAME.match(host) or len(host) > 253:
            raise ValueError(f"not a host name or IP address; expected {example}")
    if not (port.isascii() and port.isdigit()) or len(port) > 5 or int(port) > 65535:
        raise ValueError(f"the port must be a number from 0 to 65535; expected {example}")
    return ListenAddress(host, int(port))
