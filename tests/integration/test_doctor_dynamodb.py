"""``ldtui doctor`` for DynamoDB on a moto server (DynamoDB and IAM over HTTP): a correct setup
passes every check; a wrong key schema, a role trusted for another account, a role without
sts:ExternalId and a policy without UpdateItem each fail with their id; nothing is changed.

moto does not implement iam:SimulatePrincipalPolicy (it answers 500), so these runs take the
fallback (the role's policies read and evaluated by ldtui, "approximate"); the simulator's own
answers are parsed in tests/unit/test_doctor_core.py with botocore's Stubber."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from ldtui.core.doctor import LAUNCHDARKLY_PRINCIPAL, Check
from ldtui.core.store_settings import DynamoDBStore
from ldtui.services.doctor import DoctorService
from ldtui.services.inspect import DirectStore
from ldtui.stores.dynamodb_reader import DynamoDBBigSegmentReader, dynamodb_client
from ldtui.stores.iam import IamReader
from tests.servers import MotoServer

pytestmark = pytest.mark.network

EXTERNAL_ID = "9d3b2f1e-0000-4c1a-9e7e-5f1d2c3b4a59"
PREFIX = "client-side-id-1"
ACTIONS = ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]


@pytest.fixture
def iam(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", moto_server.endpoint)
    client = boto3.client("iam", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    yield client
    client.close()


_roles = iter(range(10_000))


def trust(principal: str = LAUNCHDARKLY_PRINCIPAL, external_id: str | None = EXTERNAL_ID) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def make_role(iam: Any, table_arn: str, *, trust_policy: dict[str, Any], actions: list[str] = ACTIONS) -> str:
    name = f"ld-big-segments-{next(_roles)}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy))["Role"]["Arn"]
    inline = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions[:2], "Resource": table_arn}],
    }
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
    if actions[2:]:
        managed = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions[2:], "Resource": table_arn}],
        }
        policy = iam.create_policy(PolicyName=f"{name}-managed", PolicyDocument=json.dumps(managed))
        iam.attach_role_policy(RoleName=name, PolicyArn=policy["Policy"]["Arn"])
    return str(arn)


def table_arn(moto_server: MotoServer, table: str) -> str:
    return str(moto_server.client().describe_table(TableName=table)["Table"]["TableArn"])


def write_metadata(moto_server: MotoServer, table: str, prefix: str, synchronized_on: int) -> None:
    ns = f"{prefix}:big_segments_metadata" if prefix else "big_segments_metadata"
    moto_server.client().put_item(
        TableName=table,
        Item={"namespace": {"S": ns}, "key": {"S": ns}, "synchronizedOn": {"N": str(synchronized_on)}},
    )


class Recorder:
    """Every DynamoDB and IAM operation the doctor makes, by name (botocore's before-call event)."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def hook(self, client: Any) -> Any:
        def record(model: Any, **_kwargs: Any) -> None:
            self.operations.append(model.name)

        client.meta.events.register("before-call", record)
        return client

    def reader(self, store: Any, prefix: str, _password: Any) -> DynamoDBBigSegmentReader:
        return DynamoDBBigSegmentReader(store, prefix, client_factory=lambda s: self.hook(dynamodb_client(s)))

    def iam(self, _store: DynamoDBStore) -> IamReader:
        return IamReader(
            client_factory=lambda: self.hook(boto3.session.Session().client("iam", region_name="us-east-1"))
        )


async def doctor(
    moto_server: MotoServer,
    table: str,
    role_arn: str | None,
    *,
    external_id: str = EXTERNAL_ID,
    recorder: Recorder | None = None,
    scan: bool = False,
) -> dict[str, Check]:
    recorder = recorder or Recorder()
    service = DoctorService(
        None, None, environ={}, scan=scan, reader_factory=recorder.reader, iam_factory=recorder.iam
    )
    direct = DirectStore(
        kind="dynamodb", table=table, region="us-east-1", endpoint_url=moto_server.endpoint, prefix=PREFIX
    )
    target = service.direct_target(direct, role_arn=role_arn, external_id=external_id)
    return {c.id: c for c in await service.run([target])}


async def test_a_correct_setup_passes_every_check(
    moto_server: MotoServer, dynamodb_table: str, iam: Any
) -> None:
    arn = make_role(iam, table_arn(moto_server, dynamodb_table), trust_policy=trust())
    write_metadata(moto_server, dynamodb_table, PREFIX, int(time.time() * 1000))
    checks = await doctor(moto_server, dynamodb_table, arn)
    dynamodb = {k: v for k, v in checks.items() if k.startswith("dynamodb.")}
    assert len(dynamodb) == 7
    assert {c.result for c in dynamodb.values()} == {"PASS"}, [
        c for c in dynamodb.values() if c.result != "PASS"
    ]
    assert "approximate" in checks["dynamodb.permissions"].found  # moto has no policy simulator
    assert checks["store.writers"].result == "PASS"
    assert {c.result for c in checks.values()} <= {"PASS", "SKIP"}  # exit code 0


async def test_a_wrong_key_schema_fails(moto_server: MotoServer, iam: Any) -> None:
    client = moto_server.client()
    name = f"wrong-schema-{next(_roles)}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = make_role(iam, table_arn(moto_server, name), trust_policy=trust())
    recorder = Recorder()
    checks = await doctor(moto_server, name, arn, recorder=recorder)
    assert checks["dynamodb.key_schema"].result == "FAIL"
    assert "partition key 'id'" in checks["dynamodb.key_schema"].found
    assert checks["dynamodb.table"].result == "PASS"
    # The prefix checks point at the key schema, not at DynamoDB's ValidationException.
    for check_id in ("dynamodb.prefix", "store.writers"):
        check = checks[check_id]
        assert check.result == "SKIP", check
        assert check.found == (
            "skipped: the table's key schema is not the one the SDKs read (see dynamodb.key_schema)"
        )
    assert not {"GetItem", "BatchGetItem", "Query"} & set(recorder.operations)


async def test_a_missing_table_fails(moto_server: MotoServer) -> None:
    checks = await doctor(moto_server, "no-such-table", None)
    assert checks["dynamodb.table"].result == "FAIL"
    assert checks["dynamodb.key_schema"].result == "SKIP"


async def test_a_role_trusted_for_another_account_fails(
    moto_server: MotoServer, dynamodb_table: str, iam: Any
) -> None:
    arn = make_role(
        iam, table_arn(moto_server, dynamodb_table), trust_policy=trust("arn:aws:iam::111122223333:root")
    )
    checks = await doctor(moto_server, dynamodb_table, arn)
    assert checks["dynamodb.trust"].result == "FAIL"
    assert "111122223333" in checks["dynamodb.trust"].found
    assert LAUNCHDARKLY_PRINCIPAL in checks["dynamodb.trust"].fix


async def test_a_role_without_external_id_fails(
    moto_server: MotoServer, dynamodb_table: str, iam: Any
) -> None:
    arn = make_role(iam, table_arn(moto_server, dynamodb_table), trust_policy=trust(external_id=None))
    checks = await doctor(moto_server, dynamodb_table, arn)
    assert checks["dynamodb.trust"].result == "FAIL"
    assert "without an sts:ExternalId" in checks["dynamodb.trust"].found


async def test_a_different_external_id_fails(moto_server: MotoServer, dynamodb_table: str, iam: Any) -> None:
    arn = make_role(
        iam, table_arn(moto_server, dynamodb_table), trust_policy=trust(external_id="another-one")
    )
    checks = await doctor(moto_server, dynamodb_table, arn)
    assert checks["dynamodb.trust"].result == "FAIL"
    assert "another-one" in checks["dynamodb.trust"].found and EXTERNAL_ID in checks["dynamodb.trust"].found


async def test_a_policy_without_update_item_fails(
    moto_server: MotoServer, dynamodb_table: str, iam: Any
) -> None:
    actions = [a for a in ACTIONS if a != "dynamodb:UpdateItem"]
    arn = make_role(iam, table_arn(moto_server, dynamodb_table), trust_policy=trust(), actions=actions)
    checks = await doctor(moto_server, dynamodb_table, arn)
    permissions = checks["dynamodb.permissions"]
    assert permissions.result == "FAIL"
    assert "may not run UpdateItem" in permissions.found
    assert "dynamodb:UpdateItem" in permissions.fix
    assert checks["dynamodb.trust"].result == "PASS"


async def test_a_bad_role_arn_and_region(moto_server: MotoServer, dynamodb_table: str) -> None:
    checks = await doctor(moto_server, dynamodb_table, "arn:aws:iam::12345:user/bob")
    assert checks["dynamodb.role_arn"].result == "FAIL"
    assert checks["dynamodb.trust"].result == "SKIP"


async def test_prefixes_by_scan(moto_server: MotoServer, dynamodb_table: str) -> None:
    now = int(time.time() * 1000)
    write_metadata(moto_server, dynamodb_table, PREFIX, now - 1000)
    write_metadata(moto_server, dynamodb_table, "", now - 2000)
    write_metadata(moto_server, dynamodb_table, "orphan", now - 86_400_000)
    checks = await doctor(moto_server, dynamodb_table, None, scan=True)
    writers = checks["store.writers"]
    assert writers.result == "WARN", writers
    assert "two writers" in writers.found and "(no prefix)" in writers.found
    assert "'orphan'" in writers.found
    assert checks["dynamodb.prefix"].result == "PASS"


async def test_read_only_on_moto(moto_server: MotoServer, dynamodb_table: str, iam: Any) -> None:
    """Only reads of DynamoDB and IAM; the table's items, the role and its policies unchanged."""
    arn = make_role(iam, table_arn(moto_server, dynamodb_table), trust_policy=trust())
    write_metadata(moto_server, dynamodb_table, PREFIX, 1)
    name = arn.rsplit("/", 1)[1]

    def state() -> Any:
        items = moto_server.client().scan(TableName=dynamodb_table)["Items"]
        role = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        inline = iam.get_role_policy(RoleName=name, PolicyName="inline")["PolicyDocument"]
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        return items, role, inline, attached

    before = state()
    recorder = Recorder()
    await doctor(moto_server, dynamodb_table, arn, recorder=recorder, scan=True)
    assert state() == before
    reads = {"DescribeTable", "GetItem", "BatchGetItem", "Query", "Scan"}
    reads |= {"GetRole", "ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies", "GetPolicy"}
    reads |= {"GetPolicyVersion", "SimulatePrincipalPolicy"}
    assert set(recorder.operations) <= reads, set(recorder.operations) - reads
    assert {"DescribeTable", "GetRole", "Scan"} <= set(recorder.operations)
