"""ldtui's settings: a TOML file plus ``LDTUI_*`` environment variables.

The file lives in the platform config dir (``~/.config/ldtui/config.toml`` on Linux) unless
``LDTUI_CONFIG_FILE`` names another. Secrets are references: a profile names the environment
variable or the file that holds its token (``token_env`` / ``token_file``), a Redis store the
one that holds its password. An inline secret is accepted only from a file of mode 0600.

Every effective value remembers where it came from (default, file and line, or variable), so
``ldtui config`` can show it. A bad file gives a ``ConfigError`` naming the file, the line and
the field, and saying how to fix it; it never becomes a traceback.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ldtui.config_file import ENV_PREFIX, config_path

# The store models are the readers' own; ``from ldtui.config import RedisStore`` still works.
from ldtui.core.store_settings import AnyStore as AnyStore
from ldtui.core.store_settings import DynamoDBStore as DynamoDBStore
from ldtui.core.store_settings import RedisStore as RedisStore
from ldtui.core.store_settings import Store as Store
from ldtui.core.store_settings import redact_redis_url

DEFAULT_PROFILE = "default"
ENV_PROFILE = "env"


class ConfigError(Exception):
    """A configuration problem a person can fix; the text says where and how."""

    def __init__(self, message: str, *, file: Path | None = None, line: int | None = None, key: str = ""):
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        where = ""
        if file is not None:
            where = f"{file}" + (f":{line}" if line else "")
        elif key.startswith("env "):
            where = key
        prefix = f"{where}: " if where else ""
        field_part = f"{key}: " if key and not key.startswith("env ") else ""
        super().__init__(f"{prefix}{field_part}{message}")


# --- models ------------------------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Profile(_Section):
    """A LaunchDarkly account: base URL and a reference to the access token."""

    base_url: str = "commercial"
    token_env: str | None = None
    token_file: str | None = None
    # Inline token: discouraged; accepted only from a config file of mode 0600.
    token: SecretStr | None = None
    timeout: float = Field(default=10.0, gt=0, le=300)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        from ldtui.api.urls import resolve_base_url

        resolve_base_url(v)
        return v

    @property
    def resolved_base_url(self) -> str:
        from ldtui.api.urls import resolve_base_url

        return resolve_base_url(self.base_url)


class StatusSettings(_Section):
    stale_after: float = Field(default=120.0, gt=0)
    poll_interval: float = Field(default=5.0, gt=0)
    bell: bool = False
    # The Relay Proxy's BIG_SEGMENTS_STALE_THRESHOLD (its /status says potentially stale after).
    relay_stale_after: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    # Applications whose SDKs set a staleAfter of their own: name = seconds.
    readers: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=dict)


class UiSettings(_Section):
    theme: str = "ldtui-dark"
    auto_refresh: float = Field(default=0.0, ge=0)
    # Off by default: animations cost bandwidth and look broken over slow SSH links.
    animations: bool = False
    # Off: the terminal keeps its own mouse selection (copy by dragging, over SSH and in tmux);
    # every action has a key.
    mouse: bool = True


class Settings(_Section):
    profile: str | None = None
    profiles: dict[str, Profile] = Field(default_factory=dict)
    stores: dict[str, AnyStore] = Field(default_factory=dict)
    status: StatusSettings = Field(default_factory=StatusSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    # Binding id -> keys, e.g. refresh = "r,f5" (Textual's App.set_keymap).
    keys: dict[str, str] = Field(default_factory=dict)


# --- the loaded configuration ------------------------------------------------------------------


@dataclass
class Config:
    settings: Settings
    file: Path
    file_exists: bool
    # Dotted key -> where its value came from ("default", "file:LINE", "env LDTUI_X").
    sources: dict[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    file_source: str = "default"

    def source(self, key: str) -> str:
        return self.sources.get(key, "default")

    @property
    def profile_name(self) -> str | None:
        s = self.settings
        if s.profile:
            return s.profile
        if len(s.profiles) == 1:
            return next(iter(s.profiles))
        if DEFAULT_PROFILE in s.profiles:
            return DEFAULT_PROFILE
        return None

    def profile(self, name: str | None = None) -> tuple[str, Profile]:
        """The named (or selected) profile; ``ConfigError`` saying how to add one if none."""
        name = name or self.profile_name
        if name is None:
            if not self.settings.profiles:
                raise ConfigError(
                    "no profile is configured: add a [profiles.NAME] table to "
                    f"{self.file} or set {ENV_PREFIX}TOKEN (and {ENV_PREFIX}BASE_URL)",
                    key="profiles",
                )
            raise ConfigError(
                'several profiles and none selected: set profile = "NAME" in the file, '
                f"{ENV_PREFIX}PROFILE, or pass --profile ({', '.join(self.settings.profiles)})",
                file=self.file,
                key="profile",
            )
        try:
            return name, self.settings.profiles[name]
        except KeyError:
            raise ConfigError(
                f"profile {name!r} is not defined; known: {', '.join(self.settings.profiles) or 'none'}",
                file=self.file if self.file_exists else None,
                key="profile",
            ) from None

    def token(self, name: str | None = None) -> SecretStr:
        """Resolve the profile's token reference. Never returns an empty token."""
        name, prof = self.profile(name)
        key = f"profiles.{name}"
        if prof.token is not None:
            value = prof.token.get_secret_value().strip()
            origin = self.source(f"{key}.token")
        elif prof.token_env:
            if prof.token_env not in self.environ:
                raise ConfigError(
                    f"the access token is read from ${prof.token_env}, which is not set: "
                    f"export {prof.token_env}=api-…",
                    key=f"{key}.token_env",
                )
            value = self.environ[prof.token_env].strip()
            origin = f"${prof.token_env}"
        elif prof.token_file:
            value = _read_secret_file(Path(prof.token_file).expanduser(), f"{key}.token_file")
            origin = prof.token_file
        else:
            raise ConfigError(
                'no access token: set token_env = "VAR" or token_file = "PATH" '
                f"in [profiles.{name}], or {ENV_PREFIX}TOKEN",
                file=self.file if self.file_exists else None,
                key=key,
            )
        if not value:
            raise ConfigError(f"the access token from {origin} is empty", key=key)
        return SecretStr(value)

    def store(self, project: str, environment: str) -> Store | None:
        return self.settings.stores.get(f"{project}/{environment}")

    def store_password(self, name: str) -> SecretStr | None:
        store = self.settings.stores[name]
        if not isinstance(store, RedisStore):
            return None
        key = f"stores.{name}"
        if store.password_env:
            if store.password_env not in self.environ:
                raise ConfigError(
                    f"the Redis password is read from ${store.password_env}, which is not set",
                    key=f"{key}.password_env",
                )
            return SecretStr(self.environ[store.password_env])
        if store.password_file:
            return SecretStr(
                _read_secret_file(Path(store.password_file).expanduser(), f"{key}.password_file")
            )
        return None


