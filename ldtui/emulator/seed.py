"""Seed data for the emulator, deterministic from ``--seed``.

Projects and environments, big segments (synced from an external tool and list-based, one
deleted and recreated so older generations linger in the stores), and integrations on Redis
and DynamoDB in every state: healthy, stale (sync paused), erroring (a store that cannot be
reached) and off. Hosts under ``.invalid`` are never mapped to a real endpoint: they are how
the seed makes a store unreachable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ldtui.emulator.state import EmulatorState, Environment, Integration, Project, Segment

DEFAULT_TOKEN = "api-emulator-0000-0000-0000-000000000000"
READ_ONLY_TOKEN = "api-emulator-readonly-0000-000000000000"

COLORS = ["417505", "F5A623", "7ED321", "4A90E2", "D0021B", "9013FE"]


@dataclass(frozen=True)
class SeedOptions:
    seed: int = 1
    # Contexts in the largest environment; the others get a share of it.
    contexts: int = 5000
    # Extra small projects, so that the project picker has pages to turn.
    extra_projects: int = 22


def _rule(attribute: str, op: str, values: list[object]) -> dict[str, object]:
    return {
        "_id": "r-" + attribute,
        "clauses": [
            {
                "attribute": attribute,
                "op": op,
                "values": values,
                "negate": False,
                "contextKind": "user",
            }
        ],
    }


def _context_keys(rng: random.Random, n: int, env: str) -> list[str]:
    keys = [f"user-{env}-{i:05d}" for i in range(n)]
    # A few that look like what people use: emails, UUID-ish ids, non-ASCII.
    extras = [
        "alice@example.com",
        "bob@example.com",
        "ключ-пользователя",
        "ユーザー-42",
        f"org-{rng.getrandbits(32):08x}",
    ]
    return extras + keys


def _add_env(
    state: EmulatorState, project: Project, key: str, name: str, *, critical: bool = False
) -> Environment:
    rng = state.rng
    env = Environment(
        key=key,
        name=name,
        id=state.new_id(),
        api_key=f"sdk-{rng.getrandbits(128):032x}",
        mobile_key=f"mob-{rng.getrandbits(128):032x}",
        color=rng.choice(COLORS),
        critical=critical,
    )
    project.environments[key] = env
    return env


def _add_segment(
    state: EmulatorState,
    env: Environment,
    key: str,
    name: str,
    *,
    generation: int = 1,
    external: str | None = None,
    description: str | None = None,
    rules: list[dict[str, object]] | None = None,
) -> Segment:
    created = state.now_ms() - 86_400_000 * (10 + state.rng.randrange(200))
    seg = Segment(
        key=key,
        name=name,
        generation=generation,
        created_ms=created,
        modified_ms=created,
        description=description,
        external=external,
        external_link=f"https://analytics.example.com/cohorts/{key}" if external else None,
        rules=rules or [],
        tags=["synced"] if external else ["list"],
        env_id=env.id,
        segment_id=state.new_id(),
    )
    env.segments[key] = seg
    return seg


def _fill_env(state: EmulatorState, env: Environment, n_contexts: int) -> None:
    """Big segments and their memberships, as LaunchDarkly would have sent them."""
    rng = state.rng
    keys = _context_keys(rng, n_contexts, env.key)
    beta = _add_segment(
        state,
        env,
        "beta-testers",
        "Beta testers",
        description="List-based: people who opted into the beta programme.",
    )
    cohort = _add_segment(
        state,
        env,
        "high-value-customers",
        "High-value customers",
        external="amplitude",
        description="Synced cohort from the analytics tool.",
        rules=[_rule("plan", "in", ["enterprise"])],
    )
    churn = _add_segment(
        state,
        env,
        "churn.risk",
        "Churn risk (dotted key)",
        external="amplitude",
    )
    legacy = _add_segment(
        state,
        env,
        "legacy-cohort",
        "Legacy cohort",
        description="Deleted and recreated: older generations linger in the stores.",
    )
    size = len(keys)
    state.change_membership(env, beta, include=rng.sample(keys, size * 3 // 10))
    state.change_membership(
        env, cohort, include=rng.sample(keys, size // 5), exclude=rng.sample(keys, size // 50)
    )
    state.change_membership(env, churn, include=rng.sample(keys, size // 10))
    # Generation 1 of legacy-cohort, then delete-and-recreate twice (g2, then g3).
    state.change_membership(env, legacy, include=rng.sample(keys, size // 20))
    legacy = state.recreate_segment(env, "legacy-cohort")
    state.change_membership(env, legacy, include=rng.sample(keys, size // 25))
    legacy = state.recreate_segment(env, "legacy-cohort")
    state.change_membership(env, legacy, include=rng.sample(keys, size // 30), exclude=keys[:3])


def _integration(
    state: EmulatorState,
    project: str,
    env: str,
    kind: str,
    name: str,
    config: dict[str, object],
    *,
    on: bool = True,
    tags: list[str] | None = None,
    paused: bool = False,
) -> Integration:
    integ = Integration(
        id=state.new_id(),
        kind=kind,
        project=project,
        environment=env,
        config=config,
        on=on,
        tags=tags or [],
        name=name,
    )
    integ.sync.paused = paused
    if paused:
        integ.sync.stopped_ms_ago = 10 * 60 * 1000
    state.integrations[integ.id] = integ
    return integ


def build_state(options: SeedOptions = SeedOptions(), **state_kwargs: object) -> EmulatorState:
    tokens = state_kwargs.pop("tokens", None) or {
        DEFAULT_TOKEN: "writer",
        READ_ONLY_TOKEN: "reader",
    }
    state = EmulatorState(seed=options.seed, tokens=tokens, **state_kwargs)  # type: ignore[arg-type]
    rng = state.rng

    def project(key: str, name: str, tags: list[str] | None = None) -> Project:
        p = Project(key=key, name=name, id=state.new_id(), tags=tags or [])
        state.projects[key] = p
        return p

    default = project("default", "Default Project")
    prod = _add_env(state, default, "production", "Production", critical=True)
    staging = _add_env(state, default, "staging", "Staging")
    dev = _add_env(state, default, "development", "Development")
    mobile = project("mobile-app", "Mobile App", ["mobile"])
    m_prod = _add_env(state, mobile, "production", "Production", critical=True)
    m_test = _add_env(state, mobile, "test", "Test")
    payments = project("payments", "Payments", ["pci"])
    p_prod = _add_env(state, payments, "production", "Production", critical=True)
    p_sandbox = _add_env(state, payments, "sandbox", "Sandbox")

    n = options.contexts
    # DynamoDB environments get hundreds, not thousands: a relay-style first sync writes 24
    # items per transaction, and moto takes ~0.1 s per transaction.
    for env, share in (
        (prod, 1.0),
        (staging, 0.06),
        (dev, 0.05),
        (m_prod, 0.1),
        (m_test, 0.05),
        (p_prod, 0.3),
        (p_sandbox, 0.05),
    ):
        _fill_env(state, env, max(20, int(n * share)))

    for i in range(options.extra_projects):
        p = project(f"sandbox-{i + 1:02d}", f"Sandbox {i + 1:02d}", ["sandbox"])
        _add_env(state, p, "test", "Test")

    def redis(host: str, password: str = "", tls: bool = False) -> dict[str, object]:
        cfg: dict[str, object] = {"host": host, "port": "6379", "username": "", "tlsEnabled": tls}
        if password:
            cfg["password"] = password
        return cfg

    def dynamodb(table: str, region: str = "us-east-1") -> dict[str, object]:
        return {
            "tableName": table,
            "region": region,
            "roleArn": "arn:aws:iam::123456789012:role/launchdarkly-big-segments",
            "externalId": f"{rng.getrandbits(128):032x}",
        }

    # Healthy.
    _integration(
        state,
        "default",
        "production",
        "redis",
        "Prod Redis store",
        redis("redis.prod.internal", f"pw-{rng.getrandbits(64):016x}", tls=True),
        tags=["ops", "critical"],
    )
    _integration(
        state,
        "default",
        "staging",
        "dynamodb",
        "Staging DynamoDB",
        dynamodb("ld-big-segments-staging"),
        tags=["ops"],
    )
    _integration(
        state,
        "mobile-app",
        "production",
        "dynamodb",
        "Mobile prod DynamoDB",
        dynamodb("ld-big-segments-mobile", "eu-west-1"),
        tags=["mobile"],
    )
    # Erroring: the host cannot be resolved.
    _integration(
        state,
        "payments",
        "production",
        "redis",
        "Payments Redis (PCI zone)",
        redis("redis.payments.invalid", f"pw-{rng.getrandbits(64):016x}", tls=True),
        tags=["pci"],
    )
    # Stale: the sync has stopped.
    _integration(
        state,
        "mobile-app",
        "production",
        "redis",
        "Mobile Redis replica",
        redis("redis.mobile.internal"),
        tags=["mobile"],
        paused=True,
    )
    # Off.
    _integration(
        state,
        "default",
        "development",
        "redis",
        "Dev Redis",
        redis("redis.dev.internal"),
        on=False,
        tags=["dev"],
    )
    _integration(
        state,
        "payments",
        "sandbox",
        "dynamodb",
        "Sandbox DynamoDB",
        dynamodb("ld-big-segments-sandbox"),
        on=False,
    )
    return state


def simulate_history(state: EmulatorState, now_ms: int | None = None) -> None:
    """Give every seeded integration the ``_status`` the syncer would have recorded by now,
    without touching a store: for snapshots, screenshots and screen tests at a fixed clock."""
    now = state.now_ms() if now_ms is None else now_ms
    for integ in state.integrations.values():
        s = integ.sync
        if not integ.on:
            continue
        if s.paused:
            s.last_sync = now - (s.stopped_ms_ago or 600_000)
        elif integ.config.get("host", "").endswith(".invalid"):
            for ago in (40_000, 30_000, 20_000):
                s.record_error(now - ago, f"dial tcp: lookup {integ.config['host']}: no such host")
        else:
            s.last_sync = now - 4_000
            s.last_heartbeat = s.last_sync


def add_redis_fleet(state: EmulatorState, targets: int, redis_url: str) -> str:
    """``targets`` more integrations (five environments per project ``bench-NNN``), each a
    Redis store; returns their ``[stores]`` configuration, every one on ``redis_url`` (the
    benchmarks' fleet: the syncer writes each under its own prefix)."""
    stores = []
    for n in range(targets):
        p, e = divmod(n, 5)
        project = state.projects.get(f"bench-{p:03d}")
        if project is None:
            project = Project(key=f"bench-{p:03d}", name=f"Bench {p:03d}", id=state.new_id())
            state.projects[project.key] = project
        env = Environment(
            key=f"env-{e}",
            name=f"Env {e}",
            id=state.new_id(),
            api_key="sdk-x",
            mobile_key="mob-x",
            color="417505",
        )
        project.environments[env.key] = env
        integ = Integration(
            id=state.new_id(),
            kind="redis",
            project=project.key,
            environment=env.key,
            config={"host": f"redis-{p}-{e}.internal", "port": "6379"},
            on=True,
            tags=[],
            name=f"Store {p:03d}/{e}",
        )
        state.integrations[integ.id] = integ
        stores.append(f'[stores."{project.key}/{env.key}"]\ntype = "redis"\nurl = "{redis_url}"\n')
    return "".join(stores)
