"""Snapshots of every screen and dialog, at 120x36 and 80x24, in the default theme and in
Textual's ANSI theme. Deterministic: seeded emulator, fixed clock, no cursor blink.

Update baselines deliberately: ``make test PYTEST_ARGS="tests/snapshots --snapshot-update"``,
then look at the report before committing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ldtui.ui.widgets.keybar import KeyBar
from ldtui.ui.widgets.table import LdTable
from tests.ui.harness import find, make_world, settle

SIZES = [(120, 36), (80, 24)]
THEMES = ["ldtui-dark", "ansi-dark"]  # ansi-dark: Textual's own ANSI theme


async def select(pilot: Any, name: str) -> None:
    table = pilot.app.screen.query_one(LdTable)
    for i in range(table.row_count):
        if table.get_row_at(i)[3].plain == name:  # type: ignore[union-attr]
            table.move_cursor(row=i)
            break
    table.focus()
    await pilot.pause()


def keys(*presses: str, row: str | None = None) -> Callable[[Any], Awaitable[None]]:
    async def run(pilot: Any) -> None:
        await settle(pilot)
        if row:
            await select(pilot, row)
        for key in presses:
            await pilot.press(key)
            await settle(pilot)

    return run


async def create_form_with_errors(pilot: Any) -> None:
    await keys("n", "down", "enter", "down", "enter")(pilot)  # default / staging
    await pilot.press("ctrl+s")
    await settle(pilot)


async def discard_form(pilot: Any) -> None:
    await keys("n", "down", "enter", "down", "enter")(pilot)
    await pilot.press(*"half typed", "escape")
    await settle(pilot)


async def messages(pilot: Any) -> None:
    await settle(pilot)
    pilot.app.notify(
        "LaunchDarkly rejected the request: config.port must be a number between 1 and 65535, "
        "not '65536'. Fix the value it names and retry. (request id 9b1f0c2e)",
        title="Not saved",
        severity="error",
    )
    pilot.app.notify("Turned on 'Dev Redis'.", title="Changed")
    await pilot.press("ctrl+n")
    await settle(pilot)


async def review_patch(pilot: Any) -> None:
    await keys("e", row="Prod Redis store")(pilot)
    pilot.app.screen.query_one("#f-port").value = "6380"
    pilot.app.screen.query_one("#f-password").value = "typed-new-password-1234"
    await pilot.press("ctrl+s")
    await settle(pilot)


async def conflict(pilot: Any) -> None:
    await keys("e", row="Prod Redis store")(pilot)
    pilot.app.screen.query_one("#f-name").value = "Prod Redis (mine)"
    await pilot.press("ctrl+s")
    await settle(pilot)
    integ = find(pilot.app.backend.runtime.state, "Prod Redis store")
    integ.tags = ["theirs"]
    integ.version += 1
    await pilot.press("ctrl+s")
    await settle(pilot)


def doctor_checks() -> list[Any]:
    from ldtui.core.doctor import Check

    t = "default/production/redis"
    return [
        Check(
            "network.outbound",
            "launchdarkly",
            "PASS",
            "LaunchDarkly connects from 52.21.152.96/32",
            "if a firewall guards the store, allow these addresses to reach its port",
        ),
        Check("api.integration", t, "PASS", "OK: synchronized 4s ago"),
        Check(
            "redis.reachable",
            t,
            "PASS",
            "rediss://ldreader@redis.prod.internal:6379/0 answers PING in 0.4 ms",
        ),
        Check(
            "redis.tls",
            t,
            "WARN",
            "the certificate for redis.prod.internal expires in 12 days",
            "renew the server's certificate soon",
        ),
        Check(
            "redis.auth",
            t,
            "PASS",
            "ldtui's user 'ldreader' authenticates; the writer 'ldwriter' authenticates",
        ),
        Check(
            "redis.writer_acl",
            t,
            "FAIL",
            "the writer user 'ldwriter' may not run SREM on 1027c4d1c386bbc4cd613e30:* (ACL DRYRUN)",
            "ACL SETUSER ldwriter +srem ~1027c4d1c386bbc4cd613e30:big_segment*",
        ),
        Check(
            "redis.reader_acl",
            t,
            "PASS",
            "ldtui's user 'ldreader' may run GETRANGE PING SCAN SRANDMEMBER TYPE",
        ),
        Check("redis.not_cluster", t, "PASS", "not a cluster (cluster_enabled:0)"),
        Check(
            "redis.eviction",
            t,
            "FAIL",
            "maxmemory-policy allkeys-lru: Redis may evict include and exclude sets",
            "CONFIG SET maxmemory-policy noeviction (and in redis.conf), or a volatile-* policy",
        ),
        Check("redis.memory", t, "SKIP", "INFO memory could not be read", "give the admin user +info"),
        Check(
            "redis.prefix", t, "PASS", "big segment metadata under '1027c4d1c386bbc4cd613e30', written 4s ago"
        ),
        Check(
            "store.writers",
            t,
            "WARN",
            "two writers: '1027c4d1c386bbc4cd613e30', 'launchdarkly' were all written "
            "in the last ten minutes",
            "one writer per prefix",
        ),
    ]


async def doctor_results(pilot: Any) -> None:
    from ldtui.ui.screens.doctor import DoctorRequest, DoctorScreen

    await settle(pilot)
    pilot.app.push_screen(
        DoctorScreen(DoctorRequest("default", "production", "redis"), results=doctor_checks())
    )
    await settle(pilot)


SCENARIOS: dict[str, Callable[[Any], Awaitable[None]]] = {
    # The list: every integration, status words, ages and last errors.
    "integrations": keys(),
    # The list filtered to DynamoDB as the user types.
    "filtered": keys("slash", "d", "y", "n", "a", "m", "o"),
    # The erroring integration's detail: config with the password masked, the errors list.
    "detail": keys("enter", row="Payments Redis (PCI zone)"),
    # The project/environment picker, first page of projects.
    "picker": keys("n"),
    # A new Redis form submitted empty: messages under the fields that need them.
    "create_form_errors": create_form_with_errors,
    # The edit form, password empty meaning "unchanged".
    "edit_form": keys("e", row="Prod Redis store"),
    # The exact JSON Patch, version test first, the typed password masked.
    "review": review_patch,
    # 409: what changed on the server, and the three ways on.
    "conflict": conflict,
    # Delete: type the name to enable the button.
    "delete": keys("d", row="Sandbox DynamoDB"),
    # Turning an integration on asks first.
    "toggle": keys("o", row="Dev Redis"),
    # F1: every key of the list screen.
    "help": keys("f1"),
    # The doctor (k): one line per check, its result as a word first, the fix under a WARN or
    # FAIL, the counts in the line under the title.
    "doctor": doctor_results,
    # F1 in the form: the form's own keys, not the list's.
    "form_help": keys("n", "down", "enter", "down", "enter", "f1"),
    # Esc on a form with typing in it: discard, or back to the form.
    "discard": discard_form,
    # Ctrl+N: every message of the session in full, newest first.
    "messages": messages,
    # A read-only session: no New, Edit, On/Off or Delete; READ-ONLY in the header.
    "read_only": keys(),
}
# Options of the world a scenario runs in (the default: none).
WORLD_OPTIONS: dict[str, dict[str, Any]] = {
    "read_only": {"read_only": True, "read_only_reason": "--read-only"},
}
LIST_KEYS = ["n New", "e Edit", "d Delete", "h Health", "i Inspect", "q Quit", "f1 Help"]
FORM_KEYS = ["^s Save", "esc Cancel", "^k Check", "f1 Help"]
# The keys each screen's key bar must show at 80x24 and at 120x36 (F1 lists the rest).
KEYS: dict[str, list[str]] = {
    "integrations": LIST_KEYS,
    "filtered": ["esc Clear filter", "f1 Help"],
    "detail": ["esc Close", "e Edit", "o On/Off", "d Delete", "f1 Help"],
    "picker": ["esc Cancel", "pgdn Next page", "pgup Previous page", "f1 Help"],
    "create_form_errors": FORM_KEYS,
    "edit_form": FORM_KEYS,
    "review": ["^s Send", "esc Back to form", "f1 Help"],
    "conflict": ["esc Back to my edit", "f1 Help"],
    "delete": ["esc Cancel", "f1 Help"],
    "toggle": ["esc Cancel", "f1 Help"],
    "help": ["esc Close"],
    "form_help": ["esc Close"],
    "discard": ["esc Cancel", "f1 Help"],
    "messages": ["esc Close", "c Copy", "f1 Help"],
    "read_only": ["h Health", "i Inspect", "q Quit", "f1 Help"],
    "panel": ["esc Integrations", "r Check now", "i Inspect", "⏎ Details", "q Quit", "f1 Help"],
    "panel_detail": ["esc Close", "c Copy events", "f1 Help"],
    "single": ["esc Back", "^t Store", "k Key", "^b Bulk", "f1 Help"],
    "bulk": ["esc Back", "^r Run", "^o Load file", "e Export", "f1 Help"],
    "segment": ["esc Back", "r Count again", "f1 Help"],
    "store_picker": ["esc Cancel", "f1 Help"],
    "export": ["esc Cancel", "f1 Help"],
    "doctor": ["esc Close", "r Run again", "c Copy", "f1 Help"],
}
# Keys a screen must not offer.
ABSENT: dict[str, list[str]] = {
    "read_only": ["New", "Edit", "On/Off", "Delete"],
    # Under a dialog, the list's keys do not work: its key bar is the dialog's.
    **{
        name: ["n New", "h Health"] for name in ("detail", "picker", "create_form_errors", "review", "delete")
    },
}


def key_bar(pilot: Any) -> str:
    return str(pilot.app.screen.query_one(KeyBar).text)


def checking_keys(name: str, run: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    """``run``, then the key bar holds the screen's essential keys (and none it must not)."""

    async def checked(pilot: Any) -> None:
        await run(pilot)
        bar = key_bar(pilot)
        missing = [k for k in KEYS[name] if k not in bar]
        assert not missing, f"{name} at {pilot.app.size}: {missing} not in {bar!r}"
        present = [k for k in ABSENT.get(name, []) if k in bar]
        assert not present, f"{name} at {pilot.app.size}: {present} in {bar!r}"
        if name == "read_only":
            assert "READ-ONLY" in pilot.app.title

    return checked


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_screen(snap_compare: Any, scenario: str, size: tuple[int, int], theme: str) -> None:
    """See the comment of each scenario in SCENARIOS for what a person should see."""
    world = make_world(theme=theme, **WORLD_OPTIONS.get(scenario, {}))
    run = checking_keys(scenario, SCENARIOS[scenario])
    assert snap_compare(world.app, terminal_size=size, run_before=run)


