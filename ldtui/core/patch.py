"""Build the RFC 6902 JSON Patch that turns an integration as fetched into the edited one.

Rules (api-contract.md §5-§6):
- the first operation is ``{"op": "test", "path": "/version", "value": N}`` (optimistic
  concurrency: the server answers 409 if someone else changed the integration);
- only ``/name``, ``/on``, ``/tags`` and ``/config/...`` are ever written: never a ``_`` path,
  never ``integrationKey``/``projectKey``/``environmentKey``, never ``version``;
- a secret is sent only when the user typed a new value; an untouched or redacted secret
  (``abc********xyz``) is never sent back;
- only ``add``/``remove``/``replace``/``test``: the spec's PatchOperation has no ``from``, so
  ``move``/``copy`` (which a list diff can produce) could not be expressed; tags are replaced
  as a whole.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonpatch

from ldtui.core.manifests import MANIFESTS
from ldtui.core.models import BigSegmentStoreIntegration
from ldtui.core.secrets import is_redacted, mask_secret

EDITABLE_TOP_LEVEL = ("name", "on", "tags", "config")
READ_ONLY_TOP_LEVEL = frozenset({"integrationKey", "projectKey", "environmentKey", "version"})
ALLOWED_OPS = frozenset({"add", "remove", "replace", "test"})


class UnsafePatchError(ValueError):
    """A patch would write a read-only path or send a secret that was not typed."""


@dataclass
class IntegrationEdit:
    """What the edit form produced.

    ``config`` holds the form's values. A secret key whose value is ``None``, empty or
    redacted means "unchanged" and is never sent.
    """

    name: str
    on: bool
    tags: list[str]
    config: dict[str, Any] = field(default_factory=dict)


def secret_keys(kind: str) -> frozenset[str]:
    manifest = MANIFESTS.get(kind)
    return manifest.secret_keys if manifest else frozenset({"password"})


def _typed_secret(value: Any) -> bool:
    return value not in (None, "") and not is_redacted(value)


def edited_config(
    fetched_config: Mapping[str, Any], edit_config: Mapping[str, Any], secrets: frozenset[str]
) -> dict[str, Any]:
    """The config after the edit: fetched values, overridden by the form's, secrets kept
    unless a new one was typed. Keys the form does not know are kept as fetched."""
    out = copy.deepcopy(dict(fetched_config))
    for key, value in edit_config.items():
        if key in secrets and not _typed_secret(value):
            continue
        out[key] = copy.deepcopy(value)
    return out


def _top(path: str) -> str:
    return path.split("/", 2)[1] if path.startswith("/") else path


def check_patch(
    ops: list[dict[str, Any]],
    *,
    secrets: frozenset[str] = frozenset({"password"}),
    typed_secrets: frozenset[str] = frozenset(),
) -> None:
    """Raise ``UnsafePatchError`` if ``ops`` break any rule in this module's docstring.

    ``secrets`` are the integration kind's secret config keys; ``typed_secrets`` those the
    user typed a new value for."""
    for op in ops:
        if op.get("op") not in ALLOWED_OPS:
            raise UnsafePatchError(f"operation {op.get('op')!r} is not allowed")
        if "from" in op:
            raise UnsafePatchError("operations with 'from' cannot be expressed by the API")
        path = op.get("path", "")
        top = _top(path)
        if op["op"] == "test" and path == "/version":
            continue
        if top.startswith("_") or top in READ_ONLY_TOP_LEVEL or top not in EDITABLE_TOP_LEVEL:
            raise UnsafePatchError(f"path {path!r} is read-only")
        parts = path.split("/")
        if top == "config" and len(parts) >= 3:
            key = jsonpatch.JsonPointer(path).parts[1]
            value = op.get("value")
            if (key in secret_keys("redis") | secret_keys("dynamodb")) and (
                key not in typed_secrets or not _typed_secret(value)
            ):
                raise UnsafePatchError(f"secret {path!r} would be sent without being typed")
        if top == "config" and len(parts) == 2:
            raise UnsafePatchError("replacing the whole config could send back a redacted secret")


def build_patch(fetched: BigSegmentStoreIntegration, edit: IntegrationEdit) -> list[dict[str, Any]]:
    """The JSON Patch for ``edit`` against ``fetched``; ``[]`` when nothing changed."""
    secrets = secret_keys(fetched.integrationKey)
    ops: list[dict[str, Any]] = []
    if edit.name != fetched.name:
        ops.append({"op": "replace", "path": "/name", "value": edit.name})
    if edit.on != fetched.on:
        ops.append({"op": "replace", "path": "/on", "value": edit.on})
    if list(edit.tags) != list(fetched.tags):
        ops.append({"op": "replace", "path": "/tags", "value": list(edit.tags)})

    new_config = edited_config(fetched.config, edit.config, secrets)
    for op in jsonpatch.make_patch(fetched.config, new_config).patch:
        op = dict(op)
        op["path"] = "/config" + op["path"]
        ops.append(op)

    if not ops:
        return []
    typed = frozenset(k for k in secrets if _typed_secret(edit.config.get(k)))
    check_patch(ops, secrets=secrets, typed_secrets=typed)
    return [{"op": "test", "path": "/version", "value": fetched.version}, *ops]


def patch_for_display(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same patch with every secret value masked: what a review dialog or a log shows."""
    every_secret = secret_keys("redis") | secret_keys("dynamodb")
    shown = []
    for op in ops:
        op = dict(op)
        path = op.get("path", "")
        if _top(path) == "config" and "value" in op:
            parts = jsonpatch.JsonPointer(path).parts
            if len(parts) >= 2 and parts[1] in every_secret and isinstance(op["value"], str):
                op["value"] = mask_secret(op["value"])
            elif len(parts) == 1 and isinstance(op["value"], dict):
                op["value"] = mask_config(op["value"])
        shown.append(op)
    return shown


