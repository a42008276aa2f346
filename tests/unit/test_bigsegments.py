"""Pure big segment rules: hashing, refs, verdicts, orphans, staleness, patches."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldtui.core.bigsegments import (
    BigSegmentPatch,
    Membership,
    Verdict,
    context_key_hash,
    explain,
    orphaned_refs,
    parse_dynamodb_synchronized_on,
    parse_redis_synchronized_on,
    parse_segment_ref,
    resolve_prefix,
    segment_ref,
    segment_verdict,
    store_status,
)


@pytest.mark.parametrize(
    "key, expected",
    [
        ("user-1", "xsKJ5J6cBbIUWGA4e3O8sY30P7CaHkpKlxPHbIi7VBs="),
        ("alice@example.com", "/42YGfwOEr8NJIkuRZh+JJoo3Og2qFytYOKOqqjG2XY="),
        ("ключ", "HeNqMq95jaDBrJKXYDoyDtj+VnzyHJF3ESpM6RTruL4="),
        ("", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    ],
)
def test_hash_vectors_from_the_spec(key: str, expected: str) -> None:
    assert context_key_hash(key) == expected


@given(st.text())
def test_hash_matches_the_sdk_function(key: str) -> None:
    from ldclient.impl.big_segments_common import _hash_for_user_key

    try:
        expected = _hash_for_user_key(key)
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            context_key_hash(key)
        return
    got = context_key_hash(key)
    assert got == expected and len(got) == 44
    assert base64.b64decode(got) == hashlib.sha256(key.encode()).digest()


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1), max_size=30))
def test_the_bulk_hashing_is_the_sdks_too(keys: list[str]) -> None:
    """``hash_checked``, the bulk path's hashing, gives the SDK's hash for every key."""
    from ldclient.impl.big_segments_common import _hash_for_user_key

    from ldtui.core.key_input import hash_checked

    assert hash_checked(keys) == [_hash_for_user_key(k) for k in keys]


def test_segment_refs_round_trip_and_split_at_last_dot() -> None:
    assert segment_ref("early-access", 3) == "early-access.g3"
    parsed = parse_segment_ref("a.b.c.g12")
    assert (parsed.segment_key, parsed.generation) == ("a.b.c", 12)
    for bad in ("nodot", "seg.gx", "seg.3", ".g1", "seg.g", "seg.g01", "seg:g1"):
        assert not parse_segment_ref(bad).well_formed, bad


def test_ref_format_matches_the_sdk() -> None:
    from ldclient.impl.evaluator_common import _make_big_segment_ref
    from ldclient.impl.model import Segment

    seg = Segment({"key": "big.seg", "generation": 7, "unbounded": True, "version": 1})
    assert _make_big_segment_ref(seg) == segment_ref("big.seg", 7)


def test_verdicts() -> None:
    m = Membership(included=frozenset({"a.g2", "both.g1"}), excluded=frozenset({"b.g1", "both.g1"}))
    assert segment_verdict(m, "a", 2).verdict is Verdict.INCLUDED
    assert segment_verdict(m, "b", 1).verdict is Verdict.EXCLUDED
    both = segment_verdict(m, "both", 1)
    assert both.verdict is Verdict.INCLUDED and "include wins" in both.reason
    other_gen = segment_verdict(m, "a", 3)
    assert other_gen.verdict is Verdict.NO_DATA and "neither set" in other_gen.reason
    none = segment_verdict(None, "a", 2)
    assert none.verdict is Verdict.NO_DATA and "no data" in none.reason
    nc = segment_verdict(m, "a", None)
    assert nc.verdict is Verdict.NOT_CONFIGURED and nc.ref is None


def test_sdk_dict_include_overrides_exclude() -> None:
    m = Membership(included=frozenset({"x.g1"}), excluded=frozenset({"x.g1", "y.g1"}))
    assert m.as_sdk_dict() == {"x.g1": True, "y.g1": False}
    assert Membership().as_sdk_dict() is None


def test_orphans() -> None:
    m = Membership(included=frozenset({"a.g1", "a.g2", "gone.g4", "junk"}), excluded=frozenset({"a.g1"}))
    orphans = orphaned_refs(m, {"a": 2})
    assert [(o.ref, o.side) for o in orphans] == [
        ("a.g1", "included"),
        ("gone.g4", "included"),
        ("junk", "included"),
        ("a.g1", "excluded"),
    ]
    assert "current one is 2" in orphans[0].reason
    assert "no big segment 'gone'" in orphans[1].reason
    assert "not a <segment key>" in orphans[2].reason
    verdicts, orphans2 = explain(m, {"a": 2, "b": 1})
    assert [v.verdict for v in verdicts] == [Verdict.INCLUDED, Verdict.NO_DATA]
    assert orphans2 == orphaned_refs(m, {"a": 2, "b": 1})


def test_staleness_boundary_is_inclusive() -> None:
    now = 1_800_000_000_000
    assert not store_status(synchronized_on=now - 119_999, now_ms=now).stale
    at = store_status(synchronized_on=now - 120_000, now_ms=now)
    assert at.stale and at.available and at.word == "STALE"
    assert store_status(synchronized_on=now - 110_000, now_ms=now).word == "HEALTHY"
    assert store_status(synchronized_on=now - 130_000, now_ms=now).word == "STALE"
    assert store_status(synchronized_on=now - 10_000, now_ms=now, stale_after_ms=5_000).stale


def test_missing_timestamp_is_stale_and_error_is_unavailable_not_stale() -> None:
    missing = store_status(synchronized_on=None, now_ms=1)
    assert missing.available and missing.stale and "wrong prefix" in missing.reason
    down = store_status(synchronized_on=None, now_ms=1, error="connection refused")
    assert not down.available and not down.stale and down.word == "UNAVAILABLE"


@pytest.mark.parametrize("raw, value", [(None, None), (b"1795262797954", 1795262797954), (b" 12 ", 12)])
def test_redis_metadata_parse(raw: bytes | None, value: int | None) -> None:
    assert parse_redis_synchronized_on(raw) == value


@pytest.mark.parametrize("raw", [b"", b"abc", b"1.5", b"12e3"])
def test_redis_metadata_not_integer_raises(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_redis_synchronized_on(raw)


def test_dynamodb_metadata_parse() -> None:
    assert parse_dynamodb_synchronized_on(None) is None
    assert parse_dynamodb_synchronized_on({"synchronizedOn": {"S": "123"}}) is None
    assert parse_dynamodb_synchronized_on({"lastVersion": {"S": "v"}}) is None
    assert parse_dynamodb_synchronized_on({"synchronizedOn": {"N": "123"}}) == 123
    with pytest.raises(ValueError):
        parse_dynamodb_synchronized_on({"synchronizedOn": {"N": "1.5"}})


def test_patch_json_round_trip_and_ordering_rule() -> None:
    data = {
        "environmentId": "env",
        "segmentId": "s.g1",
        "version": "v2",
        "previousVersion": "v1",
        "changes": {"included": {"add": ["h1"], "remove": []}, "excluded": {"add": [], "remove": ["h2"]}},
    }
    patch = BigSegmentPatch.from_json(data)
    assert patch.to_json() == data
    assert patch.applies_after(None) and patch.applies_after("v1")
    assert not patch.applies_after("v0") and not patch.applies_after("")


@pytest.mark.parametrize(
    "changes",
    [["x"], {"included": "h1"}, {"included": {"add": "h1"}}, {"excluded": {"remove": [1, 2]}}],
)
def test_a_malformed_patch_is_a_value_error_naming_the_part(changes: object) -> None:
    """A patch's body comes from outside: a malformed one is refused with what is wrong (a
    ValueError, not an assertion that ``python -O`` would skip, nor a string split in letters)."""
    data = {"environmentId": "env", "segmentId": "s.g1", "version": "v2", "changes": changes}
    with pytest.raises(ValueError, match="big segment patch's"):
        BigSegmentPatch.from_json(data)


def test_patch_net_changes_add_then_remove() -> None:
    patch = BigSegmentPatch(
        "e", "s.g1", "2", "1", included_add=("a", "b"), included_remove=("b",), excluded_add=("a",)
    )
    assert patch.net_changes() == {"a": {"included": "add", "excluded": "add"}, "b": {"included": "remove"}}


def test_prefix_resolution() -> None:
    # A hosted integration writes under the environment's client-side ID.
    assert resolve_prefix("redis", client_side_id="5f0c") == "5f0c"
    assert resolve_prefix("dynamodb", client_side_id="5f0c") == "5f0c"
    # Configuration wins; an empty Redis prefix means the default, an empty DynamoDB one none.
    assert resolve_prefix("redis", configured="relay", client_side_id="5f0c") == "relay"
    assert resolve_prefix("redis", configured="") == "launchdarkly"
    assert resolve_prefix("dynamodb", configured="", client_side_id="5f0c") == ""
    # A Relay Proxy store with no prefix configured: the SDK defaults.
    assert resolve_prefix("redis") == "launchdarkly"
    assert resolve_prefix("dynamodb") == ""
