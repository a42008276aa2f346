"""The REST client against scripted HTTP (httpx.MockTransport): headers, retries, rate limits,
error bodies, garbage, pagination, and the token never leaking."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ldtui import __version__
from ldtui.api import ApiError, LaunchDarklyClient, RetryNotice, RetryPolicy, resolve_base_url
from ldtui.core.models import IntegrationDeliveryConfigurationPost, IntegrationRef
from tests.factories import (
    collection_body,
    environment_body,
    integration_body,
    project_body,
    segment_body,
)

TOKEN = "api-0f0f0f0f-1111-2222-3333-444444444444"
NOW = 1_800_000_000.0
REF = IntegrationRef(project="default", environment="production", kind="redis", id="12ab3c4d5ef1a2345bcde67f")

Responder = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests from a list of responders, in order, and records what came in."""

    def __init__(self, *responders: Responder | httpx.Response | Exception) -> None:
        self.responders = list(responders)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responders.pop(0) if len(self.responders) > 1 else self.responders[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return item(request)


def client_for(script: Script, **kwargs: Any) -> tuple[LaunchDarklyClient, list[float], list[RetryNotice]]:
    waits: list[float] = []
    notices: list[RetryNotice] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    client = LaunchDarklyClient(
        "http://ld.test",
        TOKEN,
        transport=httpx.MockTransport(script),
        sleep=fake_sleep,
        clock=lambda: NOW,
        rng=lambda: 0.5,
        on_retry=notices.append,
        **kwargs,
    )
    return client, waits, notices


def ok(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def err(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message}, headers=headers)


# --- headers and routes -----------------------------------------------------------------------


async def test_beta_routes_send_raw_token_and_beta_header() -> None:
    script = Script(ok(collection_body(integration_body())))
    client, _, _ = client_for(script)
    result = await client.list_integrations()
    assert result.items[0].name == "Prod Redis store"
    req = script.requests[0]
    assert req.url.path == "/api/v2/integration-capabilities/big-segment-store"
    assert req.headers["Authorization"] == TOKEN  # no "Bearer "
    assert req.headers.get_list("LD-API-Version") == ["beta"]
    assert req.headers["User-Agent"] == f"ldtui/{__version__}"


async def test_ga_routes_do_not_send_beta() -> None:
    script = Script(ok(segment_body("big-seg", generation=3)))
    client, _, _ = client_for(script)
    seg = await client.get_segment("default", "production", "big-seg")
    assert seg.generation == 3 and seg.is_big
    req = script.requests[0]
    assert req.url.path == "/api/v2/segments/default/production/big-seg"
    assert req.headers["LD-API-Version"] != "beta"
    assert req.headers["Authorization"] == TOKEN


async def test_create_posts_the_body_and_returns_201_object() -> None:
    script = Script(ok(integration_body(version=1), status=201))
    client, _, _ = client_for(script)
    body = IntegrationDeliveryConfigurationPost(config={"host": "h"}, name="n")
    created = await client.create_integration("default", "production", "redis", body)
    req = script.requests[0]
    assert req.method == "POST"
    assert req.url.path.endswith("/big-segment-store/default/production/redis")
    assert req.headers["Content-Type"] == "application/json"
    assert json.loads(req.content) == {"config": {"host": "h"}, "name": "n"}  # no nulls
    assert created.id == REF.id


async def test_patch_sends_bare_array_and_delete_accepts_204() -> None:
    patch = [{"op": "test", "path": "/version", "value": 1}, {"op": "replace", "path": "/on", "value": True}]
    script = Script(ok(integration_body(version=2, on=True)), httpx.Response(204))
    client, _, _ = client_for(script)
    updated = await client.patch_integration(REF, patch)
    assert updated.version == 2 and updated.on
    assert json.loads(script.requests[0].content) == patch
    assert script.requests[0].method == "PATCH"
    assert await client.delete_integration(REF) is None
    assert script.requests[1].method == "DELETE"
    assert script.requests[1].url.path.endswith(f"/redis/{REF.id}")


async def test_path_parameters_are_escaped() -> None:
    script = Script(ok(segment_body("a/b")))
    client, _, _ = client_for(script)
    await client.get_segment("p q", "e", "a/b")
    assert script.requests[0].url.raw_path == b"/api/v2/segments/p%20q/e/a%2Fb"


# --- rate limits ------------------------------------------------------------------------------


async def test_429_retry_after_seconds_then_success() -> None:
    script = Script(
        err(429, "rate_limited", "You've exceeded the API rate limit.", **{"Retry-After": "2"}),
        ok(collection_body()),
    )
    client, waits, notices = client_for(script)
    await client.list_integrations()
    assert len(script.requests) == 2
    assert len(waits) == 1 and 2.0 <= waits[0] <= 2.0 * 1.2 + 0.05
    assert notices[0].status == 429 and notices[0].reason == "rate limited"
    assert notices[0].wait == waits[0]


async def test_429_x_ratelimit_reset_epoch_ms() -> None:
    reset_ms = int((NOW + 5) * 1000)
    script = Script(
        err(
            429,
            "rate_limited",
            "slow down",
            **{"X-Ratelimit-Reset": str(reset_ms), "X-Ratelimit-Route-Remaining": "0"},
        ),
        ok(collection_body()),
    )
    client, waits, _ = client_for(script)
    await client.list_integrations()
    assert 5.0 <= waits[0] <= 5.0 * 1.2 + 0.05


async def test_429_without_headers_backs_off_exponentially() -> None:
    script = Script(err(429, "rate_limited", "x"), err(429, "rate_limited", "x"), ok(collection_body()))
    client, waits, _ = client_for(script, retry=RetryPolicy(backoff_base=1.0, jitter=0.0))
    await client.list_integrations()
    assert [round(w, 2) for w in waits] == [1.02, 2.02]  # base * 2^n + 0.05 * rng


async def test_429_bounded_then_error_with_hint() -> None:
    script = Script(err(429, "rate_limited", "You've exceeded the API rate limit.", **{"Retry-After": "1"}))
    client, waits, _ = client_for(script, retry=RetryPolicy(rate_limit_attempts=3))
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    assert len(script.requests) == 3 and len(waits) == 2
    e = info.value
    assert e.status == 429 and e.code == "rate_limited" and e.attempts == 3
    assert e.retry_after == 1.0
    assert "Rate limited" in e.hint


async def test_429_reset_too_far_is_not_waited_for() -> None:
    script = Script(err(429, "rate_limited", "x", **{"Retry-After": "3600"}))
    client, waits, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    assert waits == [] and len(script.requests) == 1
    assert info.value.retry_after == 3600
    assert "3600 s" in info.value.hint


async def test_429_on_post_is_retried_because_it_was_not_processed() -> None:
    script = Script(err(429, "rate_limited", "x", **{"Retry-After": "0"}), ok(integration_body(), status=201))
    client, _, _ = client_for(script)
    await client.create_integration("default", "production", "redis", {"config": {"host": "h"}})
    assert len(script.requests) == 2


# --- 5xx, network, timeouts -------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_then_success_on_get(status: int) -> None:
    script = Script(httpx.Response(status, text="oops"), ok(collection_body()))
    client, waits, notices = client_for(script)
    await client.list_integrations()
    assert len(script.requests) == 2 and len(waits) == 1
    assert notices[0].status == status


async def test_5xx_retried_for_delete() -> None:
    script = Script(err(503, "service_unavailable", "down"), httpx.Response(204))
    client, _, _ = client_for(script)
    await client.delete_integration(REF)
    assert len(script.requests) == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_5xx_never_repeats_post_or_patch(method: str) -> None:
    script = Script(err(500, "internal", "boom"))
    client, waits, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        if method == "POST":
            await client.create_integration("p", "e", "redis", {"config": {}})
        else:
            await client.patch_integration(REF, [])
    assert len(script.requests) == 1 and waits == []
    assert info.value.status == 500 and "server-side" in info.value.hint


async def test_5xx_bounded_exponential_backoff() -> None:
    script = Script(err(500, "internal", "boom"))
    client, waits, _ = client_for(
        script, retry=RetryPolicy(server_error_attempts=4, backoff_base=0.5, jitter=0)
    )
    with pytest.raises(ApiError):
        await client.list_integrations()
    assert len(script.requests) == 4
    assert waits == [0.5, 1.0, 2.0]


async def test_connection_error_retried_for_get_then_reported() -> None:
    script = Script(httpx.ConnectError("Connection refused"))
    client, waits, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    assert len(script.requests) == 3 and len(waits) == 2
    assert info.value.status is None and info.value.code == "network_error"
    assert "Could not reach the API" in info.value.hint


async def test_connection_error_on_post_not_retried() -> None:
    script = Script(httpx.ConnectError("Connection refused"))
    client, waits, _ = client_for(script)
    with pytest.raises(ApiError):
        await client.create_integration("p", "e", "redis", {"config": {}})
    assert len(script.requests) == 1 and waits == []


async def test_timeout_then_success_and_timeout_error() -> None:
    script = Script(httpx.ReadTimeout("read timed out"), ok(collection_body()))
    client, _, _ = client_for(script)
    await client.list_integrations()
    script2 = Script(httpx.ReadTimeout("read timed out"))
    client2, _, _ = client_for(script2, retry=RetryPolicy(server_error_attempts=1))
    with pytest.raises(ApiError) as info:
        await client2.list_integrations()
    assert info.value.code == "timeout" and "raise the timeout" in info.value.hint


async def test_timeouts_are_configurable() -> None:
    client = LaunchDarklyClient("http://ld.test", TOKEN, timeout=httpx.Timeout(1.5, connect=0.5))
    assert client._http.timeout.connect == 0.5 and client._http.timeout.read == 1.5
    await client.aclose()


# --- bodies that are not what they should be -------------------------------------------------


async def test_garbage_json_on_success() -> None:
    script = Script(httpx.Response(200, content=b"{not json", headers={"content-type": "application/json"}))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    assert info.value.code == "invalid_response" and "not JSON" in info.value.message


async def test_html_error_page() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    script = Script(httpx.Response(502, text=page, headers={"content-type": "text/html"}))
    client, _, _ = client_for(script, retry=RetryPolicy(server_error_attempts=1))
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    e = info.value
    assert e.status == 502 and e.code == "http_error"
    assert "not a LaunchDarkly error body" in e.message and "text/html" in e.message


async def test_empty_error_body() -> None:
    script = Script(httpx.Response(404))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.get_integration(REF)
    assert info.value.status == 404 and "empty" in info.value.message


async def test_missing_fields_are_named() -> None:
    broken = integration_body()
    del broken["name"]
    script = Script(ok(collection_body(broken)))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    assert info.value.code == "invalid_response"
    assert "items.0.name" in info.value.message and "Field required" in info.value.message


async def test_string_timestamps_are_rejected_like_the_official_client() -> None:
    body = integration_body(status={"lastSync": "yesterday"})
    script = Script(ok(body))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.get_integration(REF)
    assert "_status.lastSync" in info.value.message


# --- documented errors and their hints --------------------------------------------------------


async def test_beta_header_403_hint() -> None:
    msg = "This API is in beta. To use it, your request must include the header `LD-API-Version: beta`."
    script = Script(err(403, "forbidden", msg))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    assert info.value.status == 403 and "LD-API-Version: beta" in info.value.hint


async def test_permission_403_hint() -> None:
    script = Script(err(403, "forbidden", "Forbidden. Access to the requested resource was denied."))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.delete_integration(REF)
    assert "lacks permission" in info.value.hint


async def test_401_hint() -> None:
    script = Script(err(401, "unauthorized", "Invalid access token"))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    assert "access token was rejected" in info.value.hint and "SDK" in info.value.hint


async def test_404_hint_names_the_integration() -> None:
    script = Script(
        httpx.Response(
            404,
            json={"code": "not_found", "message": "Environment or project not found", "id": "30ce6058"},
            headers={"X-Request-Id": "req-1"},
        )
    )
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.get_integration(REF)
    e = info.value
    assert REF.id in e.hint and "'default'" in e.hint and "'production'" in e.hint
    assert e.request_id == "req-1"
    assert "request id req-1" in str(e)


async def test_404_request_id_from_body_when_no_header() -> None:
    script = Script(httpx.Response(404, json={"code": "not_found", "message": "x", "id": "30ce6058"}))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.list_environments("nope")
    assert info.value.request_id == "30ce6058"
    assert "Project 'nope'" in info.value.hint


async def test_409_on_patch_says_reload_and_reapply() -> None:
    script = Script(err(409, "optimistic_locking_error", "Conflict. Optimistic lock error. Try again later."))
    client, waits, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.patch_integration(REF, [{"op": "test", "path": "/version", "value": 1}])
    assert info.value.is_conflict and info.value.is_rejected
    assert "Reload it and reapply" in info.value.hint
    assert waits == []


@pytest.mark.parametrize("status", [400, 422])
async def test_400_and_422_are_rejections(status: int) -> None:
    script = Script(err(status, "invalid_request", "config.port must be a string"))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.patch_integration(REF, [])
    assert info.value.is_rejected and "config.port must be a string" in info.value.hint


# --- the token never leaks --------------------------------------------------------------------


async def test_token_never_in_errors_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(err(401, "unauthorized", "Invalid access token"))
    client, _, _ = client_for(script)
    with pytest.raises(ApiError) as info:
        await client.list_integrations()
    texts = [
        str(info.value),
        repr(info.value),
        repr(client),
        str(client),
        caplog.text,
        str(info.value.__cause__),
        info.value.summary,
    ]
    script2 = Script(httpx.ConnectError("refused"))
    client2, _, _ = client_for(script2, retry=RetryPolicy(server_error_attempts=1))
    with pytest.raises(ApiError) as info2:
        await client2.list_integrations()
    texts += [str(info2.value), repr(info2.value), str(info2.value.__cause__), caplog.text]
    assert caplog.records  # something was logged, and none of it is the token
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[4:12] not in text


# --- pagination --------------------------------------------------------------------------------


async def test_projects_follow_limit_offset_with_total_count() -> None:
    all_projects = [project_body(f"p{i}") for i in range(5)]

    def page(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        items = all_projects[offset : offset + limit]
        links = {"self": {"href": "/api/v2/projects"}}
        if offset + limit < 5:
            links["next"] = {"href": f"/api/v2/projects?limit={limit}&offset={offset + limit}"}
        return ok({"_links": links, "items": items, "totalCount": 5})

    script = Script(page)
    client, _, _ = client_for(script)
    projects = await client.list_projects(page_size=2)
    assert [p.key for p in projects] == ["p0", "p1", "p2", "p3", "p4"]
    assert [r.url.params["offset"] for r in script.requests] == ["0", "2", "4"]


async def test_projects_page_filter_query_and_keys() -> None:
    script = Script(ok({"_links": {}, "items": [project_body("a")], "totalCount": 1}))
    client, _, _ = client_for(script)
    page = await client.projects_page(limit=10, offset=0, query="mobile", keys=["a", "b"])
    assert script.requests[0].url.params["filter"] == "query:mobile,keys:a|b"
    assert page.total == 1 and not page.has_next


async def test_environments_follow_next_links_without_total() -> None:
    pages = [
        ok({"_links": {"next": {"href": "x"}}, "items": [environment_body("dev"), environment_body("stg")]}),
        ok({"_links": {}, "items": [environment_body("prod", client_side_id="5f0c")]}),
    ]
    script = Script(*pages)
    client, _, _ = client_for(script)
    envs = await client.list_environments("default", page_size=2)
    assert [e.key for e in envs] == ["dev", "stg", "prod"]
    assert envs[2].id == "5f0c"
    assert "sdk-secret" not in repr(envs)


async def test_pagination_stops_on_empty_page_even_if_server_says_next() -> None:
    script = Script(ok({"_links": {"next": {"href": "x"}}, "items": []}))
    client, _, _ = client_for(script)
    assert await client.list_environments("default") == []
    assert len(script.requests) == 1


# --- base URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, url",
    [
        ("commercial", "https://app.launchdarkly.com"),
        ("EU", "https://app.eu.launchdarkly.com"),
        ("federal", "https://app.launchdarkly.us"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("https://relay.example.com/api/v2", "https://relay.example.com"),
    ],
)
def test_base_url_presets(value: str, url: str) -> None:
    assert resolve_base_url(value) == url


def test_bad_base_url() -> None:
    with pytest.raises(ValueError, match="preset"):
        resolve_base_url("app.launchdarkly.com")
