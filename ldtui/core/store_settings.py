"""How to reach a big segment store: the one model per store kind.

The configuration file validates ``[stores."…"]`` entries with these models, the command line
builds them from its options, and the readers take them as they are (plus a password resolved
from its reference). Validation parses a Redis URL with the same function the reader connects
with, so a store that passes ``ldtui config`` is one the reader can open, and one that fails is
refused when the configuration is loaded, naming the field.

Pure: no I/O (files named here, such as ``ca_file``, are opened by the reader).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# A context's include or exclude set holds the refs of the big segments it is in: a handful in
# practice. A set above this many members is not read (it is reported as unreadable).
DEFAULT_MAX_MEMBERS = 10_000
DEFAULT_SENTINEL_PORT = 26379
DEFAULT_REDIS_PORT = 6379

REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")
_URL_HINT = (
    "if the password holds one of / ? # @ : percent-encode it (%2F %3F %23 %40 %3A), or better, "
    "take it out of the URL and use password_env or password_file"
)


class StoreSettingError(ValueError):
    """A store setting that cannot work. The text names the part and never holds a secret."""


def _invalid(exc: StoreSettingError, prefix: str = "") -> PydanticCustomError:
    """The error for pydantic, with our text as its whole message (no "Value error, ")."""
    return PydanticCustomError("store_setting", "{reason}", {"reason": prefix + str(exc)})


# --- Redis URLs -----------------------------------------------------------------------------------

# The query parameters ldtui understands, with redis-py's names (``redis.from_url``).
_SSL_CERT_REQS = ("none", "optional", "required")
_QUERY_PARAMETERS = (
    "db",  # the database number, like the path /N
    "socket_timeout",  # seconds for each read in total (wins over the store's timeout)
    "socket_connect_timeout",  # seconds to connect (wins over the store's timeout)
    "ssl_cert_reqs",  # none | optional | required
    "ssl_ca_certs",  # like ca_file
    "ssl_ca_path",  # a directory of CA certificates
    "ssl_certfile",  # like cert_file
    "ssl_keyfile",  # like key_file
    "ssl_check_hostname",  # like check_hostname
)
_TLS_PARAMETERS = (
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_ca_path",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
)
_FALSE = ("0", "f", "false", "n", "no", "off")
_TRUE = ("1", "t", "true", "y", "yes", "on")


@dataclass(frozen=True)
class RedisEndpoint:
    """Where and how the Redis reader connects: a Redis URL parsed, merged with its store's
    other settings. Built by ``RedisStore.endpoint``; ``repr`` and ``description`` never show
    the password."""

    tls: bool = False
    host: str = "127.0.0.1"
    port: int = DEFAULT_REDIS_PORT
    unix_path: str | None = None
    # Sentinel: the sentinels' addresses and the monitored master's name.
    sentinels: tuple[tuple[str, int], ...] = ()
    service_name: str | None = None
    db: int = 0
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    ca_file: str | None = None
    ca_path: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    cert_reqs: Literal["none", "optional", "required"] = "required"
    check_hostname: bool = True
    connect_timeout: float = 3.0
    timeout: float = 3.0
    # The URL's own values, kept to check them against the store's fields.
    url_options: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def description(self) -> str:
        """A URL for messages: never the password."""
        user = f"{self.username}@" if self.username else ""
        if self.unix_path:
            return f"unix://{user}{self.unix_path}?db={self.db}"
        scheme = "rediss" if self.tls else "redis"
        if self.sentinels:
            hosts = ",".join(_hostport(h, p) for h, p in self.sentinels)
            return f"{scheme}+sentinel://{user}{hosts}/{self.service_name}/{self.db}"
        return f"{scheme}://{user}{_hostport(self.host, self.port)}/{self.db}"

    def at(self, host: str, port: int) -> RedisEndpoint:
        """The same connection settings for another address (the master a sentinel named)."""
        return replace(self, host=host, port=port, sentinels=(), service_name=None)


def _shown(text: str) -> str:
    """A piece of the URL quoted in a message: short (the password is never passed here)."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _port(text: str | None, default: int, what: str) -> int:
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit():
        raise StoreSettingError(f"the {what} port is not a number ({_URL_HINT})")
    if len(text) > 5 or not 0 < int(text) <= 65535:
        raise StoreSettingError(f"the {what} port {_shown(text)} is out of range (1 to 65535)")
    return int(text)


