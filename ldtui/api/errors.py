"""One typed error for everything that can go wrong talking to the REST API.

``ApiError`` carries the HTTP status (``None`` when no response arrived), LaunchDarkly's
``code`` and ``message``, the request id, and a hint a person can act on. Its text never
contains the access token: the client never puts headers into errors.
"""

from __future__ import annotations

from dataclasses import dataclass

# Codes for failures that are not LaunchDarkly error bodies.
NETWORK_ERROR = "network_error"
TIMEOUT = "timeout"
INVALID_RESPONSE = "invalid_response"
HTTP_ERROR = "http_error"


@dataclass(frozen=True)
class RequestContext:
    """What the request was about, so a 404 can name the thing that was not found."""

    method: str
    path: str
    project: str | None = None
    environment: str | None = None
    integration_kind: str | None = None
    integration_id: str | None = None
    segment: str | None = None
    beta: bool = False


class ApiError(Exception):
    def __init__(
        self,
        *,
        status: int | None,
        code: str,
        message: str,
        context: RequestContext,
        request_id: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.context = context
        self.request_id = request_id
        self.retry_after = retry_after
        self.attempts = attempts
        self.hint = hint_for(status, code, message, context, retry_after)
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        where = f"{self.context.method} {self.context.path}"
        status = f"HTTP {self.status}" if self.status is not None else self.code
        return f"{status}: {self.message} ({where})"

    @property
    def is_conflict(self) -> bool:
        return self.status == 409

    @property
    def is_rejected(self) -> bool:
        """400, 409 and 422 all mean "the server refused this change" (api-contract.md §6)."""
        return self.status in (400, 409, 422)

    def __str__(self) -> str:
        parts = [self.summary]
        if self.hint:
            parts.append(self.hint)
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return " — ".join(parts)

    def __repr__(self) -> str:
        return (
            f"ApiError(status={self.status!r}, code={self.code!r}, message={self.message!r}, "
            f"path={self.context.path!r}, request_id={self.request_id!r})"
        )


def _not_found_hint(ctx: RequestContext) -> str:
    if ctx.segment:
        return (
            f"Segment {ctx.segment!r} was not found in project {ctx.project!r}, "
            f"environment {ctx.environment!r}. Check the three keys."
        )
    if ctx.integration_id:
        return (
            f"No {ctx.integration_kind} integration {ctx.integration_id!r} in project "
            f"{ctx.project!r}, environment {ctx.environment!r}: it may have been deleted; "
            "refresh the list. Otherwise check the project and environment keys."
        )
    if ctx.environment:
        return (
            f"Project {ctx.project!r} or environment {ctx.environment!r} was not found. "
            "Check the keys (they are keys, not names)."
        )
    if ctx.project:
        return f"Project {ctx.project!r} was not found. Check the project key."
    return "The resource was not found. Check the base URL of the profile."


def hint_for(
    status: int | None,
    code: str,
    message: str,
    ctx: RequestContext,
    retry_after: float | None,
) -> str:
    """A sentence that tells a person what to do about this failure."""
    if status is None:
        if code == TIMEOUT:
            return "The API did not answer in time. Check the network, or raise the timeout."
        return "Could not reach the API. Check the base URL, the network and any proxy."
    if status == 401:
        return (
            "The access token was rejected. Use a LaunchDarkly API access token (api-…); SDK "
            "keys, mobile keys and client-side IDs do not work. It may be expired or revoked."
        )
    if status == 403:
        if "beta" in message.lower():
            return (
                "This is a beta API: every call needs the header `LD-API-Version: beta`, "
                "and a date version in the same header makes LaunchDarkly reject the call."
            )
        return (
            "The token lacks permission for this action (a role that can manage "
            "integrations is needed), or the beta header `LD-API-Version: beta` was missing."
        )
    if status == 404:
        return _not_found_hint(ctx)
    if status == 409:
        if ctx.method == "PATCH":
            return (
                "The integration changed on the server since it was loaded (optimistic lock). "
                "Reload it and reapply your edit."
            )
        if ctx.method == "POST" and ctx.integration_kind:
            return (
                f"The environment most likely has a {ctx.integration_kind} integration already "
                "(one of each kind per environment): edit that one instead."
            )
        return "LaunchDarkly reported a conflict. Reload and try again."
    if status in (400, 422):
        return f"LaunchDarkly rejected the request: {message}. Fix the value it names and retry."
    if status == 429:
        if retry_after is not None:
            return f"Rate limited by LaunchDarkly. Try again in {retry_after:.0f} s."
        return "Rate limited by LaunchDarkly. Wait a few seconds and try again."
    if status == 405:
        return "The server does not allow this method here. Check the base URL."
    if 500 <= status < 600:
        return "LaunchDarkly had a server-side problem. Try again shortly."
    if code == INVALID_RESPONSE:
        return "The response did not match the API contract. Is the base URL a LaunchDarkly API?"
    return ""
