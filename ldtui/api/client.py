"""Async client of LaunchDarkly's REST API for persistent store (big segment store) integrations.

Contract: ``shared/spec/api-contract.md``. Quirks handled here:
- ``Authorization`` is the bare token (no ``Bearer``);
- ``LD-API-Version: beta`` on the beta routes only (a date version in that header makes the
  beta routes answer 403); GA routes are pinned to a date version;
- 429: wait per ``Retry-After`` (seconds) or ``X-Ratelimit-Reset`` (epoch ms), with jitter, a
  bounded number of times, for every method (a 429 means the request was not processed);
- 5xx and connection errors: bounded exponential backoff for GET and DELETE only; a POST or a
  PATCH is never repeated blindly;
- every response is validated against the contract models; a body that does not match, a
  non-JSON body or an HTML error page becomes an ``ApiError`` that says so.

No Textual here; the token never reaches a log line, an exception or a repr.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from ldtui import __version__
from ldtui.api.errors import (
    HTTP_ERROR,
    INVALID_RESPONSE,
    NETWORK_ERROR,
    TIMEOUT,
    ApiError,
    RequestContext,
)
from ldtui.api.urls import BASE_URL_PRESETS, resolve_base_url  # noqa: F401 (re-exported)
from ldtui.core.models import (
    BigSegmentStoreIntegration,
    BigSegmentStoreIntegrationCollection,
    BigSegmentTarget,
    Environment,
    Environments,
    ErrorRep,
    IntegrationDeliveryConfigurationPost,
    IntegrationKey,
    IntegrationRef,
    PatchOperation,
    Project,
    Projects,
    UserSegment,
    ipList,
)

log = logging.getLogger("ldtui.api")

# The date version the official clients pin GA routes to; never sent to a beta route.
GA_API_VERSION = "20240415"
BETA_API_VERSION = "beta"
USER_AGENT = f"ldtui/{__version__}"
BIG_SEGMENT_STORE = "/api/v2/integration-capabilities/big-segment-store"

IDEMPOTENT_METHODS = frozenset({"GET", "DELETE"})
_MAX_PAGES = 10_000
# The largest response body read: a listing of every integration in a large account is a few
# megabytes; anything bigger is not LaunchDarkly, and is refused before it is read whole.
MAX_BODY_BYTES = 32 * 1024 * 1024
# An error's message is shown to a person: it is cut at this length.
MAX_MESSAGE_CHARS = 1000

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# Who wants the HTTP status and request id of each answer (the audit trail): per task, so
# concurrent calls never see each other's answers.
ResponseObserver = Callable[[int, str | None], None]
_response_observer: contextvars.ContextVar[ResponseObserver | None] = contextvars.ContextVar(
    "ldtui_response_observer", default=None
)


@contextlib.contextmanager
def observe_responses(observer: ResponseObserver) -> Iterator[None]:
    """Within the block (and the tasks it starts), ``observer(status, request_id)`` is called
    for every HTTP answer this task's calls receive, the last one being the final answer."""
    token = _response_observer.set(observer)
    try:
        yield
    finally:
        _response_observer.reset(token)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Attempts count the first try."""

    rate_limit_attempts: int = 4
    server_error_attempts: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    # A rate-limit reset further away than this is not waited for: the error goes to the user.
    max_rate_limit_wait: float = 60.0
    jitter: float = 0.2


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each wait, so a UI can say "rate limited, retrying in N s"."""

    method: str
    path: str
    attempt: int
    wait: float
    status: int | None
    reason: str


def rate_limit_wait(headers: httpx.Headers, now: float) -> float | None:
    """Seconds to wait before retrying a 429, from its headers; ``None`` if they do not say.

    ``Retry-After`` is seconds (or an HTTP date); ``X-Ratelimit-Reset`` and the per-token
    ``X-Ratelimit-Auth-Token-Reset`` are epoch milliseconds.
    """
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
                return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError):
                pass
    resets = []
    for name in ("x-ratelimit-reset", "x-ratelimit-auth-token-reset"):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            resets.append(float(raw) / 1000.0)
        except ValueError:
            continue
    if resets:
        return max(0.0, max(resets) - now)
    return None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    offset: int
    limit: int
    total: int | None
    has_next: bool


