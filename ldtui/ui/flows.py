"""The create / edit / toggle / delete flows: dialogs in order, I/O in workers.

A draft is never lost: a rejected create or edit reopens the form with everything typed and
the server's message; a 409 offers to reapply the same draft on the latest version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldtui.api.errors import ApiError
from ldtui.core.forms import IntegrationDraft
from ldtui.core.manifests import MANIFESTS
from ldtui.core.models import BigSegmentStoreIntegration
from ldtui.services.integrations import DraftInvalid, ReadOnly, draft_from_integration, rebase
from ldtui.ui.screens.dialogs import ConfirmScreen, DeleteScreen
from ldtui.ui.screens.form import IntegrationFormScreen
from ldtui.ui.screens.picker import PickerScreen
from ldtui.ui.screens.review import ConflictScreen, ReviewScreen

if TYPE_CHECKING:
    from ldtui.ui.screens.integrations import IntegrationsScreen


def _where(integ: BigSegmentStoreIntegration) -> str:
    return f"{integ.projectKey}/{integ.environmentKey}"


def _fail(screen: IntegrationsScreen, title: str, error: Exception) -> None:
    screen.notify(str(error), title=title, severity="error", timeout=12, markup=False)


# --- create -------------------------------------------------------------------------------------


def existing_kinds(screen: IntegrationsScreen) -> dict[tuple[str, str], frozenset[str]]:
    """The kinds of integration each environment has, from the list's integrations."""
    found: dict[tuple[str, str], set[str]] = {}
    for integ in screen.integrations.values():
        found.setdefault((integ.projectKey, integ.environmentKey), set()).add(integ.integrationKey)
    return {where: frozenset(kinds) for where, kinds in found.items()}


def create_flow(screen: IntegrationsScreen) -> None:
    def picked(where: tuple[str, str] | None) -> None:
        if where is not None:
            taken = existing_kinds(screen).get(where, frozenset())
            kind = next((k for k in MANIFESTS if k not in taken), "redis")
            # On unless turned off: a new integration that silently lands off syncs nothing.
            open_create_form(screen, where, IntegrationDraft(kind=kind, on=True))

    screen.app.push_screen(PickerScreen(existing_kinds(screen)), picked)


def open_create_form(
    screen: IntegrationsScreen,
    where: tuple[str, str],
    draft: IntegrationDraft,
    server_error: str | None = None,
) -> None:
    project, environment = where
    taken = existing_kinds(screen).get(where, frozenset())

    def submitted(result: IntegrationDraft | None) -> None:
        if result is not None:
            screen.run_worker(
                create(screen, where, result),
                group="write",
                exit_on_error=False,
                description="Creating the integration",
            )

    screen.app.push_screen(
        IntegrationFormScreen(
            draft,
            mode="create",
            where=f"{project}/{environment}",
            server_error=server_error,
            taken=taken - {draft.kind},
        ),
        submitted,
    )


async def create(screen: IntegrationsScreen, where: tuple[str, str], draft: IntegrationDraft) -> None:
    service = await screen.ldtui.service_ready()
    try:
        created = await service.create(where[0], where[1], draft)
    except ReadOnly as exc:
        _fail(screen, "Not created", exc)
        return
    except (ApiError, DraftInvalid) as exc:
        _fail(screen, "Not created", exc)
        open_create_form(screen, where, draft, server_error=str(exc))
        return
    screen.upsert(created, select=True)
    screen.notify(f"Created {created.name!r} ({created.id})", markup=False)


# --- edit ---------------------------------------------------------------------------------------


def edit_flow(
    screen: IntegrationsScreen,
    integ: BigSegmentStoreIntegration,
    draft: IntegrationDraft | None = None,
    server_error: str | None = None,
) -> None:
    draft = draft or screen.kept_drafts.get(integ.id) or draft_from_integration(integ)

    def submitted(result: IntegrationDraft | None) -> None:
        if result is None:
            return
        screen.kept_drafts[integ.id] = result
        review(screen, integ, result)

    screen.app.push_screen(
        IntegrationFormScreen(draft, mode="edit", where=_where(integ), server_error=server_error),
        submitted,
    )


def review(screen: IntegrationsScreen, integ: BigSegmentStoreIntegration, draft: IntegrationDraft) -> None:
    assert screen.ldtui.service is not None
    try:
        change = screen.ldtui.service.review(integ, draft)
    except DraftInvalid as exc:
        edit_flow(screen, integ, draft, server_error=str(exc))
        return

    def decided(send: bool | None) -> None:
        if send:
            screen.run_worker(
                apply(screen, integ, draft, change.patch),
                group="write",
                exit_on_error=False,
                description="Saving the integration",
            )
        else:
            edit_flow(screen, integ, draft)

    screen.app.push_screen(ReviewScreen(integ, change.patch), decided)


