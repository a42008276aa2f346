"""Every emulator response body validates against the OpenAPI subset's component schemas; and
ldtui's own client works against the emulator in-process (ASGITransport) and over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema
import pytest

from ldtui.api import ApiError, LaunchDarklyClient, RetryPolicy
from ldtui.core.forms import RedisConfigForm
from ldtui.core.models import IntegrationDeliveryConfigurationPost
from ldtui.core.patch import IntegrationEdit, build_patch
from ldtui.emulator.runtime import EmulatorRuntime
from ldtui.emulator.seed import DEFAULT_TOKEN, READ_ONLY_TOKEN
from ldtui.emulator.state import EmulatorState
from ldtui.emulator.syncer import Endpoints
from ldtui.spec import openapi

pytestmark = pytest.mark.network
BASE = "/api/v2/integration-capabilities/big-segment-store"


def validate(body: Any, schema: str) -> None:
    doc = openapi()
    jsonschema.Draft7Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": doc["components"]}
    ).validate(body)


@pytest.fixture
async def raw(emulator_state: EmulatorState) -> AsyncIterator[httpx.AsyncClient]:
    runtime = EmulatorRuntime(emulator_state, Endpoints())
    async with httpx.AsyncClient(transport=runtime.transport(), base_url="http://emulator") as c:
        yield c


BETA = {"Authorization": DEFAULT_TOKEN, "LD-API-Version": "beta"}
GA = {"Authorization": DEFAULT_TOKEN}


async def test_every_success_body_matches_its_schema(raw: httpx.AsyncClient) -> None:
    listing = (await raw.get(BASE, headers=BETA)).json()
    validate(listing, "BigSegmentStoreIntegrationCollection")
    for item in listing["items"]:
        validate(item, "BigSegmentStoreIntegration")
        one = await raw.get(
            f"{BASE}/{item['projectKey']}/{item['environmentKey']}/{item['integrationKey']}/{item['_id']}",
            headers=BETA,
        )
        validate(one.json(), "BigSegmentStoreIntegration")
    created = await raw.post(f"{BASE}/payments/sandbox/redis", headers=BETA, json={"config": {"host": "h"}})
    assert created.status_code == 201
    validate(created.json(), "BigSegmentStoreIntegration")
    patched = await raw.patch(
        f"{BASE}/payments/sandbox/redis/{created.json()['_id']}",
        headers=BETA,
        json=[{"op": "replace", "path": "/tags", "value": ["a"]}],
    )
    validate(patched.json(), "BigSegmentStoreIntegration")
    projects = (await raw.get("/api/v2/projects?limit=3&offset=3&expand=environments", headers=GA)).json()
    validate(projects, "Projects")
    envs = (await raw.get("/api/v2/projects/default/environments", headers=GA)).json()
    validate(envs, "Environments")
    for seg in ("beta-testers", "high-value-customers", "churn.risk", "legacy-cohort"):
        validate(
            (await raw.get(f"/api/v2/segments/default/production/{seg}", headers=GA)).json(), "UserSegment"
        )


@pytest.mark.parametrize(
    "method, path, headers, body, status, schema",
    [
        ("GET", BASE, {"Authorization": "nope", "LD-API-Version": "beta"}, None, 401, "UnauthorizedErrorRep"),
        ("GET", BASE, {"Authorization": DEFAULT_TOKEN}, None, 403, "ForbiddenErrorRep"),
        (
            "GET",
            BASE,
            {"Authorization": DEFAULT_TOKEN, "LD-API-Version": "20240415"},
            None,
            403,
            "ForbiddenErrorRep",
        ),
        (
            "POST",
            f"{BASE}/default/production/redis",
            {"Authorization": READ_ONLY_TOKEN, "LD-API-Version": "beta"},
            {"config": {"host": "h"}},
            403,
            "ForbiddenErrorRep",
        ),
        ("POST", f"{BASE}/payments/sandbox/redis", BETA, {"config": {}}, 400, "InvalidRequestErrorRep"),
        ("POST", f"{BASE}/payments/sandbox/redis", BETA, "not json", 400, "InvalidRequestErrorRep"),
        (
            "GET",
            f"{BASE}/default/production/redis/000000000000000000000000",
            BETA,
            None,
            404,
            "NotFoundErrorRep",
        ),
        ("GET", "/api/v2/projects?limit=0", GA, None, 400, "InvalidRequestErrorRep"),
        ("POST", "/api/v2/projects/default/environments", GA, {}, 405, "MethodNotAllowedErrorRep"),
        ("GET", "/api/v2/nothing-here", GA, None, 404, "NotFoundErrorRep"),
    ],
)
async def test_error_bodies_match_their_schemas(
    raw: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any,
    status: int,
    schema: str,
) -> None:
    content = body.encode() if isinstance(body, str) else None
    response = await raw.request(
        method, path, headers=headers, json=None if content else body, content=content
    )
    assert response.status_code == status, response.text
    validate(response.json(), schema)


async def test_two_version_headers_first_wins(raw: httpx.AsyncClient) -> None:
    headers = [("Authorization", DEFAULT_TOKEN), ("LD-API-Version", "20240415"), ("LD-API-Version", "beta")]
    assert (await raw.get(BASE, headers=headers)).status_code == 403
    headers = [("Authorization", DEFAULT_TOKEN), ("LD-API-Version", "beta"), ("LD-API-Version", "20240415")]
    assert (await raw.get(BASE, headers=headers)).status_code == 200


async def test_patch_never_leaks_or_loses_the_secret(
    raw: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    created = (
        await raw.post(
            f"{BASE}/payments/sandbox/redis",
            headers=BETA,
            json={"config": {"host": "h", "password": "topsecret-123"}},
        )
    ).json()
    url = f"{BASE}/payments/sandbox/redis/{created['_id']}"
    # Copying the secret somewhere readable is refused.
    r = await raw.patch(url, headers=BETA, json=[{"op": "copy", "from": "/config/password", "path": "/name"}])
    assert r.status_code == 400
    # A rename keeps the stored secret (not its redacted form).
    r = await raw.patch(url, headers=BETA, json=[{"op": "replace", "path": "/name", "value": "n2"}])
    assert r.json()["config"]["password"] == "top********123"
    assert emulator_state.integrations[created["_id"]].config["password"] == "topsecret-123"
    # A malformed patch.
    for bad in (
        [{"path": "/name"}],
        [{"op": "replace"}],
        {"op": "replace"},
        [{"op": "explode", "path": "/name"}],
    ):
        assert (await raw.patch(url, headers=BETA, json=bad)).status_code == 400
    # The {comment, patch} wrapper is accepted.
    r = await raw.patch(
        url, headers=BETA, json={"comment": "c", "patch": [{"op": "replace", "path": "/on", "value": True}]}
    )
    assert r.status_code == 200 and r.json()["on"] is True and r.json()["version"] == 3
    # An edit that leaves the config invalid is refused whole.
    r = await raw.patch(
        url,
        headers=BETA,
        json=[
            {"op": "replace", "path": "/name", "value": "n3"},
            {"op": "add", "path": "/config/port", "value": 1},
        ],
    )
    assert r.status_code == 400 and "config.port" in r.json()["message"]
    assert emulator_state.integrations[created["_id"]].name == "n2"


async def test_method_override_tunnels_patch_and_delete(raw: httpx.AsyncClient) -> None:
    item = (await raw.get(BASE, headers=BETA)).json()["items"][0]
    url = f"{BASE}/{item['projectKey']}/{item['environmentKey']}/{item['integrationKey']}/{item['_id']}"
    r = await raw.post(
        url,
        headers={**BETA, "X-HTTP-Method-Override": "PATCH"},
        json=[{"op": "replace", "path": "/name", "value": "tunnelled"}],
    )
    assert r.status_code == 200 and r.json()["name"] == "tunnelled"
    r = await raw.post(url, headers={**BETA, "X-HTTP-Method-Override": "DELETE"})
    assert r.status_code == 204
    assert (await raw.get(url, headers=BETA)).status_code == 404


async def test_malformed_body_fault(raw: httpx.AsyncClient, emulator_state: EmulatorState) -> None:
    emulator_state.faults.malformed_rate = 1.0
    r = await raw.get(BASE, headers=BETA)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()


# --- ldtui's own client against the emulator ------------------------------------------------


async def exercise(client: LaunchDarklyClient) -> None:
    listing = await client.list_integrations()
    assert len(listing.items) == 7
    form = RedisConfigForm(host="redis.new.internal", password="pw-0123456789")
    created = await client.create_integration(
        "payments",
        "sandbox",
        "redis",
        IntegrationDeliveryConfigurationPost(config=form.to_config(), name="New", tags=["x"]),
    )
    edit = IntegrationEdit(
        name="Renamed",
        on=True,
        tags=["x", "y"],
        config=RedisConfigForm(host="redis.new.internal", port="6390").to_config(),
    )
    patch = build_patch(created, edit)
    updated = await client.patch_integration(created.ref, patch)
    assert (updated.name, updated.on, updated.tags, updated.config["port"]) == (
        "Renamed",
        True,
        ["x", "y"],
        "6390",
    )
    assert updated.config["password"] == "pw-********789" and updated.version == 2
    # The same patch again: the version test fails -> 409, typed.
    with pytest.raises(ApiError) as info:
        await client.patch_integration(created.ref, patch)
    assert info.value.status == 409 and info.value.is_conflict
    await client.delete_integration(created.ref)
    with pytest.raises(ApiError) as info:
        await client.get_integration(created.ref)
    assert info.value.status == 404 and created.id in info.value.hint
    projects = await client.list_projects(page_size=4)
    assert len(projects) == 25
    envs = await client.list_environments("default", page_size=2)
    assert [e.key for e in envs] == ["production", "staging", "development"]
    seg = await client.get_segment("default", "production", "legacy-cohort")
    assert seg.generation == 3


async def test_ldtui_client_in_process(emulator_state: EmulatorState) -> None:
    runtime = EmulatorRuntime(emulator_state, Endpoints())
    async with LaunchDarklyClient("http://emulator", DEFAULT_TOKEN, transport=runtime.transport()) as client:
        await exercise(client)


async def test_ldtui_client_over_http(served_emulator: Any) -> None:
    async with LaunchDarklyClient(served_emulator.base_url, DEFAULT_TOKEN) as client:
        await exercise(client)


async def test_ldtui_client_waits_out_a_429(served_emulator: Any) -> None:
    limits = served_emulator.runtime.state.rate_limits
    limits.per_route, limits.retry_after = 1, True
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)
        served_emulator.runtime.state.rate_limits.per_route = None  # the window "passes"

    async with LaunchDarklyClient(served_emulator.base_url, DEFAULT_TOKEN, sleep=sleep) as client:
        await client.list_integrations()
        await client.list_integrations()
    assert len(waits) == 1 and 1 <= waits[0] <= 12.1


async def test_ldtui_client_gives_up_on_persistent_5xx(served_emulator: Any) -> None:
    served_emulator.runtime.state.faults.error_rate = 1.0

    async def no_sleep(s: float) -> None:
        return None

    async with LaunchDarklyClient(
        served_emulator.base_url, DEFAULT_TOKEN, sleep=no_sleep, retry=RetryPolicy(server_error_attempts=2)
    ) as client:
        with pytest.raises(ApiError) as info:
            await client.list_integrations()
    assert info.value.status == 500 and info.value.attempts == 2


async def test_text_it_cannot_serialize_is_refused_so_later_lists_still_work(raw: httpx.AsyncClient) -> None:
    # A lone surrogate is valid JSON ("\udc9b") but not Unicode text: stored, it would make
    # every later response that includes it fail to encode (500 on every list).
    for body, field in [
        (b'{"config": {"host": "h"}, "name": "bad \\udc9b name"}', "name"),
        (b'{"config": {"host": "h"}, "tags": ["ok", "\\ud800"]}', "tags[1]"),
        (b'{"config": {"host": "\\udfff"}}', "config.host"),
    ]:
        r = await raw.post(
            f"{BASE}/payments/sandbox/redis",
            headers={**BETA, "Content-Type": "application/json"},
            content=body,
        )
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid_request" and field in r.json()["message"]
        validate(r.json(), "InvalidRequestErrorRep")
    created = await raw.post(f"{BASE}/payments/sandbox/redis", headers=BETA, json={"config": {"host": "h"}})
    url = f"{BASE}/payments/sandbox/redis/{created.json()['_id']}"
    r = await raw.patch(
        url,
        headers={**BETA, "Content-Type": "application/json"},
        content=b'[{"op": "replace", "path": "/name", "value": "\\udc9b"}]',
    )
    assert r.status_code == 400 and "name" in r.json()["message"]
    listing = await raw.get(BASE, headers=BETA)
    assert listing.status_code == 200
    validate(listing.json(), "BigSegmentStoreIntegrationCollection")
