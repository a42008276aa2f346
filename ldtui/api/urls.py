"""LaunchDarkly base URLs: the presets, and what a profile's ``base_url`` means. No httpx."""

from __future__ import annotations

BASE_URL_PRESETS: dict[str, str] = {
    "commercial": "https://app.launchdarkly.com",
    "eu": "https://app.eu.launchdarkly.com",
    "federal": "https://app.launchdarkly.us",
}


def resolve_base_url(value: str) -> str:
    """A preset name (commercial, eu, federal) or a URL -> the URL without ``/api/v2``."""
    from urllib.parse import urlsplit

    from ldtui.core.secrets import redact_url

    url = BASE_URL_PRESETS.get(value.strip().lower(), value.strip())
    shown = repr(redact_url(value))
    if not url.startswith(("http://", "https://")):
        raise ValueError(
            f"base URL {shown} is neither a preset ({', '.join(BASE_URL_PRESETS)}) nor an http(s):// URL"
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when out of range or not a number
    except ValueError as exc:
        raise ValueError(f"base URL {shown}: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"base URL {shown} names no host (for example https://app.launchdarkly.com)")
    if port == 0:
        raise ValueError(f"base URL {shown}: port 0 is not a TCP port (1-65535)")
    url = url.rstrip("/")
    if url.endswith("/api/v2"):
        url = url[: -len("/api/v2")]
    return url
