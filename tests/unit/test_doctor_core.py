"""The doctor's judgements (pure), IAM's simulator answer parsed (botocore's Stubber: moto does
not implement SimulatePrincipalPolicy), and the README's table of check ids."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldtui.core import doctor as d
from ldtui.core.doctor import Check, PrefixFound

NOW = 1_795_000_000_000


def test_exit_code_is_the_worst_result() -> None:
    def checks(*results: str) -> list[Check]:
        return [Check("redis.tls", "t", r, "") for r in results]  # type: ignore[arg-type]

    assert d.exit_code(checks("PASS", "SKIP")) == 0
    assert d.exit_code(checks("PASS", "WARN", "SKIP")) == 1
    assert d.exit_code(checks("WARN", "FAIL")) == 2
    assert d.exit_code([]) == 0


@pytest.mark.parametrize(
    ("policy", "result"),
    [
        ("noeviction", "PASS"),
        ("volatile-lru", "PASS"),
        ("volatile-ttl", "PASS"),
        ("allkeys-lru", "FAIL"),
        ("allkeys-random", "FAIL"),
        ("allkeys-lfu", "FAIL"),
        (None, "SKIP"),
    ],
)
def test_eviction(policy: str | None, result: str) -> None:
    assert d.judge_eviction(policy).result == result


def test_memory_headroom() -> None:
    assert d.judge_memory(10, 0).result == "PASS"
    assert d.judge_memory(50, 100).result == "PASS"
    assert d.judge_memory(85, 100).result == "WARN"
    assert d.judge_memory(97, 100, "noeviction").result == "FAIL"
    assert "OOM" in d.judge_memory(97, 100, "noeviction").found
    assert d.judge_memory(None, None).result == "SKIP"


def test_tls_expiry_boundaries() -> None:
    now = 1_800_000_000.0
    day = 86400
    assert d.judge_tls(d.TlsPeer(not_after=now + 31 * day), tls=True, now_s=now).result == "PASS"
    assert d.judge_tls(d.TlsPeer(not_after=now + 29 * day), tls=True, now_s=now).result == "WARN"
    assert d.judge_tls(d.TlsPeer(not_after=now - 1), tls=True, now_s=now).result == "FAIL"
    assert d.judge_tls(d.TlsPeer(error="certificate has expired"), tls=True, now_s=now).result == "FAIL"
    assert d.judge_tls(None, tls=False, now_s=now).result == "SKIP"
    assert d.judge_tls(None, tls=False, now_s=now, integration_tls=True).result == "FAIL"
    assert d.judge_tls(None, tls=False, now_s=now, integration_tls=False).result == "WARN"
    assert d.judge_tls(d.TlsPeer(verified=False), tls=True, now_s=now).result == "WARN"


@pytest.mark.parametrize(
    ("pattern", "text", "match"),
    [
        ("p:big_segment*", "p:big_segments_cursor", True),
        ("p:big_segment*", "q:big_segments_cursor", False),
        ("p:?", "p:x", True),
        ("p:[abc]", "p:b", True),
        ("p:[^abc]", "p:b", False),
        ("p:[a-c]x", "p:bx", True),
        ("p\\*", "p*", True),
        ("p\\*", "px", False),
        ("*", "", True),
    ],
)
def test_redis_glob(pattern: str, text: str, match: bool) -> None:
    assert d.redis_glob(pattern, text) is match


@given(st.text(max_size=20), st.text(max_size=20))
def test_redis_glob_never_raises(pattern: str, text: str) -> None:
    d.redis_glob(pattern, text)


def test_acl_user_from_a_redis6_reply() -> None:
    reply = [
        b"flags",
        [b"on"],
        b"passwords",
        [],
        b"commands",
        b"-@all +get +set +@set -sadd",
        b"keys",
        [b"p:*"],
    ]
    user = d.AclUser.from_reply(d.acl_reply_map(reply))
    assert user.categories() == ["set"]
    categories = {"set": frozenset({"sadd", "srem", "smembers"})}
    answers = user.answers(d.writer_probe_args("p"), categories)
    assert answers["GET"] is None and answers["SREM"] is None
    assert answers["SADD"] is not None and answers["DEL"] is not None
    assert d.AclUser.from_reply(d.acl_reply_map(reply)).may_access("q:x", "R") is False


def test_acl_answers_name_what_is_missing() -> None:
    answers = dict.fromkeys(d.WRITER_COMMANDS, None)
    answers["SREM"] = "no permission to run srem"
    v = d.judge_acl_answers("w", answers, how="ACL DRYRUN", prefix="p")
    assert v.result == "FAIL" and "may not run SREM" in v.found and "+srem" in v.fix
    assert d.judge_acl_answers("w", dict.fromkeys(d.WRITER_COMMANDS), how="x", prefix="p").result == "PASS"


EXTERNAL = "ext-1"


def statement(
    principal: object, condition: object = None, effect: str = "Allow", action: object = "sts:AssumeRole"
) -> dict[str, object]:
    s: dict[str, object] = {"Effect": effect, "Principal": {"AWS": principal}, "Action": action}
    if condition is not None:
        s["Condition"] = condition
    return s


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize(
    ("document", "result", "words"),
    [
        (
            policy(statement(d.LAUNCHDARKLY_PRINCIPAL, {"StringEquals": {"sts:ExternalId": EXTERNAL}})),
            "PASS",
            "may assume",
        ),
        (
            policy(statement("554582317989", {"StringEquals": {"sts:externalid": [EXTERNAL]}})),
            "PASS",
            "may assume",
        ),
        (
            policy(
                statement("arn:aws:iam::111122223333:root", {"StringEquals": {"sts:ExternalId": EXTERNAL}})
            ),
            "FAIL",
            "111122223333",
        ),
        (policy(statement(d.LAUNCHDARKLY_PRINCIPAL)), "FAIL", "without an sts:ExternalId"),
        (
            policy(statement(d.LAUNCHDARKLY_PRINCIPAL, {"StringEquals": {"sts:ExternalId": "other"}})),
            "FAIL",
            "other",
        ),
        (
            policy(
                statement(
                    d.LAUNCHDARKLY_PRINCIPAL, {"StringEquals": {"sts:ExternalId": EXTERNAL}}, action="sts:*"
                )
            ),
            "PASS",
            "",
        ),
        (policy(statement("*", {"StringEquals": {"sts:ExternalId": EXTERNAL}})), "WARN", "every AWS account"),
        (
            policy(
                statement(d.LAUNCHDARKLY_PRINCIPAL, {"StringEquals": {"sts:ExternalId": EXTERNAL}}),
                statement(d.LAUNCHDARKLY_PRINCIPAL, effect="Deny"),
            ),
            "FAIL",
            "Deny",
        ),
        ({}, "FAIL", "no readable trust policy"),
        ("not json", "FAIL", "no readable"),
    ],
)
def test_trust(document: object, result: str, words: str) -> None:
    v = d.judge_trust(document, EXTERNAL)
    assert v.result == result, v
    assert words in v.found


TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


def test_policy_evaluator() -> None:
    allow = policy(
        {"Effect": "Allow", "Action": "dynamodb:*Item", "Resource": "arn:aws:dynamodb:*:*:table/t"}
    )
    assert d.evaluate_policies([allow], "dynamodb:UpdateItem", TABLE).allowed
    assert not d.evaluate_policies([allow], "dynamodb:Scan", TABLE).allowed
    deny = policy({"Effect": "Deny", "Action": "dynamodb:UpdateItem", "Resource": "*"})
    assert not d.evaluate_policies([allow, deny], "dynamodb:UpdateItem", TABLE).allowed
    other = policy(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:*:*:table/other"}
    )
    assert not d.evaluate_policies([other], "dynamodb:GetItem", TABLE).allowed
    conditional = policy(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        }
    )
    decision = d.evaluate_policies([conditional], "dynamodb:GetItem", TABLE)
    assert decision.allowed and decision.approximate
    not_action = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert d.evaluate_policies([not_action], "dynamodb:PutItem", TABLE).allowed


def test_prefix_classification() -> None:
    found = [
        PrefixFound("env-a", NOW - 5_000),
        PrefixFound("launchdarkly", NOW - 1_000),
        PrefixFound("orphan", NOW - 86_400_000),
        PrefixFound("env-c", None, "NOPERM"),
    ]
    envs = {"env-a": "p/a", "env-b": "p/b", "env-c": "p/c"}
    report = d.classify_prefixes(found, envs, expected="env-b", default="launchdarkly", now_ms=NOW)
    kinds = {p.prefix: p.kind for p in report.prefixes}
    assert kinds == {
        "env-a": "environment",
        "launchdarkly": "default",
        "orphan": "orphan",
        "env-c": "environment",
    }
    assert report.expected_missing
    assert [p.prefix for p in report.recent] == ["env-a", "launchdarkly"]
    assert d.judge_prefix(report, kind="redis", now_ms=NOW).result == "FAIL"
    writers = d.judge_writers(report, integration=True, now_ms=NOW)
    assert (
        writers.result == "WARN" and "two writers" in writers.found and "unreadable: NOPERM" in writers.found
    )
    mine = d.classify_prefixes(found[:1], envs, expected="env-a", default="launchdarkly", now_ms=NOW)
    assert d.judge_prefix(mine, kind="redis", now_ms=NOW).result == "PASS"
    assert d.judge_writers(mine, integration=True, now_ms=NOW).result == "PASS"
    empty = d.classify_prefixes([], envs, expected="env-a", default="launchdarkly", now_ms=NOW)
    assert d.judge_prefix(empty, kind="redis", now_ms=NOW).result == "WARN"
    assert d.judge_prefix(empty, kind="redis", now_ms=NOW, claims_synced=True).result == "FAIL"


def test_with_the_environments_not_all_listed_an_unmatched_prefix_is_unknown_not_an_orphan() -> None:
    """The API listed some environments before its deadline: a prefix not among them may be an
    environment's, so it is not called one with "no environment" (an overstated WARN); the
    default prefix is still surely not an integration's."""
    found = [PrefixFound("env-a", NOW - 5_000), PrefixFound("env-z", NOW - 2_000)]
    envs = {"env-a": "p/a"}
    partial = d.classify_prefixes(
        found, envs, expected="env-a", default="launchdarkly", now_ms=NOW, environments_complete=False
    )
    assert {p.prefix: p.kind for p in partial.prefixes} == {"env-a": "expected", "env-z": "unknown"}
    writers = d.judge_writers(partial, integration=True, now_ms=NOW)
    assert writers.result == "PASS", writers
    assert "'env-z': not one of the environments listed (they were not all listed)" in writers.found
    complete = d.classify_prefixes(found, envs, expected="env-a", default="launchdarkly", now_ms=NOW)
    assert {p.prefix: p.kind for p in complete.prefixes}["env-z"] == "orphan"
    assert d.judge_writers(complete, integration=True, now_ms=NOW).result == "WARN"
    with_default = d.classify_prefixes(
        [*found, PrefixFound("launchdarkly", NOW - 1_000)],
        envs,
        expected="env-a",
        default="launchdarkly",
        now_ms=NOW,
        environments_complete=False,
    )
    warned = d.judge_writers(with_default, integration=True, now_ms=NOW)
    assert warned.result == "WARN" and "two writers" in warned.found


