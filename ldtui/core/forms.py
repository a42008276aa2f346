"""Validated form models for the Redis and DynamoDB integration configs.

The manifests carry no value-level validation; these rules are ldtui's, chosen so that a bad
value is caught in the form with a message that names the field and says how to fix it, before
LaunchDarkly answers 400. ``validate_config`` is what forms, the emulator and headless commands
call; it never raises on bad input, it returns messages keyed by the manifest field key.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ldtui.core.manifests import DYNAMODB, DYNAMODB_REGIONS, MANIFESTS, REDIS
from ldtui.core.secrets import is_redacted

_HOST_FORBIDDEN = re.compile(r"\s")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# arn:<partition>:iam::<12-digit account>:role/<optional path/><name>
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$")
# What IAM accepts for sts:ExternalId.
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


def _err(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


class _ConfigForm(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RedisConfigForm(_ConfigForm):
    """The ``redis`` manifest's ``config``.

    ``password`` is ``None`` when the user left it untouched: on edit that means "keep the
    stored one", on create "no password".
    """

    host: str
    port: str = "6379"
    username: str = ""
    password: SecretStr | None = None
    tlsEnabled: bool = False

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not v:
            raise _err("host", "Host is required: the Redis server's hostname or IP address.")
        if "://" in v:
            raise _err(
                "host",
                "Host must be a bare hostname, without a scheme: write `redis.example.com`, "
                "not `redis://redis.example.com`; use Connect with TLS for rediss.",
            )
        if _HOST_FORBIDDEN.search(v):
            raise _err("host", "Host must not contain spaces.")
        if "/" in v or "@" in v:
            raise _err("host", "Host must be a hostname or IP address only (no path, no user@).")
        return v

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, v: Any) -> str:
        # The API wants a string; a person typing 6379 means the same thing.
        if isinstance(v, bool):
            raise _err("port", "Port must be a number from 1 to 65535, e.g. 6379.")
        if isinstance(v, int):
            v = str(v)
        if not isinstance(v, str):
            raise _err("port", "Port must be a number from 1 to 65535, e.g. 6379.")
        v = v.strip()
        if v == "":
            return "6379"
        if not v.isascii() or not v.isdigit() or not 1 <= int(v) <= 65535:
            raise _err("port", f"Port must be a number from 1 to 65535, e.g. 6379 (got {v!r}).")
        return str(int(v))

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if _HOST_FORBIDDEN.search(v):
            raise _err("username", "Username must not contain spaces.")
        return v

    @field_validator("password", mode="before")
    @classmethod
    def _password(cls, v: Any) -> Any:
        raw = v.get_secret_value() if isinstance(v, SecretStr) else v
        if raw is None or raw == "":
            return None
        if is_redacted(raw):
            raise _err(
                "password",
                "Password looks like the redacted value LaunchDarkly shows (abc********xyz). "
                "Type the real password, or leave the field empty to keep the stored one.",
            )
        return v

    def to_config(self, *, include_password: bool = True) -> dict[str, Any]:
        """The ``config`` object to send. The password only when typed and asked for."""
        out: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "tlsEnabled": self.tlsEnabled,
        }
        if include_password and self.password is not None:
            out["password"] = self.password.get_secret_value()
        return out


class DynamoDBConfigForm(_ConfigForm):
    """The ``dynamodb`` manifest's ``config``."""

    tableName: str
    region: str
    roleArn: str
    externalId: str = Field(default="", validate_default=True)

    @field_validator("tableName")
    @classmethod
    def _table(cls, v: str) -> str:
        if not _TABLE_NAME.match(v):
            raise _err(
                "tableName",
                "DynamoDB table name must be 3-255 characters of letters, digits, "
                "underscore (_), hyphen (-) and dot (.).",
            )
        return v

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if v not in DYNAMODB_REGIONS:
            raise _err(
                "region",
                f"AWS Region must be one of the regions LaunchDarkly supports "
                f"({', '.join(DYNAMODB_REGIONS)}); got {v!r}.",
            )
        return v

    @field_validator("roleArn")
    @classmethod
    def _role_arn(cls, v: str) -> str:
        if not _ROLE_ARN.match(v):
            raise _err(
                "roleArn",
                "AWS Role ARN must look like arn:aws:iam::123456789012:role/ld-big-segments "
                "(arn:<partition>:iam::<12-digit account>:role/<name>).",
            )
        return v

    @field_validator("externalId")
    @classmethod
    def _external_id(cls, v: str) -> str:
        if not v:
            raise _err(
                "externalId",
                "External Id is required: generate one (a UUID), and put the same value in "
                "the IAM role's trust policy.",
            )
        if not _EXTERNAL_ID.match(v):
            raise _err(
                "externalId",
                "External Id must be 2-1224 characters of letters, digits and +=,.@:/-_ "
                "(a generated UUID is the usual choice).",
            )
        return v

    def to_config(self, *, include_password: bool = True) -> dict[str, Any]:
        return {
            "tableName": self.tableName,
            "region": self.region,
            "roleArn": self.roleArn,
            "externalId": self.externalId,
        }


