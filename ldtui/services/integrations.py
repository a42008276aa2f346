"""Listing, creating, editing, switching and deleting integrations.

Every write goes through ``_write``: refused in a read-only session (before anything is sent),
recorded in the audit trail when there is one (``ldtui.services.audit``)."""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ldtui.api.client import LaunchDarklyClient, Page
from ldtui.core.forms import IntegrationDraft
from ldtui.core.manifests import MANIFESTS
from ldtui.core.models import (
    BigSegmentStoreIntegration,
    Environment,
    IntegrationDeliveryConfigurationPost,
    IntegrationRef,
    Project,
)
from ldtui.core.patch import IntegrationEdit, build_patch, patch_for_display

if TYPE_CHECKING:
    from ldtui.services.audit import AuditTrail

T = TypeVar("T")


class ReadOnly(RuntimeError):
    """A write asked for in a read-only session: nothing was sent."""

    def __init__(self, action: str, why: str = "") -> None:
        self.action = action
        super().__init__(f"read-only session{f' ({why})' if why else ''}: nothing was {action}")


class DraftInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


@dataclass(frozen=True)
class Change:
    """A reviewed edit: the integration as fetched, the draft, and the exact patch."""

    fetched: BigSegmentStoreIntegration
    draft: IntegrationDraft
    patch: list[dict[str, Any]]


def edit_from_draft(draft: IntegrationDraft) -> IntegrationEdit:
    result = draft.validate()
    if not result.ok or result.form is None:
        raise DraftInvalid(result.errors)
    # Secrets not typed stay out of the edit's config: build_patch keeps the stored ones.
    config = result.form.to_config(include_password=True)
    return IntegrationEdit(name=draft.name.strip(), on=draft.on, tags=draft.tags, config=config)


def draft_from_integration(integration: BigSegmentStoreIntegration) -> IntegrationDraft:
    """The edit form's starting point: every field as stored, the secret left empty
    (empty means "unchanged")."""
    manifest = MANIFESTS[integration.integrationKey]
    config = {
        f.key: integration.config[f.key]
        for f in manifest.fields
        if f.key in integration.config and not f.is_secret
    }
    return IntegrationDraft(
        kind=integration.integrationKey,
        name=integration.name,
        tags_text=", ".join(integration.tags),
        on=integration.on,
        config=config,
    )


def sort_key(i: BigSegmentStoreIntegration) -> tuple[str, str, str, str]:
    return (i.projectKey, i.environmentKey, i.integrationKey, i.name.lower())