def _split_hostport(text: str, default_port: int, what: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; never echoes ``text``."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise StoreSettingError(f"the {what} address has an unclosed [ (IPv6 addresses are [::1]:PORT)")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise StoreSettingError(f"the {what} address has text after ]; write [ADDRESS]:PORT")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_raw = text.partition(":")
        port_text = port_text_raw if colon else None
    if not host:
        raise StoreSettingError(f"the {what} address has no host")
    if not re.fullmatch(r"[A-Za-z0-9._:%-]+", host):
        raise StoreSettingError(f"the {what} host is not a host name or an IP address ({_URL_HINT})")
    return host, _port(port_text, default_port, what)


def _timeout_value(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise StoreSettingError(f"URL parameter {name}={_shown(text)} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= 120:
        raise StoreSettingError(
            f"URL parameter {name}={_shown(text)} must be more than 0 and at most 120 seconds"
        )
    return value


def _bool_value(name: str, text: str) -> bool:
    if text.lower() in _FALSE:
        return False
    if text.lower() in _TRUE:
        return True
    raise StoreSettingError(f"URL parameter {name}={_shown(text)} must be true or false")


def _db_value(text: str, where: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 7:
        raise StoreSettingError(f"the database number {_shown(text)} ({where}) is not a whole number")
    return int(text)


def parse_redis_url(url: str) -> RedisEndpoint:
    """Parse a ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://`` or
    ``rediss+sentinel://`` URL, exactly as the reader will use it.

    ``StoreSettingError`` for anything the reader could not use or would silently ignore: an
    unknown scheme, a missing host or socket path, a port out of range, a database number that
    is not one, an unknown or repeated query parameter, a TLS parameter on a plain URL. The
    message names the part that is wrong and never contains the URL or its password.
    """
    if not isinstance(url, str) or not url:
        raise StoreSettingError("the URL is empty")
    if any(c in url for c in "\r\n\t\x00 "):
        raise StoreSettingError("the URL holds spaces or control characters")
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in REDIS_SCHEMES:
        raise StoreSettingError(
            "must start with redis://, rediss:// (TLS), unix:// (a socket), or redis+sentinel:// "
            "/ rediss+sentinel:// (Sentinel)"
        )
    # Split as urlsplit does (the authority ends at the first / ? or #), by hand because
    # urlsplit cannot parse a list of sentinels.
    end = _first(rest, "/?#", 0)
    netloc, after = rest[:end], rest[end:]
    after, hash_sign, _fragment = after.partition("#")
    if hash_sign:
        raise StoreSettingError(f"the URL has a #fragment, which means nothing here ({_URL_HINT})")
    if "@" in after:
        # A password holding / ? or # unencoded: the authority ended inside it. Refusing here also
        # means that nothing after the host (which messages may quote) is part of a password.
        raise StoreSettingError(f"the URL has an @ after its host ({_URL_HINT})")
    path, _, query = after.partition("?")
    userinfo, at, hostinfo = netloc.rpartition("@")
    if not at:
        userinfo, hostinfo = "", netloc
    username: str | None = None
    password: SecretStr | None = None
    if userinfo:
        user_text, colon, pass_text = userinfo.partition(":")
        username = unquote(user_text) or None
        if colon and pass_text:
            password = SecretStr(unquote(pass_text))
    tls = scheme.startswith("rediss")
    ep = RedisEndpoint(tls=tls, username=username, password=password)

    if scheme == "unix":
        if hostinfo:
            raise StoreSettingError(
                "a unix:// URL names a socket path and no host: write unix:///path/to/redis.sock "
                "(three slashes)"
            )
        if not path or path == "/":
            raise StoreSettingError("unix:// needs the socket's path, e.g. unix:///run/redis/redis.sock")
        ep = replace(ep, unix_path=unquote(path), host="", port=0)
        db_from_path = None
    elif scheme.endswith("+sentinel"):
        if not hostinfo:
            raise StoreSettingError(
                "a Sentinel URL needs the sentinels' addresses: redis+sentinel://HOST:26379,HOST:26379/SERVICE/DB"
            )
        sentinels = tuple(
            _split_hostport(part, DEFAULT_SENTINEL_PORT, "sentinel") for part in hostinfo.split(",")
        )
        stripped = path.strip("/")
        parts = stripped.split("/") if stripped else []
        if not parts:
            raise StoreSettingError(
                "a Sentinel URL needs the master's service name: redis+sentinel://HOST:26379/mymaster/0"
            )
        if len(parts) > 2 or not all(parts):
            raise StoreSettingError("a Sentinel URL's path is /SERVICE or /SERVICE/DB")
        ep = replace(ep, sentinels=sentinels, service_name=unquote(parts[0]), host="", port=0)
        db_from_path = parts[1] if len(parts) == 2 else None
    else:
        if not hostinfo:
            raise StoreSettingError(f"{scheme}:// needs a host, e.g. {scheme}://127.0.0.1:6379/0")
        if "," in hostinfo:
            raise StoreSettingError("several hosts in the URL: for Sentinel, use redis+sentinel://")
        host, port = _split_hostport(hostinfo, DEFAULT_REDIS_PORT, "Redis")
        ep = replace(ep, host=host, port=port)
        stripped = path.strip("/")
        if "/" in stripped:
            raise StoreSettingError("the URL's path is the database number: /0, /1, …")
        db_from_path = stripped or None

    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in options:
            raise StoreSettingError(f"URL parameter {_shown(name)} is given twice")
        if name in ("password", "username"):
            raise StoreSettingError(
                f"URL parameter {name}: put the user name before @ and the password in "
                "password_env or password_file"
            )
        if name not in _QUERY_PARAMETERS:
            known = ", ".join(_QUERY_PARAMETERS)
            raise StoreSettingError(f"URL parameter {_shown(name)} is not supported (ldtui knows: {known})")
        options[name] = value
    db = 0
    if db_from_path is not None:
        db = _db_value(db_from_path, "the URL's path")
    if "db" in options:
        query_db = _db_value(options["db"], "db=")
        if db_from_path is not None and query_db != db:
            raise StoreSettingError("the URL names two database numbers (its path and db=); keep one")
        db = query_db
    if ep.unix_path is None and not tls:
        for name in _TLS_PARAMETERS:
            if name in options:
                raise StoreSettingError(
                    f"URL parameter {name} is a TLS setting, but {scheme}:// is plain TCP: use "
                    f"{scheme.replace('redis', 'rediss', 1)}://"
                )
    elif ep.unix_path is not None:
        for name in _TLS_PARAMETERS:
            if name in options:
                raise StoreSettingError(f"URL parameter {name} is a TLS setting; a unix socket has no TLS")
    if "ssl_cert_reqs" in options and options["ssl_cert_reqs"].lower() not in _SSL_CERT_REQS:
        raise StoreSettingError(
            f"URL parameter ssl_cert_reqs={_shown(options['ssl_cert_reqs'])}: use none, optional or required"
        )
    for name in ("socket_timeout", "socket_connect_timeout"):
        if name in options:
            _timeout_value(name, options[name])
    if "ssl_check_hostname" in options:
        _bool_value("ssl_check_hostname", options["ssl_check_hostname"])
    for name in ("ssl_ca_certs", "ssl_ca_path", "ssl_certfile", "ssl_keyfile"):
        if name in options and not options[name]:
            raise StoreSettingError(f"URL parameter {name} is empty")
    return replace(ep, db=db, url_options=tuple(sorted(options.items())))


def redact_redis_url(url: str) -> str:
    """``url`` for display with its password masked, split exactly as ``parse_redis_url``
    splits it (so a list of sentinels, or a password holding / ? # @, is masked too). Never
    returns a password, whatever the input."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "(not a URL)" if "@" in url else url
    end = _first(rest, "/?#", 0)
    after = rest[end:]
    last_at = rest.rfind("@")
    if last_at >= end:
        # The authority ended inside the password (an unencoded / ? or #): mask up to the @.
        user = rest[: _first(rest, ":", 0)] if ":" in rest[:last_at] else ""
        return f"{scheme}://{user}:********@{rest[last_at + 1 :]}"
    userinfo, at, hostinfo = rest[:end].rpartition("@")
    if not at:
        return url
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}://{user}{':********' if colon else ''}@{hostinfo}{after}"


def _first(text: str, chars: str, start: int) -> int:
    positions = [p for p in (text.find(c, start) for c in chars) if p >= 0]
    return min(positions) if positions else len(text)


# --- the models ---------------------------------------------------------------------------------


class _StoreModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedisStore(_StoreModel):
    """A Redis big segment store to read directly."""

    type: Literal["redis"] = "redis"
    url: str
    password_env: str | None = None
    password_file: str | None = None
    # TLS (rediss:// and rediss+sentinel:// only).
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    check_hostname: bool | None = None
    prefix: str | None = None
    timeout: float = Field(default=3.0, gt=0, le=120, allow_inf_nan=False)
    max_members: int = Field(default=DEFAULT_MAX_MEMBERS, ge=1, le=1_000_000)
    # ``ldtui doctor`` only: the user LaunchDarkly writes as (default: the integration's
    # username) and the variable holding its password (the API redacts it); a user allowed
    # ACL DRYRUN, INFO and CONFIG GET for the server's settings (default: the url's).
    writer_username: str | None = None
    writer_password_env: str | None = None
    admin_username: str | None = None
    admin_password_env: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        try:
            parse_redis_url(v)
        except StoreSettingError as exc:
            raise _invalid(exc, "invalid Redis URL: ") from None
        return v

    @field_validator("ca_file", "cert_file", "key_file", "check_hostname")
    @classmethod
    def _tls_only(cls, v: Any, info: ValidationInfo) -> Any:
        try:
            return cls._check_tls_setting(v, info)
        except StoreSettingError as exc:
            raise _invalid(exc) from None

    @staticmethod
    def _check_tls_setting(v: Any, info: ValidationInfo) -> Any:
        url = info.data.get("url")
        if v is None or url is None:
            return v
        parsed = parse_redis_url(url)
        if parsed.unix_path is not None:
            raise StoreSettingError(f"{info.field_name} is a TLS setting; a unix socket has no TLS")
        if not parsed.tls:
            raise StoreSettingError(
                f"{info.field_name} is a TLS setting, but the URL is plain TCP: use rediss:// "
                "(or rediss+sentinel://)"
            )
        same = {"ca_file": "ssl_ca_certs", "cert_file": "ssl_certfile", "key_file": "ssl_keyfile"}
        options = dict(parsed.url_options)
        twin = same.get(info.field_name or "", "ssl_check_hostname")
        if twin in options:
            url_value: Any = options[twin]
            if twin == "ssl_check_hostname":
                url_value = _bool_value(twin, url_value)
            if url_value != v:
                raise StoreSettingError(f"{info.field_name} and the URL's {twin} disagree; keep one")
        if info.field_name == "key_file" and not (info.data.get("cert_file") or "ssl_certfile" in options):
            raise StoreSettingError("key_file needs cert_file (the client certificate it belongs to)")
        return v

    def endpoint(self, password: SecretStr | str | None = None) -> RedisEndpoint:
        """The connection this store names. ``password`` (resolved from password_env or
        password_file) wins over one inside the URL."""
        ep = parse_redis_url(self.url)
        options = dict(ep.url_options)
        pw = ep.password
        if password is not None:
            pw = password if isinstance(password, SecretStr) else SecretStr(password)
            pw = pw if pw.get_secret_value() else None
        cert_reqs: Any = options.get("ssl_cert_reqs", "required").lower()
        check = self.check_hostname
        if check is None:
            check = _bool_value("ssl_check_hostname", options.get("ssl_check_hostname", "true"))
        if cert_reqs == "none":
            check = False  # no verification at all: the hostname cannot be checked either
        timeout = self.timeout
        return replace(
            ep,
            password=pw,
            ca_file=self.ca_file or options.get("ssl_ca_certs"),
            ca_path=options.get("ssl_ca_path"),
            cert_file=self.cert_file or options.get("ssl_certfile"),
            key_file=self.key_file or options.get("ssl_keyfile"),
            cert_reqs=cert_reqs,
            check_hostname=check,
            connect_timeout=_timeout_value("socket_connect_timeout", options["socket_connect_timeout"])
            if "socket_connect_timeout" in options
            else timeout,
            timeout=_timeout_value("socket_timeout", options["socket_timeout"])
            if "socket_timeout" in options
            else timeout,
        )


# DynamoDB table names: 3 to 255 of A-Z a-z 0-9 _ - . (the service's own rule).
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_REGION = re.compile(r"[a-z0-9-]{1,40}")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


class DynamoDBStore(_StoreModel):
    """A DynamoDB big segment store to read directly."""

    type: Literal["dynamodb"] = "dynamodb"
    table: str
    region: str | None = None
    aws_profile: str | None = None
    endpoint_url: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    prefix: str | None = None
    timeout: float = Field(default=3.0, gt=0, le=120, allow_inf_nan=False)
    # BatchGetItem calls in flight at once for a bulk lookup.
    parallelism: int = Field(default=4, ge=1, le=32)
    max_members: int = Field(default=DEFAULT_MAX_MEMBERS, ge=1, le=1_000_000)

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        if not _TABLE_NAME.fullmatch(v):
            raise _invalid(StoreSettingError("a DynamoDB table name is 3 to 255 of A-Z a-z 0-9 _ - ."))
        return v

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is not None and not _REGION.fullmatch(v):
            raise _invalid(StoreSettingError("not an AWS region name (e.g. us-east-1)"))
        return v

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise _invalid(
                StoreSettingError("the endpoint URL's port is not a number from 1 to 65535")
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _invalid(StoreSettingError("must be an http:// or https:// URL with a host"))
        return v

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, v: str | None) -> str | None:
        if v is not None and not _ROLE_ARN.fullmatch(v):
            raise _invalid(StoreSettingError("not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"))
        return v

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and not info.data.get("role_arn"):
            raise _invalid(StoreSettingError("external_id is sent with AssumeRole: set role_arn too"))
        return v

    @property
    def description(self) -> str:
        where = self.endpoint_url or (f"region {self.region}" if self.region else "default region")
        return f"dynamodb table {self.table!r} ({where})"


Store = RedisStore | DynamoDBStore
AnyStore = Annotated[RedisStore | DynamoDBStore, Field(discriminator="type")]