async def apply(
    screen: IntegrationsScreen,
    integ: BigSegmentStoreIntegration,
    draft: IntegrationDraft,
    patch: list[dict[str, object]],
) -> None:
    service = await screen.ldtui.service_ready()
    if not patch:
        screen.kept_drafts.pop(integ.id, None)
        return
    try:
        updated = await service.patch(integ, patch)
    except ReadOnly as exc:
        _fail(screen, "Not saved", exc)
        return
    except ApiError as exc:
        if exc.status == 409:
            try:
                latest = await service.get(integ.ref)
            except ApiError as again:
                _fail(screen, "Conflict, and the latest version could not be read", again)
                return
            screen.upsert(latest)
            conflict(screen, integ, latest, draft)
        elif exc.is_rejected:
            _fail(screen, "Rejected", exc)
            edit_flow(screen, integ, draft, server_error=str(exc))
        else:
            _fail(screen, "Not saved (your edit is kept; press e to retry)", exc)
        return
    screen.kept_drafts.pop(integ.id, None)
    screen.upsert(updated, select=True)
    screen.notify(f"Saved {updated.name!r} (version {updated.version})", markup=False)


def conflict(
    screen: IntegrationsScreen,
    mine: BigSegmentStoreIntegration,
    latest: BigSegmentStoreIntegration,
    draft: IntegrationDraft,
) -> None:
    rebased = rebase(mine, latest, draft)

    def chosen(what: str | None) -> None:
        if what == "reapply":
            screen.kept_drafts[mine.id] = rebased
            review(screen, latest, rebased)
        elif what == "discard":
            screen.kept_drafts.pop(mine.id, None)
        else:
            edit_flow(screen, latest, rebased)

    screen.app.push_screen(ConflictScreen(mine, latest), chosen)


# --- on/off and delete -------------------------------------------------------------------------


def toggle_flow(screen: IntegrationsScreen, integ: BigSegmentStoreIntegration) -> None:
    turn_on = not integ.on
    verb = "on" if turn_on else "off"
    message = f"Turn {verb} {integ.name!r} ({_where(integ)})? " + (
        "LaunchDarkly starts syncing its store."
        if turn_on
        else "LaunchDarkly stops syncing its store; SDKs will see it go stale."
    )

    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.run_worker(
                toggle(screen, integ, turn_on),
                group="write",
                exit_on_error=False,
                description=f"Turning the integration {verb}",
            )

    screen.app.push_screen(ConfirmScreen(f"Turn {verb}", message, f"Turn {verb}"), confirmed)


async def toggle(screen: IntegrationsScreen, integ: BigSegmentStoreIntegration, on: bool) -> None:
    service = await screen.ldtui.service_ready()
    try:
        updated = await service.set_on(integ, on)
    except ReadOnly as exc:
        _fail(screen, "Not changed", exc)
        return
    except ApiError as exc:
        _fail(screen, "Not changed", exc)
        if exc.status == 409:
            screen.action_refresh()
        return
    screen.upsert(updated, select=True)
    screen.notify(f"{updated.name!r} is now {'on' if updated.on else 'off'}", markup=False)


def delete_flow(
    screen: IntegrationsScreen, integ: BigSegmentStoreIntegration, changed: str | None = None
) -> None:
    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.run_worker(
                delete(screen, integ),
                group="write",
                exit_on_error=False,
                description="Deleting the integration",
            )

    screen.app.push_screen(DeleteScreen(integ.name, _where(integ), changed=changed), confirmed)


def _changes(before: BigSegmentStoreIntegration, after: BigSegmentStoreIntegration) -> str:
    """What someone else changed, in words, for the second confirmation."""
    parts = [f"version {before.version} → {after.version}"]
    if before.name != after.name:
        parts.append(f"name {before.name!r} → {after.name!r}")
    if before.on != after.on:
        parts.append(f"turned {'on' if after.on else 'off'}")
    if before.config != after.config:
        keys = sorted(
            k for k in set(before.config) | set(after.config) if before.config.get(k) != after.config.get(k)
        )
        parts.append("config " + ", ".join(keys) + " changed")
    return "; ".join(parts)


async def delete(screen: IntegrationsScreen, integ: BigSegmentStoreIntegration) -> None:
    """DELETE has no precondition in the API: read the integration first, and if it changed
    since the dialog opened (renamed, repointed), show the change and ask again."""
    service = await screen.ldtui.service_ready()
    try:
        latest = await service.get(integ.ref)
    except ApiError as exc:
        if exc.status == 404:
            screen.forget(integ.id)
            screen.notify("It was already gone.")
            return
        _fail(screen, "Not deleted (it could not be read first)", exc)
        return
    if latest.version != integ.version:
        screen.upsert(latest)
        delete_flow(screen, latest, changed=_changes(integ, latest))
        return
    try:
        await service.delete(latest)
    except ReadOnly as exc:
        _fail(screen, "Not deleted", exc)
        return
    except ApiError as exc:
        if exc.status == 404:
            screen.forget(integ.id)
            screen.notify("It was already gone.")
            return
        _fail(screen, "Not deleted", exc)
        return
    screen.forget(integ.id)
    screen.notify(f"Deleted {integ.name!r}")
