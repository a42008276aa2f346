"""``ldtui doctor``'s judgements: the facts a check gathered in, PASS / WARN / FAIL / SKIP out.

Every requirement of LaunchDarkly's segment-configuration docs for a big segment store, and the
traps they leave implicit (a wrong prefix, an ``allkeys-*`` eviction policy, Redis Cluster, two
writers on one store), as pure functions: no I/O, the clock a parameter. ``services.doctor``
gathers the facts (from the stores, AWS IAM and the API) and calls these.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ldtui.core.manifests import DYNAMODB_REGIONS
from ldtui.core.text import relative_age

if TYPE_CHECKING:
    from ldtui.core.models import BigSegmentStoreIntegration

Result = Literal["PASS", "WARN", "FAIL", "SKIP"]
RESULTS: tuple[Result, ...] = ("PASS", "WARN", "FAIL", "SKIP")

# LaunchDarkly's AWS account, which assumes the role of a DynamoDB integration.
LAUNCHDARKLY_AWS_ACCOUNT = "554582317989"
LAUNCHDARKLY_PRINCIPAL = f"arn:aws:iam::{LAUNCHDARKLY_AWS_ACCOUNT}:root"
# What the docs ask of the Redis user LaunchDarkly writes as (a superset of what the Relay
# Proxy's code sends: store-schema.md §7).
WRITER_COMMANDS: tuple[str, ...] = ("GET", "SET", "SADD", "SREM", "DEL", "WATCH", "PING", "MULTI", "EXEC")
# What the docs ask of the IAM role LaunchDarkly assumes, on the table.
WRITER_ACTIONS: tuple[str, ...] = (
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# Two prefixes whose synchronizedOn is this recent are two live writers.
RECENT_WRITE_MS = 10 * 60 * 1000
CERTIFICATE_WARN_DAYS = 30
MEMORY_WARN = 0.80
MEMORY_FAIL = 0.95


@dataclass(frozen=True)
class CheckInfo:
    id: str
    checks: str
    fix: str


# The stable check ids, in the order they run; the README's table is tested against these.
CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo("api.integration", "LaunchDarkly's `_status` of the integration", "see its errors"),
    CheckInfo("network.outbound", "the addresses LaunchDarkly connects from", "allow them in"),
    CheckInfo("redis.reachable", "a connection and PING", "host, port, firewall"),
    CheckInfo("redis.tls", "handshake, certificate for the host, expiry", "certificate, ca_file"),
    CheckInfo("redis.auth", "the credentials authenticate", "user, password reference"),
    CheckInfo("redis.writer_acl", "the writer may run the docs' nine commands", "ACL SETUSER"),
    CheckInfo("redis.reader_acl", "ldtui's own read commands", "ACL SETUSER for ldtui"),
    CheckInfo("redis.not_cluster", "not a Redis Cluster", "a standalone Redis or Sentinel"),
    CheckInfo("redis.eviction", "maxmemory-policy keeps include sets", "noeviction"),
    CheckInfo("redis.memory", "headroom against maxmemory", "raise maxmemory"),
    CheckInfo("redis.prefix", "data under the expected prefix", "the SDKs' prefix"),
    CheckInfo("dynamodb.table", "the table exists and is active", "create it"),
    CheckInfo("dynamodb.key_schema", "namespace (S) and key (S)", "recreate the table"),
    CheckInfo("dynamodb.region", "one of the manifest's regions", "a supported region"),
    CheckInfo("dynamodb.role_arn", "an IAM role ARN", "copy it from IAM"),
    CheckInfo("dynamodb.trust", "LaunchDarkly may assume the role with the External ID", "trust policy"),
    CheckInfo("dynamodb.permissions", "the four actions on the table", "the role's policy"),
    CheckInfo("dynamodb.prefix", "data under the expected prefix", "the SDKs' prefix"),
    CheckInfo("store.writers", "who writes which prefix in the store", "one writer per prefix"),
)
CHECK_IDS: tuple[str, ...] = tuple(c.id for c in CHECKS)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's answer. ``found`` and ``fix`` are plain text (the renderer
    escapes them); neither ever holds a secret."""

    id: str
    target: str
    result: Result
    found: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "target": self.target,
            "result": self.result,
            "found": self.found,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Verdict:
    """A judgement before it is tied to a target and an id."""

    result: Result
    found: str
    fix: str = ""

    def check(self, check_id: str, target: str) -> Check:
        return Check(check_id, target, self.result, self.found, self.fix)


