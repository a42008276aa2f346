"""``ldtui emulator``: LaunchDarkly's API for big segment store integrations, on this machine."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from ldtui.core.net import is_loopback
from ldtui.emulator.seed import DEFAULT_TOKEN, READ_ONLY_TOKEN, SeedOptions, build_state


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    p.add_argument("--token", default=DEFAULT_TOKEN, help="the read/write access token to accept")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    p.add_argument("--contexts", type=int, default=5000, help="contexts in the largest environment")
    p.add_argument("--redis-url", help="Redis for every Redis integration (default: start one)")
    p.add_argument("--dynamodb-endpoint", help="DynamoDB endpoint (default: start moto)")
    p.add_argument(
        "--create-tables",
        action="store_true",
        help="create missing DynamoDB tables at --dynamodb-endpoint",
    )
    p.add_argument(
        "--rate-limit",
        type=int,
        metavar="N",
        help="requests per route per 10 s window (default: unlimited)",
    )
    p.add_argument("--retry-after", action="store_true", help="send Retry-After with 429s")
    p.add_argument(
        "--sync-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between sync passes (default 1)",
    )


def run(args: argparse.Namespace) -> int:
    # SIGTERM before uvicorn takes over the signals (while stores start) must still clean up.
    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("ldtui emulator: stopped", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from ldtui.emulator.runtime import bind_socket

    if args.port < 0 or args.port > 65535:
        print("ldtui emulator: --port must be from 0 to 65535", file=sys.stderr)
        return 64
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(
            f"ldtui emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 69
    started: list[Any] = []
    try:
        return _serve(args, sock, started)
    finally:
        sock.close()
        for s in reversed(started):
            s.stop()


def _serve(args: argparse.Namespace, sock: Any, started: list[Any]) -> int:
    from ldtui.emulator.local_stores import LocalDynamoDB, LocalRedis, LocalStoreError
    from ldtui.emulator.runtime import EmulatorRuntime, SyncSettings
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
        print(f"ldtui emulator: {exc}", file=sys.stderr)
        return 69

    tokens = {args.token: "writer", READ_ONLY_TOKEN: "reader"}
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
    print(f"ldtui emulator: LaunchDarkly API at http://{host}:{port}", flush=True)
    print(f"  access token (read/write): {args.token}")
    print(f"  access token (read-only):  {READ_ONLY_TOKEN}")
    print(f"  Redis stores:    {redis_url}  (prefix: each environment's client-side ID)")
    print(f"  DynamoDB stores: {endpoint}")
    print("  Ctrl-C stops it.", flush=True)
    if not is_loopback(args.host):
        print(
            f"warning: listening on {args.host}, reachable from other machines; the tokens "
            "above are public knowledge",
            file=sys.stderr,
        )

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(runtime.asgi_app(), log_level="warning", lifespan="on"))
    asyncio.run(server.serve(sockets=[sock]))
    print("ldtui emulator: stopped", flush=True)
    return 0