class LaunchDarklyClient:
    """One client per profile. Use ``async with`` or call ``aclose()``."""

    def __init__(
        self,
        base_url: str,
        token: str | SecretStr,
        *,
        timeout: float | httpx.Timeout = 10.0,
        deadline: float | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        # httpx's timeouts bound each connect, write and read; a server that sends a byte every
        # few seconds passes them all. Each attempt also has a total deadline: by default the
        # profile's timeout, the "seconds per request" the configuration promises.
        if deadline is None:
            deadline = timeout if isinstance(timeout, int | float) else (timeout.read or 10.0)
        self.deadline = float(deadline)
        self.max_body_bytes = max_body_bytes
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"LaunchDarklyClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> LaunchDarklyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- big segment store integrations (beta) --------------------------------------------

    async def list_integrations(self) -> BigSegmentStoreIntegrationCollection:
        """Every integration in the account (the route has no filters and no paging)."""
        ctx = RequestContext("GET", BIG_SEGMENT_STORE, beta=True)
        return self._parse(BigSegmentStoreIntegrationCollection, await self._send(ctx), ctx)

    async def create_integration(
        self,
        project: str,
        environment: str,
        kind: IntegrationKey,
        body: IntegrationDeliveryConfigurationPost | dict[str, Any],
    ) -> BigSegmentStoreIntegration:
        if isinstance(body, BaseModel):
            payload = body.model_dump(mode="json", by_alias=True, exclude_none=True)
        else:
            payload = body
        ctx = RequestContext(
            "POST",
            f"{BIG_SEGMENT_STORE}/{_q(project)}/{_q(environment)}/{_q(kind)}",
            project=project,
            environment=environment,
            integration_kind=kind,
            beta=True,
        )
        return self._parse(BigSegmentStoreIntegration, await self._send(ctx, payload), ctx)

    async def get_integration(self, ref: IntegrationRef) -> BigSegmentStoreIntegration:
        ctx = self._integration_ctx("GET", ref)
        return self._parse(BigSegmentStoreIntegration, await self._send(ctx), ctx)

    async def patch_integration(
        self, ref: IntegrationRef, patch: list[dict[str, Any]] | list[PatchOperation]
    ) -> BigSegmentStoreIntegration:
        body = [op.to_api() if isinstance(op, PatchOperation) else op for op in patch]
        ctx = self._integration_ctx("PATCH", ref)
        return self._parse(BigSegmentStoreIntegration, await self._send(ctx, body), ctx)

    async def delete_integration(self, ref: IntegrationRef) -> None:
        await self._send(self._integration_ctx("DELETE", ref))

    def _integration_ctx(self, method: str, ref: IntegrationRef) -> RequestContext:
        return RequestContext(
            method,
            f"{BIG_SEGMENT_STORE}/{_q(ref.project)}/{_q(ref.environment)}/{_q(ref.kind)}/{_q(ref.id)}",
            project=ref.project,
            environment=ref.environment,
            integration_kind=ref.kind,
            integration_id=ref.id,
            beta=True,
        )

    # --- GA routes: segments, projects, environments --------------------------------------

    async def get_segment(self, project: str, environment: str, segment: str) -> UserSegment:
        ctx = RequestContext(
            "GET",
            f"/api/v2/segments/{_q(project)}/{_q(environment)}/{_q(segment)}",
            project=project,
            environment=environment,
            segment=segment,
        )
        return self._parse(UserSegment, await self._send(ctx), ctx)

    async def get_segment_membership(
        self, project: str, environment: str, segment: str, context_key: str
    ) -> BigSegmentTarget:
        """LaunchDarkly's own word on whether a context is in a big segment (the store's view
        can lag, or be written under another prefix)."""
        ctx = RequestContext(
            "GET",
            f"/api/v2/segments/{_q(project)}/{_q(environment)}/{_q(segment)}/contexts/{_q(context_key)}",
            project=project,
            environment=environment,
            segment=segment,
        )
        return self._parse(BigSegmentTarget, await self._send(ctx), ctx)

    async def public_ip_list(self) -> ipList:
        """The addresses LaunchDarkly's service uses (``outboundAddresses``: what to allow)."""
        ctx = RequestContext("GET", "/api/v2/public-ip-list")
        return self._parse(ipList, await self._send(ctx), ctx)

    async def projects_page(
        self,
        *,
        limit: int = 20,
        offset: int = 0,
        query: str | None = None,
        keys: list[str] | None = None,
    ) -> Page[Project]:
        filters = []
        if query:
            filters.append(f"query:{query}")
        if keys:
            filters.append("keys:" + "|".join(keys))
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if filters:
            params["filter"] = ",".join(filters)
        ctx = RequestContext("GET", "/api/v2/projects")
        body = self._parse(Projects, await self._send(ctx, params=params), ctx)
        return _page(body.items, body.links, body.totalCount, offset, limit)

    async def environments_page(
        self, project: str, *, limit: int = 20, offset: int = 0, query: str | None = None
    ) -> Page[Environment]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if query:
            params["filter"] = f"query:{query}"
        ctx = RequestContext("GET", f"/api/v2/projects/{_q(project)}/environments", project=project)
        body = self._parse(Environments, await self._send(ctx, params=params), ctx)
        return _page(body.items, body.links or {}, body.totalCount, offset, limit)

    async def iter_projects(
        self, *, query: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Project]:
        async for item in _paginate(
            lambda offset: self.projects_page(limit=page_size, offset=offset, query=query)
        ):
            yield item

    async def list_projects(self, *, query: str | None = None, page_size: int = 100) -> list[Project]:
        return [p async for p in self.iter_projects(query=query, page_size=page_size)]

    async def list_environments(self, project: str, *, page_size: int = 100) -> list[Environment]:
        return [
            e
            async for e in _paginate(
                lambda offset: self.environments_page(project, limit=page_size, offset=offset)
            )
        ]

    # --- transport --------------------------------------------------------------------------

    def _headers(self, ctx: RequestContext, has_body: bool) -> dict[str, str]:
        headers = {
            "Authorization": self._token.get_secret_value(),
            "LD-API-Version": BETA_API_VERSION if ctx.beta else GA_API_VERSION,
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    async def _send(
        self,
        ctx: RequestContext,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        content = None if body is None else json.dumps(body).encode()
        headers = self._headers(ctx, content is not None)
        rate_limited = 0
        failed = 0
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._request(ctx, content, headers, params)
            except (httpx.TimeoutException, TimeoutError) as exc:
                failed += 1
                if not await self._backoff(ctx, attempt, failed, None, "timeout"):
                    what = (
                        f"no complete answer within {self.deadline:g} s"
                        if isinstance(exc, TimeoutError)
                        else f"no answer within the timeout ({type(exc).__name__})"
                    )
                    raise ApiError(
                        status=None,
                        code=TIMEOUT,
                        message=what,
                        context=ctx,
                        attempts=attempt,
                    ) from exc
                continue
            except httpx.TransportError as exc:
                failed += 1
                if not await self._backoff(ctx, attempt, failed, None, "network error"):
                    raise ApiError(
                        status=None,
                        code=NETWORK_ERROR,
                        message=str(exc) or type(exc).__name__,
                        context=ctx,
                        attempts=attempt,
                    ) from exc
                continue

            request_id = response.headers.get("x-request-id")
            if (observer := _response_observer.get()) is not None:
                observer(response.status_code, request_id)
            log.debug(
                "%s %s -> %s (request id %s)",
                ctx.method,
                ctx.path,
                response.status_code,
                request_id,
            )
            if response.status_code == 429:
                rate_limited += 1
                wait = rate_limit_wait(response.headers, self._clock())
                if rate_limited < self.retry.rate_limit_attempts and (
                    wait is None or wait <= self.retry.max_rate_limit_wait
                ):
                    if wait is None:
                        wait = self._backoff_delay(rate_limited)
                    wait = wait + wait * self.retry.jitter * self._rng() + 0.05 * self._rng()
                    self._notify(ctx, attempt, wait, 429, "rate limited")
                    await self._sleep(wait)
                    continue
                raise self._error(response, ctx, attempt, retry_after=wait)
            if response.status_code >= 500:
                failed += 1
                if await self._backoff(
                    ctx, attempt, failed, response.status_code, f"HTTP {response.status_code}"
                ):
                    continue
                raise self._error(response, ctx, attempt)
            if response.status_code >= 400 or response.status_code < 200:
                raise self._error(response, ctx, attempt)
            if 300 <= response.status_code < 400:
                raise self._error(response, ctx, attempt)
            return response

    async def _request(
        self,
        ctx: RequestContext,
        content: bytes | None,
        headers: dict[str, str],
        params: dict[str, Any] | None,
    ) -> httpx.Response:
        """One attempt, with its total deadline; the body is read with a bound."""
        async with asyncio.timeout(self.deadline):
            request = self._http.build_request(
                ctx.method, ctx.path, content=content, headers=headers, params=params
            )
            response = await self._http.send(request, stream=True)
            try:
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                    raise self._too_large(response, ctx)
                chunks: list[bytes] = []
                size = 0
                # Decoded (gzip and the like) as it arrives: the bound is on what it becomes.
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        raise self._too_large(response, ctx)
                    chunks.append(chunk)
            finally:
                await response.aclose()
            headers_out = httpx.Headers(
                [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
            )
            return httpx.Response(
                response.status_code,
                headers=headers_out,
                content=b"".join(chunks),
                request=request,
                extensions=response.extensions,
            )

    def _too_large(self, response: httpx.Response, ctx: RequestContext) -> ApiError:
        return ApiError(
            status=response.status_code,
            code=INVALID_RESPONSE,
            message=f"the response is larger than {self.max_body_bytes // (1024 * 1024)} MiB: refused "
            "without reading it (not LaunchDarkly's API, or a proxy in the way?)",
            context=ctx,
            request_id=response.headers.get("x-request-id"),
        )

    def _backoff_delay(self, n: int) -> float:
        return float(min(self.retry.backoff_max, self.retry.backoff_base * 2.0 ** (n - 1)))

    async def _backoff(
        self, ctx: RequestContext, attempt: int, failed: int, status: int | None, reason: str
    ) -> bool:
        """Sleep before retrying a failed idempotent request; False when it must not retry."""
        if ctx.method not in IDEMPOTENT_METHODS or failed >= self.retry.server_error_attempts:
            return False
        delay = self._backoff_delay(failed)
        delay += delay * self.retry.jitter * self._rng()
        self._notify(ctx, attempt, delay, status, reason)
        await self._sleep(delay)
        return True

    def _notify(
        self, ctx: RequestContext, attempt: int, wait: float, status: int | None, reason: str
    ) -> None:
        log.info("%s %s: %s, retrying in %.1f s", ctx.method, ctx.path, reason, wait)
        if self.on_retry is not None:
            self.on_retry(RetryNotice(ctx.method, ctx.path, attempt, wait, status, reason))

    def _error(
        self,
        response: httpx.Response,
        ctx: RequestContext,
        attempts: int,
        *,
        retry_after: float | None = None,
    ) -> ApiError:
        code, message, body_id = _error_body(response)
        return ApiError(
            status=response.status_code,
            code=code,
            message=message,
            context=ctx,
            request_id=response.headers.get("x-request-id") or body_id,
            retry_after=retry_after,
            attempts=attempts,
        )

    def _parse(self, model: type[M], response: httpx.Response, ctx: RequestContext) -> M:
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(
                status=response.status_code,
                code=INVALID_RESPONSE,
                message=f"the body is not JSON ({_snippet(response)})",
                context=ctx,
                request_id=response.headers.get("x-request-id"),
            ) from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ApiError(
                status=response.status_code,
                code=INVALID_RESPONSE,
                message=f"the body does not match {model.__name__}: {_describe(exc)}",
                context=ctx,
                request_id=response.headers.get("x-request-id"),
            ) from None


async def _paginate(fetch: Callable[[int], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    offset = 0
    for _ in range(_MAX_PAGES):
        page = await fetch(offset)
        for item in page.items:
            yield item
        if not page.has_next or not page.items:
            return
        offset += len(page.items)


def _page(items: list[T], links: dict[str, Any], total: int | None, offset: int, limit: int) -> Page[T]:
    has_next = offset + len(items) < total if total is not None else "next" in links and len(items) > 0
    return Page(items=items, offset=offset, limit=limit, total=total, has_next=has_next)


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _snippet(response: httpx.Response, limit: int = 80) -> str:
    ctype = response.headers.get("content-type", "no content type")
    text = response.content[:limit].decode("utf-8", "replace")
    text = " ".join(text.split())
    if not text:
        return f"empty, {ctype}"
    more = "…" if len(response.content) > limit else ""
    return f"{ctype}: {text!r}{more}"


def _error_body(response: httpx.Response) -> tuple[str, str, str | None]:
    """LaunchDarkly's ``{code, message}``, or a description of whatever came instead."""
    try:
        data = response.json()
        rep = ErrorRep.model_validate(data)
        return rep.code[:100], _cut(rep.message), rep.id[:100] if rep.id else None
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError):
        pass
    reason = response.reason_phrase or "error"
    return HTTP_ERROR, f"{reason} (not a LaunchDarkly error body; {_snippet(response)})", None


def _cut(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "… (cut)"


def _describe(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