def mask_config(config: Mapping[str, Any], kind: str | None = None) -> dict[str, Any]:
    """A config mapping with every secret value masked, for display."""
    secrets = secret_keys(kind) if kind else secret_keys("redis") | secret_keys("dynamodb")
    return {
        k: (mask_secret(v) if k in secrets and isinstance(v, str) and v else v) for k, v in config.items()
    }


@dataclass(frozen=True)
class FieldChange:
    """One line of a patch as a person reads it: ``port: "6379" → "6380"``."""

    field: str  # "name", "on", "tags", or the config key ("port")
    before: str  # JSON, secrets masked; "(none)" when it was not set
    after: str  # JSON, secrets masked; "(removed)" when the patch removes it

    def __str__(self) -> str:
        return f"{self.field}: {self.before} → {self.after}"


def human_diff(fetched: BigSegmentStoreIntegration, ops: list[dict[str, Any]]) -> list[FieldChange]:
    """What ``ops`` change, field by field, from the integration as fetched (the version test
    is not a change), every secret masked on both sides."""

    def shown(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    before_config = mask_config(fetched.config, fetched.integrationKey)
    top = {"name": fetched.name, "on": fetched.on, "tags": list(fetched.tags)}
    out: list[FieldChange] = []
    for op in patch_for_display(ops):
        kind, path = op.get("op"), str(op.get("path", ""))
        if kind == "test":
            continue
        parts = jsonpatch.JsonPointer(path).parts if path.startswith("/") else [path]
        if parts and parts[0] == "config" and len(parts) >= 2:
            field_name = "/".join(str(p) for p in parts[1:])
            key = str(parts[1])
            old: Any = before_config.get(key, _MISSING) if len(parts) == 2 else _MISSING
        else:
            field_name = str(parts[0]) if parts else path
            old = top.get(field_name, _MISSING)
        before = "(none)" if old is _MISSING else shown(old)
        after = "(removed)" if kind == "remove" else shown(op.get("value"))
        out.append(FieldChange(field_name, before, after))
    return out


_MISSING = object()