FORM_MODELS: dict[str, type[RedisConfigForm] | type[DynamoDBConfigForm]] = {
    "redis": RedisConfigForm,
    "dynamodb": DynamoDBConfigForm,
}

_PYDANTIC_MESSAGES = {
    "missing": "{label} is required.",
    "string_type": "{label} must be text.",
    "bool_type": "{label} must be true or false.",
    "bool_parsing": "{label} must be true or false.",
    "extra_forbidden": "{label} is not a field of this integration; remove it.",
}


def generate_external_id() -> str:
    """A fresh external ID for a DynamoDB integration's IAM trust policy (UUID4)."""
    return str(uuid.uuid4())


@dataclass
class ConfigValidation:
    """The outcome of validating a config form: a model, or messages keyed by field."""

    form: RedisConfigForm | DynamoDBConfigForm | None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.form is not None and not self.errors


def field_errors(exc: ValidationError, kind: str) -> dict[str, str]:
    """Turn a pydantic error into one human message per manifest field key."""
    manifest = MANIFESTS[kind]
    out: dict[str, str] = {}
    for e in exc.errors():
        key = str(e["loc"][0]) if e["loc"] else "config"
        try:
            label = manifest.field(key).label
        except KeyError:
            label = key
        template = _PYDANTIC_MESSAGES.get(e["type"])
        message = template.format(label=label) if template else e["msg"]
        out.setdefault(key, message)
    return out


def validate_config(kind: str, raw: dict[str, Any]) -> ConfigValidation:
    """Validate a raw ``config`` mapping for integration ``kind``. Never raises on bad input."""
    if kind not in FORM_MODELS:
        return ConfigValidation(
            None, {"integrationKey": f"Unknown integration {kind!r}: use redis or dynamodb."}
        )
    try:
        return ConfigValidation(FORM_MODELS[kind].model_validate(raw))
    except ValidationError as exc:
        return ConfigValidation(None, field_errors(exc, kind))


__all__ = [
    "DYNAMODB",
    "REDIS",
    "ConfigValidation",
    "DynamoDBConfigForm",
    "RedisConfigForm",
    "field_errors",
    "generate_external_id",
    "validate_config",
]


_TAG = re.compile(r"^[\w.\-:]{1,64}$")


def parse_tags(text: str) -> list[str]:
    """``"ops, critical"`` -> ``["ops", "critical"]`` (order kept, duplicates and blanks dropped)."""
    out: list[str] = []
    for part in text.replace("\n", ",").split(","):
        tag = part.strip()
        if tag and tag not in out:
            out.append(tag)
    return out


@dataclass
class IntegrationDraft:
    """Everything an integration form holds, as typed. Kept whole across failures: a rejected
    or conflicting edit never loses it."""

    kind: str
    name: str = ""
    tags_text: str = ""
    on: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        return parse_tags(self.tags_text)

    def validate(self) -> ConfigValidation:
        """Messages keyed by field (``name``, ``tags`` or a manifest key)."""
        result = validate_config(self.kind, self.config)
        errors = dict(result.errors)
        if not self.name.strip():
            errors["name"] = "Name is required: how operators will recognise this store."
        elif len(self.name) > 200:
            errors["name"] = "Name must be at most 200 characters."
        bad = [t for t in self.tags if not _TAG.match(t)]
        if bad:
            errors["tags"] = (
                f"Tags may hold letters, digits, '.', '_', '-' and ':' (at most 64): fix {bad[0]!r}."
            )
        return ConfigValidation(result.form if not errors else None, errors)
