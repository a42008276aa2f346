"""Every contract model equals its OpenAPI schema: property names (aliases), required sets and
types. A drift between ``ldtui.core.models`` and the spec fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ldtui.core import models
from ldtui.spec import OPENAPI_FILE, component_schemas, openapi

SCHEMAS = component_schemas()

# spec schema name -> (model, properties the model may add beyond the spec, with the reason)
MODELS: dict[str, tuple[type[BaseModel], frozenset[str]]] = {
    name: (getattr(models, name), frozenset())
    for name in (
        "Access",
        "AccessAllowedReason",
        "AccessAllowedRep",
        "AccessDenied",
        "AccessDeniedReason",
        "ApprovalSettings",
        "BigSegmentStoreIntegration",
        "BigSegmentStoreIntegrationCollection",
        "BigSegmentStoreIntegrationCollectionLinks",
        "BigSegmentStoreIntegrationLinks",
        "BigSegmentStoreStatus",
        "BigSegmentTarget",
        "Clause",
        "ClientSideAvailability",
        "Environment",
        "Environments",
        "FlagListingRep",
        "IntegrationDeliveryConfigurationPost",
        "Link",
        "PatchOperation",
        "Project",
        "Projects",
        "SegmentMetadata",
        "SegmentTarget",
        "StoreIntegrationError",
        "UserSegment",
        "UserSegmentRule",
        "ipList",
    )
}
# One model serves every error body; the generic docs add an optional request `id`.
for _name in (
    "InvalidRequestErrorRep",
    "UnauthorizedErrorRep",
    "ForbiddenErrorRep",
    "NotFoundErrorRep",
    "MethodNotAllowedErrorRep",
    "StatusConflictErrorRep",
    "RateLimitedErrorRep",
):
    MODELS[_name] = (models.ErrorRep, frozenset({"id"}))

# Schemas that are not objects (scalars, free-form maps, arrays) and how they are modelled.
SCALAR_SCHEMAS = {
    "ActionIdentifier": "string",
    "ActionSpecifier": "string",
    "Operator": "string",
    "SegmentId": "string",
    "UnixMillis": "integer",
    "FormVariableConfig": "map<any>",
    "JSONPatch": "array<object:PatchOperation>",
}


def _spec_sig(schema: dict[str, Any]) -> str:
    """A type signature of a spec schema, refs to scalars resolved."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in SCALAR_SCHEMAS:
            return SCALAR_SCHEMAS[name]
        return f"object:{name}"
    if "enum" in schema:
        return "enum(" + ",".join(sorted(schema["enum"])) + ")"
    kind = schema.get("type")
    if kind == "array":
        return f"array<{_spec_sig(schema.get('items', {}))}>"
    if kind == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties", {})
        return f"map<{_spec_sig(extra) if isinstance(extra, dict) else 'any'}>"
    return kind or "any"


# A model class -> the spec schema name it stands for (ErrorRep stands for several).
CLASS_TO_SCHEMA = {m.__name__: name for name, (m, _) in MODELS.items() if m is not models.ErrorRep}


def _model_sig(schema: dict[str, Any]) -> str:
    """The same signature for a pydantic JSON schema."""
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        assert len(branches) == 1, schema
        return _model_sig(branches[0])
    if "$ref" in schema:
        cls = schema["$ref"].rsplit("/", 1)[1]
        return f"object:{CLASS_TO_SCHEMA.get(cls, cls)}"
    if "enum" in schema:
        return "enum(" + ",".join(sorted(schema["enum"])) + ")"
    if "const" in schema:
        return f"enum({schema['const']})"
    kind = schema.get("type")
    if kind == "array":
        return f"array<{_model_sig(schema.get('items', {}))}>"
    if kind == "object":
        extra = schema.get("additionalProperties", True)
        return f"map<{_model_sig(extra) if isinstance(extra, dict) else 'any'}>"
    return kind or "any"


def _model_props(model: type[BaseModel]) -> tuple[dict[str, Any], set[str]]:
    js = model.model_json_schema(by_alias=True, mode="validation")
    return js["properties"], set(js.get("required", []))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_schema(name: str) -> None:
    model, extras = MODELS[name]
    spec = SCHEMAS[name]
    props, required = _model_props(model)

    spec_props = set(spec.get("properties", {}))
    assert set(props) - extras == spec_props, f"{model.__name__} properties differ from {name}"
    assert set(extras) <= set(props)
    assert required == set(spec.get("required", [])), f"{model.__name__} required set differs"
    for prop, prop_schema in spec["properties"].items():
        assert _model_sig(props[prop]) == _spec_sig(prop_schema), f"{name}.{prop}"


