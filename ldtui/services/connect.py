"""The REST client of a configured profile: its base URL, its token and its timeout. The one
place that turns a profile into a connection, for the headless commands and the TUI alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ldtui.api.client import LaunchDarklyClient
    from ldtui.config import Config


def connect(config: Config, profile: str | None = None, **options: Any) -> LaunchDarklyClient:
    """A client for ``profile`` (default: the selected one). ``ConfigError`` when the profile
    or its token is missing; ``options`` go to ``LaunchDarklyClient`` (tests inject sleeps)."""
    from ldtui.api.client import LaunchDarklyClient

    name, prof = config.profile(profile)
    token = config.token(name)
    return LaunchDarklyClient(prof.resolved_base_url, token, **{"timeout": prof.timeout, **options})
