"""``ldtui emulator``: LaunchDarkly's API for big segment store integrations, on this machine,
with a syncer writing local Redis and DynamoDB stores as LaunchDarkly does."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.parser import Subcommands
from ldtui.cli.values import count, seconds, tcp_port


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "emulator",
        help="serve an emulation of LaunchDarkly's API, with stores kept in sync",
        description="Serve LaunchDarkly's REST API for big segment store integrations on this "
        "machine, with seeded projects, segments and integrations, and a syncer writing "
        "Redis and DynamoDB stores as LaunchDarkly does. Exit code: 69 when the port or a "
        "local store is unavailable.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=tcp_port(allow_any=True), default=8765, help="port (default 8765; 0 = any free)"
    )
    p.add_argument(
        "--token", help="the read/write access token to accept (default: the emulator's well-known one)"
    )
    p.add_argument("--seed", type=count(), default=1, help="seed of the generated data (default 1)")
    p.add_argument(
        "--contexts", type=count(maximum=1_000_000), default=5000, help="contexts in the largest environment"
    )
    p.add_argument("--redis-url", help="Redis for every Redis integration (default: start one)")
    p.add_argument("--dynamodb-endpoint", help="DynamoDB endpoint (default: start moto)")
    p.add_argument(
        "--create-tables",
        action="store_true",
        help="create missing DynamoDB tables at --dynamodb-endpoint",
    )
    p.add_argument(
        "--rate-limit",
        type=count(minimum=1),
        metavar="N",
        help="requests per route per 10 s window (default: unlimited)",
    )
    p.add_argument("--retry-after", action="store_true", help="send Retry-After with 429s")
    p.add_argument(
        "--sync-interval",
        type=seconds(),
        default=1.0,
        metavar="S",
        help="seconds between sync passes (default 1)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.lifeline import Lifeline, TerminalLost
    from ldtui.cli.output import error
    from ldtui.emulator.local_stores import stop_all
    from ldtui.emulator.runtime import bind_socket

    # SIGTERM, SIGHUP or a closed terminal, at any moment (while stores start too): unwind
    # through the finally blocks below, which stop the stores; uvicorn handles SIGTERM itself
    # once it serves.
    # A server may take its time to stop its stores (moto's HTTP server polls twice a second):
    # ten seconds before the watchdog ends it regardless. Under nohup it outlives its terminal.
    with Lifeline(grace=10.0, needs_terminal=False) as life:
        life.last_resort.append(stop_all)
        try:
            try:
                sock = bind_socket(args.host, args.port)
            except OSError as exc:
                error("ldtui emulator", f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
                return ExitCode.UNAVAILABLE
            started: list[Any] = []
            try:
                return serve(args, sock, started)
            finally:
                sock.close()
                for s in reversed(started):
                    s.stop()
        except (KeyboardInterrupt, TerminalLost):
            print("ldtui emulator: stopped", flush=True)
            return ExitCode.OK


def serve(args: argparse.Namespace, sock: Any, started: list[Any]) -> ExitCode:
    from ldtui.cli.output import error
    from ldtui.core.net import is_loopback
    from ldtui.core.secrets import mask_secret, redact_url
    from ldtui.core.text import literal, literal_lines
    from ldtui.emulator.local_stores import LocalDynamoDB, LocalRedis, LocalStoreError
    from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings
    from ldtui.emulator.seed import DEFAULT_TOKEN, READ_ONLY_TOKEN, SeedOptions, build_state
    from ldtui.emulator.syncer import Endpoints

    try:
        redis_url = args.redis_url
        if redis_url is None:
            redis = LocalRedis().start()
            started.append(redis)
            redis_url = redis.url
        endpoint = args.dynamodb_endpoint
        create = args.create_tables
        if endpoint is None:
            ddb = LocalDynamoDB().start()
            started.append(ddb)
            endpoint, create = ddb.endpoint, True
    except LocalStoreError as exc:
        error("ldtui emulator", exc)
        return ExitCode.UNAVAILABLE

    given = args.token or DEFAULT_TOKEN
    tokens = {given: "writer", READ_ONLY_TOKEN: "reader"}
    state = build_state(SeedOptions(seed=args.seed, contexts=args.contexts), tokens=tokens)
    state.rate_limits.per_route = args.rate_limit
    state.rate_limits.retry_after = args.retry_after
    runtime = EmulatorRuntime(
        state,
        Endpoints(redis_url=redis_url, dynamodb_endpoint=endpoint, create_tables=create),
        SyncSettings(interval=args.sync_interval),
    )
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    # The well-known demo token is shown (it is public); one given with --token is a secret.
    token = given if given == DEFAULT_TOKEN else f"{mask_secret(given)} (the one given with --token)"
    print(f"ldtui emulator: LaunchDarkly API at http://{literal(host)}:{port:d}", flush=True)
    print(f"  access token (read/write): {literal(token)}")
    print(f"  access token (read-only):  {literal(READ_ONLY_TOKEN)}")
    print(f"  Redis stores:    {literal(redact_url(redis_url))}  (prefix: each environment's client-side ID)")
    print(f"  DynamoDB stores: {literal(redact_url(endpoint))}")
    print("  Ctrl-C stops it.")
    print()
    from ldtui.emulator.paste import ready_config

    print(
        literal_lines(
            ready_config(
                state,
                api_url=f"http://{host}:{port}",
                redis_url=redact_url(redis_url),
                dynamodb_endpoint=redact_url(endpoint),
                token=given if given == DEFAULT_TOKEN else "<the token given with --token>",
            )
        ),
        end="",
        flush=True,
    )
    if not is_loopback(args.host):
        error(
            "warning",
            f"listening on {args.host}, reachable from other machines; the tokens above are public knowledge",
        )

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(runtime.asgi_app(), log_level="warning", lifespan="on"))
    asyncio.run(server.serve(sockets=[sock]))
    print("ldtui emulator: stopped", flush=True)
    return ExitCode.OK