def exit_code(checks: Iterable[Check]) -> int:
    """0 when nothing is worse than PASS or SKIP, 1 for any WARN, 2 for any FAIL."""
    results = {c.result for c in checks}
    if "FAIL" in results:
        return 2
    if "WARN" in results:
        return 1
    return 0


def pass_(found: str) -> Verdict:
    return Verdict("PASS", found)


def warn(found: str, fix: str) -> Verdict:
    return Verdict("WARN", found, fix)


def fail(found: str, fix: str) -> Verdict:
    return Verdict("FAIL", found, fix)


def skip(found: str, fix: str = "") -> Verdict:
    return Verdict("SKIP", found, fix)


# --- Redis -------------------------------------------------------------------------------------


def judge_eviction(policy: str | None) -> Verdict:
    """``noeviction`` and ``volatile-*`` keep the big segment keys (which have no TTL);
    ``allkeys-*`` may evict an include set, silently changing evaluations."""
    if policy is None:
        return skip(
            "maxmemory-policy could not be read (INFO memory and CONFIG GET refused)",
            "give the admin user +info (or +config|get), or check maxmemory-policy by hand",
        )
    p = policy.lower()
    if p == "noeviction" or p.startswith("volatile-"):
        return pass_(f"maxmemory-policy {policy}: keys without a TTL are never evicted")
    if p.startswith("allkeys-"):
        return fail(
            f"maxmemory-policy {policy}: Redis may evict include and exclude sets when memory runs "
            "short, and contexts silently drop out of their big segments",
            "CONFIG SET maxmemory-policy noeviction (and in redis.conf), or a volatile-* policy",
        )
    return warn(f"maxmemory-policy {policy} is not one ldtui knows", "use noeviction")


def judge_memory(used: int | None, maxmemory: int | None, policy: str | None = None) -> Verdict:
    if used is None or maxmemory is None:
        return skip("INFO memory could not be read", "give the admin user +info")
    if maxmemory == 0:
        return pass_(f"no maxmemory limit; {_bytes(used)} used")
    share = used / maxmemory
    found = f"{_bytes(used)} of maxmemory {_bytes(maxmemory)} used ({share:.0%})"
    if share >= MEMORY_FAIL:
        return fail(
            found + ": writes will fail with OOM" if (policy or "").lower() == "noeviction" else found,
            "raise maxmemory, or free memory",
        )
    if share >= MEMORY_WARN:
        return warn(found, "raise maxmemory before the store fills up")
    return pass_(found)


def _bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def judge_cluster(cluster_enabled: bool | None, refused_as_cluster: bool = False) -> Verdict:
    if cluster_enabled or refused_as_cluster:
        return fail(
            "this server runs in cluster mode (cluster_enabled:1)",
            "LaunchDarkly's writers do not support Redis Cluster for big segments: use a "
            "standalone Redis, or a Sentinel deployment",
        )
    if cluster_enabled is None:
        return skip(
            "INFO cluster could not be read; the reader's own check saw no cluster",
            "give the admin user +info",
        )
    return pass_("not a cluster (cluster_enabled:0)")


@dataclass(frozen=True)
class TlsPeer:
    """What a TLS handshake showed: ``error`` when it failed (with the reason), else the
    certificate's expiry (epoch seconds) and subject as far as they could be read."""

    error: str | None = None
    not_after: float | None = None
    subject: str = ""
    verified: bool = True
    version: str = ""


