"""Listing, creating, editing, switching and deleting integrations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
from ldtui.core.patch import IntegrationEdit, build_patch


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
    def __init__(self, client: LaunchDarklyClient) -> None:
        self.client = client

    async def list(self) -> list[BigSegmentStoreIntegration]:
        collection = await self.client.list_integrations()
        return sorted(collection.items, key=sort_key)

    async def get(self, ref: IntegrationRef) -> BigSegmentStoreIntegration:
        return await self.client.get_integration(ref)

    async def create(
        self, project: str, environment: str, draft: IntegrationDraft
    ) -> BigSegmentStoreIntegration:
        edit = edit_from_draft(draft)
        body = IntegrationDeliveryConfigurationPost(
            config=edit.config, on=edit.on, tags=edit.tags, name=edit.name
        )
        return await self.client.create_integration(project, environment, draft.kind, body)  # type: ignore[arg-type]

    def review(self, fetched: BigSegmentStoreIntegration, draft: IntegrationDraft) -> Change:
        """The exact patch an edit would send (empty when nothing changed)."""
        return Change(fetched, draft, build_patch(fetched, edit_from_draft(draft)))

    async def apply(self, change: Change) -> BigSegmentStoreIntegration:
        if not change.patch:
            return change.fetched
        return await self.client.patch_integration(change.fetched.ref, change.patch)

    async def set_on(self, integration: BigSegmentStoreIntegration, on: bool) -> BigSegmentStoreIntegration:
        patch = [
            {"op": "test", "path": "/version", "value": integration.version},
            {"op": "replace", "path": "/on", "value": on},
        ]
        return await self.client.patch_integration(integration.ref, patch)

    async def delete(self, ref: IntegrationRef) -> None:
        await self.client.delete_integration(ref)

    async def projects_page(
        self, *, offset: int = 0, limit: int = 20, query: str | None = None
    ) -> Page[Project]:
        return await self.client.projects_page(limit=limit, offset=offset, query=query or None)

    async def environments_page(self, project: str, *, offset: int = 0, limit: int = 20) -> Page[Environment]:
        return await self.client.environments_page(project, limit=limit, offset=offset)


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