def test_every_object_schema_is_modelled() -> None:
    """A schema added to the subset must get a model (or an explicit scalar mapping)."""
    unmodelled = set(SCHEMAS) - set(MODELS) - set(SCALAR_SCHEMAS)
    assert not unmodelled


@pytest.mark.parametrize("name", sorted(SCALAR_SCHEMAS))
def test_scalar_schemas(name: str) -> None:
    schema = SCHEMAS[name]
    expected = SCALAR_SCHEMAS[name]
    if expected.startswith("map<"):
        assert schema["type"] == "object" and schema.get("additionalProperties") == {}
    elif expected.startswith("array<"):
        assert schema["type"] == "array"
        assert _spec_sig(schema["items"]) == expected[len("array<") : -1]
    else:
        assert schema["type"] == expected


def test_aliases_round_trip_spec_example() -> None:
    """The spec's own example object (api-contract.md §4) parses and dumps back unchanged."""
    body = {
        "_links": {
            "self": {
                "href": "/api/v2/integration-capabilities/big-segment-store/default/production/redis/12ab3c4d5ef1a2345bcde67f",
                "type": "application/json",
            },
            "parent": {
                "href": "/api/v2/integration-capabilities/big-segment-store",
                "type": "application/json",
            },
            "project": {"href": "/api/v2/projects/default", "type": "application/json"},
            "environment": {
                "href": "/api/v2/projects/default/environments/production",
                "type": "application/json",
            },
        },
        "_id": "12ab3c4d5ef1a2345bcde67f",
        "integrationKey": "redis",
        "projectKey": "default",
        "environmentKey": "production",
        "config": {
            "host": "redis.internal.example.com",
            "port": "6379",
            "username": "default",
            "password": "s3c********ass",
            "tlsEnabled": True,
        },
        "on": False,
        "tags": ["ops"],
        "name": "Prod Redis store",
        "version": 1,
        "_access": {"denied": [], "allowed": []},
        "_status": {"available": False, "potentiallyStale": False},
    }
    parsed = models.BigSegmentStoreIntegration.model_validate(body)
    assert parsed.id == "12ab3c4d5ef1a2345bcde67f"
    assert parsed.status.available is False
    assert parsed.to_api() == body


@pytest.mark.parametrize(
    "field, bad",
    [("integrationKey", "postgres"), ("name", None), ("version", 1.5), ("tags", None)],
)
def test_integration_rejects_what_the_official_client_rejects(field: str, bad: Any) -> None:
    body = _minimal_integration()
    body[field] = bad
    with pytest.raises(ValueError):
        models.BigSegmentStoreIntegration.model_validate(body)


@pytest.mark.parametrize("missing", ["config", "tags", "_status", "name", "_links"])
def test_integration_required_fields(missing: str) -> None:
    body = _minimal_integration()
    del body[missing]
    with pytest.raises(ValueError):
        models.BigSegmentStoreIntegration.model_validate(body)


def test_environment_keys_never_in_repr_or_dump() -> None:
    env = models.Environment.model_validate(
        {
            "_links": {},
            "_id": "client-side-id",
            "key": "production",
            "name": "Production",
            "apiKey": "sdk-11111111-2222-3333-4444-555555555555",
            "mobileKey": "mob-abcdef",
            "color": "417505",
            "defaultTtl": 0,
            "secureMode": False,
            "defaultTrackEvents": False,
            "requireComments": False,
            "confirmChanges": False,
            "tags": [],
            "critical": True,
        }
    )
    for text in (repr(env), str(env), json.dumps(env.to_api())):
        assert "sdk-1111" not in text
        assert "mob-abcdef" not in text
    assert env.apiKey.get_secret_value().startswith("sdk-")


def test_vendored_spec_is_the_shared_spec() -> None:
    """The package ships a verbatim copy of the contract; it must not drift from shared/."""
    shared = Path(__file__).resolve().parents[3] / "shared" / "spec" / OPENAPI_FILE
    if not shared.exists():
        pytest.skip("shared/spec is not beside this clone")
    assert json.loads(shared.read_text()) == openapi()


def _minimal_integration() -> dict[str, Any]:
    link = {"href": "/x"}
    return {
        "_links": {"self": link, "parent": link, "project": link, "environment": link},
        "_id": "abc",
        "integrationKey": "dynamodb",
        "projectKey": "p",
        "environmentKey": "e",
        "config": {},
        "on": True,
        "tags": [],
        "name": "n",
        "version": 3,
        "_status": {},
    }