class IntegrationService:
    def __init__(
        self,
        client: LaunchDarklyClient,
        *,
        audit: AuditTrail | None = None,
        read_only: bool = False,
        read_only_why: str = "",
    ) -> None:
        self.client = client
        self.audit = audit
        self.read_only = read_only
        self.read_only_why = read_only_why

    async def _write(
        self,
        action: str,
        done: str,
        ref: tuple[str, str, str],
        method: str,
        path: str,
        body: Any,
        call: Callable[[], Awaitable[T]],
        *,
        integration_id: str | None = None,
        name: str | None = None,
        secrets: tuple[str, ...] = (),
        result_id: Callable[[T], str | None] | None = None,
    ) -> T:
        if self.read_only:
            raise ReadOnly(done, self.read_only_why)
        if self.audit is None:
            return await call()
        project, environment, kind = ref
        return await self.audit.record(
            action=action,
            method=method,
            path=path,
            project=project,
            environment=environment,
            kind=kind,
            body=body,
            call=call,
            integration_id=integration_id,
            name=name,
            secrets=secrets,
            result_id=result_id,
        )

    async def list(self) -> list[BigSegmentStoreIntegration]:
        collection = await self.client.list_integrations()
        return sorted(collection.items, key=sort_key)

    async def get(self, ref: IntegrationRef) -> BigSegmentStoreIntegration:
        return await self.client.get_integration(ref)

    async def create(
        self, project: str, environment: str, draft: IntegrationDraft
    ) -> BigSegmentStoreIntegration:
        from ldtui.services.audit import masked_body

        edit = edit_from_draft(draft)
        body = IntegrationDeliveryConfigurationPost(
            config=edit.config, on=edit.on, tags=edit.tags, name=edit.name
        )
        payload = body.model_dump(mode="json", by_alias=True, exclude_none=True)
        return await self._write(
            "create",
            "created",
            (project, environment, draft.kind),
            "POST",
            _path(project, environment, draft.kind),
            masked_body(draft.kind, payload),
            lambda: self.client.create_integration(project, environment, draft.kind, body),  # type: ignore[arg-type]
            name=edit.name,
            secrets=_secrets(draft.kind, edit.config),
            result_id=lambda created: created.id,
        )

    def review(self, fetched: BigSegmentStoreIntegration, draft: IntegrationDraft) -> Change:
        """The exact patch an edit would send (empty when nothing changed)."""
        return Change(fetched, draft, build_patch(fetched, edit_from_draft(draft)))

    async def apply(self, change: Change) -> BigSegmentStoreIntegration:
        if not change.patch:
            return change.fetched
        return await self.patch(change.fetched, change.patch)

    async def patch(
        self,
        integration: BigSegmentStoreIntegration,
        patch: builtins.list[dict[str, Any]],
        *,
        action: str = "edit",
    ) -> BigSegmentStoreIntegration:
        """Send a reviewed JSON Patch (its first operation tests the version)."""
        # The secrets typed into this patch: masked if a server's message quotes them.
        manifest = MANIFESTS.get(integration.integrationKey)
        secret_keys = manifest.secret_keys if manifest else frozenset()
        typed = tuple(
            str(op.get("value"))
            for op in patch
            if str(op.get("path", "")).removeprefix("/config/") in secret_keys
            and str(op.get("path", "")).startswith("/config/")
            and isinstance(op.get("value"), str)
        )
        return await self._write(
            action,
            "changed",
            (integration.projectKey, integration.environmentKey, integration.integrationKey),
            "PATCH",
            _path(*_parts(integration.ref)),
            patch_for_display(patch),
            lambda: self.client.patch_integration(integration.ref, patch),
            integration_id=integration.id,
            name=integration.name,
            secrets=typed,
        )

    async def set_on(self, integration: BigSegmentStoreIntegration, on: bool) -> BigSegmentStoreIntegration:
        patch = [
            {"op": "test", "path": "/version", "value": integration.version},
            {"op": "replace", "path": "/on", "value": on},
        ]
        return await self.patch(integration, patch, action="toggle")

    async def delete(self, integration: BigSegmentStoreIntegration | IntegrationRef) -> None:
        ref = integration.ref if isinstance(integration, BigSegmentStoreIntegration) else integration
        name = integration.name if isinstance(integration, BigSegmentStoreIntegration) else None

        async def call() -> None:
            await self.client.delete_integration(ref)

        await self._write(
            "delete",
            "deleted",
            (ref.project, ref.environment, ref.kind),
            "DELETE",
            _path(*_parts(ref)),
            None,
            call,
            integration_id=ref.id,
            name=name,
        )

    async def projects_page(
        self, *, offset: int = 0, limit: int = 20, query: str | None = None
    ) -> Page[Project]:
        return await self.client.projects_page(limit=limit, offset=offset, query=query or None)

    async def environments_page(self, project: str, *, offset: int = 0, limit: int = 20) -> Page[Environment]:
        return await self.client.environments_page(project, limit=limit, offset=offset)


def _path(*parts: str) -> str:
    """The route's path, as the client sends it."""
    from urllib.parse import quote

    from ldtui.api.client import BIG_SEGMENT_STORE

    return "/".join([BIG_SEGMENT_STORE, *(quote(p, safe="") for p in parts)])


def _parts(ref: IntegrationRef) -> tuple[str, str, str, str]:
    return (ref.project, ref.environment, ref.kind, ref.id)


def _secrets(kind: str, config: dict[str, Any]) -> tuple[str, ...]:
    manifest = MANIFESTS.get(kind)
    keys = manifest.secret_keys if manifest else frozenset()
    return tuple(str(v) for k, v in config.items() if k in keys and isinstance(v, str) and v)


def rebase(
    original: BigSegmentStoreIntegration,
    latest: BigSegmentStoreIntegration,
    draft: IntegrationDraft,
) -> IntegrationDraft:
    """After a 409: keep what the user changed (draft vs the version they loaded), take every
    other field from the latest version, so reapplying never undoes someone else's change."""
    base = draft_from_integration(original)
    now = draft_from_integration(latest)
    out = IntegrationDraft(kind=draft.kind)
    out.name = draft.name if draft.name != base.name else now.name
    out.tags_text = draft.tags_text if draft.tags != base.tags else now.tags_text
    out.on = draft.on if draft.on != base.on else now.on
    config = dict(now.config)
    for key, value in draft.config.items():
        if value is None:  # an untouched secret stays untouched
            continue
        if value != base.config.get(key):
            config[key] = value
    out.config = config
    return out
