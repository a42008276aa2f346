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

import dataclasses
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from ldtui.config_file import (
    ENV_PREFIX,
    SECRET_FILE_LIMIT,
    HomeNotFound,
    config_path,
    env_var,
    expand_home,
    read_config_document,
    read_text_file,
)
from ldtui.config_file import ConfigError as ConfigError  # re-exported: the error of this module
from ldtui.config_file import UiSettings as UiSettings  # re-exported: a section of Settings
from ldtui.core.secrets import redact_url, url_has_credentials

# The store models are the readers' own; ``from ldtui.config import RedisStore`` still works.
from ldtui.core.store_settings import AnyStore as AnyStore
from ldtui.core.store_settings import DynamoDBStore as DynamoDBStore
from ldtui.core.store_settings import RedisStore as RedisStore
from ldtui.core.store_settings import Store as Store
from ldtui.core.store_settings import redact_redis_url

DEFAULT_PROFILE = "default"
ENV_PROFILE = "env"


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
    timeout: float = Field(default=10.0, gt=0, le=300, allow_inf_nan=False)
    # The TUI changes nothing on this account (an on-call profile): no create, edit, on/off
    # or delete.
    read_only: bool = False

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
    # Seconds, positive and finite: inf would mean "never stale", NaN compares false to all.
    stale_after: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    # At least a tenth of a second: every poll lists integrations against the account's shared
    # rate limit (0.0001 made an exporter list 14 times a second).
    poll_interval: float = Field(default=5.0, ge=0.1, allow_inf_nan=False)
    bell: bool = False
    # The Relay Proxy's BIG_SEGMENTS_STALE_THRESHOLD (its /status says potentially stale after).
    relay_stale_after: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    # Applications whose SDKs set a staleAfter of their own: name = seconds.
    readers: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=dict)


# `ldtui exporter`'s address: loopback, a port in the range of Prometheus exporters (9100-9999).
DEFAULT_EXPORTER_LISTEN = "127.0.0.1:9786"


def _listen_address(value: str) -> str:
    from ldtui.core.net import parse_listen

    parse_listen(value)
    return value


class ExporterSettings(_Section):
    # HOST:PORT of /metrics and /healthz: loopback unless another address is asked for.
    listen: Annotated[str, AfterValidator(_listen_address)] = DEFAULT_EXPORTER_LISTEN