def judge_tls(
    peer: TlsPeer | None, *, tls: bool, now_s: float, integration_tls: bool | None = None
) -> Verdict:
    if integration_tls is True and not tls:
        return fail(
            "the integration connects with TLS (tlsEnabled) but this store's URL is redis://",
            "use rediss:// in [stores] to check what LaunchDarkly connects to, or turn TLS off "
            "in the integration if the server has none",
        )
    if not tls:
        if integration_tls is False:
            return warn(
                "plain TCP: the integration has tlsEnabled off, so its password crosses the network in clear",
                "enable TLS on the server and tlsEnabled in the integration",
            )
        return skip("plain TCP (redis://): nothing to check", "use rediss:// for a server with TLS")
    if peer is None:
        return skip("no TLS handshake was made (the connection failed first)", "fix redis.reachable first")
    if peer.error is not None:
        return fail(f"TLS handshake failed: {peer.error}", _tls_fix(peer.error))
    if not peer.verified:
        return warn(
            "the certificate was not verified (ssl_cert_reqs=none)",
            "verify it: drop ssl_cert_reqs=none and give ca_file",
        )
    if peer.not_after is None:
        return pass_(f"handshake {peer.version} ok; the certificate's expiry could not be read")
    days = (peer.not_after - now_s) / 86400
    who = f" for {peer.subject}" if peer.subject else ""
    if days < 0:
        return fail(f"the certificate{who} has expired", "renew the server's certificate")
    if days < CERTIFICATE_WARN_DAYS:
        return warn(f"the certificate{who} expires in {days:.0f} days", "renew the server's certificate soon")
    return pass_(f"handshake {peer.version} ok, certificate valid for the host{who}, {days:.0f} days left")


def _tls_fix(error: str) -> str:
    lowered = error.lower()
    if "expired" in lowered:
        return "the server's certificate has expired: renew it"
    if "hostname" in lowered or "ip address mismatch" in lowered:
        return "the certificate does not name this host: reissue it with the host LaunchDarkly connects to"
    if "wrong_version" in lowered or "record_layer" in lowered or "wrong version" in lowered:
        return "the server does not speak TLS on this port"
    return "check ca_file (the CA that signed the server's certificate) and the server's certificate"


# --- Redis ACL ---------------------------------------------------------------------------------

# Which of the writer's commands touch keys, and how (for %R~ / %W~ patterns of Redis 7).
_KEY_ACCESS = {"GET": "R", "SET": "W", "SADD": "W", "SREM": "W", "DEL": "W", "WATCH": "R"}


def writer_probe_args(prefix: str) -> dict[str, tuple[str, ...]]:
    """Each writer command with the arguments LaunchDarkly's writer uses it with, on the
    prefix's keys (for ``ACL DRYRUN``; never executed)."""
    p = prefix
    include = f"{p}:big_segment_include:{'A' * 43}="
    return {
        "GET": ("GET", f"{p}:big_segments_cursor"),
        "SET": ("SET", f"{p}:big_segments_synchronized_on", "0"),
        "SADD": ("SADD", include, "segment.g1"),
        "SREM": ("SREM", include, "segment.g1"),
        "DEL": ("DEL", f"{p}:big_segments_lock"),
        "WATCH": ("WATCH", f"{p}:big_segments_lock"),
        "PING": ("PING",),
        "MULTI": ("MULTI",),
        "EXEC": ("EXEC",),
    }


def judge_acl_answers(user: str, answers: Mapping[str, str | None], *, how: str, prefix: str) -> Verdict:
    """``answers``: per writer command, ``None`` when allowed, else why not (the server's
    words). ``how`` says how they were learned (ACL DRYRUN, ACL GETUSER, a write probe)."""
    refused = [c for c in WRITER_COMMANDS if answers.get(c) is not None]
    unknown = [c for c in WRITER_COMMANDS if c not in answers]
    if refused:
        detail = "; ".join(f"{c}: {answers[c]}" for c in refused[:3])
        grant = " ".join(f"+{c.lower()}" for c in refused)
        return fail(
            f"the writer user {user!r} may not run {' '.join(refused)} on {prefix}:* ({how}; {detail})",
            f"ACL SETUSER {user} {grant} ~{prefix}:big_segment*",
        )
    if unknown:
        return skip(f"could not tell for {' '.join(unknown)} ({how})", "run with an admin connection")
    return pass_(f"the writer user {user!r} may run {' '.join(WRITER_COMMANDS)} on {prefix}:* ({how})")