# --- the status panel ----------------------------------------------------------------------------

from tests.ui.harness import NOW, FixedReader, fixed_stores  # noqa: E402

NOW_MS = int(NOW * 1000)
PANEL_STATES: dict[str, dict[str, FixedReader]] = {
    # Fresh stores where configured; the rest not configured (the key to add is named).
    "healthy": {
        "default/production": FixedReader(NOW_MS - 4_000),
        "default/staging": FixedReader(NOW_MS - 9_000),
    },
    # The store's synchronizedOn is 3 minutes old while LaunchDarkly says available: DISAGREE;
    # the replica whose sync stopped: STALE.
    "stale_and_disagree": {
        "default/production": FixedReader(NOW_MS - 180_000),
        "mobile-app/production": FixedReader(NOW_MS - 600_000),
    },
    # One store cannot be reached, one holds an unreadable synchronizedOn.
    "unavailable": {
        "default/production": FixedReader(None, reachable=False),
        "default/staging": FixedReader(None, error="synchronizedOn holds 'soon', not a number"),
    },
}


def panel(state: str, *, detail: bool = False) -> Callable[[Any], Awaitable[None]]:
    async def run(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        if detail:
            await pilot.press("enter")
            await settle(pilot)

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("state", [*PANEL_STATES, "detail"])
def test_status_panel(snap_compare: Any, state: str, size: tuple[int, int]) -> None:
    """The live panel: verdict words worst first, LaunchDarkly's view beside the store's, the
    counts and "updated" line at the top; "detail" shows the disagreeing store's raw metadata,
    diagnostics and event log."""
    world = make_world()
    fixed_stores(world, PANEL_STATES["stale_and_disagree" if state == "detail" else state])
    run = checking_keys(
        "panel_detail" if state == "detail" else "panel", panel(state, detail=state == "detail")
    )
    assert snap_compare(world.app, terminal_size=size, run_before=run)


# --- the inspector -------------------------------------------------------------------------------

from tests.ui.harness import memory_stores  # noqa: E402

INSPECT_SEGMENTS = "beta-testers high-value-customers churn.risk legacy-cohort"
BULK_KEYS = [
    "alice@example.com",
    "bob@example.com",
    "ключ-пользователя",
    "ユーザー-42",
    *(f"user-production-{i:05d}" for i in range(16)),
    "",
    "evil[red]\x1b[31m",
]


def inspector(view: str) -> Callable[[Any], Awaitable[None]]:
    async def run(pilot: Any) -> None:
        from textual.widgets import TextArea

        await settle(pilot)
        await select(pilot, "Prod Redis store")
        await pilot.press("i")
        await settle(pilot)
        screen = pilot.app.screen
        # A context with an orphaned older generation of legacy-cohort and an exclusion.
        screen.query_one("#inspect-key").value = "user-production-00040"
        screen.query_one("#inspect-segments").value = INSPECT_SEGMENTS
        screen.query_one("#inspect-key").focus()
        await pilot.press("enter")
        await settle(pilot)
        if view == "bulk":
            await pilot.press("b")
            await settle(pilot)
            pilot.app.screen.query_one(TextArea).text = "\n".join(BULK_KEYS)
            await pilot.press("ctrl+r")
            await settle(pilot)
        elif view == "export":
            await pilot.press("b")
            await settle(pilot)
            pilot.app.screen.query_one(TextArea).text = "\n".join(BULK_KEYS)
            await pilot.press("ctrl+r")
            await settle(pilot)
            await pilot.press("e")
            await settle(pilot)
        elif view == "store_picker":
            await pilot.press("ctrl+t")
            await settle(pilot)
        elif view == "segment":
            table = screen.query_one("#inspector-verdicts", LdTable)
            table.move_cursor(row=table.get_row_index("legacy-cohort"))
            await pilot.press("g")
            await settle(pilot)

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["single", "bulk", "segment", "store_picker", "export"])
def test_inspector(snap_compare: Any, view: str, size: tuple[int, int]) -> None:
    """single: the hash, a verdict per segment with its generation and reason, the sets and an
    orphaned older generation, the store's freshness at the top. bulk: counts per verdict and
    the results table (a bad key and markup in a key shown literally). segment: included and
    excluded per generation of legacy-cohort, the current one marked. store_picker: Ctrl+T, the
    stores to choose from. export: e on the bulk results, the file name to export to."""
    world = make_world()
    memory_stores(world, NOW_MS - 6_000)
    assert snap_compare(world.app, terminal_size=size, run_before=checking_keys(view, inspector(view)))