class Settings(_Section):
    profile: str | None = None
    profiles: dict[str, Profile] = Field(default_factory=dict)
    stores: dict[str, AnyStore] = Field(default_factory=dict)
    status: StatusSettings = Field(default_factory=StatusSettings)
    exporter: ExporterSettings = Field(default_factory=ExporterSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    # Binding id -> keys, e.g. refresh = "r,f5" (Textual's App.set_keymap).
    keys: dict[str, str] = Field(default_factory=dict)


# --- the loaded configuration ------------------------------------------------------------------


class NamedProfile(NamedTuple):
    name: str
    profile: Profile


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

    def profile(self, name: str | None = None) -> NamedProfile:
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
            return NamedProfile(name, self.settings.profiles[name])
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
            value = _read_secret_file(prof.token_file, f"{key}.token_file")
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
            return SecretStr(_read_secret_file(store.password_file, f"{key}.password_file"))
        return None

    def problems(self, profile: str | None = None) -> list[ConfigError]:
        """What ``ldtui status`` needs and cannot have, each naming its field: the profile
        (``profile`` or the selected one) and its token, and every store's password reference.
        ``ldtui config`` and ``ldtui status`` check exactly this, so one passes where the
        other does."""
        found: list[ConfigError] = []
        try:
            self.token(profile)
        except ConfigError as exc:
            found.append(exc)
        for name in self.settings.stores:
            try:
                self.store_password(name)
            except ConfigError as exc:
                found.append(exc)
        return found


def _read_secret_file(name: str, key: str) -> str:
    """A token or password file: a regular file of at most 64 KiB, UTF-8, stripped."""
    try:
        path = expand_home(name)
    except HomeNotFound as exc:
        raise ConfigError(str(exc), key=key) from None
    text = read_text_file(path, SECRET_FILE_LIMIT, key=key, what="secret file")
    if text is None:
        raise ConfigError(f"file {path} does not exist", key=key)
    return text.strip()


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


# --- the environment ---------------------------------------------------------------------------

# A ``profiles.*.field`` location means "this field of the selected profile" (or of the
# implicit "env" profile when the file has none).
SELECTED = "*"


def _field_names(model: Any) -> list[str]:
    if dataclasses.is_dataclass(model):
        return [f.name for f in dataclasses.fields(model)]
    return list(model.model_fields)


def _is_table(model: Any, name: str) -> bool:
    import typing

    fields = getattr(model, "model_fields", None)
    annotation = fields[name].annotation if fields and name in fields else None
    return typing.get_origin(annotation) is dict


# The sections of one-value settings, in the order ``ldtui config`` shows them.
_SECTIONS: tuple[tuple[str, Any], ...] = (
    ("status", StatusSettings),
    ("exporter", ExporterSettings),
    ("ui", UiSettings),
)


def env_variables() -> dict[str, tuple[str, ...]]:
    """Every ``LDTUI_*`` variable and the setting it overrides, derived from the settings
    models: a field added to ``[status]``, ``[exporter]``, ``[ui]`` or a profile has its variable
    at once."""
    out: dict[str, tuple[str, ...]] = {env_var("profile"): ("profile",)}
    for section, model in _SECTIONS:
        for name in _field_names(model):
            if _is_table(model, name):
                continue  # a table ([status.readers]) has no one-value variable
            out[env_var(name)] = (section, name)
    for name in _field_names(Profile):
        # (A name [ui] has too, read_only, keeps its [ui] variable.)
        out.setdefault(env_var(name), ("profiles", SELECTED, name))
    return out


# --- loading -----------------------------------------------------------------------------------


def _flatten(data: Any) -> dict[tuple[str, ...], Any]:
    """Every leaf of nested tables by its key path (iterative: a document may nest deeply)."""
    out: dict[tuple[str, ...], Any] = {}
    stack: list[tuple[tuple[str, ...], Any]] = [((), data)]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*prefix, str(k)), v) for k, v in value.items())
        else:
            out[prefix] = value
    return out


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> bool:
    """Set ``path`` in nested tables; False (nothing set) where the file holds a non-table on
    the way (``status = 5``), which validation then reports against the file."""
    table: Any = data
    for part in path[:-1]:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            return False
    table[path[-1]] = value
    return True


def _file_is_private(path: Path) -> bool:
    try:
        return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    except OSError:
        return False