def redis_glob(pattern: str, text: str) -> bool:
    """Redis's ``stringmatchlen``: ``*``, ``?``, ``[abc]``, ``[^a-z]``, and ``\\`` escapes."""
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            j = i + 1
            negate = j < n and pattern[j] == "^"
            if negate:
                j += 1
            parts = []
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\" and j + 1 < n:
                    j += 1
                    parts.append(re.escape(pattern[j]))
                elif j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
                    lo, hi = sorted((pattern[j], pattern[j + 2]))
                    parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
                    j += 2
                else:
                    parts.append(re.escape(pattern[j]))
                j += 1
            out.append(f"[{'^' if negate else ''}{''.join(parts)}]" if parts else ("." if negate else "(?!)"))
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.fullmatch("".join(out), text, re.S) is not None


@dataclass
class AclUser:
    """A user as ``ACL GETUSER`` describes it (Redis 6 and 7), enough to tell whether it may
    run a command on a key. Selectors (Redis 7) are not evaluated: ``approximate`` says so."""

    enabled: bool
    commands: str
    key_patterns: list[tuple[str, str]]  # (access "R" / "W" / "RW", pattern)
    approximate: bool = False

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any]) -> AclUser:
        flags = [_text(f) for f in reply.get("flags") or []]
        patterns: list[tuple[str, str]] = []
        keys = reply.get("keys")
        if isinstance(keys, bytes):
            keys = _text(keys)
        if "allkeys" in flags:
            patterns.append(("RW", "*"))
        items = keys.split() if isinstance(keys, str) else [_text(k) for k in keys or []]
        for item in items:
            item = _text(item)
            if item.startswith("%"):
                access, _, pattern = item[1:].partition("~")
                patterns.append((access.upper() or "RW", pattern))
            elif item.startswith("~"):
                patterns.append(("RW", item[1:]))
            elif item == "allkeys":
                patterns.append(("RW", "*"))
            elif item:  # Redis 6 lists bare patterns
                patterns.append(("RW", item))
        selectors = reply.get("selectors") or []
        return cls(
            enabled="on" in flags,
            commands=_text(reply.get("commands") or ""),
            key_patterns=patterns,
            approximate=bool(selectors),
        )

    def categories(self) -> list[str]:
        """The command categories its rules name (their members are asked with ACL CAT)."""
        return sorted({r[2:].lower() for r in self.commands.split() if r[1:2] == "@" and r[2:] != "all"})

    def may_run(self, command: str, categories: Mapping[str, frozenset[str]]) -> bool:
        allowed = False
        name = command.lower()
        for rule in self.commands.split():
            sign, body = rule[:1], rule[1:].lower()
            if sign not in "+-" or not body:
                continue
            if body == "@all":
                hit = True
            elif body.startswith("@"):
                hit = name in categories.get(body[1:], frozenset())
            else:
                hit = body.split("|", 1)[0] == name
            if hit:
                allowed = sign == "+"
        return allowed

    def may_access(self, key: str, access: str) -> bool:
        return any(set(access) <= set(a) and redis_glob(p, key) for a, p in self.key_patterns)

    def answers(
        self, args: Mapping[str, Sequence[str]], categories: Mapping[str, frozenset[str]]
    ) -> dict[str, str | None]:
        """Per writer command (and its arguments), ``None`` when allowed, else why not."""
        out: dict[str, str | None] = {}
        for command, argv in args.items():
            if not self.enabled:
                out[command] = "the user is off"
            elif not self.may_run(command, categories):
                out[command] = f"no permission to run {command.lower()}"
            elif command in _KEY_ACCESS and not self.may_access(argv[1], _KEY_ACCESS[command]):
                out[command] = f"no permission for the key {argv[1]}"
            else:
                out[command] = None
        return out


