from __future__ import annotations

import pytest

from ldtui.core.secrets import is_redacted, mask_secret, redact_like_launchdarkly


def test_redaction_matches_the_observed_sample() -> None:
    assert redact_like_launchdarkly("sup3rsecret123") == "sup********123"
    assert is_redacted("sup********123")


@pytest.mark.parametrize("short", ["", "a", "abcdef"])
def test_short_secrets_are_fully_hidden(short: str) -> None:
    assert redact_like_launchdarkly(short) == "********"
    assert is_redacted(redact_like_launchdarkly(short))


@pytest.mark.parametrize(
    "value", ["hunter2", "abc*******xyz", "abc*********xyz", "", None, 3, "********x1234"]
)
def test_not_redacted(value: object) -> None:
    assert not is_redacted(value)


def test_mask_never_shows_more_than_four_chars() -> None:
    token = "api-0123456789abcdef0123"
    assert mask_secret(token) == "****0123"
    assert mask_secret("short-secret") == "********"
    assert mask_secret("") == "(empty)"
    assert mask_secret(None) == "(empty)"
