"""REST client of LaunchDarkly's API (httpx, async). Knows nothing of Textual."""

from ldtui.api.client import (
    BASE_URL_PRESETS,
    LaunchDarklyClient,
    Page,
    RetryNotice,
    RetryPolicy,
    resolve_base_url,
)
from ldtui.api.errors import ApiError, RequestContext

__all__ = [
    "BASE_URL_PRESETS",
    "ApiError",
    "LaunchDarklyClient",
    "Page",
    "RequestContext",
    "RetryNotice",
    "RetryPolicy",
    "resolve_base_url",
]
