"""Pydantic models of LaunchDarkly's REST contract for big segment store integrations.

Field names, aliases and required sets mirror ``shared/spec/openapi-big-segment-store.json``
exactly; ``tests/unit/test_models_vs_openapi.py`` compares every model with its schema, so a
drift fails the build. Names that start with ``_`` in the API are aliases here (``_id`` -> ``id``).

No I/O and no Textual here. Secrets the API returns (the environment's ``apiKey`` and
``mobileKey``) are ``SecretStr`` so that a repr, a log line or a JSON dump never shows them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

IntegrationKey = Literal["redis", "dynamodb"]

# UnixMillis in the spec: an int64 count of milliseconds since the epoch.
UnixMillis = int


class ApiModel(BaseModel):
    """Base of every contract model: accepts aliases and names, ignores unknown fields.

    The API documents that it may add fields; ignoring them is what the official client does.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    def to_api(self) -> dict[str, Any]:
        """The JSON body as the API spells it (aliases, no ``None`` fields).

        ``SecretStr`` fields dump masked; code that must send a secret builds it explicitly.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- links and access -------------------------------------------------------------------------


class Link(ApiModel):
    href: str | None = None
    type: str | None = None


class BigSegmentStoreIntegrationLinks(ApiModel):
    self_: Link = Field(alias="self")
    parent: Link
    project: Link
    environment: Link


class BigSegmentStoreIntegrationCollectionLinks(ApiModel):
    self_: Link = Field(alias="self")
    parent: Link | None = None


class AccessDeniedReason(ApiModel):
    resources: list[str] | None = None
    notResources: list[str] | None = None
    actions: list[str] | None = None
    notActions: list[str] | None = None
    effect: Literal["allow", "deny"]
    role_name: str | None = None


class AccessAllowedReason(AccessDeniedReason):
    pass


class AccessDenied(ApiModel):
    action: str
    reason: AccessDeniedReason


class AccessAllowedRep(ApiModel):
    action: str
    reason: AccessAllowedReason


class Access(ApiModel):
    denied: list[AccessDenied]
    allowed: list[AccessAllowedRep]


# --- integrations -----------------------------------------------------------------------------


class StoreIntegrationError(ApiModel):
    statusCode: int | None = None
    message: str | None = None
    timestamp: UnixMillis | None = None


class BigSegmentStoreStatus(ApiModel):
    """What LaunchDarkly believes about the sync. Every field is optional; ``{}`` is valid."""

    available: bool | None = None
    potentiallyStale: bool | None = None
    lastSync: UnixMillis | None = None
    lastError: UnixMillis | None = None
    errors: list[StoreIntegrationError] | None = None


class BigSegmentStoreIntegration(ApiModel):
    links: BigSegmentStoreIntegrationLinks = Field(alias="_links")
    id: str = Field(alias="_id")
    integrationKey: IntegrationKey
    projectKey: str
    environmentKey: str
    # FormVariableConfig: free-form object; its fields come from the integration manifest.
    config: dict[str, Any]
    on: bool
    tags: list[str]
    name: str
    version: int
    access: Access | None = Field(default=None, alias="_access")
    status: BigSegmentStoreStatus = Field(alias="_status")

    @property
    def ref(self) -> IntegrationRef:
        return IntegrationRef(
            project=self.projectKey,
            environment=self.environmentKey,
            kind=self.integrationKey,
            id=self.id,
        )


class BigSegmentStoreIntegrationCollection(ApiModel):
    links: BigSegmentStoreIntegrationCollectionLinks = Field(alias="_links")
    items: list[BigSegmentStoreIntegration]


class IntegrationDeliveryConfigurationPost(ApiModel):
    """The create body. ``config`` is required; ``on`` defaults to false on the server."""

    on: bool | None = None
    config: dict[str, Any]
    tags: list[str] | None = None
    name: str | None = None


class PatchOperation(ApiModel):
    op: str
    path: str
    # ``value`` may legitimately be JSON null, so "absent" is tracked by model_fields_set.
    value: Any = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"op": self.op, "path": self.path}
        if "value" in self.model_fields_set:
            body["value"] = self.value
        return body


class IntegrationRef(BaseModel):
    """Where an integration lives: the four path parameters of the single-item routes."""

    model_config = ConfigDict(frozen=True)

    project: str
    environment: str
    kind: IntegrationKey
    id: str

    def __str__(self) -> str:
        return f"{self.project}/{self.environment}/{self.kind}/{self.id}"


# --- errors -----------------------------------------------------------------------------------


class ErrorRep(ApiModel):
    """Every documented error body: ``{code, message}``; the generic docs add an optional ``id``.

    One model serves InvalidRequestErrorRep, UnauthorizedErrorRep, ForbiddenErrorRep,
    NotFoundErrorRep, MethodNotAllowedErrorRep, StatusConflictErrorRep and RateLimitedErrorRep:
    the spec gives them the same shape.
    """

    code: str
    message: str
    id: str | None = None


# --- projects and environments (pickers) ------------------------------------------------------


class ClientSideAvailability(ApiModel):
    usingMobileKey: bool | None = None
    usingEnvironmentId: bool | None = None


class ApprovalSettings(ApiModel):
    required: bool
    bypassApprovalsForPendingChanges: bool
    minNumApprovals: int
    canReviewOwnRequest: bool
    canApplyDeclinedChanges: bool
    autoApplyApprovedChanges: bool | None = None
    serviceKind: str
    serviceConfig: dict[str, Any]
    requiredApprovalTags: list[str]
    serviceKindConfigurationId: str | None = None


class Environment(ApiModel):
    links: dict[str, Link] = Field(alias="_links")
    # The client-side ID. For a LaunchDarkly-hosted integration it is also the store prefix.
    id: str = Field(alias="_id")
    key: str
    name: str
    # The server-side SDK key and the mobile key: never shown, never logged.
    apiKey: SecretStr
    mobileKey: SecretStr
    color: str
    defaultTtl: int
    secureMode: bool
    access: Access | None = Field(default=None, alias="_access")
    defaultTrackEvents: bool
    requireComments: bool
    confirmChanges: bool
    tags: list[str]
    approvalSettings: ApprovalSettings | None = None
    resourceApprovalSettings: dict[str, ApprovalSettings] | None = None
    critical: bool


class Environments(ApiModel):
    links: dict[str, Link] | None = Field(default=None, alias="_links")
    totalCount: int | None = None
    items: list[Environment]


class Project(ApiModel):
    links: dict[str, Link] = Field(alias="_links")
    id: str = Field(alias="_id")
    key: str
    includeInSnippetByDefault: bool
    defaultClientSideAvailability: ClientSideAvailability | None = None
    name: str
    access: Access | None = Field(default=None, alias="_access")
    tags: list[str]
    defaultReleasePipelineKey: str | None = None
    environments: Environments | None = None


class Projects(ApiModel):
    links: dict[str, Link] = Field(alias="_links")
    items: list[Project]
    totalCount: int | None = None


# --- segments ---------------------------------------------------------------------------------


class Clause(ApiModel):
    id: str | None = Field(default=None, alias="_id")
    attribute: str
    op: str
    values: list[Any]
    contextKind: str | None = None
    negate: bool


class UserSegmentRule(ApiModel):
    id: str | None = Field(default=None, alias="_id")
    clauses: list[Clause]
    weight: int | None = None
    rolloutContextKind: str | None = None
    bucketBy: str | None = None
    description: str | None = None


class SegmentTarget(ApiModel):
    values: list[str] | None = None
    contextKind: str | None = None


class SegmentMetadata(ApiModel):
    envId: str | None = None
    segmentId: str | None = None
    version: int | None = None
    includedCount: int | None = None
    excludedCount: int | None = None
    lastModified: UnixMillis | None = None
    deleted: bool | None = None


class FlagListingRep(ApiModel):
    name: str
    key: str
    links: dict[str, Link] | None = Field(default=None, alias="_links")
    site: Link | None = Field(default=None, alias="_site")


class UserSegment(ApiModel):
    """A segment. For big segments: ``unbounded``, ``unboundedContextKind``, ``generation``."""

    name: str
    description: str | None = None
    tags: list[str]
    creationDate: UnixMillis
    lastModifiedDate: UnixMillis
    key: str
    included: list[str] | None = None
    excluded: list[str] | None = None
    includedContexts: list[SegmentTarget] | None = None
    excludedContexts: list[SegmentTarget] | None = None
    links: dict[str, Link] = Field(alias="_links")
    rules: list[UserSegmentRule]
    version: int
    deleted: bool
    access: Access | None = Field(default=None, alias="_access")
    flags: list[FlagListingRep] | None = Field(default=None, alias="_flags")
    unbounded: bool | None = None
    unboundedContextKind: str | None = None
    generation: int
    unboundedMetadata: SegmentMetadata | None = Field(default=None, alias="_unboundedMetadata")
    external: str | None = Field(default=None, alias="_external")
    externalLink: str | None = Field(default=None, alias="_externalLink")
    importInProgress: bool | None = Field(default=None, alias="_importInProgress")

    @property
    def is_big(self) -> bool:
        """True for a big segment (synced, or list-based over 15,000 entries)."""
        return bool(self.unbounded)

    @property
    def context_kind(self) -> str:
        return self.unboundedContextKind or "user"


class BigSegmentTarget(ApiModel):
    """``GET /api/v2/segments/{p}/{e}/{segmentKey}/contexts/{contextKey}``: LaunchDarkly's own
    word on one context in one big segment. ``included`` wins over ``excluded``, as in the store."""

    userKey: str
    included: bool
    excluded: bool

    @property
    def member(self) -> bool:
        return self.included


class ipList(ApiModel):  # noqa: N801 - the spec's schema name
    """``GET /api/v2/public-ip-list``: CIDR ranges LaunchDarkly uses. ``outboundAddresses`` are
    what a firewall in front of a store must allow for a persistent store integration."""

    addresses: list[str]
    outboundAddresses: list[str]
