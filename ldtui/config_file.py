"""The configuration file without pydantic: finding it, reading it with a bound, parsing the
TOML, and the UI settings the TUI's first frame needs (fast: no pydantic before the first
frame). ``ldtui.config`` validates the whole file.

Every file ldtui reads for its configuration is hostile until read: it must be a regular
file (a FIFO would block forever, ``/dev/zero`` never ends; ``/dev/null`` is allowed and
empty) and small (the configuration 1 MiB, a token or password file 64 KiB). Anything else is
a ``ConfigError`` naming the file, and ldtui exits 78.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, NamedTuple

import annotated_types as at

ENV_PREFIX = "LDTUI_"
CONFIG_FILE_LIMIT = 1024 * 1024
SECRET_FILE_LIMIT = 64 * 1024


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


# --- where the file is ---------------------------------------------------------------------------


def default_config_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("ldtui", appauthor=False)) / "config.toml"


def config_dir() -> Path:
    """Where the configuration file and the user's own themes live."""
    return default_config_file().parent


class ConfigLocation(NamedTuple):
    path: Path
    explicit: bool  # named by --config or LDTUI_CONFIG_FILE (then it must exist)


def config_path(environ: Mapping[str, str], file: Path | str | None = None) -> ConfigLocation:
    """The file to read and whether it was named explicitly (flag or ``LDTUI_CONFIG_FILE``)."""
    explicit = file is not None or f"{ENV_PREFIX}CONFIG_FILE" in environ
    path = Path(file or environ.get(f"{ENV_PREFIX}CONFIG_FILE") or default_config_file())
    try:
        return ConfigLocation(expand_home(path), explicit)
    except HomeNotFound as exc:
        raise ConfigError(
            str(exc), key="--config" if file is not None else f"env {ENV_PREFIX}CONFIG_FILE"
        ) from None


class HomeNotFound(ValueError):
    """A path that starts with ``~`` or ``~name`` whose home directory this machine cannot say."""


def expand_home(path: str | Path) -> Path:
    """``path`` with ``~`` and ``~name`` expanded (``Path.expanduser``), or ``HomeNotFound``
    saying so: ``~nobody/keys.txt`` names a user this machine does not know (expanduser raises
    RuntimeError, which would reach the person as a traceback)."""
    p = Path(path)
    try:
        return p.expanduser()
    except RuntimeError:
        raise HomeNotFound(
            f"{str(p)!r} starts with a home directory that cannot be found here; give the full path"
        ) from None


def env_var(field: str) -> str:
    """The environment variable of a setting: ``LDTUI_`` and the field's name in capitals
    (``stale_after`` -> ``LDTUI_STALE_AFTER``). ``ldtui.config`` derives its table from the
    settings models with this; nothing lists the variables by hand."""
    return ENV_PREFIX + field.upper()


# --- reading with a bound ------------------------------------------------------------------------