# --- one screen per shipped theme ------------------------------------------------------------

SHIPPED_THEMES = ["ldtui-dark", "ldtui-light", "ldtui-ansi", "ldtui-high-contrast"]


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_shipped_theme(snap_compare: Any, theme: str) -> None:
    """The integrations list in each theme that ships in themes/: status words readable, the
    selected row and the footer keys distinct from the background."""
    world = make_world(theme=theme)
    assert snap_compare(world.app, terminal_size=(120, 36), run_before=SCENARIOS["integrations"])


# --- the audit trail ---------------------------------------------------------------------------


def audit_world(size: tuple[int, int]) -> Any:
    """A world whose state directory holds a trail of four changes (a fixed directory: its path
    is on the screen)."""
    import shutil
    from pathlib import Path

    from ldtui.services.audit import FILE_NAME, AuditEntry, AuditLog

    directory = Path("/tmp") / f"ldtui-snapshot-audit-{size[0]}x{size[1]}"
    shutil.rmtree(directory, ignore_errors=True)
    log = AuditLog(directory / FILE_NAME, clock=lambda: NOW)
    where = {"profile": "prod-oncall", "base_url": "https://app.launchdarkly.com", "kind": "redis"}
    rows = [
        ("create", "POST", 201, "Staging Redis", "staging", True, None),
        ("edit", "PATCH", 200, "Prod Redis store", "production", True, None),
        ("toggle", "PATCH", 409, "Dev Redis", "development", False, "HTTP 409 conflict: version mismatch"),
        ("delete", "DELETE", 204, "Old Redis", "sandbox", True, None),
    ]
    for n, (action, method, status, name, env, ok, error) in enumerate(rows):
        log.append(
            AuditEntry(
                time=f"2026-11-18T11:0{n}:40Z",
                action=action,
                method=method,
                path=f"/api/v2/integration-capabilities/big-segment-store/default/{env}/redis/id-{n}",
                project="default",
                environment=env,
                integration_id=f"id-{n}",
                name=name,
                body=[{"op": "replace", "path": "/config/port", "value": "6380"}]
                if action == "edit"
                else None,
                status=status,
                request_id=f"9b1f0c2e-000{n}",
                ok=ok,
                error=error,
                **where,
            )
        )
    return make_world(state_dir=directory)


KEYS["audit"] = ["esc Back", "⏎ Details", "r Reload", "f1 Help"]
KEYS["audit_entry"] = ["esc Close", "c Copy", "f1 Help"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["audit", "audit_entry"])
def test_audit_screen(snap_compare: Any, view: str, size: tuple[int, int]) -> None:
    """audit: a on the list: the changes ldtui sent, newest first, each with its HTTP status
    (the 409 in the down colour), the integration, where, the profile and the request id; the
    file's path and the count above. audit_entry: Enter on the edit: the entry in full, with
    the exact patch."""
    world = audit_world(size)
    presses = ("a",) if view == "audit" else ("a", "down", "down", "enter")
    assert snap_compare(world.app, terminal_size=size, run_before=checking_keys(view, keys(*presses)))
