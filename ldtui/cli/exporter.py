"""``ldtui exporter``: the health of every big segment store as Prometheus metrics, collected
in the background at ``status.poll_interval`` with the same targets, verdicts and reader
thresholds as ``ldtui status`` (see ``ldtui.services.exporter``).

It serves ``/metrics`` (Prometheus text, or OpenMetrics when the scraper asks for it) and
``/healthz``. There is no authentication: it listens on loopback unless told otherwise, and
says so when it is."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.flags import setting
from ldtui.cli.parser import Subcommands

if TYPE_CHECKING:
    import socket

    from ldtui.config import Config
    from ldtui.core.net import ListenAddress

PROG = "ldtui exporter"


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "exporter",
        help="serve big segment store health as Prometheus metrics (/metrics, /healthz)",
        description="Collect what `ldtui status` checks every status.poll_interval, in the "
        "background, and serve it as Prometheus metrics on /metrics (OpenMetrics when the "
        "scraper asks for it) and the exporter's own health on /healthz. Listens on "
        "exporter.listen (default 127.0.0.1:9786). Exit code: 64 a bad --listen, 69 the "
        "address cannot be listened on, 78 configuration error, 130 Ctrl-C, 143 SIGTERM.",
    )
    p.add_argument(
        "--listen",
        type=setting("exporter", "listen"),
        metavar="HOST:PORT",
        help="the address to serve on (default: exporter.listen, 127.0.0.1:9786; port 0 = any "
        "free port; IPv6 in brackets, [::1]:9786)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.lifeline import Lifeline, TerminalLost
    from ldtui.cli.output import error, say_config_error
    from ldtui.config import load_config
    from ldtui.core.net import parse_listen

    cfg = load_config(file=args.config)
    problems = cfg.problems(args.profile)
    for problem in problems:
        say_config_error(problem)
    if problems:
        return ExitCode.CONFIG
    address = parse_listen(args.listen or cfg.settings.exporter.listen)
    # SIGTERM or SIGHUP at any moment: unwind through the finally blocks (the collection is
    # stopped, its connections closed); uvicorn handles them itself once it serves.
    with Lifeline(grace=10.0, needs_terminal=False):
        try:
            try:
                sock = bind(address)
            except OSError as exc:
                error(PROG, f"cannot listen on {address}: {exc.strerror or exc}")
                return ExitCode.UNAVAILABLE
            try:
                serve(cfg, args.profile, address, sock)
            finally:
                sock.close()
        except KeyboardInterrupt:
            return ExitCode.INTERRUPTED
        except TerminalLost as lost:
            return ExitCode.HANGUP if lost.code == ExitCode.HANGUP else ExitCode.TERMINATED
    return ExitCode.OK


def bind(address: ListenAddress) -> socket.socket:
    import socket

    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and without it a
    # response written as headers then body waits out the scraper's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address.host, address.port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def off_loopback(sock: socket.socket) -> bool:
    """Whether the socket listens beyond this host: judged by the address the kernel bound (a
    name, ``localhost`` too, by what it resolved to), loopback however it is spelled (an
    IPv4-mapped ``::ffff:127.0.0.1`` included)."""
    import ipaddress

    ip = ipaddress.ip_address(str(sock.getsockname()[0]).split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_loopback


def serve(cfg: Config, profile: str | None, address: ListenAddress, sock: socket.socket) -> None:
    import asyncio

    import uvicorn

    from ldtui import __version__
    from ldtui.cli.output import note
    from ldtui.core.net import ListenAddress
    from ldtui.services.exporter import Exporter, open_status_service

    def say(text: str) -> None:
        note(PROG, text)

    interval = cfg.settings.status.poll_interval
    exporter = Exporter(
        lambda: open_status_service(cfg, profile, say), interval, version=__version__, note=say
    )
    bound = ListenAddress(address.host, int(sock.getsockname()[1]))
    if off_loopback(sock):
        say(
            f"WARNING: listening on {bound}, not loopback. There is no authentication: anyone who "
            "can reach this port reads your projects, environments and integration names and "
            "how each store is doing (never a secret). Prefer loopback behind a proxy that "
            "authenticates, or a network only Prometheus reaches."
        )
    say(f"serving http://{bound}/metrics and /healthz; collecting every {interval:g} s (Ctrl-C stops it)")
    exporter.start()
    try:
        config = uvicorn.Config(exporter.asgi_app(), log_level="warning", lifespan="off", access_log=False)
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    finally:
        exporter.stop()
        say("stopped")