def test_a_huge_prefix_is_shown_cut() -> None:
    report = d.classify_prefixes([PrefixFound("x" * 100_000, NOW)], {}, expected=None, default="", now_ms=NOW)
    assert len(d.judge_writers(report, integration=False, now_ms=NOW).found) < 1000


def _depth(text: str) -> int:
    """How deep parentheses nest in ``text``."""
    depth = deepest = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        deepest = max(deepest, depth)
    return deepest


def test_the_writers_message_never_nests_parentheses_and_keeps_every_fact() -> None:
    """DynamoDB's store.writers with every part it can say (two writers, the default prefix, an
    orphan, this target's, the discovery's notes): sentences, one level of parentheses at most."""
    found = [
        PrefixFound("", NOW - 2_000),
        PrefixFound("env-a", NOW - 1_000),
        PrefixFound("orphan-7", NOW - 3 * 86_400_000),
    ]
    report = d.classify_prefixes(found, {"env-a": "p/a"}, expected="env-a", default="", now_ms=NOW)
    report.note = (
        "only the prefixes of the environments the API knows, and no prefix, were looked up; "
        "--scan reads every item. only the first 200 projects were asked"
    )
    writers = d.judge_writers(report, integration=True, now_ms=NOW)
    assert writers.result == "WARN"
    assert _depth(writers.found) <= 1, writers.found
    for fact in (
        "two writers: (no prefix), 'env-a' were all written in the last ten minutes",
        "prefix with no environment: 'orphan-7': no environment the API knows, written 3d ago",
        "(no prefix): the default prefix that a Relay Proxy or SDK left at its default uses, written 2s ago",
        "'env-a': this target's, environment p/a, written 1s ago",
        "all prefixes found: ",
        "--scan reads every item",
        "only the first 200 projects were asked",
    ):
        assert fact in writers.found, (fact, writers.found)
    passed = d.judge_writers(
        d.classify_prefixes(found[1:2], {"env-a": "p/a"}, expected="env-a", default="", now_ms=NOW),
        integration=True,
        now_ms=NOW,
    )
    assert passed.result == "PASS" and _depth(passed.found) <= 1
    many = [PrefixFound(f"orphan-{i}", NOW - 86_400_000) for i in range(9)]
    crowded = d.classify_prefixes(many, {}, expected=None, default="", now_ms=NOW)
    crowded.note = "the scan stopped at 9 prefixes"
    verdict = d.judge_writers(crowded, integration=False, now_ms=NOW)
    assert _depth(verdict.found) <= 1 and "; and 3 more" in verdict.found
    assert verdict.found.endswith(". the scan stopped at 9 prefixes")