def _size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def read_bounded(path: Path, limit: int, *, key: str = "", what: str = "file") -> bytes | None:
    """The bytes of ``path``, at most ``limit``; ``None`` when it does not exist.

    Refused with a ``ConfigError`` naming the file: anything but a regular file (a FIFO, a
    device, a directory, a socket), except ``/dev/null`` (empty), and a file over ``limit``.
    The file is opened without blocking, so a FIFO with no writer is refused, not waited on.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read: {exc.strerror}", key=key) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            if _is_devnull(info):
                return b""
            kind = _kind(info.st_mode)
            raise ConfigError(f"{what} {path} is {kind}, not a regular file", key=key)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ConfigError(
                f"{what} {path} is larger than {_size_text(limit)}; is it the right file?", key=key
            )
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read: {exc.strerror}", key=key) from None
    finally:
        os.close(fd)


def _is_devnull(info: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == null.st_rdev


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_text_file(path: Path, limit: int, *, key: str = "", what: str = "file") -> str | None:
    """``read_bounded`` decoded as UTF-8 (a ``ConfigError`` names the byte that is not)."""
    data = read_bounded(path, limit, key=key, what=what)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{what} {path}, line {line}: not UTF-8 text ({exc.reason})", key=key) from None


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """The TOML document, or a ``ConfigError`` with the line (never a traceback: a document
    nested thousands deep exhausts tomllib's recursion)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"not valid TOML: {exc}", file=path, line=int(m.group(1)) if m else None) from None
    except RecursionError:
        raise ConfigError("not valid TOML: nested too deeply", file=path) from None


class ConfigDocument(NamedTuple):
    data: dict[str, Any]  # the parsed TOML
    text: str  # the file's text, for line numbers


def read_config_document(path: Path, explicit: bool, named_by: str = "") -> ConfigDocument | None:
    """The parsed file and its text; ``None`` when there is no file (and none was named)."""
    text = read_text_file(path, CONFIG_FILE_LIMIT, what="configuration file")
    if text is None:
        if explicit:
            raise ConfigError(
                f"configuration file not found (named by {named_by or 'the command line'})", file=path
            )
        return None
    return ConfigDocument(parse_toml(text, path), text)


# --- the UI settings ---------------------------------------------------------------------------


@dataclasses.dataclass
class UiSettings:
    """``[ui]``. A plain dataclass so the TUI can read it before its first frame, without
    pydantic; ``ldtui.config`` validates it (pydantic honours the annotations' bounds)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    theme: str = "ldtui-dark"
    # Seconds between list refreshes; 0 = off.
    auto_refresh: Annotated[float, at.Ge(0), at.Le(86_400)] = 0.0
    # Off by default: animations cost bandwidth and look broken over slow SSH links.
    animations: bool = False
    # Off: the terminal keeps its own mouse selection (copy by dragging, over SSH and in tmux);
    # every action has a key.
    mouse: bool = True
    # Nothing is created, edited, turned on or off, or deleted (also --read-only, and a
    # profile's own read_only).
    read_only: bool = False


@dataclasses.dataclass(frozen=True)
class UiStart:
    """What the first frame needs: the UI settings and the keymap; ``configured`` names the
    ``[ui]`` settings the file or the environment set (a remembered theme yields to them)."""

    ui: UiSettings
    keys: dict[str, str]
    configured: frozenset[str] = frozenset()


def _flag(value: object) -> bool | None:
    """A boolean from TOML or an environment variable (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
    return None


def _coerce(hint: Any, value: object) -> object:
    """``value`` as the field's type and within its bounds (the ``annotated_types`` marks the
    full validation obeys too), or ``None``, meaning "keep the default"."""
    kind: Any = hint
    bounds: tuple[Any, ...] = ()
    if typing.get_origin(hint) is Annotated:
        kind, *rest = typing.get_args(hint)
        bounds = tuple(rest)
    if kind is bool:
        return _flag(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None
        try:
            number = float(value)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        for b in bounds:
            if isinstance(b, at.Ge) and not number >= b.ge:  # type: ignore[operator]
                return None
            if isinstance(b, at.Le) and not number <= b.le:  # type: ignore[operator]
                return None
            if isinstance(b, at.Gt) and not number > b.gt:  # type: ignore[operator]
                return None
        return number
    return value if isinstance(value, kind) else None


def peek_ui(file: Path | str | None = None, environ: Mapping[str, str] | None = None) -> UiStart:
    """``[ui]`` and ``[keys]`` from the file and the environment, best effort: a value of the
    wrong type keeps its default here (``ldtui.config`` reports it right after the first
    frame). A file that cannot be read or is not TOML is a ``ConfigError`` (worth stopping for)."""
    env = os.environ if environ is None else environ
    path, _ = config_path(env, file)
    # A named file that does not exist is reported by the full load, after the first frame.
    found = read_config_document(path, explicit=False)
    data = found.data if found else {}
    section = data.get("ui")
    table: dict[str, Any] = section if isinstance(section, dict) else {}
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(UiSettings, include_extras=True)
    for f in dataclasses.fields(UiSettings):
        raw = env.get(env_var(f.name), table.get(f.name))
        if raw is not None and (value := _coerce(hints[f.name], raw)) is not None:
            values[f.name] = value
    keys = data.get("keys")
    keymap = {str(k): v for k, v in keys.items() if isinstance(v, str)} if isinstance(keys, dict) else {}
    return UiStart(UiSettings(**values), keymap, frozenset(values))