def _text(value: object) -> str:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def acl_reply_map(reply: object) -> dict[str, Any]:
    """``ACL GETUSER``'s flat reply (name, value, name, value...) as a mapping."""
    if isinstance(reply, Mapping):
        return {_text(k): v for k, v in reply.items()}
    if not isinstance(reply, list | tuple):
        return {}
    items = list(reply)
    return {_text(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def judge_reader_acl(user: str, refused: Mapping[str, str], commands: Sequence[str], prefix: str) -> Verdict:
    if refused:
        grant = " ".join(f"+{c.lower()}" for c in refused)
        return fail(
            f"ldtui's user {user!r} may not run {' '.join(refused)} (" + "; ".join(refused.values()) + ")",
            f"ACL SETUSER {user} ~{prefix}:big_segment* {grant} (see README, Reading the stores)",
        )
    return pass_(f"ldtui's user {user!r} may run {' '.join(commands)} on {prefix}:big_segment*")


# --- prefixes and writers ----------------------------------------------------------------------

# "unknown": not one of the environments listed, when they were not all listed (the API did
# not answer in time): it may be an environment's, so it is not called an orphan.
PrefixKind = Literal["expected", "environment", "default", "orphan", "unknown"]


@dataclass(frozen=True)
class PrefixFound:
    """A prefix holding big segment metadata, with its ``synchronizedOn`` (``None`` when the
    metadata holds none or could not be read: ``error`` says which)."""

    prefix: str
    synchronized_on: int | None
    error: str | None = None


@dataclass(frozen=True)
class PrefixClass:
    prefix: str
    kind: PrefixKind
    environment: str | None
    synchronized_on: int | None
    recent: bool
    error: str | None = None

    @property
    def shown(self) -> str:
        """The prefix quoted, cut (a key name can be megabytes long), or ``(no prefix)``."""
        cut = self.prefix if len(self.prefix) <= 80 else self.prefix[:80] + "…"
        return repr(cut) if self.prefix else "(no prefix)"

    def describe(self, now_ms: int) -> str:
        shown = self.shown
        whose = {
            "expected": f"this target's, environment {self.environment}"
            if self.environment
            else "this target's",
            "environment": f"environment {self.environment}",
            "default": "the default prefix that a Relay Proxy or SDK left at its default uses",
            "orphan": "no environment the API knows",
            "unknown": "not one of the environments listed (they were not all listed)",
        }[self.kind]
        if self.error:
            written = f"unreadable: {self.error}"
        elif self.synchronized_on is None:
            written = "no synchronizedOn"
        else:
            written = f"written {relative_age(self.synchronized_on, now_ms)}"
        return f"{shown}: {whose}, {written}"


@dataclass
class PrefixReport:
    prefixes: list[PrefixClass] = field(default_factory=list)
    expected: str | None = None
    expected_missing: bool = False
    complete: bool = True
    note: str = ""  # what the discovery could not do: sentences, for the reader of store.writers

    def of(self, kind: PrefixKind) -> list[PrefixClass]:
        return [p for p in self.prefixes if p.kind == kind]

    @property
    def recent(self) -> list[PrefixClass]:
        return [p for p in self.prefixes if p.recent]


def classify_prefixes(
    found: Sequence[PrefixFound],
    environments: Mapping[str, str],
    *,
    expected: str | None,
    default: str,
    now_ms: int,
    complete: bool = True,
    environments_complete: bool = True,
) -> PrefixReport:
    """Each prefix found, named: the target's own (``expected``), another environment's (by
    client-side ID, ``environments`` maps it to ``project/environment``), the writers' default
    (``launchdarkly`` for Redis, none for DynamoDB), or an orphan; with
    ``environments_complete`` false (not every environment was listed), unknown rather than an
    orphan."""
    report = PrefixReport(expected=expected, complete=complete)
    for f in sorted(found, key=lambda f: f.prefix):
        env = environments.get(f.prefix)
        kind: PrefixKind
        if expected is not None and f.prefix == expected:
            kind = "expected"
        elif env is not None:
            kind = "environment"
        elif f.prefix == default:
            kind = "default"
        else:
            kind = "orphan" if environments_complete else "unknown"
        recent = f.synchronized_on is not None and 0 <= now_ms - f.synchronized_on <= RECENT_WRITE_MS
        report.prefixes.append(PrefixClass(f.prefix, kind, env, f.synchronized_on, recent, f.error))
    report.expected_missing = expected is not None and not any(p.kind == "expected" for p in report.prefixes)
    return report


def judge_prefix(report: PrefixReport, *, kind: str, now_ms: int, claims_synced: bool = False) -> Verdict:
    """The expected prefix (the environment's client-side ID for an integration) has data."""
    expected = report.expected
    if expected is None:
        return skip("no expected prefix (not an integration's store, and no prefix given)", "give --prefix")
    shown = repr(expected) if expected else "(no prefix)"
    mine = [p for p in report.prefixes if p.kind == "expected"]
    if mine:
        return pass_(f"big segment metadata under {mine[0].describe(now_ms)}")
    others = [p for p in report.prefixes if p.kind != "expected"]
    where = "the table" if kind == "dynamodb" else "the store"
    if others:
        listed = "; ".join(p.describe(now_ms) for p in others[:4])
        return fail(
            f"no big segment metadata under the expected prefix {shown}, but {where} has some "
            f"under: {listed}",
            f"SDKs of this environment must read prefix {shown} (the environment's client-side ID "
            "for an integration); a writer under another prefix is not this integration",
        )
    if claims_synced:
        return fail(
            f"no big segment metadata under {shown}, though LaunchDarkly reports syncs",
            "ldtui reads another store than LaunchDarkly writes: check host, table and prefix",
        )
    return warn(
        f"nothing under {shown} yet" + ("" if report.complete else " (the scan stopped at its bound)"),
        "expected before the integration's first sync; if it has synced, check the host or table",
    )


def judge_writers(report: PrefixReport, *, integration: bool, now_ms: int) -> Verdict:
    if not report.complete and not report.prefixes:
        return skip(report.note or "the store could not be scanned", "see redis.reader_acl")
    if not report.prefixes:
        return pass_("no prefix holds big segment metadata yet" + _note(report))
    problems: list[str] = []
    recent = report.recent
    # A prefix of unknown owner may be an environment's: two writers only when one of them is
    # surely not (the default, an orphan).
    if len(recent) >= 2 and not all(p.kind in ("expected", "environment", "unknown") for p in recent):
        problems.append(
            "two writers: " + ", ".join(p.shown for p in recent) + " were all written in the last ten minutes"
        )
    orphans = report.of("orphan")
    if orphans:
        problems.append("prefix with no environment: " + "; ".join(p.describe(now_ms) for p in orphans[:3]))
    default = report.of("default")
    if default and integration:
        problems.append(default[0].describe(now_ms))
    found = "; ".join(p.describe(now_ms) for p in report.prefixes[:6])
    if len(report.prefixes) > 6:
        found += f"; and {len(report.prefixes) - 6} more"
    if problems:
        # Sentences, never a parenthesis around text that holds one (a prefix, a note).
        return warn(
            ". ".join(problems) + f". all prefixes found: {found}" + _note(report),
            "one writer per prefix: an integration writes its environment's client-side ID; stop "
            "(or re-prefix) the Relay Proxy or SDK writing the default or an unknown prefix, and "
            "remove data no environment uses",
        )
    return pass_(found + _note(report))


def _note(report: PrefixReport) -> str:
    return f". {report.note}" if report.note else ""


# --- DynamoDB ----------------------------------------------------------------------------------


def judge_table(description: Mapping[str, Any] | None, error: str | None = None, fix: str = "") -> Verdict:
    if description is None:
        return fail(
            error or "the table could not be described",
            fix or "create the table, or check its name and region",
        )
    status = str(description.get("TableStatus", "?"))
    name = str(description.get("TableName", "?"))
    if status != "ACTIVE":
        return warn(f"table {name!r} is {status}", "wait until it is ACTIVE")
    return pass_(f"table {name!r} is ACTIVE")


def judge_key_schema(description: Mapping[str, Any] | None) -> Verdict:
    if description is None:
        return skip("no table to look at", "fix dynamodb.table first")
    types = {
        a.get("AttributeName"): a.get("AttributeType") for a in description.get("AttributeDefinitions") or []
    }
    keys = {k.get("KeyType"): k.get("AttributeName") for k in description.get("KeySchema") or []}
    have = f"partition key {keys.get('HASH')!r} ({types.get(keys.get('HASH'), '?')})"
    have += (
        f", sort key {keys.get('RANGE')!r} ({types.get(keys.get('RANGE'), '?')})"
        if "RANGE" in keys
        else ", no sort key"
    )
    if (
        keys.get("HASH") == "namespace"
        and keys.get("RANGE") == "key"
        and types.get("namespace") == "S"
        and types.get("key") == "S"
    ):
        return pass_(have)
    return fail(
        have + "; LaunchDarkly needs partition key 'namespace' (S) and sort key 'key' (S)",
        "a table's keys cannot change: create a new table with namespace (S) HASH and key (S) RANGE",
    )


def judge_region(region: str | None, *, store_region: str | None = None) -> Verdict:
    if not region:
        return skip("no region known", "set the integration's region")
    if region not in DYNAMODB_REGIONS:
        return fail(
            f"{region!r} is not one of the regions LaunchDarkly supports",
            "create the table in one of: " + ", ".join(DYNAMODB_REGIONS),
        )
    if store_region and store_region != region:
        return warn(
            f"the integration's region is {region}, but ldtui reads {store_region}",
            "set region in [stores] to the integration's",
        )
    return pass_(f"{region} is supported")


_ROLE_ARN = re.compile(
    r"arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})"
)


def parse_role_arn(arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of an IAM role ARN, or ``None``."""
    m = _ROLE_ARN.fullmatch(arn)
    return (m.group(1), m.group(2), m.group(4)) if m else None


def judge_role_arn(arn: str | None) -> Verdict:
    if not arn:
        return skip("no role ARN known", "give the integration's roleArn (or --role-arn)")
    if parse_role_arn(arn) is None:
        return fail(
            f"{arn[:120]!r} is not an IAM role ARN",
            "copy the role's ARN from IAM: arn:aws:iam::123456789012:role/NAME",
        )
    return pass_(f"{arn} is a role ARN")


def _listify(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _statements(document: object) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    return [s for s in _listify(document.get("Statement")) if isinstance(s, Mapping)]


def _wild(pattern: str, text: str, *, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, 0 if case else re.I) is not None


def _matches_action(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_wild(str(a), action, case=False) for a in _listify(statement["NotAction"]))
    return any(_wild(str(a), action, case=False) for a in _listify(statement.get("Action")))


def _principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [str(p) for p in _listify(principal.get("AWS"))]
    return []


def _is_launchdarkly(principal: str) -> bool:
    return principal in ("*", LAUNCHDARKLY_AWS_ACCOUNT, LAUNCHDARKLY_PRINCIPAL)


def _external_ids(statement: Mapping[str, Any]) -> list[str] | None:
    """The values ``sts:ExternalId`` must equal, or ``None`` when no condition asks for it."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return None
    for operator, tests in condition.items():
        if not isinstance(tests, Mapping) or str(operator) not in ("StringEquals", "StringLike"):
            continue
        for key, value in tests.items():
            if str(key).lower() == "sts:externalid":
                return [str(v) for v in _listify(value)]
    return None


def judge_trust(document: object, external_id: str | None) -> Verdict:
    """The role's trust policy lets LaunchDarkly's account assume it, with ``sts:ExternalId``
    equal to the integration's External ID."""
    statements = _statements(document)
    if not statements:
        return fail("the role has no readable trust policy", "give it a trust policy (below)")
    fix = (
        f'a statement: Effect Allow, Principal {{"AWS": "{LAUNCHDARKLY_PRINCIPAL}"}}, Action '
        f'sts:AssumeRole, Condition {{"StringEquals": {{"sts:ExternalId": '
        f'"{external_id or "<External ID>"}"}}}}'
    )
    for s in statements:
        denies = s.get("Effect") == "Deny" and _matches_action(s, "sts:AssumeRole")
        if denies and any(_is_launchdarkly(p) for p in _principals(s)):
            return fail("a Deny statement stops LaunchDarkly from assuming the role", "remove it")
    trusting = [
        s
        for s in statements
        if s.get("Effect") == "Allow"
        and _matches_action(s, "sts:AssumeRole")
        and any(_is_launchdarkly(p) for p in _principals(s))
    ]
    if not trusting:
        trusted = sorted({p for s in statements for p in _principals(s)}) or ["no AWS principal"]
        return fail(
            f"the trust policy does not let {LAUNCHDARKLY_PRINCIPAL} assume the role (it trusts: "
            + ", ".join(trusted[:4])
            + ")",
            fix,
        )
    conditioned = [(s, ids) for s in trusting if (ids := _external_ids(s)) is not None]
    if not conditioned:
        return fail(
            "LaunchDarkly's account may assume the role without an sts:ExternalId condition",
            fix,
        )
    if external_id is None:
        return warn(
            "LaunchDarkly may assume the role with an sts:ExternalId; the integration's External ID is "
            "not known here, so it was not compared",
            "check the External ID against the integration's",
        )
    if not any(external_id in ids or any(_wild(i, external_id) for i in ids) for _, ids in conditioned):
        shown = ", ".join(i for _, ids in conditioned for i in ids)[:200]
        return fail(f"sts:ExternalId is {shown}, the integration's External ID is {external_id}", fix)
    wide = any("*" in _principals(s) for s, _ in conditioned)
    if wide:
        return warn(
            "the trust policy lets every AWS account (Principal *) assume the role with the External ID",
            f"name LaunchDarkly's account only: {LAUNCHDARKLY_PRINCIPAL}",
        )
    return pass_(f"{LAUNCHDARKLY_PRINCIPAL} may assume the role with sts:ExternalId {external_id}")


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    approximate: bool
    reason: str


def evaluate_policies(documents: Sequence[object], action: str, resource: str) -> PolicyDecision:
    """A small IAM evaluator over identity policies: an explicit Deny wins, then any Allow;
    else denied. Conditions, permission boundaries and SCPs are not evaluated (a statement with
    a condition counts as applying, and ``approximate`` says so)."""
    approximate = False
    allowed = False
    for doc in documents:
        for s in _statements(doc):
            if not _matches_action(s, action):
                continue
            if "NotResource" in s:
                hit = not any(_wild(str(r), resource) for r in _listify(s["NotResource"]))
            else:
                hit = any(_wild(str(r), resource) for r in _listify(s.get("Resource")))
            if not hit:
                continue
            if s.get("Condition"):
                approximate = True
            if s.get("Effect") == "Deny":
                return PolicyDecision(False, approximate, "explicit Deny")
            if s.get("Effect") == "Allow":
                allowed = True
    return PolicyDecision(allowed, approximate, "allowed" if allowed else "no statement allows it")


def judge_permissions(
    decisions: Mapping[str, str], table_arn: str, *, how: str, approximate: bool = False
) -> Verdict:
    """``decisions``: per writer action, ``allowed`` or why not."""
    refused = [a for a in WRITER_ACTIONS if decisions.get(a) != "allowed"]
    note = " (approximate: conditions, boundaries and SCPs not evaluated)" if approximate else ""
    if refused:
        detail = ", ".join(f"{a} {decisions.get(a, 'unknown')}" for a in refused)
        return fail(
            f"the role may not run {' '.join(a.split(':')[1] for a in refused)} on {table_arn} "
            f"({how}: {detail}){note}",
            "allow " + ", ".join(refused) + f" on {table_arn} in the role's policy",
        )
    return pass_(
        f"the role may run {' '.join(a.split(':')[1] for a in WRITER_ACTIONS)} on {table_arn} ({how}){note}"
    )


# --- the API -----------------------------------------------------------------------------------


def judge_outbound(addresses: Sequence[str] | None, error: str | None = None) -> Verdict:
    if addresses is None:
        return skip(f"the public IP list could not be read ({error or 'no API'})", "")
    if not addresses:
        return warn("LaunchDarkly's public IP list names no outbound address", "")
    shown = ", ".join(addresses[:20]) + (f" and {len(addresses) - 20} more" if len(addresses) > 20 else "")
    return Verdict(
        "PASS",
        f"LaunchDarkly connects from {shown}",
        "if a firewall guards the store, allow these addresses to reach its port",
    )


def judge_integration(
    integration: BigSegmentStoreIntegration | None, now_ms: int, *, api_down: bool = False
) -> Verdict:
    """LaunchDarkly's own word (``_status``) on the integration's syncs; ``api_down``: the
    integrations could not be listed, so whether one writes this store is not known."""
    from ldtui.core.integration_status import ApiStatus, summarize

    if integration is None and api_down:
        return skip(
            "the integrations could not be listed, so LaunchDarkly's word on this store's syncs is "
            "not known (api.integration of launchdarkly says why)"
        )
    if integration is None:
        return skip("no integration (a store checked on its own, or one not created yet)")
    summary = summarize(integration, now_ms)
    found = f"{summary.word.value}: {summary.reason}"
    if summary.word is ApiStatus.OK:
        return pass_(found)
    if summary.word is ApiStatus.ERROR:
        return fail(found, "fix what the errors say (usually the other checks of this list point at it)")
    if summary.word is ApiStatus.OFF:
        return warn(found, "turn the integration on when the checks pass")
    return warn(found, "wait for the first sync; if it does not come, look at the other checks")