def test_two_environments_sharing_a_store_is_not_two_writers() -> None:
    found = [PrefixFound("env-a", NOW - 5_000), PrefixFound("env-b", NOW - 5_000)]
    report = d.classify_prefixes(
        found, {"env-a": "p/a", "env-b": "p/b"}, expected="env-a", default="", now_ms=NOW
    )
    assert d.judge_writers(report, integration=True, now_ms=NOW).result == "PASS"


def test_key_schema_region_and_role_arn() -> None:
    good = {
        "KeySchema": [
            {"AttributeName": "namespace", "KeyType": "HASH"},
            {"AttributeName": "key", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "namespace", "AttributeType": "S"},
            {"AttributeName": "key", "AttributeType": "S"},
        ],
    }
    assert d.judge_key_schema(good).result == "PASS"
    numeric = {
        **good,
        "AttributeDefinitions": [
            {"AttributeName": "namespace", "AttributeType": "S"},
            {"AttributeName": "key", "AttributeType": "N"},
        ],
    }
    assert d.judge_key_schema(numeric).result == "FAIL"
    assert d.judge_region("eu-north-1").result == "PASS"
    assert d.judge_region("af-south-1").result == "FAIL"
    assert d.judge_region("us-east-1", store_region="us-west-2").result == "WARN"
    assert d.judge_role_arn("arn:aws:iam::123456789012:role/path/ld").result == "PASS"
    assert d.parse_role_arn("arn:aws:iam::123456789012:role/path/ld") == ("aws", "123456789012", "ld")
    assert d.judge_role_arn("arn:aws:iam::123:role/x").result == "FAIL"
    assert d.judge_role_arn(None).result == "SKIP"


