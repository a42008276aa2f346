"""The inspector's pure part: keys in, explained results out."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldtui.core.bigsegments import Membership, context_key_hash, store_status
from ldtui.core.explain import Explainer, SegmentInfo
from ldtui.core.key_input import (
    MAX_KEY_BYTES,
    KeyInputError,
    check_key,
    hash_keys,
    keys_from_file,
    keys_from_text,
    parse_segment_spec,
    parse_segment_specs,
)
from ldtui.core.reports import Tally, generation_counts, results_csv, results_json, store_json

SEGS = {
    "beta": SegmentInfo("beta", 2),
    "orgs": SegmentInfo("orgs", 1, context_kind="org"),
    "gone": SegmentInfo("gone", None, exists=False),
    "mystery": SegmentInfo("mystery", None, source="unknown", note="API said 500"),
}


def test_text_keys_keep_spaces_and_skip_blank_lines() -> None:
    assert keys_from_text(" a \r\n\n  \nb\n") == [" a ", "b"]


def test_file_keys_drop_a_byte_order_mark_and_name_the_bad_byte() -> None:
    assert keys_from_file("\ufeffalice\n".encode(), "k.txt") == ["alice"]
    with pytest.raises(KeyInputError, match=r"k.txt, line 3, column 4: byte 0xe9"):
        keys_from_file(b"a\nb\nabc\xe9\n", "k.txt")


def test_csv_column_by_name_number_or_default() -> None:
    data = b'id,key,email\n1,"k, one",a@x\n,,\n2,k2,b@x\n'
    assert keys_from_file(data, "x.csv") == ["k, one", "k2"]
    assert keys_from_file(data, "x.txt", column="email") == ["a@x", "b@x"]
    assert keys_from_file(data, "x.csv", column="1") == ["1", "2"]
    with pytest.raises(KeyInputError, match="no column 'user'; the columns are 'id', 'key', 'email'"):
        keys_from_file(data, "x.csv", column="user")
    with pytest.raises(KeyInputError, match="x.csv, line 2, column 'email' is empty"):
        keys_from_file(b"email,n\n,1\n", "x.csv", column="email")


def test_key_limits() -> None:
    with pytest.raises(KeyInputError, match="the context key is empty: SDKs reject"):
        check_key("")
    assert hash_keys([""])[0][1] is None and "empty" in (hash_keys([""])[0][2] or "")
    assert hash_keys(["x" * MAX_KEY_BYTES])[0][2] is None
    assert "65,536" in (hash_keys(["x" * (MAX_KEY_BYTES + 1)])[0][2] or "")
    assert "lone surrogate" in (hash_keys(["\ud800"])[0][2] or "")


def test_segment_specs() -> None:
    assert parse_segment_spec("beta=3") == ("beta", 3)
    assert parse_segment_spec("a=b=4") == ("a=b", 4)
    assert parse_segment_spec("churn.risk") == ("churn.risk", None)
    assert parse_segment_specs("a=1, b  c=2") == {"a": 1, "b": None, "c": 2}
    for bad in ("=3", "beta=", "beta=-1", "beta=x"):
        with pytest.raises(KeyInputError):
            parse_segment_spec(bad)


def test_explain_kinds_orphans_and_unresolved() -> None:
    m = Membership(
        included=frozenset({"beta.g1", "orgs.g1", "mystery.g4", "gone.g1", "junk"}),
        excluded=frozenset({"beta.g2"}),
    )
    r = Explainer(SEGS, kind="user").explain("k", context_key_hash("k"), m)
    verdicts = {a.segment_key: a.verdict for a in r.answers}
    assert verdicts == {"beta": "excluded", "orgs": "other-kind", "mystery": "unknown"}
    assert sorted(o.ref for o in r.orphaned) == ["beta.g1", "gone.g1", "junk"]
    data = r.to_json()
    assert data["segments"] == {"beta": "excluded", "orgs": "other-kind"}
    assert data["unresolved"] == ["mystery.g4"]
    any_kind = Explainer(SEGS, kind=None).explain("k", context_key_hash("k"), m)
    assert any_kind.verdict_of("orgs") == "included"


def test_bad_context_gets_an_error_not_a_verdict() -> None:
    r = Explainer(SEGS).failed("k", None, "k is empty")
    assert r.error == "k is empty" and r.answers == () and r.to_json()["error"] == "k is empty"


def test_tally_and_exports_roundtrip() -> None:
    keys = ["a", "b", "=cmd()", "line\nbreak"]
    ms = [Membership(frozenset({"beta.g2"})), None, Membership(excluded=frozenset({"beta.g2"})), None]
    explainer = Explainer({"beta": SEGS["beta"]})
    results = [explainer.explain(k, context_key_hash(k), m) for k, m in zip(keys, ms, strict=True)]
    results.append(Explainer({}).failed("", None, "empty"))
    t = Tally()
    t.add(results)
    assert (t.contexts, t.with_data, t.errors) == (5, 2, 1)
    assert t.per_segment["beta"] == {"included": 1, "no-data": 2, "excluded": 1}
    rows = list(csv.DictReader(io.StringIO(results_csv(results, ["beta"]))))
    assert [r["key"] for r in rows] == [*keys, ""]
    assert [r["beta"] for r in rows] == ["included", "no-data", "excluded", "no-data", ""]
    assert rows[0]["hash"] == context_key_hash("a") and rows[4]["error"] == "empty"
    store = store_json("redis", "p", store_status(synchronized_on=1000, now_ms=6000))
    doc = json.loads(results_json(store, results, {"beta": SEGS["beta"]}))
    assert doc["store"] == {
        "kind": "redis",
        "prefix": "p",
        "synchronizedOn": 1000,
        "ageSeconds": 5.0,
        "stale": False,
        "available": True,
    }
    assert [c["key"] for c in doc["contexts"]] == [*keys, ""]
    assert doc["segmentGenerations"] == {"beta": 2}


@given(st.lists(st.text(min_size=1).filter(lambda s: s.strip() and "\x00" not in s), min_size=1, max_size=20))
def test_csv_export_keeps_any_key(keys: list[str]) -> None:
    results = [Explainer({}).explain(k, "h", None) for k in keys]
    rows = list(csv.DictReader(io.StringIO(results_csv(results, []), newline="")))
    assert [r["key"] for r in rows] == keys


def test_generation_counts_newest_first_with_current_marked() -> None:
    inc = {"seg.g1": 5, "seg.g3": 2, "other.g3": 9, "seg.x.g2": 4}
    exc = {"seg.g3": 1}
    got = generation_counts("seg", inc, exc, current_generation=4)
    assert [(g.generation, g.included, g.excluded, g.current) for g in got] == [
        (4, 0, 0, True),
        (3, 2, 1, False),
        (1, 5, 0, False),
    ]


@given(
    st.text(),
    st.sampled_from([None, Membership(frozenset({"a.g1"})), Membership(excluded=frozenset({"b.g2"}))]),
)
def test_fast_json_is_exactly_json_dumps(key: str, membership: Membership | None) -> None:
    from ldtui.core.explain import Explainer

    r = Explainer({"a": SegmentInfo("a", 1), "b": SegmentInfo("b", 3)}).explain(key, "h+/=", membership)
    assert json.loads(r.json_text()) == r.to_json()
    assert r.json_text() == json.dumps(r.to_json())
    failed = Explainer({}).failed(key, None, "bad \x1b key")
    assert (
        json.loads(failed.json_text())
        == failed.to_json()
        == {
            "key": key,
            "hash": None,
            "included": [],
            "excluded": [],
            "segments": {},
            "orphaned": [],
            "error": "bad \x1b key",
        }
    )


async def test_segment_lookup_through_the_api_404_500_and_not_big() -> None:
    from types import SimpleNamespace

    from ldtui.api.errors import ApiError, RequestContext
    from ldtui.services.inspect import Inspector, api_segment_lookup

    class Client:
        async def get_segment(self, project: str, environment: str, key: str) -> object:
            if key in ("gone", "flaky"):
                status = 404 if key == "gone" else 503
                raise ApiError(
                    status=status,
                    code="x",
                    message="nope",
                    context=RequestContext("GET", f"/api/v2/segments/p/e/{key}", segment=key),
                )
            return SimpleNamespace(is_big=key != "small", generation=4, context_kind="org")

    class Reader:
        kind, prefix, description = "redis", "p", "fake"

        async def get_memberships(self, hashes: list[str]) -> dict[str, object]:
            return {h: Membership(frozenset({"big.g3", "gone.g1", "flaky.g2", "small.g4"})) for h in hashes}

    inspector = Inspector(Reader(), lookup=api_segment_lookup(Client(), "p", "e"))  # type: ignore[arg-type]
    (r,) = await inspector.inspect(["k"])
    assert r.verdict_of("big") == "no-data"  # the API says generation 4; g3 is orphaned
    assert r.verdict_of("flaky") == "unknown" and r.unresolved_refs == ["flaky.g2"]
    assert "HTTP 503" in inspector.segments["flaky"].note  # type: ignore[operator]
    assert sorted(o.ref for o in r.orphaned) == ["big.g3", "gone.g1", "small.g4"]
    assert r.verdict_of("small") is None and r.verdict_of("gone") is None


# --- streamed reports and streamed keys ---------------------------------------------------------

MEMBERSHIPS = st.sampled_from(
    [
        None,
        Membership(frozenset({"beta.g2"})),
        Membership(excluded=frozenset({"beta.g2", "old.g1"})),
        Membership(frozenset({"beta.g2"}), frozenset({"beta.g2"})),
    ]
)


@given(st.lists(st.tuples(st.text(min_size=1), MEMBERSHIPS), min_size=1, max_size=30), st.integers(1, 7))
def test_streamed_csv_is_exactly_what_csv_writer_writes(
    rows: list[tuple[str, Membership | None]], window: int
) -> None:
    from ldtui.core.reports import CsvReport

    explainer = Explainer({"beta": SEGS["beta"]}, judged=["beta"])
    results = [explainer.explain(k, context_key_hash(k), m) for k, m in rows]
    results.append(explainer.failed("bad, key", None, 'an "error"\n'))
    out: list[str] = []
    report = CsvReport(out.append, ["beta"])
    for i in range(0, len(results), window):
        report.results(results[i : i + window])
    assert "".join(out) == results_csv(results, ["beta"])


@given(st.lists(MEMBERSHIPS, min_size=0, max_size=25), st.integers(1, 6))
def test_streamed_json_is_one_document_with_the_tally(ms: list[Membership | None], window: int) -> None:
    from ldtui.core.reports import JsonReport

    explainer = Explainer({"beta": SEGS["beta"]}, judged=["beta"])
    results = [explainer.explain(f"k{i}", context_key_hash(f"k{i}"), m) for i, m in enumerate(ms)]
    store = store_json("redis", "p", store_status(synchronized_on=1000, now_ms=6000))
    out: list[str] = []
    report = JsonReport(out.append, store)
    tally = Tally()
    for i in range(0, len(results), window):
        report.results(results[i : i + window])
        tally.add(results[i : i + window])
    report.end({"beta": SEGS["beta"]}, tally)
    doc = json.loads("".join(out))
    whole = json.loads(results_json(store, results, {"beta": SEGS["beta"]}))
    assert doc["store"] == whole["store"] and doc["contexts"] == whole["contexts"]
    assert doc["segmentGenerations"] == whole["segmentGenerations"]
    assert doc["tally"]["contexts"] == len(ms)


KEY_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=12
)


@given(
    st.lists(st.tuples(KEY_TEXT, st.sampled_from(["\n", "\r\n"])), max_size=40),
    st.integers(1, 9),
    st.booleans(),
)
def test_keys_read_in_blocks_do_not_depend_on_where_the_chunks_end(
    lines: list[tuple[str, str]], size: int, bom: bool
) -> None:
    from ldtui.core.key_input import key_blocks

    data = ("\ufeff" if bom else "").encode() + "".join(k + end for k, end in lines).encode()
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    got = [k for block in key_blocks(chunks, "f", line_limit=1 << 20) for k in block]
    assert got == [k for k, _ in lines if k.strip()]


def test_keys_read_in_blocks_name_the_bad_byte_and_the_long_line() -> None:
    from ldtui.core.key_input import key_blocks

    data = b"ok\nfine\nbad \xff byte\n"
    with pytest.raises(KeyInputError, match=r"f, line 3, column 5: byte 0xff"):
        [k for block in key_blocks([data[:5], data[5:]], "f", line_limit=1 << 20) for k in block]
    with pytest.raises(KeyInputError, match="line 2 is longer than"):
        list(key_blocks([b"a\n" + b"x" * 3_000_000], "f", line_limit=2 * 1024 * 1024))
    with pytest.raises(KeyInputError, match="line 2"):
        list(key_blocks([b"a\n" + b"y" * (MAX_KEY_BYTES + 1) + b"\n"], "f", line_limit=1 << 22))


class _Segments:
    """A segments API that counts its calls and knows some segments."""

    def __init__(self, known: dict[str, int], small: tuple[str, ...] = ()) -> None:
        self.known, self.small, self.calls = known, small, 0

    async def get_segment(self, project: str, environment: str, key: str) -> object:
        from types import SimpleNamespace

        from ldtui.api.errors import ApiError, RequestContext

        self.calls += 1
        if key not in self.known and key not in self.small:
            raise ApiError(
                status=404,
                code="not_found",
                message="nope",
                context=RequestContext("GET", f"/api/v2/segments/p/e/{key}", segment=key),
            )
        return SimpleNamespace(
            is_big=key not in self.small, generation=self.known.get(key, 1), context_kind="user"
        )


class _Store:
    kind, prefix, description = "redis", "p", "fake"

    def __init__(self, refs: frozenset[str]) -> None:
        self.refs = refs

    async def get_memberships(self, hashes: list[str]) -> dict[str, object]:
        return {h: Membership(self.refs) for h in hashes}

    async def get_metadata(self) -> object:
        from ldtui.stores.base import Metadata

        return Metadata(1_000)


async def test_junk_refs_in_a_store_cost_a_bounded_number_of_api_calls() -> None:
    """One context whose sets hold 3,000 refs of unknown segments: at most MAX_REF_LOOKUPS
    lookups (plus the segments named), the rest reported as unknown refs, not asked one by one."""
    from ldtui.services.inspect import MAX_REF_LOOKUPS, Inspector, api_segment_lookup

    api = _Segments({"real": 2})
    junk = frozenset({f"junk-{i}.g1" for i in range(3000)} | {"real.g2"})
    inspector = Inspector(_Store(junk), lookup=api_segment_lookup(api, "p", "e"), typed={"real": None})  # type: ignore[arg-type]
    (r,) = await inspector.inspect(["k"])
    assert api.calls <= MAX_REF_LOOKUPS + 1
    assert r.verdict_of("real") == "included"
    assert len(r.unresolved_refs) >= 3000 - MAX_REF_LOOKUPS
    (again,) = await inspector.inspect(["k2"])  # the budget is spent once per session
    assert api.calls <= MAX_REF_LOOKUPS + 1 and again.verdict_of("real") == "included"


async def test_a_named_segment_that_does_not_exist_is_said_not_dropped() -> None:
    from ldtui.services.inspect import Inspector, api_segment_lookup

    api = _Segments({"real": 2}, small=("standard",))
    inspector = Inspector(
        _Store(frozenset({"real.g2"})),  # type: ignore[arg-type]
        lookup=api_segment_lookup(api, "p", "e"),
        typed={"real": None, "no-such-seg": None, "standard": None},
    )
    report = await inspector.report_stream(["k"])
    results = [r async for window in report.windows for r in window]
    (r,) = results
    assert r.verdict_of("real") == "included"
    assert r.verdict_of("no-such-seg") == "unknown-segment"
    assert r.verdict_of("standard") == "unknown-segment"
    assert sorted(s.key for s in report.unknown) == ["no-such-seg", "standard"]
    assert "no segment 'no-such-seg'" in next(a.reason for a in r.answers if a.segment_key == "no-such-seg")
