"""``ldtui doctor``: every requirement of LaunchDarkly's docs for a big segment store, checked,
one line per check (id, PASS / WARN / FAIL / SKIP, what was found, the fix), and who writes
which prefix into the store.

Exit codes: 0 every check PASS or SKIP, 1 any WARN, 2 any FAIL, 64 usage error, 78
configuration error. Read-only unless ``--write-probe``. The API's requests together end within
``--api-deadline`` (``DoctorService.api_deadline``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ldtui.cli.exit_codes import ExitCode
from ldtui.cli.flags import setting
from ldtui.cli.parser import Subcommands
from ldtui.cli.store_flags import (
    STORE_OPTIONS,
    UsageError,
    add_store_options,
    direct_store,
    integration_ref,
    option_error,
)
from ldtui.core.text import literal

if TYPE_CHECKING:
    from ldtui.core.doctor import Check
    from ldtui.services.inspect import DirectStore, IntegrationRef

PROG = "ldtui doctor"


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "doctor",
        help="check what LaunchDarkly's docs require of a big segment store, and who writes it",
        description="One line per check: its id, PASS / WARN / FAIL / SKIP, what was found and the "
        "fix. Targets: --integration P/E/KIND, --store with its options, or every integration and "
        "configured store. Read-only unless --write-probe. Exit code: 0 all pass (or skip), 1 any "
        "warning, 2 any failure, 64 usage error, 78 configuration error.",
    )
    where = p.add_argument_group("which store (default: every integration and configured store)")
    where.add_argument("--integration", metavar="PROJECT/ENV/KIND", help="one integration")
    where.add_argument("--store", choices=("redis", "dynamodb"), help="a store given by its options")
    add_store_options(
        where,
        redis_url_help="redis://[user@]host:port/db (or rediss://)",
        password_help="ldtui's Redis password, from this variable",
    )
    where.add_argument(
        "--prefix", metavar="P", help="the expected prefix (an integration's: its client-side ID)"
    )
    writer = p.add_argument_group("what LaunchDarkly is given (with --store)")
    writer.add_argument("--writer-user", metavar="USER", help="the Redis user LaunchDarkly writes as")
    writer.add_argument(
        "--writer-password-env", metavar="VAR", help="that user's password, from this variable"
    )
    writer.add_argument("--admin-user", metavar="USER", help="a Redis user allowed ACL, INFO, CONFIG GET")
    writer.add_argument(
        "--admin-password-env", metavar="VAR", help="that user's password, from this variable"
    )
    writer.add_argument("--role-arn", metavar="ARN", help="the IAM role LaunchDarkly assumes (DynamoDB)")
    writer.add_argument("--external-id", metavar="ID", help="the integration's External ID (DynamoDB)")
    p.add_argument(
        "--write-probe",
        action="store_true",
        help="check the Redis writer's ACL by running its commands as the writer on a key no SDK "
        "reads (removed afterwards); without it, nothing is written",
    )
    p.add_argument("--scan", action="store_true", help="DynamoDB: scan the whole table for prefixes")
    p.add_argument("--json", action="store_true", help='print {"checks": [...], "exitCode": N}')
    p.add_argument(
        "--timeout",
        type=setting("redis", "timeout"),
        default=3.0,
        metavar="S",
        help="store timeout in seconds with --store (default 3)",
    )
    p.add_argument(
        "--api-deadline",
        type=setting("status", "poll_interval"),
        metavar="SECONDS",
        help="all requests to LaunchDarkly's API together end within SECONDS (default: 3 times "
        "the profile's timeout); past it, the API's checks not done say so, and the stores are "
        "still checked",
    )
    p.set_defaults(func=run)


API_DEADLINE_FIX = "--api-deadline SECONDS raises it"


@dataclass(frozen=True)
class DoctorRequest:
    integration: IntegrationRef | None
    direct: DirectStore | None
    writer_user: str | None
    writer_password_env: str | None
    admin_user: str | None
    admin_password_env: str | None
    role_arn: str | None
    external_id: str | None
    write_probe: bool
    scan: bool
    json: bool
    config: str | None
    profile: str | None
    api_deadline: float | None = None


_DIRECT_ONLY = (
    "writer_user",
    "writer_password_env",
    "admin_user",
    "admin_password_env",
    "role_arn",
    "external_id",
)


def request(args: argparse.Namespace) -> DoctorRequest:
    if args.store and args.integration:
        raise UsageError("choose one target: --store redis|dynamodb, or --integration P/E/KIND")
    if not args.store:
        for option in (*STORE_OPTIONS, *_DIRECT_ONLY):
            if getattr(args, option):
                raise UsageError(
                    f"--{option.replace('_', '-')} describes a store given with --store; an integration's "
                    "comes from the API and [stores]"
                )
    ref = integration_ref(args.integration) if args.integration else None
    direct = direct_store(args) if args.store else None
    if direct is None and args.prefix:
        raise UsageError("--prefix goes with --store (an integration's prefix is its client-side ID)")
    return DoctorRequest(
        integration=ref,
        direct=direct,
        writer_user=args.writer_user,
        writer_password_env=args.writer_password_env,
        admin_user=args.admin_user,
        admin_password_env=args.admin_password_env,
        role_arn=args.role_arn,
        external_id=args.external_id,
        write_probe=args.write_probe,
        scan=args.scan,
        json=args.json,
        config=args.config,
        profile=args.profile,
        api_deadline=args.api_deadline,
    )


def run(args: argparse.Namespace) -> ExitCode:
    from ldtui.cli.output import error

    try:
        req = request(args)
        return asyncio.run(_doctor(req))
    except UsageError as exc:
        error(PROG, exc)
        return ExitCode.USAGE


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        print(progress_line(text, width=_columns()), end="", file=sys.stderr, flush=True)


def progress_line(text: str, *, width: int) -> str:
    """The progress, escaped and cut to one terminal line: a longer one would wrap, and the
    next ``\r\x1b[K`` would clear only its last row."""
    return f"\r\x1b[K{literal(text)[: max(width - 1, 1)]}"


def _columns() -> int:
    import shutil

    return shutil.get_terminal_size().columns


async def _doctor(req: DoctorRequest) -> ExitCode:
    from ldtui.api.errors import ApiError
    from ldtui.cli.output import error, note
    from ldtui.config import load_config
    from ldtui.core.doctor import exit_code
    from ldtui.services.connect import connect
    from ldtui.services.doctor import Credentials, DoctorService
    from ldtui.services.inspect import SourceError, StoreOptionError

    cfg = load_config(file=req.config)  # ConfigError: exit 78, from main
    client: Any = None
    if req.direct is None or _has_profile(cfg, req.profile):
        client = connect(cfg, req.profile)  # a profile without a token: exit 78
    try:
        service = DoctorService(
            client,
            cfg,
            write_probe=req.write_probe,
            scan=req.scan,
            api_deadline=req.api_deadline,
            api_deadline_fix=API_DEADLINE_FIX,
        )
        checks: list[Check] = []
        if req.direct is not None:
            writer = Credentials(
                req.writer_user, *_secret(cfg.environ, "writer_password_env", req.writer_password_env)
            )
            admin = None
            if req.admin_user or req.admin_password_env:
                admin = Credentials(
                    req.admin_user, *_secret(cfg.environ, "admin_password_env", req.admin_password_env)
                )
            try:
                targets = [
                    service.direct_target(
                        req.direct,
                        writer=writer,
                        admin=admin,
                        role_arn=req.role_arn,
                        external_id=req.external_id,
                    )
                ]
            except StoreOptionError as exc:
                raise option_error(exc) from None
        else:
            try:
                targets = await service.targets(req.integration)
            except SourceError as exc:
                raise UsageError(f"--integration {exc}") from None
            except ApiError as exc:
                error(PROG, exc)
                checks.append(_api_failure(exc))
                # Every configured store is still checked; for one integration, the store
                # configured for its environment (what can be checked without the API).
                if req.integration is None:
                    targets = await service.offline_targets()
                else:
                    targets, why = await service.offline_integration_target(req.integration)
                    if why is not None:
                        note(PROG, why)
        checks += await service.run(targets, progress=_progress)
    finally:
        if client is not None:
            await client.aclose()
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    code = ExitCode(exit_code(checks))
    if req.json:
        print(json.dumps({"checks": [c.to_json() for c in checks], "exitCode": int(code)}, indent=2))
    else:
        print(text_report(checks, width=_columns() if sys.stdout.isatty() else None))
    return code


def _has_profile(cfg: Any, profile: str | None) -> bool:
    from ldtui.config import ConfigError

    try:
        cfg.profile(profile)
        cfg.token(profile)
    except ConfigError:
        return False
    return True


def _secret(environ: Any, option: str, var: str | None) -> tuple[Any, str]:
    from pydantic import SecretStr

    if not var:
        return None, ""
    if var not in environ:
        raise UsageError(f"--{option.replace('_', '-')}: ${var} is not set")
    return SecretStr(environ[var]), f"${var}"


def _api_failure(exc: Any) -> Check:
    from ldtui.core.doctor import Check

    return Check(
        "api.integration",
        "launchdarkly",
        "FAIL",
        f"the integrations could not be listed: {exc.summary}",
        exc.hint or "check the profile's token and base URL (ldtui config)",
    )


def text_report(checks: list[Check], *, width: int | None = None) -> str:
    """One line per check: id, result, target, what was found; the fix on the next line.

    With ``width`` (a terminal's), what was found and the fix are wrapped between words under
    their column, so the terminal never cuts a word at its edge; without it (piped), each
    stays on one line for grep."""
    if not checks:
        return "no targets: configure a profile (integrations) or [stores]"
    id_width = max(len(c.id) for c in checks)
    lines: list[str] = []

    def add(lead: str, text: str, indent: int) -> None:
        if width is None:
            lines.append(lead + text)
            return
        # Never narrower than 20 columns of text: a narrower terminal wraps those lines itself.
        text_width = max(width - indent, 20)
        wrapped = textwrap.wrap(text, text_width, break_on_hyphens=False) or [""]
        lines.append(lead + wrapped[0])
        lines.extend(" " * indent + rest for rest in wrapped[1:])

    target = None
    for c in checks:
        if c.target != target:
            target = c.target
            add("== ", literal(target), 3)
        column = id_width + 2 + 4 + 2
        add(f"{c.id:<{id_width}}  {c.result:<4}  ", literal(c.found), column)
        if c.fix and c.result in ("WARN", "FAIL"):
            add(f"{'':<{column}}fix: ", literal(c.fix), column + 5)
    counts = {r: sum(1 for c in checks if c.result == r) for r in ("PASS", "WARN", "FAIL", "SKIP")}
    lines.append("")
    lines.append(", ".join(f"{n} {r}" for r, n in counts.items()))
    return "\n".join(lines)
