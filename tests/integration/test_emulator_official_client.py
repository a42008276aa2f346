"""The official ``launchdarkly-api`` client (25.0.1) against the emulator over real HTTP: every
operation, every documented error code, 429. The client validates every response strictly, so
each call that returns a model is also a schema check (api-contract.md §8)."""

from __future__ import annotations

from typing import Any

import launchdarkly_api
import pytest
from launchdarkly_api import exceptions as exc
from launchdarkly_api.models import IntegrationDeliveryConfigurationPost, PatchOperation

from ldtui.emulator.seed import DEFAULT_TOKEN, READ_ONLY_TOKEN

pytestmark = pytest.mark.network


def api_client(base_url: str, token: str = DEFAULT_TOKEN, *, beta: bool = True) -> launchdarkly_api.ApiClient:
    cfg = launchdarkly_api.Configuration(host=base_url, retries=0)
    cfg.api_key["ApiKey"] = token
    client = launchdarkly_api.ApiClient(cfg)
    if beta:
        # Required: the client's default LD-API-Version (a date) overrides per-call headers.
        client.set_default_header("LD-API-Version", "beta")
    return client


@pytest.fixture
def beta(served_emulator: Any) -> launchdarkly_api.PersistentStoreIntegrationsBetaApi:
    return launchdarkly_api.PersistentStoreIntegrationsBetaApi(api_client(served_emulator.base_url))


@pytest.fixture
def ga(served_emulator: Any) -> launchdarkly_api.ApiClient:
    return api_client(served_emulator.base_url, beta=False)


REDIS_CONFIG = {
    "host": "redis.e2e.internal",
    "port": "6379",
    "username": "default",
    "password": "s3cretpass-xyz",
    "tlsEnabled": True,
}


def test_list_validates(beta: Any) -> None:
    collection = beta.get_big_segment_store_integrations()
    assert len(collection.items) == 7
    kinds = {i.integration_key for i in collection.items}
    assert kinds == {"redis", "dynamodb"}
    for item in collection.items:
        assert item.config is not None and item.links.project.href
        if "password" in item.config:
            assert "********" in item.config["password"]


def test_create_get_patch_delete(beta: Any) -> None:
    body = IntegrationDeliveryConfigurationPost(config=REDIS_CONFIG, name="E2E store", on=False, tags=["t"])
    created = beta.create_big_segment_store_integration_with_http_info("payments", "sandbox", "redis", body)
    assert created.status_code == 201
    integ = created.data
    assert integ.version == 1 and integ.name == "E2E store"
    assert integ.config["password"] == "s3c********xyz"
    got = beta.get_big_segment_store_integration("payments", "sandbox", "redis", integ.id)
    assert got == integ
    patched = beta.patch_big_segment_store_integration(
        "payments",
        "sandbox",
        "redis",
        integ.id,
        [
            PatchOperation(op="test", path="/version", value=1),
            PatchOperation(op="replace", path="/on", value=True),
            PatchOperation(op="replace", path="/config/port", value="6380"),
        ],
    )
    assert patched.version == 2 and patched.on and patched.config["port"] == "6380"
    assert patched.config["password"] == "s3c********xyz"  # untouched secret stays
    deleted = beta.delete_big_segment_store_integration_with_http_info(
        "payments", "sandbox", "redis", integ.id
    )
    assert deleted.status_code == 204
    with pytest.raises(exc.NotFoundException) as info:
        beta.get_big_segment_store_integration("payments", "sandbox", "redis", integ.id)
    assert "Environment or project not found" in info.value.body


def test_create_with_only_config(beta: Any) -> None:
    body = IntegrationDeliveryConfigurationPost(
        config={
            "tableName": "t-e2e",
            "region": "eu-west-1",
            "roleArn": "arn:aws:iam::123456789012:role/x",
            "externalId": "ext-1",
        }
    )
    integ = beta.create_big_segment_store_integration("default", "development", "dynamodb", body)
    assert integ.on is False and integ.tags == [] and integ.name


