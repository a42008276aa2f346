"""JSON Patch building: properties over random integrations and edits, plus the exact shapes."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldtui.core.models import BigSegmentStoreIntegration
from ldtui.core.patch import (
    IntegrationEdit,
    UnsafePatchError,
    build_patch,
    check_patch,
    human_diff,
    patch_for_display,
)
from ldtui.core.secrets import is_redacted, redact_like_launchdarkly

LINK = {"href": "/x", "type": "application/json"}
READ_ONLY = ("/_", "/integrationKey", "/projectKey", "/environmentKey", "/version")

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
# Keys include JSON Pointer specials so escaping is exercised.
config_key = st.sampled_from(["host", "port", "username", "tlsEnabled", "a/b", "t~x", "extra"])
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), text)


def integration(
    kind: str, config: dict[str, Any], *, version: int, name: str, on: bool, tags: list[str]
) -> BigSegmentStoreIntegration:
    return BigSegmentStoreIntegration.model_validate(
        {
            "_links": {"self": LINK, "parent": LINK, "project": LINK, "environment": LINK},
            "_id": "12ab3c4d5ef1a2345bcde67f",
            "integrationKey": kind,
            "projectKey": "default",
            "environmentKey": "production",
            "config": config,
            "on": on,
            "tags": tags,
            "name": name,
            "version": version,
            "_access": {"denied": [], "allowed": []},
            "_status": {"available": True},
        }
    )


@st.composite
def fetched_integrations(draw: st.DrawFn) -> BigSegmentStoreIntegration:
    config = draw(st.dictionaries(config_key, json_scalar, max_size=5))
    kind = draw(st.sampled_from(["redis", "dynamodb"]))
    stored_password = draw(st.one_of(st.none(), st.text(min_size=0, max_size=20)))
    if kind == "redis" and stored_password is not None:
        config["password"] = redact_like_launchdarkly(stored_password)
    return integration(
        kind,
        config,
        version=draw(st.integers(1, 10_000)),
        name=draw(text),
        on=draw(st.booleans()),
        tags=draw(st.lists(text, max_size=4)),
    )


@st.composite
def edits(draw: st.DrawFn, fetched: BigSegmentStoreIntegration) -> IntegrationEdit:
    keep = draw(st.booleans())
    config = {}
    for key, value in fetched.config.items():
        if key != "password":
            config[key] = draw(st.one_of(st.just(value), json_scalar)) if not keep else value
    config.update(draw(st.dictionaries(config_key, json_scalar, max_size=3)))
    if fetched.integrationKey != "redis":
        return IntegrationEdit(
            name=draw(text), on=draw(st.booleans()), tags=draw(st.lists(text, max_size=4)), config=config
        )
    # The password field: untouched (None / ""), the redacted value echoed, or typed.
    config["password"] = draw(
        st.one_of(
            st.none(),
            st.just(""),
            st.just(fetched.config.get("password", "abc********xyz")),
            st.text(min_size=1, max_size=20).filter(lambda s: not is_redacted(s)),
        )
    )
    return IntegrationEdit(
        name=draw(st.one_of(st.just(fetched.name), text)),
        on=draw(st.booleans()),
        tags=draw(st.one_of(st.just(list(fetched.tags)), st.lists(text, max_size=4))),
        config=config,
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[BigSegmentStoreIntegration, IntegrationEdit]:
    fetched = draw(fetched_integrations())
    return fetched, draw(edits(fetched))


def expected_after(fetched: BigSegmentStoreIntegration, edit: IntegrationEdit) -> dict[str, Any]:
    config = copy.deepcopy(fetched.config)
    for key, value in edit.config.items():
        if (
            fetched.integrationKey == "redis"
            and key == "password"
            and (value in (None, "") or is_redacted(value))
        ):
            continue
        config[key] = value
    return {"name": edit.name, "on": edit.on, "tags": edit.tags, "config": config}


@settings(max_examples=400, deadline=None)
@given(cases())
def test_patch_applied_to_fetched_gives_the_edit(
    case: tuple[BigSegmentStoreIntegration, IntegrationEdit],
) -> None:
    fetched, edit = case
    body = fetched.to_api()
    ops = build_patch(fetched, edit)
    result = jsonpatch.apply_patch(body, ops)
    want = expected_after(fetched, edit)
    for key in ("name", "on", "tags", "config"):
        assert result[key] == want[key]
    # Nothing else moved.
    for key in body:
        if key not in ("name", "on", "tags", "config"):
            assert result[key] == body[key]


@settings(max_examples=400, deadline=None)
@given(cases())
def test_patch_never_touches_read_only_paths(
    case: tuple[BigSegmentStoreIntegration, IntegrationEdit],
) -> None:
    fetched, edit = case
    ops = build_patch(fetched, edit)
    if not ops:
        assert expected_after(fetched, edit) == {
            "name": fetched.name,
            "on": fetched.on,
            "tags": fetched.tags,
            "config": fetched.config,
        }
        return
    assert ops[0] == {"op": "test", "path": "/version", "value": fetched.version}
    for op in ops[1:]:
        assert op["op"] in ("add", "remove", "replace")
        assert "from" not in op
        assert not op["path"].startswith(READ_ONLY), op


@settings(max_examples=400, deadline=None)
@given(cases())
def test_secret_untouched_unless_typed(case: tuple[BigSegmentStoreIntegration, IntegrationEdit]) -> None:
    fetched, edit = case
    typed = edit.config.get("password")
    ops = build_patch(fetched, edit)
    secret_ops = [op for op in ops if op["path"] == "/config/password"]
    if typed in (None, "") or is_redacted(typed):
        assert secret_ops == []
    else:
        assert secret_ops and secret_ops[0]["value"] == typed
    for op in ops:
        assert not (
            isinstance(op.get("value"), str) and is_redacted(op["value"]) and "password" in op["path"]
        )


def test_exact_patch_for_a_rename_and_port_change() -> None:
    fetched = integration(
        "redis",
        {"host": "h", "port": "6379", "username": "", "password": "s3c********ass", "tlsEnabled": False},
        version=7,
        name="old",
        on=False,
        tags=["ops"],
    )
    edit = IntegrationEdit(
        name="new",
        on=False,
        tags=["ops"],
        config={"host": "h", "port": "6380", "username": "", "password": None, "tlsEnabled": False},
    )
    assert build_patch(fetched, edit) == [
        {"op": "test", "path": "/version", "value": 7},
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "replace", "path": "/config/port", "value": "6380"},
    ]


def test_new_password_is_added_when_absent_and_replaced_when_present() -> None:
    base = {"host": "h", "port": "6379"}
    edit = IntegrationEdit(name="n", on=True, tags=[], config={**base, "password": "brand-new-pass"})
    absent = integration("redis", dict(base), version=1, name="n", on=True, tags=[])
    present = integration(
        "redis", {**base, "password": "old********ass"}, version=1, name="n", on=True, tags=[]
    )
    assert build_patch(absent, edit)[1] == {
        "op": "add",
        "path": "/config/password",
        "value": "brand-new-pass",
    }
    assert build_patch(present, edit)[1] == {
        "op": "replace",
        "path": "/config/password",
        "value": "brand-new-pass",
    }


def test_no_change_no_patch() -> None:
    fetched = integration("dynamodb", {"tableName": "t"}, version=2, name="n", on=True, tags=["a"])
    assert build_patch(fetched, IntegrationEdit("n", True, ["a"], {"tableName": "t"})) == []


def test_tags_replaced_whole() -> None:
    fetched = integration("redis", {"host": "h"}, version=2, name="n", on=True, tags=["a", "b", "c"])
    ops = build_patch(fetched, IntegrationEdit("n", True, ["c", "a"], {"host": "h"}))
    assert ops[1:] == [{"op": "replace", "path": "/tags", "value": ["c", "a"]}]


@pytest.mark.parametrize(
    "op",
    [
        {"op": "replace", "path": "/_status", "value": {}},
        {"op": "replace", "path": "/_id", "value": "x"},
        {"op": "replace", "path": "/projectKey", "value": "x"},
        {"op": "replace", "path": "/integrationKey", "value": "dynamodb"},
        {"op": "replace", "path": "/version", "value": 9},
        {"op": "move", "from": "/name", "path": "/tags/0"},
        {"op": "replace", "path": "/config", "value": {"password": "s3c********ass"}},
        {"op": "replace", "path": "/config/password", "value": "s3c********ass"},
    ],
)
def test_check_patch_refuses_unsafe_operations(op: dict[str, Any]) -> None:
    with pytest.raises(UnsafePatchError):
        check_patch([op], secrets=frozenset({"password"}), typed_secrets=frozenset({"password"}))


def test_display_masks_typed_secret() -> None:
    ops = [
        {"op": "test", "path": "/version", "value": 1},
        {"op": "replace", "path": "/config/password", "value": "correct horse battery staple"},
    ]
    shown = patch_for_display(ops)
    assert "correct horse" not in str(shown)
    assert shown[1]["value"].startswith("****")
    assert ops[1]["value"] == "correct horse battery staple"  # the original is untouched


def test_the_human_diff_says_each_change_with_secrets_masked() -> None:
    fetched = integration(
        "redis",
        {"host": "h", "port": "6379", "password": "s3c********ass", "tlsEnabled": False},
        version=7,
        name="old",
        on=False,
        tags=["ops"],
    )
    edit = IntegrationEdit(
        name="new",
        on=True,
        tags=["ops", "new"],
        config={
            "host": "h",
            "port": "6380",
            "password": "typed-secret-1234",
            "tlsEnabled": False,
            "username": "ld",
        },
    )
    lines = [str(c) for c in human_diff(fetched, build_patch(fetched, edit))]
    assert 'port: "6379" → "6380"' in lines
    assert 'name: "old" → "new"' in lines and "on: false → true" in lines
    assert 'tags: ["ops"] → ["ops", "new"]' in lines
    assert 'username: (none) → "ld"' in lines
    (password,) = [line for line in lines if line.startswith("password:")]
    assert "typed-secret-1234" not in password and "s3c" not in password and password.endswith('1234"')
    assert not any("version" in line for line in lines)  # the version test is not a change
    assert human_diff(fetched, [{"op": "remove", "path": "/config/port"}])[0].after == "(removed)"
