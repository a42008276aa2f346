"""The ``formVariables`` of the ``redis`` and ``dynamodb`` integration manifests.

Copied from ``shared/spec/integration-manifests.md`` (keys, types, flags, defaults and allowed
values exactly). Forms are built from these descriptors; validation lives in ``core.forms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ldtui.core.models import IntegrationKey

FieldType = Literal["string", "boolean", "enum", "generated"]

# Manifest order (17 regions).
DYNAMODB_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "sa-east-1",
)


@dataclass(frozen=True)
class FormVariable:
    key: str
    label: str
    type: FieldType
    description: str
    is_optional: bool = False
    is_secret: bool = False
    default: str | bool | None = None
    placeholder: str | None = None
    allowed_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    key: IntegrationKey
    name: str
    db_style: str
    fields: tuple[FormVariable, ...]

    def field(self, key: str) -> FormVariable:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    @property
    def secret_keys(self) -> frozenset[str]:
        return frozenset(f.key for f in self.fields if f.is_secret)


REDIS = Manifest(
    key="redis",
    name="Redis big segment store",
    db_style="redis",
    fields=(
        FormVariable("host", "Host", "string", "Hostname of the Redis server."),
        FormVariable(
            "port",
            "Port",
            "string",
            "Redis port, sent as a string. If left out, 6379 is used.",
            is_optional=True,
            default="6379",
            placeholder="6379",
        ),
        FormVariable(
            "username",
            "Username",
            "string",
            "Redis ACL user name. Leave it empty if the server has no username configured.",
            is_optional=True,
            default="",
            placeholder="default",
        ),
        FormVariable(
            "password",
            "Password",
            "string",
            "Redis password. Masked here; the API redacts it on read.",
            is_optional=True,
            is_secret=True,
            default="",
        ),
        FormVariable(
            "tlsEnabled",
            "Connect with TLS",
            "boolean",
            "Tick this if the Redis server needs TLS/SSL.",
            is_optional=True,
            default=False,
        ),
    ),
)

DYNAMODB = Manifest(
    key="dynamodb",
    name="DynamoDB big segment store",
    db_style="dynamoDB",
    fields=(
        FormVariable(
            "tableName",
            "DynamoDB table name",
            "string",
            "An existing table with partition key `namespace` (S) and sort key `key` (S).",
        ),
        FormVariable(
            "region",
            "AWS Region",
            "enum",
            "The AWS region the table is in.",
            allowed_values=DYNAMODB_REGIONS,
        ),
        FormVariable(
            "externalId",
            "External Id",
            "generated",
            "External ID for the IAM role trust policy that lets LaunchDarkly assume the role. "
            "Generate one, then put it in the role's trust policy.",
        ),
        FormVariable(
            "roleArn",
            "AWS Role ARN",
            "string",
            "ARN of the IAM role that LaunchDarkly assumes to manage the table.",
        ),
    ),
)

MANIFESTS: dict[str, Manifest] = {"redis": REDIS, "dynamodb": DYNAMODB}


def validate_manifest_config(kind: str, config: object, *, partial: bool = False) -> dict[str, str]:
    """What the API itself checks (the manifest's shape), as ``{field: message}``.

    Looser than ldtui's forms on purpose: the manifests carry no value patterns, so a host with
    a scheme or an odd ARN passes here (the emulator behaves like the API), while ldtui's forms
    catch them first. ``port`` must be a string, ``tlsEnabled`` a boolean, ``region`` one of the
    allowed values, every non-optional field present and non-empty; unknown keys are refused.
    """
    manifest = MANIFESTS.get(kind)
    if manifest is None:
        return {"integrationKey": f"unknown integration key {kind!r}; use redis or dynamodb"}
    if not isinstance(config, dict):
        return {"config": "config must be an object"}
    errors: dict[str, str] = {}
    known = {f.key for f in manifest.fields}
    for key in config:
        if key not in known:
            errors[f"config.{key}"] = f"config.{key} is not a field of the {kind} integration"
    for f in manifest.fields:
        value = config.get(f.key)
        path = f"config.{f.key}"
        if f.key not in config:
            if not f.is_optional and not partial:
                errors[path] = f"{path} is required"
            continue
        if f.type == "boolean":
            if not isinstance(value, bool):
                errors[path] = f"{path} must be a boolean"
        elif not isinstance(value, str):
            errors[path] = f"{path} must be a string"
        elif not f.is_optional and not value.strip():
            errors[path] = f"{path} must not be empty"
        elif f.type == "enum" and value not in f.allowed_values:
            errors[path] = f"{path} must be one of {', '.join(f.allowed_values)}"
        elif f.key == "port" and value and (not value.isdigit() or not 1 <= int(value) <= 65535):
            errors[path] = f"{path} must be a port number from 1 to 65535, as a string"
    return errors
