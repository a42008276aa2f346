"""The alert rules of deploy/prometheus: valid for Prometheus (``promtool check rules``), firing
and staying quiet as their tests say (``promtool test rules``), each tested both ways, and
naming only metrics the exporter serves.

promtool is Debian's (the ``prometheus`` package; .ci/run installs it). Without it the
promtool tests are skipped on a developer's machine, and fail in CI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "ldtui-alerts.yml"
TESTS = ROOT / "deploy" / "prometheus" / "ldtui-alerts.test.yml"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: install Debian's prometheus package (.ci/run does)")
        pytest.skip("promtool is not installed (apt install prometheus)")
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *map(str, args)], capture_output=True, text=True, timeout=120)


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_the_rules_are_valid_for_prometheus() -> None:
    result = run("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_the_rules_fire_and_stay_quiet_as_their_tests_say() -> None:
    result = run("test", "rules", TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_rule_that_never_fires_fails_its_tests(tmp_path: Path) -> None:
    """The tests can fail: with the SDK threshold raised to a day, the stale alert the tests
    expect never comes."""
    text = RULES.read_text()
    assert "> 120\n" in text
    (tmp_path / RULES.name).write_text(text.replace("> 120\n", "> 86400\n"))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    result = run("test", "rules", tmp_path / TESTS.name)
    assert result.returncode != 0
    assert "BigSegmentStoreStale" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    doc = yaml.safe_load(TESTS.read_text())
    cases = [case for group in doc["tests"] for case in group["alert_rule_test"]]
    for rule in rules():
        name = rule["alert"]
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c.get("exp_alerts") for c in mine), f"{name}: no case where it fires"
        assert any(not c.get("exp_alerts") for c in mine), f"{name}: no case where it stays quiet"


def test_every_alert_says_where_and_what_to_do() -> None:
    for rule in rules():
        notes = rule["annotations"]
        assert notes.get("runbook"), rule["alert"]
        where = (
            "{{ $labels.environment }}"
            if rule["alert"].startswith("BigSegment")
            else "{{ $labels.instance }}"
        )
        assert where in notes["summary"], rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")


def test_the_rules_name_only_metrics_the_exporter_serves() -> None:
    from tests.unit.test_exporter_metrics import exposition_names

    served = exposition_names()
    used = {m for rule in rules() for m in re.findall(r"\bldtui_[a-z_]+", rule["expr"])}
    assert used and used <= served, used - served
