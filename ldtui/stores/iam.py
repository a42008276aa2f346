"""What ``ldtui doctor`` reads of AWS IAM about the role a DynamoDB integration names: its trust
policy, its inline and attached policies, and, where the caller may, IAM's own policy simulator.

Read-only by construction: ``READ_OPERATIONS`` is every IAM call this module makes (GetRole,
ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies, GetPolicy, GetPolicyVersion,
SimulatePrincipalPolicy); nothing here changes a role or a policy. boto3 is synchronous: each
call runs in a thread under a deadline. IAM is reached as botocore finds it (the profile's
configuration, ``AWS_ENDPOINT_URL_IAM``), never at a DynamoDB ``endpoint_url``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

from ldtui.stores.base import StoreError, StorePermissionDenied, StoreUnavailable

READ_OPERATIONS = frozenset(
    {
        "GetRole",
        "ListRolePolicies",
        "GetRolePolicy",
        "ListAttachedRolePolicies",
        "GetPolicy",
        "GetPolicyVersion",
        "SimulatePrincipalPolicy",
    }
)
# A role has at most 10 managed policies by default (20 with a raised quota); inline ones are
# bounded by size. More pages than this is not a role.
_MAX_PAGES = 20


class SimulationUnavailable(StoreError):
    """IAM's policy simulator cannot be used here (not allowed, or not implemented)."""


def _document(value: object) -> object:
    """A policy document as IAM returns it: a mapping (boto3 decodes it), or URL-encoded JSON."""
    if isinstance(value, str):
        try:
            return json.loads(unquote(value))
        except ValueError:
            return {}
    return value


class IamReader:
    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        timeout: float = 5.0,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.profile = profile
        self.region = region
        self.timeout = timeout
        self._client_factory = client_factory or self._default_client
        self._client: Any = None
        self.calls: list[str] = []  # every IAM operation made, in order

    def _default_client(self) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        config = Config(
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        return session.client("iam", config=config)

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        if operation not in READ_OPERATIONS:
            raise ValueError(f"{operation} is not a read of IAM")
        try:
            async with asyncio.timeout(4 * self.timeout + 5):
                if self._client is None:
                    self._client = await asyncio.to_thread(self._client_factory)
                self.calls.append(operation)
                method = getattr(self._client, _snake(operation))
                return await asyncio.to_thread(method, **kwargs)
        except TimeoutError:
            raise StoreUnavailable(f"IAM {operation}: no answer in time", store="AWS IAM") from None
        except StoreError:
            raise
        except Exception as exc:
            raise _error(exc, operation) from None

    async def get_role(self, name: str) -> dict[str, Any]:
        """The role, its trust policy (``AssumeRolePolicyDocument``) decoded."""
        role: dict[str, Any] = dict((await self._call("GetRole", RoleName=name))["Role"])
        role["AssumeRolePolicyDocument"] = _document(role.get("AssumeRolePolicyDocument"))
        return role

    async def role_policies(self, name: str) -> list[tuple[str, object]]:
        """Every inline and attached managed policy of the role, as (where, document)."""
        out: list[tuple[str, object]] = []
        marker: str | None = None
        for _ in range(_MAX_PAGES):
            page = await self._call(
                "ListRolePolicies", RoleName=name, **({"Marker": marker} if marker else {})
            )
            for policy in page.get("PolicyNames", []):
                got = await self._call("GetRolePolicy", RoleName=name, PolicyName=policy)
                out.append((f"inline policy {policy}", _document(got.get("PolicyDocument"))))
            marker = page.get("Marker") if page.get("IsTruncated") else None
            if not marker:
                break
        marker = None
        for _ in range(_MAX_PAGES):
            page = await self._call(
                "ListAttachedRolePolicies", RoleName=name, **({"Marker": marker} if marker else {})
            )
            for attached in page.get("AttachedPolicies", []):
                arn = attached["PolicyArn"]
                policy = (await self._call("GetPolicy", PolicyArn=arn))["Policy"]
                version = await self._call(
                    "GetPolicyVersion", PolicyArn=arn, VersionId=policy["DefaultVersionId"]
                )
                out.append((f"policy {arn}", _document(version["PolicyVersion"].get("Document"))))
            marker = page.get("Marker") if page.get("IsTruncated") else None
            if not marker:
                break
        return out

    async def simulate(self, role_arn: str, actions: Sequence[str], resource: str) -> dict[str, str]:
        """IAM's own answer per action: ``allowed``, ``implicitDeny`` or ``explicitDeny``.
        ``SimulationUnavailable`` when the caller may not simulate (or IAM cannot)."""
        try:
            response = await self._call(
                "SimulatePrincipalPolicy",
                PolicySourceArn=role_arn,
                ActionNames=list(actions),
                ResourceArns=[resource],
            )
        except StoreError as exc:  # not allowed, not implemented, or too slow: read the policies
            raise SimulationUnavailable(exc.message, store="AWS IAM", code=exc.code) from None
        out = {}
        for result in response.get("EvaluationResults", []):
            out[str(result.get("EvalActionName"))] = str(result.get("EvalDecision"))
        return out

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _error(exc: Exception, operation: str) -> StoreError:
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "") or code)[:300]
        if code in ("AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "ExpiredToken"):
            return StorePermissionDenied(
                f"IAM {operation} refused: {code}: {message}",
                store="AWS IAM",
                hint=f"let ldtui's AWS identity call iam:{operation} on the role",
                code=code,
            )
        if code == "NoSuchEntity":
            return StoreError(f"IAM {operation}: {message}", store="AWS IAM", code=code)
        return StoreUnavailable(f"IAM {operation} failed: {code}: {message}", store="AWS IAM", code=code)
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return StorePermissionDenied("no AWS credentials found", store="AWS IAM", code="NoCredentials")
    if isinstance(exc, bx.BotoCoreError):
        return StoreUnavailable(f"IAM {operation}: {exc}", store="AWS IAM")
    return StoreUnavailable(f"IAM {operation}: {type(exc).__name__}: {exc}", store="AWS IAM")
