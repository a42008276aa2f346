"""REST client of LaunchDarkly's API (httpx, async). Knows nothing of Textual.

Names are loaded on first use, so that importing ``ldtui.api.errors`` does not pull in httpx."""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "BASE_URL_PRESETS": "ldtui.api.urls",
    "LaunchDarklyClient": "ldtui.api.client",
    "Page": "ldtui.api.client",
    "RetryNotice": "ldtui.api.client",
    "RetryPolicy": "ldtui.api.client",
    "resolve_base_url": "ldtui.api.urls",
    "ApiError": "ldtui.api.errors",
    "RequestContext": "ldtui.api.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