def test_segment_projects_environments_validate(ga: Any) -> None:
    seg = launchdarkly_api.SegmentsApi(ga).get_segment("default", "production", "legacy-cohort")
    assert seg.unbounded and seg.generation == 3
    projects = launchdarkly_api.ProjectsApi(ga).get_projects(limit=5, offset=5, expand="environments")
    assert len(projects.items) == 5 and projects.total_count == 25
    assert set(projects.links) >= {"self", "first", "prev", "next", "last"}
    assert projects.items[0].environments is not None
    filtered = launchdarkly_api.ProjectsApi(ga).get_projects(filter="keys:default|payments")
    assert [p.key for p in filtered.items] == ["default", "payments"]
    envs = launchdarkly_api.EnvironmentsApi(ga).get_environments_by_project("default")
    assert [e.key for e in envs.items] == ["production", "staging", "development"]
    assert all(e.id and e.api_key.startswith("sdk-") for e in envs.items)


def test_segment_membership_and_public_ip_list_validate(ga: Any, emulator_state: Any) -> None:
    """The two routes added for the inspector's cross-check and the doctor's firewall check,
    read with the official client (its models validate every field)."""
    segments = launchdarkly_api.SegmentsApi(ga)
    truth = emulator_state.projects["default"].environments["production"].segments["legacy-cohort"]
    inside, outside = sorted(truth.included)[0], sorted(truth.excluded - truth.included)[0]
    member = segments.get_segment_membership_for_context("default", "production", "legacy-cohort", inside)
    assert (member.user_key, member.included, member.excluded) == (inside, True, False)
    member = segments.get_segment_membership_for_context("default", "production", "legacy-cohort", outside)
    assert (member.included, member.excluded) == (False, True)
    member = segments.get_segment_membership_for_context("default", "production", "legacy-cohort", "nobody")
    assert member.user_key == "nobody" and member.included is False and member.excluded is False
    ips = launchdarkly_api.OtherApi(ga).get_ips()
    assert ips.outbound_addresses and all("/" in a for a in ips.addresses + ips.outbound_addresses)
    with pytest.raises(launchdarkly_api.exceptions.NotFoundException):
        segments.get_segment_membership_for_context("default", "production", "no-such-segment", "x")


# --- every documented error -------------------------------------------------------------------


def test_400_names_the_field(beta: Any) -> None:
    bad = dict(REDIS_CONFIG, port=6379)
    with pytest.raises(exc.BadRequestException) as info:
        beta.create_big_segment_store_integration(
            "payments", "sandbox", "redis", IntegrationDeliveryConfigurationPost(config=bad)
        )
    assert "config.port must be a string" in info.value.body
    with pytest.raises(exc.BadRequestException) as info:
        beta.create_big_segment_store_integration(
            "payments",
            "sandbox",
            "dynamodb",
            IntegrationDeliveryConfigurationPost(config={"tableName": "t", "region": "mars-1"}),
        )
    assert "config.region" in info.value.body and "config.roleArn is required" in info.value.body


def test_401_unknown_token(served_emulator: Any) -> None:
    api = launchdarkly_api.PersistentStoreIntegrationsBetaApi(
        api_client(served_emulator.base_url, "api-wrong")
    )
    with pytest.raises(exc.UnauthorizedException) as info:
        api.get_big_segment_store_integrations()
    assert '"code":"unauthorized"' in info.value.body.replace(" ", "")


def test_403_read_only_token_cannot_write(served_emulator: Any) -> None:
    api = launchdarkly_api.PersistentStoreIntegrationsBetaApi(
        api_client(served_emulator.base_url, READ_ONLY_TOKEN)
    )
    assert api.get_big_segment_store_integrations().items  # reads are fine
    with pytest.raises(exc.ForbiddenException):
        api.create_big_segment_store_integration(
            "payments", "sandbox", "redis", IntegrationDeliveryConfigurationPost(config=REDIS_CONFIG)
        )