def _read_secret_file(path: Path, key: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"file {path} does not exist", key=key) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", key=key) from None


# --- locating lines in the TOML text -----------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)
_KEY_PART = re.compile(r"\s*(?:([A-Za-z0-9_-]+)|\"([^\"]*)\"|'([^']*)')\s*(?:\.|$)")


def _split_key(text: str) -> tuple[str, ...]:
    parts = []
    for m in _KEY_PART.finditer(text):
        if m.group(0) == "":
            break
        parts.append(next(g for g in m.groups() if g is not None))
    return tuple(parts)


def locate_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each table and key path in TOML ``text`` to its 1-based line number."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header and stripped.startswith("["):
            table = _split_key(header.group(1))
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            lines.setdefault(table + _split_key(assign.group(1)), number)
    return lines


def _line_for(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


# --- loading -----------------------------------------------------------------------------------

_ENV_VARS: dict[str, tuple[str, ...]] = {
    "PROFILE": ("profile",),
    "STALE_AFTER": ("status", "stale_after"),
    "POLL_INTERVAL": ("status", "poll_interval"),
    "BELL": ("status", "bell"),
    "THEME": ("ui", "theme"),
    "AUTO_REFRESH": ("ui", "auto_refresh"),
    "ANIMATIONS": ("ui", "animations"),
    "MOUSE": ("ui", "mouse"),
}
# Applied to the selected profile (or create the implicit "env" profile).
_PROFILE_ENV_VARS: dict[str, str] = {
    "BASE_URL": "base_url",
    "TOKEN": "token",
    "TOKEN_FILE": "token_file",
    "TOKEN_ENV": "token_env",
    "TIMEOUT": "timeout",
}


def _flatten(data: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_flatten(v, (*prefix, str(k))))
    else:
        out[prefix] = data
    return out


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


def _file_is_private(path: Path) -> bool:
    try:
        return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    except OSError:
        return False


def load_config(environ: Mapping[str, str] | None = None, *, file: Path | str | None = None) -> Config:
    """Load the file (if any) and the environment into a validated ``Config``."""
    environ = dict(os.environ if environ is None else environ)
    path, explicit = config_path(environ, file)

    data: dict[str, Any] = {}
    lines: dict[tuple[str, ...], int] = {}
    # Any readable file counts, /dev/null ("no configuration") included; not a directory.
    exists = path.exists() and not path.is_dir()
    if exists:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text ({exc.reason})", file=path) from None
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", file=path) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            raise ConfigError(
                f"not valid TOML: {exc}", file=path, line=int(m.group(1)) if m else None
            ) from None
        lines = locate_lines(text)
    elif explicit:
        raise ConfigError(
            f"configuration file not found (named by {'--config' if file else ENV_PREFIX + 'CONFIG_FILE'})",
            file=path,
        )

    sources: dict[str, str] = {}
    for loc in _flatten(data):
        line = _line_for(lines, loc)
        sources[".".join(loc)] = f"{path.name}:{line}" if line else path.name

    # Inline secrets only from a private file.
    for name, prof in (data.get("profiles") or {}).items():
        if isinstance(prof, dict) and "token" in prof and not _file_is_private(path):
            raise ConfigError(
                "an inline token needs a private file: run `chmod 600 "
                f"{path}`, or better, use token_env or token_file instead",
                file=path,
                line=_line_for(lines, ("profiles", name, "token")),
                key=f"profiles.{name}.token",
            )
    for name, store in (data.get("stores") or {}).items():
        if isinstance(store, dict) and "type" not in store:
            raise ConfigError(
                'a store needs type = "redis" or type = "dynamodb"',
                file=path,
                line=_line_for(lines, ("stores", name)),
                key=f"stores.{name}.type",
            )
        url = store.get("url") if isinstance(store, dict) else None
        if isinstance(url, str) and _url_has_password(url) and not _file_is_private(path):
            raise ConfigError(
                "a password inside the Redis URL needs a private file: run `chmod 600 "
                f"{path}`, or better, use password_env or password_file",
                file=path,
                line=_line_for(lines, ("stores", name, "url")),
                key=f"stores.{name}.url",
            )

    # Environment overrides.
    for suffix, loc in _ENV_VARS.items():
        var = ENV_PREFIX + suffix
        if var in environ:
            _set(data, loc, environ[var])
            sources[".".join(loc)] = f"env {var}"
    profile_overrides = {
        attr: (ENV_PREFIX + suffix, environ[ENV_PREFIX + suffix])
        for suffix, attr in _PROFILE_ENV_VARS.items()
        if ENV_PREFIX + suffix in environ
    }
    if profile_overrides:
        profiles = data.setdefault("profiles", {})
        name = data.get("profile")
        if not name:
            name = next(iter(profiles)) if len(profiles) == 1 else ENV_PROFILE
            data["profile"] = name
            sources["profile"] = "implied by " + ", ".join(v for v, _ in profile_overrides.values())
        target = profiles.setdefault(name, {})
        if isinstance(target, dict):
            if (
                "token" in profile_overrides
                or "token_file" in profile_overrides
                or ("token_env" in profile_overrides)
            ):
                for ref in ("token", "token_env", "token_file"):
                    target.pop(ref, None)
            for attr, (var, value) in profile_overrides.items():
                target[attr] = value
                sources[f"profiles.{name}.{attr}"] = f"env {var}"

    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        if len(loc) >= 4 and loc[0] == "stores":
            loc = loc[:2] + loc[3:]  # drop the discriminated-union tag pydantic adds
        key = ".".join(loc)
        source = sources.get(key, "")
        message = _message(err)
        if source.startswith("env "):
            raise ConfigError(message, key=source + f" ({key})") from None
        raise ConfigError(
            message, file=path if exists else None, line=_line_for(lines, loc), key=key
        ) from None
    file_source = (
        "--config" if file is not None else f"env {ENV_PREFIX}CONFIG_FILE" if explicit else "default"
    )
    return Config(
        settings=settings,
        file=path,
        file_exists=exists,
        sources=sources,
        environ=environ,
        file_source=file_source,
    )


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown setting; check the spelling (see README, Configuration)"
    if kind == "missing":
        return "is required"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _url_has_password(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """A URL with its password (if any) masked, for display."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:********@{host}"))


# --- describing the effective configuration ------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    value: str
    source: str
    problem: str | None = None


def _secret_row(cfg: Config, key: str, resolve: Any, ref_source: str) -> Row:
    from ldtui.core.secrets import mask_secret

    try:
        secret = resolve()
    except ConfigError as exc:
        return Row(key, "MISSING", ref_source, exc.message)
    if secret is None:
        return Row(key, "(none)", ref_source)
    return Row(key, mask_secret(secret.get_secret_value()), ref_source)


def describe(cfg: Config) -> list[Row]:
    """Every effective setting, secrets masked, each with its source."""
    s = cfg.settings
    rows = [
        Row(
            "config_file",
            str(cfg.file) if cfg.file_exists else f"{cfg.file} (not found: defaults in use)",
            cfg.file_source,
        ),
        Row("profile", cfg.profile_name or "(none)", cfg.source("profile")),
    ]
    for name, prof in s.profiles.items():
        k = f"profiles.{name}"
        rows.append(Row(f"{k}.base_url", prof.resolved_base_url, cfg.source(f"{k}.base_url")))
        if prof.token is not None:
            ref_source = f"inline ({cfg.source(k + '.token')})"
        elif prof.token_env:
            ref_source = f"${prof.token_env} ({cfg.source(k + '.token_env')})"
        elif prof.token_file:
            ref_source = f"file {prof.token_file} ({cfg.source(k + '.token_file')})"
        else:
            ref_source = "not configured"
        rows.append(_secret_row(cfg, f"{k}.token", lambda n=name: cfg.token(n), ref_source))
        rows.append(Row(f"{k}.timeout", f"{prof.timeout:g} s", cfg.source(f"{k}.timeout")))
    for name, store in s.stores.items():
        k = f"stores.{name}"
        rows.append(Row(f"{k}.type", store.type, cfg.source(f"{k}.type")))
        if isinstance(store, RedisStore):
            rows.append(Row(f"{k}.url", redact_redis_url(store.url), cfg.source(f"{k}.url")))
            if store.password_env:
                ref = f"${store.password_env} ({cfg.source(k + '.password_env')})"
            elif store.password_file:
                ref = f"file {store.password_file} ({cfg.source(k + '.password_file')})"
            else:
                ref = "not configured"
            rows.append(_secret_row(cfg, f"{k}.password", lambda n=name: cfg.store_password(n), ref))
            for attr in ("ca_file", "prefix"):
                value = getattr(store, attr)
                if value is not None:
                    rows.append(Row(f"{k}.{attr}", value, cfg.source(f"{k}.{attr}")))
        else:
            for attr in (
                "table",
                "region",
                "aws_profile",
                "endpoint_url",
                "role_arn",
                "external_id",
                "prefix",
            ):
                value = getattr(store, attr)
                if value is not None:
                    rows.append(Row(f"{k}.{attr}", value, cfg.source(f"{k}.{attr}")))
        rows.append(Row(f"{k}.timeout", f"{store.timeout:g} s", cfg.source(f"{k}.timeout")))
    rows += [
        Row("status.stale_after", f"{s.status.stale_after:g} s", cfg.source("status.stale_after")),
        Row(
            "status.poll_interval",
            f"{s.status.poll_interval:g} s",
            cfg.source("status.poll_interval"),
        ),
        Row("status.bell", str(s.status.bell).lower(), cfg.source("status.bell")),
        Row("ui.theme", s.ui.theme, cfg.source("ui.theme")),
        Row(
            "ui.auto_refresh",
            f"{s.ui.auto_refresh:g} s" if s.ui.auto_refresh else "off",
            cfg.source("ui.auto_refresh"),
        ),
        Row("ui.animations", "on" if s.ui.animations else "off", cfg.source("ui.animations")),
        Row("ui.mouse", "on" if s.ui.mouse else "off", cfg.source("ui.mouse")),
    ]
    for binding, keys in s.keys.items():
        rows.append(Row(f"keys.{binding}", keys, cfg.source(f"keys.{binding}")))
    return rows
