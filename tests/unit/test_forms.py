"""Config form validation: every rule, and messages that name the field and the fix."""

from __future__ import annotations

import uuid

import pytest

from ldtui.core.forms import (
    DynamoDBConfigForm,
    RedisConfigForm,
    generate_external_id,
    validate_config,
)
from ldtui.core.manifests import DYNAMODB, DYNAMODB_REGIONS, REDIS

GOOD_DDB = {
    "tableName": "ld-big-segments",
    "region": "us-east-1",
    "roleArn": "arn:aws:iam::123456789012:role/ld-big-segments",
    "externalId": "6f1c2a9e-0d7b-4c1e-9a55-3f2e8b7d1c40",
}


def test_redis_defaults_follow_the_manifest() -> None:
    form = RedisConfigForm(host="redis.internal")
    assert form.to_config() == {
        "host": "redis.internal",
        "port": REDIS.field("port").default,
        "username": "",
        "tlsEnabled": False,
    }


@pytest.mark.parametrize(
    "host, fragment",
    [
        ("", "Host is required"),
        ("redis://redis.internal", "without a scheme"),
        ("rediss://x", "without a scheme"),
        ("redis internal", "spaces"),
        ("user@redis", "hostname or IP address only"),
        ("redis/0", "hostname or IP address only"),
    ],
)
def test_redis_host_rules(host: str, fragment: str) -> None:
    result = validate_config("redis", {"host": host})
    assert not result.ok
    assert fragment in result.errors["host"]


def test_redis_host_missing_names_the_field() -> None:
    assert validate_config("redis", {}).errors == {"host": "Host is required."}


@pytest.mark.parametrize(
    "port, expected", [("6379", "6379"), (6380, "6380"), ("", "6379"), (" 1 ", "1"), ("65535", "65535")]
)
def test_redis_port_accepted_as_string(port: object, expected: str) -> None:
    result = validate_config("redis", {"host": "h", "port": port})
    assert result.ok, result.errors
    assert result.form.to_config()["port"] == expected


@pytest.mark.parametrize("port", ["0", "65536", "-1", "abc", "63 79", "٣", True, 1.5])
def test_redis_port_rejected(port: object) -> None:
    result = validate_config("redis", {"host": "h", "port": port})
    assert "Port must be a number from 1 to 65535" in result.errors["port"]


def test_redis_password_untouched_means_none_and_is_not_sent() -> None:
    form = RedisConfigForm(host="h", password="")
    assert form.password is None
    assert "password" not in form.to_config()


def test_redis_typed_password_is_secret() -> None:
    form = RedisConfigForm(host="h", password="hunter2hunter2")
    assert "hunter2" not in repr(form)
    assert form.to_config()["password"] == "hunter2hunter2"
    assert "password" not in form.to_config(include_password=False)


def test_redis_redacted_password_is_refused_with_a_fix() -> None:
    result = validate_config("redis", {"host": "h", "password": "s3c********ass"})
    assert "redacted" in result.errors["password"]
    assert "leave the field empty" in result.errors["password"]


def test_redis_unknown_field_named() -> None:
    result = validate_config("redis", {"host": "h", "db": "0"})
    assert "db" in result.errors and "not a field" in result.errors["db"]


def test_redis_tls_must_be_boolean() -> None:
    assert (
        "true or false" in validate_config("redis", {"host": "h", "tlsEnabled": "maybe"}).errors["tlsEnabled"]
    )


def test_dynamodb_good_config() -> None:
    result = validate_config("dynamodb", GOOD_DDB)
    assert result.ok
    assert result.form.to_config() == GOOD_DDB


@pytest.mark.parametrize("name", ["ab", "x" * 256, "bad name", "bad/name", "ünïcode"])
def test_dynamodb_table_name_rules(name: str) -> None:
    errors = validate_config("dynamodb", {**GOOD_DDB, "tableName": name}).errors
    assert "3-255 characters" in errors["tableName"]


@pytest.mark.parametrize("name", ["abc", "a.b-c_d", "x" * 255])
def test_dynamodb_table_name_accepted(name: str) -> None:
    assert validate_config("dynamodb", {**GOOD_DDB, "tableName": name}).ok


def test_dynamodb_region_must_be_in_manifest() -> None:
    assert DYNAMODB.field("region").allowed_values == DYNAMODB_REGIONS
    assert len(DYNAMODB_REGIONS) == 17
    for region in DYNAMODB_REGIONS:
        assert validate_config("dynamodb", {**GOOD_DDB, "region": region}).ok
    errors = validate_config("dynamodb", {**GOOD_DDB, "region": "eu-south-1"}).errors
    assert "eu-south-1" in errors["region"] and "us-east-1" in errors["region"]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/ld",
        "arn:aws-cn:iam::123456789012:role/path/to/ld+big=segs,x.y@z-1",
        "arn:aws-us-gov:iam::000000000000:role/r",
    ],
)
def test_role_arn_accepted(arn: str) -> None:
    assert validate_config("dynamodb", {**GOOD_DDB, "roleArn": arn}).ok


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "arn:aws:iam::12345678901:role/ld",  # 11 digits
        "arn:aws:iam::123456789012:user/ld",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::123456789012:role/",
        "aws:iam::123456789012:role/ld",
        "arn:aws:iam::123456789012:role/has space",
    ],
)
def test_role_arn_rejected(arn: str) -> None:
    errors = validate_config("dynamodb", {**GOOD_DDB, "roleArn": arn}).errors
    assert "arn:aws:iam::123456789012:role/" in errors["roleArn"]


def test_external_id_required_and_generated() -> None:
    cfg = dict(GOOD_DDB)
    del cfg["externalId"]
    errors = validate_config("dynamodb", cfg).errors
    assert "External Id is required" in errors["externalId"]
    generated = generate_external_id()
    assert uuid.UUID(generated).version == 4
    assert generated != generate_external_id()
    assert DynamoDBConfigForm(**{**cfg, "externalId": generated}).externalId == generated


def test_external_id_charset() -> None:
    errors = validate_config("dynamodb", {**GOOD_DDB, "externalId": "has space"}).errors
    assert "External Id must be" in errors["externalId"]


def test_several_errors_at_once_each_named() -> None:
    errors = validate_config("dynamodb", {"tableName": "x", "region": "mars", "roleArn": "nope"}).errors
    assert set(errors) == {"tableName", "region", "roleArn", "externalId"}


def test_unknown_integration_kind() -> None:
    result = validate_config("postgres", {})
    assert not result.ok and "redis or dynamodb" in result.errors["integrationKey"]


def test_non_string_values_get_messages_not_tracebacks() -> None:
    errors = validate_config("dynamodb", {**GOOD_DDB, "tableName": 12345}).errors
    assert errors["tableName"] == "DynamoDB table name must be text."
