"""The configuration that points ldtui at a running emulator, ready to paste: a profile and one
``[stores]`` entry for every store the syncer writes (live ports, tables, regions), with the
test AWS credentials the local DynamoDB accepts."""

from __future__ import annotations

import json

from ldtui.emulator.state import EmulatorState

TOKEN_VARIABLE = "LDTUI_EMULATOR_TOKEN"
# moto accepts any credentials; boto3 needs some to sign its requests. Test values, not secrets.
TEST_AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=True)


def store_entries(
    state: EmulatorState, *, redis_url: str | None, dynamodb_endpoint: str | None
) -> list[tuple[str, dict[str, str]]]:
    """(store key, settings) for every integration that is on and whose store the syncer can
    reach; an environment with both kinds gets ``project/environment/kind`` keys."""
    live = [
        i
        for i in sorted(state.integrations.values(), key=lambda i: (i.project, i.environment, i.kind))
        if i.on
        and (
            (i.kind == "redis" and redis_url and not str(i.config.get("host", "")).endswith(".invalid"))
            or (
                i.kind == "dynamodb"
                and dynamodb_endpoint
                and not str(i.config.get("tableName", "")).endswith(".invalid")
            )
        )
    ]
    kinds: dict[tuple[str, str], set[str]] = {}
    for i in live:
        kinds.setdefault((i.project, i.environment), set()).add(i.kind)
    out = []
    for i in live:
        key = f"{i.project}/{i.environment}"
        if len(kinds[(i.project, i.environment)]) > 1:
            key += f"/{i.kind}"
        if i.kind == "redis":
            assert redis_url is not None
            out.append((key, {"type": "redis", "url": redis_url}))
        else:
            assert dynamodb_endpoint is not None
            entry = {"type": "dynamodb", "table": str(i.config.get("tableName"))}
            entry["region"] = str(i.config.get("region") or "us-east-1")
            entry["endpoint_url"] = dynamodb_endpoint
            out.append((key, entry))
    return out


def ready_config(
    state: EmulatorState,
    *,
    api_url: str,
    redis_url: str | None,
    dynamodb_endpoint: str | None,
    token: str = "<the read/write token above>",
    profile: str = "emulator",
) -> str:
    """The TOML text (with the shell lines it needs as comments). ``token``: what to export
    (the well-known default token is public; one given with ``--token`` is not printed)."""
    lines = [
        "# ldtui configuration for this emulator: paste into ~/.config/ldtui/config.toml, or save",
        "# it and run `ldtui --config FILE`. In the shell that runs ldtui:",
        f"#   export {TOKEN_VARIABLE}={token}",
    ]
    lines += [f"#   export {k}={v}" for k, v in TEST_AWS_CREDENTIALS.items()]
    lines += [
        "",
        f"profile = {_toml(profile)}",
        "",
        f"[profiles.{profile}]",
        f"base_url = {_toml(api_url)}",
        f"token_env = {_toml(TOKEN_VARIABLE)}",
    ]
    for key, entry in store_entries(state, redis_url=redis_url, dynamodb_endpoint=dynamodb_endpoint):
        lines += ["", f"[stores.{_toml(key)}]"]
        lines += [f"{name} = {_toml(value)}" for name, value in entry.items()]
    return "\n".join(lines) + "\n"