def test_simulator_answers_are_read() -> None:
    """IAM's SimulatePrincipalPolicy answer, through botocore's Stubber (moto has no simulator)."""
    import boto3
    from botocore.stub import Stubber

    from ldtui.stores.iam import IamReader, SimulationUnavailable

    client = boto3.client("iam", region_name="us-east-1")
    stub = Stubber(client)
    role = "arn:aws:iam::123456789012:role/ld"
    results = [
        {
            "EvalActionName": a,
            "EvalResourceName": TABLE,
            "EvalDecision": "implicitDeny" if "Update" in a else "allowed",
        }
        for a in d.WRITER_ACTIONS
    ]
    stub.add_response(
        "simulate_principal_policy",
        {"EvaluationResults": results, "IsTruncated": False},
        {"PolicySourceArn": role, "ActionNames": list(d.WRITER_ACTIONS), "ResourceArns": [TABLE]},
    )
    stub.add_client_error("simulate_principal_policy", "AccessDenied", "not allowed to simulate")
    stub.activate()
    reader = IamReader(client_factory=lambda: client)
    decisions = asyncio.run(reader.simulate(role, d.WRITER_ACTIONS, TABLE))
    v = d.judge_permissions(decisions, TABLE, how="iam:SimulatePrincipalPolicy")
    assert v.result == "FAIL" and "UpdateItem implicitDeny" in v.found and "approximate" not in v.found
    with pytest.raises(SimulationUnavailable):
        asyncio.run(reader.simulate(role, d.WRITER_ACTIONS, TABLE))
    assert reader.calls == ["SimulatePrincipalPolicy", "SimulatePrincipalPolicy"]


def test_iam_reader_makes_no_write() -> None:
    from ldtui.stores.iam import IamReader

    reader = IamReader(client_factory=lambda: None)
    with pytest.raises(ValueError):
        asyncio.run(reader._call("UpdateAssumeRolePolicy", RoleName="x"))


def test_admin_connection_asks_questions_only() -> None:
    from ldtui.core.store_settings import RedisStore
    from ldtui.stores.redis_admin import RedisAdmin

    admin = RedisAdmin(RedisStore(url="redis://127.0.0.1:1/0").endpoint())
    for command in (
        ("CONFIG", "SET", "maxmemory", "0"),
        ("SET", "k", "v"),
        ("ACL", "SETUSER", "x"),
        ("FLUSHALL",),
    ):
        with pytest.raises(ValueError):
            asyncio.run(admin.command(*command))
    assert admin.sent == []


def test_readme_documents_every_check_id() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### `ldtui doctor`", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", section, re.M)
    assert documented == list(d.CHECK_IDS)


def test_every_check_id_is_in_the_json_schema() -> None:
    import json

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "doctor.schema.json").read_text())
    assert schema["properties"]["checks"]["items"]["properties"]["id"]["enum"] == list(d.CHECK_IDS)