def test_403_without_the_beta_header(served_emulator: Any) -> None:
    """The client's own default (a date version) is what the real service rejects."""
    api = launchdarkly_api.PersistentStoreIntegrationsBetaApi(
        api_client(served_emulator.base_url, beta=False)
    )
    with pytest.raises(exc.ForbiddenException) as info:
        api.get_big_segment_store_integrations()
    assert "LD-API-Version: beta" in info.value.body


def test_404s(beta: Any, ga: Any) -> None:
    with pytest.raises(exc.NotFoundException):
        beta.create_big_segment_store_integration(
            "nope", "production", "redis", IntegrationDeliveryConfigurationPost(config=REDIS_CONFIG)
        )
    with pytest.raises(exc.NotFoundException):
        beta.get_big_segment_store_integration("default", "production", "redis", "000000000000000000000000")
    with pytest.raises(exc.NotFoundException):
        launchdarkly_api.SegmentsApi(ga).get_segment("default", "production", "no-such-segment")
    with pytest.raises(exc.NotFoundException):
        launchdarkly_api.EnvironmentsApi(ga).get_environments_by_project("no-such-project")


def test_409_failed_version_test_and_duplicate(beta: Any) -> None:
    integ = beta.get_big_segment_store_integrations().items[0]
    with pytest.raises(exc.ConflictException) as info:
        beta.patch_big_segment_store_integration(
            integ.project_key,
            integ.environment_key,
            integ.integration_key,
            integ.id,
            [
                PatchOperation(op="test", path="/version", value=integ.version + 5),
                PatchOperation(op="replace", path="/name", value="x"),
            ],
        )
    assert "optimistic_locking_error" in info.value.body
    assert (
        beta.get_big_segment_store_integration(
            integ.project_key, integ.environment_key, integ.integration_key, integ.id
        ).name
        == integ.name
    )
    with pytest.raises(exc.ConflictException):
        beta.create_big_segment_store_integration(
            integ.project_key,
            integ.environment_key,
            integ.integration_key,
            IntegrationDeliveryConfigurationPost(config=integ.config),
        )


@pytest.mark.parametrize(
    "path", ["/_id", "/_status", "/integrationKey", "/projectKey", "/environmentKey", "/version"]
)
def test_400_read_only_paths(beta: Any, path: str) -> None:
    integ = beta.get_big_segment_store_integrations().items[0]
    with pytest.raises(exc.BadRequestException) as info:
        beta.patch_big_segment_store_integration(
            integ.project_key,
            integ.environment_key,
            integ.integration_key,
            integ.id,
            [PatchOperation(op="replace", path=path, value="x")],
        )
    assert "read-only" in info.value.body


def test_429_with_headers(served_emulator: Any, beta: Any) -> None:
    limits = served_emulator.runtime.state.rate_limits
    limits.per_route, limits.retry_after = 2, True
    beta.get_big_segment_store_integrations()
    response = beta.get_big_segment_store_integrations_with_http_info()
    assert lower(response.headers)["x-ratelimit-route-remaining"] == "0"
    with pytest.raises(exc.ApiException) as info:
        beta.get_big_segment_store_integrations()
    e = info.value
    assert e.status == 429 and "rate_limited" in e.body
    headers = lower(e.headers)
    assert int(headers["x-ratelimit-reset"]) > 1_700_000_000_000
    assert 1 <= int(headers["retry-after"]) <= 10


def lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in dict(headers).items()}


def test_5xx_fault(served_emulator: Any, beta: Any) -> None:
    served_emulator.runtime.state.faults.error_rate = 1.0
    served_emulator.runtime.state.faults.error_status = 503
    with pytest.raises(exc.ServiceException):
        beta.get_big_segment_store_integrations()
