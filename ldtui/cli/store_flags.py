"""The flags that name a store, shared by ``ldtui inspect`` and ``ldtui doctor``: a store given
by its options (``--store`` with ``--redis-url`` or ``--table`` …) or an integration
(``--integration P/E/KIND``), parsed into the services' ``DirectStore`` / ``IntegrationRef``,
and the one ``UsageError`` both commands turn into exit 64. Services load only when used."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ldtui.services.inspect import DirectStore, IntegrationRef

# The options of a store given with --store (not --prefix: each command says what it means).
STORE_OPTIONS = ("redis_url", "redis_password_env", "table", "region", "endpoint_url", "aws_profile")


class UsageError(Exception):
    """A flag (named in the message) that cannot be used as given: exit 64."""


class _Flags(Protocol):
    """What ``add_argument_group`` returns (its class is argparse's private one)."""

    def add_argument(self, *names: str, **options: Any) -> Any: ...


def add_store_options(group: _Flags, *, redis_url_help: str, password_help: str) -> None:
    """``--redis-url`` … ``--aws-profile`` (``--store``, ``--integration`` and ``--prefix`` are
    each command's own: their words differ)."""
    group.add_argument("--redis-url", metavar="URL", help=redis_url_help)
    group.add_argument("--redis-password-env", metavar="VAR", help=password_help)
    group.add_argument("--table", metavar="T", help="DynamoDB table")
    group.add_argument("--region", metavar="R", help="AWS region")
    group.add_argument("--endpoint-url", metavar="U", help="DynamoDB endpoint (a local DynamoDB, moto)")
    group.add_argument("--aws-profile", metavar="NAME", help="AWS profile")


def direct_store(args: argparse.Namespace) -> DirectStore:
    """The store ``--store`` and its options describe (checked when it is opened)."""
    from ldtui.services.inspect import DirectStore

    return DirectStore(
        kind=args.store,
        redis_url=args.redis_url,
        redis_password_env=args.redis_password_env,
        table=args.table,
        region=args.region,
        endpoint_url=args.endpoint_url,
        aws_profile=args.aws_profile,
        prefix=args.prefix,
        timeout=args.timeout,
    )


def integration_ref(text: str) -> IntegrationRef:
    """``--integration P/E/KIND``, or a ``UsageError`` naming the flag."""
    from ldtui.services.inspect import IntegrationRef, SourceError

    try:
        return IntegrationRef.parse(text)
    except SourceError as exc:
        raise UsageError(f"--integration {exc}") from None


def option_error(exc: Exception) -> UsageError:
    """A ``StoreOptionError`` (its ``option`` is the field) as a ``UsageError`` naming the flag."""
    option = str(getattr(exc, "option", ""))
    return UsageError(f"--{option.replace('_', '-')}: {exc}")