def _tables(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def load_config(environ: Mapping[str, str] | None = None, *, file: Path | str | None = None) -> Config:
    """Load the file (if any) and the environment into a validated ``Config``."""
    environ = dict(os.environ if environ is None else environ)
    path, explicit = config_path(environ, file)
    named_by = "--config" if file is not None else f"{ENV_PREFIX}CONFIG_FILE"
    # A regular file (capped) or /dev/null ("no configuration"); not a FIFO, device or folder.
    found = read_config_document(path, explicit, named_by)
    exists = found is not None
    data, text = (found.data, found.text) if found is not None else ({}, "")
    lines = locate_lines(text)

    sources: dict[str, str] = {}
    for loc in _flatten(data):
        line = _line_for(lines, loc)
        sources[".".join(loc)] = f"{path.name}:{line}" if line else path.name

    # Inline secrets only from a private file.
    for name, prof in _tables(data, "profiles").items():
        if isinstance(prof, dict) and "token" in prof and not _file_is_private(path):
            raise ConfigError(
                "an inline token needs a private file: run `chmod 600 "
                f"{path}`, or better, use token_env or token_file instead",
                file=path,
                line=_line_for(lines, ("profiles", name, "token")),
                key=f"profiles.{name}.token",
            )
    for name, store in _tables(data, "stores").items():
        if isinstance(store, dict) and "type" not in store:
            raise ConfigError(
                'a store needs type = "redis" or type = "dynamodb"',
                file=path,
                line=_line_for(lines, ("stores", name)),
                key=f"stores.{name}.type",
            )
        url = store.get("url") if isinstance(store, dict) else None
        if isinstance(url, str) and url_has_credentials(url) and not _file_is_private(path):
            raise ConfigError(
                "a password inside the Redis URL needs a private file: run `chmod 600 "
                f"{path}`, or better, use password_env or password_file",
                file=path,
                line=_line_for(lines, ("stores", name, "url")),
                key=f"stores.{name}.url",
            )

    # Environment overrides.
    profile_overrides: dict[str, tuple[str, str]] = {}
    for var, loc in env_variables().items():
        if var not in environ:
            continue
        if loc[0] == "profiles":
            profile_overrides[loc[-1]] = (var, environ[var])
        elif _set(data, loc, environ[var]):
            sources[".".join(loc)] = f"env {var}"
    profiles = data.setdefault("profiles", {}) if profile_overrides else None
    if isinstance(profiles, dict):
        selected: Any = data.get("profile")
        if not selected:
            selected = next(iter(profiles)) if len(profiles) == 1 else ENV_PROFILE
            data["profile"] = selected
            sources["profile"] = "implied by " + ", ".join(v for v, _ in profile_overrides.values())
        target = profiles.setdefault(selected, {}) if isinstance(selected, str) else None
        if isinstance(target, dict):
            if {"token", "token_file", "token_env"} & profile_overrides.keys():
                for ref in ("token", "token_env", "token_file"):
                    target.pop(ref, None)
            for attr, (var, value) in profile_overrides.items():
                target[attr] = value
                sources[f"profiles.{selected}.{attr}"] = f"env {var}"

    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        if len(loc) >= 4 and loc[0] == "stores" and loc[2] in ("redis", "dynamodb"):
            loc = loc[:2] + loc[3:]  # drop the discriminated-union tag pydantic adds
        key = ".".join(loc)
        source = sources.get(key, "")
        message = error_message(err)
        if source.startswith("env "):
            raise ConfigError(message, key=source + f" ({key})") from None
        raise ConfigError(
            message, file=path if exists else None, line=_line_for(lines, loc), key=key
        ) from None
    except RecursionError:
        raise ConfigError("nested too deeply", file=path) from None
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


def error_message(err: Any) -> str:
    """One pydantic error as a short sentence (never quoting the value: it may be a secret)."""
    kind = err["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return "unknown setting; check the spelling (see README, Configuration)"
    if kind == "missing":
        return "is required"
    if kind == "finite_number":
        return "must be a finite number (not inf or nan)"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


# --- one setting, for the command line ---------------------------------------------------------


class SettingError(ValueError):
    """A value that the setting's own model refuses; the text says why."""


def _section_models() -> dict[str, Any]:
    return {
        "status": StatusSettings,
        "exporter": ExporterSettings,
        "ui": UiSettings,
        "profile": Profile,
        "redis": RedisStore,
        "dynamodb": DynamoDBStore,
    }


def validate_setting(section: str, name: str, value: object) -> Any:
    """``value`` validated as the field ``name`` of the settings model of ``section``
    (``status``, ``exporter``, ``ui``, ``profile``, ``redis``, ``dynamodb``): a flag obeys exactly
    what the file and the environment obey."""
    model = _section_models()[section]
    if dataclasses.is_dataclass(model):
        import typing

        adapter: TypeAdapter[Any] = TypeAdapter(typing.get_type_hints(model, include_extras=True)[name])
    else:
        info = model.model_fields[name]
        annotated: Any = Annotated
        adapter = TypeAdapter(annotated[info.annotation, info])
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise SettingError(error_message(exc.errors()[0])) from None


# --- describing the effective configuration ------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    value: str
    source: str
    # What stops ``ldtui status`` (exit 78); a note is shown but stops nothing.
    problem: str | None = None
    note: str | None = None


def show_value(value: object) -> str:
    """A setting's value as ``ldtui config`` shows it: seconds with their unit, 0 as off,
    booleans as TOML writes them, secrets masked."""
    if isinstance(value, SecretStr):
        from ldtui.core.secrets import mask_secret

        return mask_secret(value.get_secret_value())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "off" if value == 0 else f"{value:g} s"
    return str(value)


def _secret_row(key: str, resolve: Any, ref_source: str, *, required: bool) -> Row:
    from ldtui.core.secrets import mask_secret

    try:
        secret = resolve()
    except ConfigError as exc:
        if required:
            return Row(key, "MISSING", ref_source, problem=exc.message)
        return Row(key, "MISSING", ref_source, note=exc.message)
    if secret is None:
        return Row(key, "(none)", ref_source)
    return Row(key, mask_secret(secret.get_secret_value()), ref_source)


def _reference(cfg: Config, key: str, holder: object, refs: tuple[tuple[str, str], ...]) -> str:
    """Where a secret comes from, as the first reference set of ``refs`` says."""
    for attr, shown in refs:
        value = getattr(holder, attr, None)
        if value:
            what = "inline" if attr == "token" else f"{shown}{value}"
            return f"{what} ({cfg.source(f'{key}.{attr}')})"
    return "not configured"


_TOKEN_REFS = (("token", "inline"), ("token_env", "$"), ("token_file", "file "))
_PASSWORD_REFS = (("password_env", "$"), ("password_file", "file "))


def describe(cfg: Config, profile: str | None = None) -> list[Row]:
    """Every effective setting, secrets masked, each with its source; rows of what
    ``ldtui status`` would refuse carry a ``problem`` (see ``Config.problems``)."""
    s = cfg.settings
    selected = profile or cfg.profile_name
    rows = [
        Row(
            "config_file",
            str(cfg.file) if cfg.file_exists else f"{cfg.file} (not found: defaults in use)",
            cfg.file_source,
        ),
    ]
    try:
        cfg.profile(profile)
        rows.append(Row("profile", selected or "(none)", cfg.source("profile")))
    except ConfigError as exc:
        rows.append(Row("profile", selected or "(none)", cfg.source("profile"), problem=exc.message))
    for name, prof in s.profiles.items():
        k = f"profiles.{name}"
        for attr in _field_names(Profile):
            if attr == "base_url":
                url = redact_url(prof.resolved_base_url)
                rows.append(Row(f"{k}.base_url", url, cfg.source(f"{k}.base_url")))
            elif attr == "token":
                ref = _reference(cfg, k, prof, _TOKEN_REFS)
                rows.append(
                    _secret_row(f"{k}.token", lambda n=name: cfg.token(n), ref, required=name == selected)
                )
            elif attr not in dict(_TOKEN_REFS) and (value := getattr(prof, attr)) is not None:
                rows.append(Row(f"{k}.{attr}", show_value(value), cfg.source(f"{k}.{attr}")))
    for name, store in s.stores.items():
        k = f"stores.{name}"
        for attr in _field_names(type(store)):
            value = getattr(store, attr)
            if attr == "url":
                rows.append(Row(f"{k}.url", redact_redis_url(value), cfg.source(f"{k}.url")))
            elif attr == "password_env":
                ref = _reference(cfg, k, store, _PASSWORD_REFS)
                rows.append(
                    _secret_row(f"{k}.password", lambda n=name: cfg.store_password(n), ref, required=True)
                )
            elif attr not in dict(_PASSWORD_REFS) and value is not None:
                rows.append(Row(f"{k}.{attr}", show_value(value), cfg.source(f"{k}.{attr}")))
    for section, model in _SECTIONS:
        values = getattr(s, section)
        for attr in _field_names(model):
            key = f"{section}.{attr}"
            rows.append(Row(key, show_value(getattr(values, attr)), cfg.source(key)))
    for binding, keys in s.keys.items():
        rows.append(Row(f"keys.{binding}", keys, cfg.source(f"keys.{binding}")))
    return rows
