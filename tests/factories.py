"""Bodies shaped exactly like the API's (api-contract.md §4), for tests."""

from __future__ import annotations

from typing import Any

BASE = "/api/v2/integration-capabilities/big-segment-store"


def link(href: str) -> dict[str, str]:
    return {"href": href, "type": "application/json"}


def integration_body(
    *,
    id: str = "12ab3c4d5ef1a2345bcde67f",
    kind: str = "redis",
    project: str = "default",
    environment: str = "production",
    name: str = "Prod Redis store",
    version: int = 1,
    on: bool = False,
    tags: list[str] | None = None,
    config: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if config is None:
        config = (
            {
                "host": "redis.internal.example.com",
                "port": "6379",
                "username": "default",
                "password": "s3c********ass",
                "tlsEnabled": True,
            }
            if kind == "redis"
            else {
                "tableName": "ld-big-segments",
                "region": "us-east-1",
                "roleArn": "arn:aws:iam::123456789012:role/ld-big-segments",
                "externalId": "6f1c2a9e-0d7b-4c1e-9a55-3f2e8b7d1c40",
            }
        )
    return {
        "_links": {
            "self": link(f"{BASE}/{project}/{environment}/{kind}/{id}"),
            "parent": link(BASE),
            "project": link(f"/api/v2/projects/{project}"),
            "environment": link(f"/api/v2/projects/{project}/environments/{environment}"),
        },
        "_id": id,
        "integrationKey": kind,
        "projectKey": project,
        "environmentKey": environment,
        "config": config,
        "on": on,
        "tags": tags if tags is not None else ["ops"],
        "name": name,
        "version": version,
        "_access": {"denied": [], "allowed": []},
        "_status": status if status is not None else {"available": False, "potentiallyStale": False},
    }


def collection_body(*items: dict[str, Any]) -> dict[str, Any]:
    return {"_links": {"self": link(BASE)}, "items": list(items)}


def project_body(key: str, name: str | None = None) -> dict[str, Any]:
    return {
        "_links": {"self": link(f"/api/v2/projects/{key}")},
        "_id": f"id-{key}",
        "key": key,
        "includeInSnippetByDefault": False,
        "name": name or key.title(),
        "tags": [],
    }


def environment_body(key: str, *, client_side_id: str | None = None) -> dict[str, Any]:
    return {
        "_links": {"self": link(f"/api/v2/projects/p/environments/{key}")},
        "_id": client_side_id or f"csid-{key}",
        "key": key,
        "name": key.title(),
        "apiKey": f"sdk-secret-{key}-0000",
        "mobileKey": f"mob-secret-{key}-0000",
        "color": "417505",
        "defaultTtl": 0,
        "secureMode": False,
        "defaultTrackEvents": False,
        "requireComments": False,
        "confirmChanges": False,
        "tags": [],
        "critical": False,
    }


def segment_body(key: str, generation: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "name": key,
        "tags": [],
        "creationDate": 1654104600000,
        "lastModifiedDate": 1654104600000,
        "key": key,
        "_links": {},
        "rules": [],
        "version": 1,
        "deleted": False,
        "generation": generation,
        "unbounded": True,
        **extra,
    }
