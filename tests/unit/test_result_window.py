"""A bulk window kept as columns is written exactly as its results would be one by one: the same
bytes in JSON, JSON Lines and CSV, whatever the keys hold; and once something has read its
items (a cross-check that adds LaunchDarkly's word), the writers read those items."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldtui.core.bigsegments import Membership
from ldtui.core.explain import ContextResult, Explainer, ResultWindow, SegmentInfo, json_texts, plain_json
from ldtui.core.key_input import hash_checked
from ldtui.core.reports import CsvReport, JsonLinesReport, JsonReport, Tally

SEGMENTS = {
    "beta": SegmentInfo("beta", 2, context_kind="user"),
    "gamma": SegmentInfo("gamma", 1, context_kind="user"),
}
MEMBERSHIPS = [
    None,
    Membership(included=frozenset({"beta.g2"})),
    Membership(included=frozenset({"gamma.g1"}), excluded=frozenset({"beta.g2"})),
    Membership(included=frozenset({"beta.g1"})),  # an orphaned ref
]

HOSTILE = [
    "plain-key",
    'a "quoted" key',
    "back\\slash",
    "tab\there",
    "bell\x07",
    "del\x7f",
    "ünïcödé",
    "emoji \U0001f600",
    "comma,key",
    "cr\rkey",
    "nbsp\u00a0",
    "rtl\u202eoverride",
    "unassigned\ud7ff",
]


def windows(keys: list[str]) -> tuple[ResultWindow, list[ContextResult]]:
    explainer = Explainer(SEGMENTS, judged=list(SEGMENTS))
    explanations = [explainer.explanation_for(MEMBERSHIPS[i % len(MEMBERSHIPS)]) for i in range(len(keys))]
    hashes = hash_checked(keys)
    one_by_one = [ContextResult(k, h, e) for k, h, e in zip(keys, hashes, explanations, strict=True)]
    return ResultWindow(keys, hashes, explanations), one_by_one


def written(writer_for: type, window: object) -> str:
    out = io.StringIO()
    if writer_for is JsonReport:
        w = JsonReport(out.write, {"kind": "redis"})
        w.results(window)  # type: ignore[arg-type]
        w.results(window)  # type: ignore[arg-type]  # a second window: the separator between
        w.end(SEGMENTS, Tally())
    elif writer_for is CsvReport:
        CsvReport(out.write, list(SEGMENTS)).results(window)  # type: ignore[arg-type]
    else:
        JsonLinesReport(out.write).results(window)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("writer", [JsonLinesReport, JsonReport, CsvReport])
@pytest.mark.parametrize(
    "keys",
    [["user-1", "user-2", "user-3"], HOSTILE, ["plain", 'then "one" quoted'], ["plain", "back\\slash"]],
)
def test_columns_and_items_write_the_same_bytes(writer: type, keys: list[str]) -> None:
    window, one_by_one = windows(keys)
    assert written(writer, window) == written(writer, one_by_one)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20))
def test_any_keys_round_trip_through_the_column_writers(keys: list[str]) -> None:
    window, one_by_one = windows(keys)
    lines = written(JsonLinesReport, window)
    assert lines == written(JsonLinesReport, one_by_one)
    assert [json.loads(line)["key"] for line in lines.split("\n")[:-1]] == keys
    assert lines.isascii()
    text = written(CsvReport, window)
    assert text == written(CsvReport, one_by_one)
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert [r[0] for r in rows] == keys


def test_plain_json_is_exactly_what_the_encoder_leaves_alone() -> None:
    for c in map(chr, range(0x2FF)):
        assert plain_json(c) == (json.dumps(c, ensure_ascii=True) == f'"{c}"'), repr(c)


def test_a_window_read_item_by_item_is_written_from_its_items() -> None:
    window, _ = windows(["a", "b", "c"])
    assert window.columns() is not None
    first = window[:2]  # what a cross-check does
    first[0].launchdarkly = {"beta": "included"}
    assert window.columns() is None
    lines = written(JsonLinesReport, window).splitlines()
    assert json.loads(lines[0])["launchDarkly"] == {"beta": "included"}
    assert "launchDarkly" not in json.loads(lines[1])
    assert [r.key for r in window] == ["a", "b", "c"] and len(window) == 3


def test_counts_are_those_of_the_explanations() -> None:
    window, one_by_one = windows([f"k{i}" for i in range(10)])
    by_window, by_items = Tally(), Tally()
    by_window.add(window)
    by_items.add(one_by_one)
    assert by_window.to_json() == by_items.to_json()
    assert by_window.contexts == 10


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="one entry per key"):
        ResultWindow(["a", "b"], ["h"], [])


def test_json_texts_of_items_and_of_columns_agree_with_json_text() -> None:
    window, one_by_one = windows(HOSTILE)
    expected = "".join(r.json_text() + "\n" for r in one_by_one)
    assert json_texts(window, "\n") == expected == json_texts(one_by_one, "\n")
