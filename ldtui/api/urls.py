"""LaunchDarkly base URLs: the presets, and what a profile's ``base_url`` means. No httpx."""

from __future__ import annotations

BASE_URL_PRESETS: dict[str, str] = {
    "commercial": "https://app.launchdarkly.com",
    "eu": "https://app.eu.launchdarkly.com",
    "federal": "https://app.launchdarkly.us",
}


def resolve_base_url(value: str) -> str:
    """A preset name (commercial, eu, federal) or a URL -> the URL without ``/api/v2``."""
    url = BASE_URL_PRESETS.get(value.strip().lower(), value.strip())
    if not url.startswith(("http://", "https://")):
        raise ValueError(
            f"base URL {value!r} is neither a preset ({', '.join(BASE_URL_PRESETS)}) nor an http(s):// URL"
        )
    url = url.rstrip("/")
    if url.endswith("/api/v2"):
        url = url[: -len("/api/v2")]
    return url
