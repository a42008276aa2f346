"""The ASGI app emulating LaunchDarkly's REST API for big segment store integrations.

Faithful to ``shared/spec/api-contract.md``: raw-token auth (401), read-only tokens (403 on
writes), the beta header on beta routes (403 with LaunchDarkly's message, also for a date
version), manifest validation (400 naming the field), 404 "Environment or project not found",
RFC 6902 PATCH with a failed ``test`` giving 409, redacted secrets, 429 with LaunchDarkly's
headers, and fault knobs. Every body matches the OpenAPI subset's schemas.

Routes under ``/_emulator/`` are not LaunchDarkly's: they let tests and the demo change faults.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jsonpatch
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse as _StarletteJSON
from starlette.responses import Response
from starlette.routing import Route

from ldtui.core.manifests import MANIFESTS, validate_manifest_config
from ldtui.emulator.state import BASE, EmulatorState, Integration, link


async def _late(request: Request, seconds: float) -> bool:
    """The latency fault: wait ``seconds``; False as soon as the client has gone (a client that
    gave up must not leave the server sleeping on its behalf, nor a shutdown waiting for it)."""
    # Watching for the client to leave reads the receive channel: the body first (Starlette
    # keeps it for the handler), or the watch would swallow it and the handler wait forever.
    try:
        await request.body()
    except ClientDisconnect:
        return False
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        await asyncio.sleep(min(left, 0.05))
        if await request.is_disconnected():
            return False
    return True


class JSONResponse(_StarletteJSON):
    """JSON with every non-ASCII character escaped: valid whatever the text, so a lone
    surrogate (valid JSON, not encodable as UTF-8) travels as ``\\udc9b`` instead of failing
    the response and every later one."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


BETA_MESSAGE = "This API is in beta. To use it, your request must include the header `LD-API-Version: beta`."
NOT_FOUND_BETA = "Environment or project not found"
READ_ONLY_PATHS = {"integrationKey", "projectKey", "environmentKey", "version"}
SECRET_KEYS = frozenset().union(*(m.secret_keys for m in MANIFESTS.values()))

Handler = Callable[[Request], Awaitable[Response]]


class ApiProblem(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def problem(status: int, code: str, message: str) -> ApiProblem:
    return ApiProblem(status, code, message)


def bad_request(message: str) -> ApiProblem:
    return ApiProblem(400, "invalid_request", message)


def unencodable(value: Any, path: str) -> str | None:
    """The path of the first string in ``value`` that UTF-8 cannot encode (a lone surrogate,
    which is valid JSON: ``"\\udc9b"``), or ``None``. Such a name stored would make every later
    response that includes it fail to encode."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return where
        elif isinstance(v, dict):
            for k, item in v.items():
                if unencodable(k, where) is not None:
                    return where
                stack.append((f"{where}.{k}" if where else str(k), item))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(v))
    return None


def refuse_unencodable(doc: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in doc and (where := unencodable(doc[name], name)) is not None:
            raise bad_request(f"{where} holds text that is not valid Unicode (a lone surrogate)")


def _error_response(p: ApiProblem) -> JSONResponse:
    body = {"code": p.code, "message": p.message, "id": str(uuid.uuid4())}
    return JSONResponse(body, status_code=p.status, headers=p.headers)


class Emulator:
    """Holds the state and builds the Starlette app around it."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._windows: dict[str, tuple[int, int]] = {}  # route -> (window start ms, count)
        self._fault_rng = __import__("random").Random(state.seed + 1)

    # --- request pipeline --------------------------------------------------------------------

    def route(
        self, name: str, handler: Handler, *, beta: bool = False, write: bool = False, control: bool = False
    ) -> Handler:
        """``control``: an ``/_emulator/*`` route. Injected faults and rate limits never touch
        those, so a test (or a person) can always turn the faults off again."""

        async def endpoint(request: Request) -> Response:
            headers: dict[str, str] = {"X-Request-Id": str(uuid.uuid4())}
            if control:
                try:
                    self._authorize(request, write=write)
                    response = await handler(request)
                except ApiProblem as p:
                    response = _error_response(p)
                response.headers.update(headers)
                return response
            self.state.request_counts[name] += 1
            try:
                faults = self.state.faults
                if faults.latency_ms and not await _late(request, faults.latency_ms / 1000):
                    return Response(status_code=499)  # nginx's "client closed request": read by no one
                headers.update(self._rate_limit(name))
                self._authorize(request, write=write)
                if beta:
                    self._check_beta(request)
                if faults.error_rate and self._fault_rng.random() < faults.error_rate:
                    raise problem(faults.error_status, "internal_error", "Injected server error")
                response = await handler(request)
                if (
                    faults.malformed_rate
                    and response.status_code < 300
                    and response.body
                    and self._fault_rng.random() < faults.malformed_rate
                ):
                    body = bytes(response.body)
                    response = Response(
                        body[: max(1, len(body) // 2)],
                        status_code=response.status_code,
                        media_type="application/json",
                    )
            except ApiProblem as p:
                response = _error_response(p)
                headers.update(p.headers)
            response.headers.update(headers)
            return response

        return endpoint

    def _authorize(self, request: Request, *, write: bool) -> None:
        token = request.headers.get("authorization", "")
        role = self.state.tokens.get(token)
        if role is None:
            raise problem(401, "unauthorized", "Invalid access token")
        if write and role != "writer":
            raise problem(403, "forbidden", "Forbidden. Access to the requested resource was denied.")

    def _check_beta(self, request: Request) -> None:
        # Several LD-API-Version headers: LaunchDarkly honours the first one.
        values = request.headers.getlist("ld-api-version")
        if not values or values[0].strip().lower() != "beta":
            raise problem(403, "forbidden", BETA_MESSAGE)

    def _rate_limit(self, route: str) -> dict[str, str]:
        limits = self.state.rate_limits
        budget = limits.budget(route)
        if budget is None:
            return {}
        now = self.state.now_ms()
        # A window opens with the first request after the last one closed (not on the clock's
        # ten-second marks): "N requests in a window" then holds however slowly callers start.
        window, count = self._windows.get(route, (now, 0))
        if now >= window + limits.window_ms:
            window, count = now, 0
        reset = window + limits.window_ms
        if count >= budget:
            headers = {"X-Ratelimit-Route-Remaining": "0", "X-Ratelimit-Reset": str(reset)}
            if limits.retry_after:
                headers["Retry-After"] = str(max(1, -(-(reset - now) // 1000)))
            raise ApiProblem(
                429, "rate_limited", "You've exceeded the API rate limit. Try again later.", headers
            )
        self._windows[route] = (window, count + 1)
        return {
            "X-Ratelimit-Route-Remaining": str(budget - count - 1),
            "X-Ratelimit-Reset": str(reset),
        }

    # --- helpers -----------------------------------------------------------------------------

    async def _json_body(self, request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise bad_request("Invalid request body: not JSON") from None

    def _integration(self, request: Request) -> Integration:
        p = request.path_params
        integ = self.state.integration(
            p["projectKey"], p["environmentKey"], p["integrationKey"], p["integrationId"]
        )
        if integ is None:
            raise problem(404, "not_found", NOT_FOUND_BETA)
        return integ

    # --- beta routes -------------------------------------------------------------------------

    async def list_integrations(self, request: Request) -> Response:
        items = [self.state.integration_json(i) for i in self.state.integrations.values()]
        return JSONResponse({"_links": {"self": link(BASE)}, "items": items})

    async def create_integration(self, request: Request) -> Response:
        p = request.path_params
        project, environment, kind = p["projectKey"], p["environmentKey"], p["integrationKey"]
        env = self.state.environment(project, environment)
        if env is None:
            raise problem(404, "not_found", NOT_FOUND_BETA)
        if kind not in MANIFESTS:
            raise problem(404, "not_found", f"Unknown integration key {kind!r}")
        body = await self._json_body(request)
        if not isinstance(body, dict):
            raise bad_request("Invalid request body: expected an object")
        if "config" not in body:
            raise bad_request("config is required")
        errors = validate_manifest_config(kind, body["config"])
        name = body.get("name", "")
        on = body.get("on", False)
        tags = body.get("tags", [])
        if not isinstance(name, str):
            errors["name"] = "name must be a string"
        if not isinstance(on, bool):
            errors["on"] = "on must be a boolean"
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors["tags"] = "tags must be an array of strings"
        if errors:
            raise bad_request("; ".join(errors.values()))
        refuse_unencodable(body, ("name", "tags", "config"))
        for other in self.state.integrations.values():
            if (other.project, other.environment, other.kind) == (project, environment, kind):
                raise problem(
                    409,
                    "conflict",
                    f"A {kind} integration already exists for {project}/{environment} "
                    f"({other.id}); edit or delete it instead",
                )
        integ = Integration(
            id=self.state.new_id(),
            kind=kind,
            project=project,
            environment=environment,
            config=copy.deepcopy(body["config"]),
            on=on,
            tags=list(tags),
            name=name or f"{MANIFESTS[kind].name} ({environment})",
        )
        self.state.integrations[integ.id] = integ
        return JSONResponse(self.state.integration_json(integ), status_code=201)

    async def get_integration(self, request: Request) -> Response:
        return JSONResponse(self.state.integration_json(self._integration(request)))

    async def patch_integration(self, request: Request) -> Response:
        integ = self._integration(request)
        body = await self._json_body(request)
        if isinstance(body, dict) and isinstance(body.get("patch"), list):
            body = body["patch"]  # the {"comment", "patch"} wrapper
        if not isinstance(body, list):
            raise bad_request("Invalid request body: a JSON Patch array is expected")
        for op in body:
            self._check_operation(op)
        # Apply to the stored representation (secrets in clear) so that an untouched secret
        # stays what it was; the ops were checked never to copy a secret elsewhere.
        doc = self.state.integration_json(integ)
        doc["config"] = copy.deepcopy(integ.config)
        try:
            result = jsonpatch.apply_patch(doc, body)
        except jsonpatch.JsonPatchTestFailed:
            raise problem(
                409, "optimistic_locking_error", "Conflict. Optimistic lock error. Try again later."
            ) from None
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise bad_request(f"Invalid patch: {exc}") from None
        errors = validate_manifest_config(integ.kind, result.get("config"))
        if not isinstance(result.get("name"), str):
            errors["name"] = "name must be a string"
        if not isinstance(result.get("on"), bool):
            errors["on"] = "on must be a boolean"
        tags = result.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors["tags"] = "tags must be an array of strings"
        if errors:
            raise bad_request("; ".join(errors.values()))
        refuse_unencodable(result, ("name", "tags", "config"))
        changed = (
            result["config"] != integ.config
            or result["name"] != integ.name
            or result["on"] != integ.on
            or result["tags"] != integ.tags
        )
        if changed:
            integ.config = result["config"]
            integ.name = result["name"]
            integ.tags = list(result["tags"])
            integ.on = result["on"]
            integ.version += 1
        return JSONResponse(self.state.integration_json(integ))

    def _check_operation(self, op: Any) -> None:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise bad_request("Invalid patch: every operation needs an op")
        if op["op"] not in ("add", "remove", "replace", "move", "copy", "test"):
            raise bad_request(f"Invalid patch: unknown op {op['op']!r}")
        path = op.get("path")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise bad_request("Invalid patch: every operation needs a JSON Pointer path")
        if op["op"] in ("add", "replace", "test") and "value" not in op:
            raise bad_request(f"Invalid patch: {op['op']} needs a value")
        if op["op"] == "test":
            return
        top = path.split("/")[1] if path.count("/") >= 1 and path != "" else ""
        if path == "" or top.startswith("_") or top in READ_ONLY_PATHS:
            raise bad_request(f"Invalid patch: {path or '/'} is read-only")
        if op["op"] in ("move", "copy"):
            source = op.get("from")
            if not isinstance(source, str):
                raise bad_request(f"Invalid patch: {op['op']} needs from")
            parts = source.split("/")
            if len(parts) >= 3 and parts[1] == "config" and parts[2] in SECRET_KEYS:
                raise bad_request(f"Invalid patch: {source} cannot be read")
            if parts[1:2] == ["config"] and len(parts) == 2:
                raise bad_request("Invalid patch: /config cannot be copied or moved")
            if op["op"] == "move" and (
                parts[1:2] and (parts[1].startswith("_") or parts[1] in READ_ONLY_PATHS)
            ):
                raise bad_request(f"Invalid patch: {source} is read-only")

    async def delete_integration(self, request: Request) -> Response:
        integ = self._integration(request)
        del self.state.integrations[integ.id]
        return Response(status_code=204)

    # --- GA routes ---------------------------------------------------------------------------

    async def get_segment(self, request: Request) -> Response:
        p = request.path_params
        project = self.state.projects.get(p["projectKey"])
        env = project.environments.get(p["environmentKey"]) if project else None
        seg = env.segments.get(p["segmentKey"]) if env else None
        if project is None or env is None or seg is None:
            raise problem(404, "not_found", "Invalid resource identifier")
        return JSONResponse(self.state.segment_json(project, env, seg))

    async def get_segment_membership(self, request: Request) -> Response:
        """LaunchDarkly's word on one context in one big segment: included wins over excluded,
        as in the store. Only big segments (standard ones get 400, as documented)."""
        p = request.path_params
        project = self.state.projects.get(p["projectKey"])
        env = project.environments.get(p["environmentKey"]) if project else None
        seg = env.segments.get(p["segmentKey"]) if env else None
        if project is None or env is None or seg is None:
            raise problem(404, "not_found", "Invalid resource identifier")
        key = p["contextKey"]
        included = key in seg.included
        excluded = key in seg.excluded and not included
        return JSONResponse({"userKey": key, "included": included, "excluded": excluded})

    async def public_ip_list(self, request: Request) -> Response:
        """The CIDR ranges LaunchDarkly uses (the spec's own examples)."""
        return JSONResponse(
            {"addresses": ["104.156.80.0/20", "151.101.0.0/16"], "outboundAddresses": ["52.21.152.96/32"]}
        )

    def _paging(self, request: Request) -> tuple[int, int]:
        try:
            limit = int(request.query_params.get("limit", "20"))
            offset = int(request.query_params.get("offset", "0"))
        except ValueError:
            raise bad_request("limit and offset must be integers") from None
        if not 1 <= limit <= 1000 or offset < 0:
            raise bad_request("limit must be from 1 to 1000 and offset not negative")
        return limit, offset

    @staticmethod
    def _filters(raw: str) -> dict[str, str]:
        out = {}
        for part in raw.split(","):
            if ":" in part:
                k, v = part.split(":", 1)
                out[k.strip()] = v.strip()
        return out

    @staticmethod
    def _page_links(path: str, limit: int, offset: int, total: int, extra: str) -> dict[str, Any]:
        def at(o: int) -> dict[str, str]:
            return link(f"{path}?limit={limit}&offset={o}{extra}")

        links: dict[str, Any] = {"self": at(offset), "first": at(0)}
        last = max(0, (total - 1) // limit * limit) if total else 0
        links["last"] = at(last)
        if offset > 0:
            links["prev"] = at(max(0, offset - limit))
        if offset + limit < total:
            links["next"] = at(offset + limit)
        return links

    async def list_projects(self, request: Request) -> Response:
        limit, offset = self._paging(request)
        raw_filter = request.query_params.get("filter", "")
        f = self._filters(raw_filter)
        projects = list(self.state.projects.values())
        if "query" in f:
            q = f["query"].lower()
            projects = [p for p in projects if q in p.key.lower() or q in p.name.lower()]
        if "keys" in f:
            wanted = set(f["keys"].split("|"))
            projects = [p for p in projects if p.key in wanted]
        if "tags" in f:
            wanted_tags = set(f["tags"].replace(" ", "+").split("+"))
            projects = [p for p in projects if wanted_tags <= set(p.tags)]
        sort = request.query_params.get("sort", "")
        if sort.lstrip("-") == "name":
            projects.sort(key=lambda p: p.name.lower(), reverse=sort.startswith("-"))
        expand = "environments" in request.query_params.get("expand", "").split(",")
        page = projects[offset : offset + limit]
        extra = f"&filter={raw_filter}" if raw_filter else ""
        return JSONResponse(
            {
                "_links": self._page_links("/api/v2/projects", limit, offset, len(projects), extra),
                "items": [self.state.project_json(p, expand_environments=expand) for p in page],
                "totalCount": len(projects),
            }
        )

    async def list_environments(self, request: Request) -> Response:
        project = self.state.projects.get(request.path_params["projectKey"])
        if project is None:
            raise problem(404, "not_found", "Invalid resource identifier")
        limit, offset = self._paging(request)
        raw_filter = request.query_params.get("filter", "")
        f = self._filters(raw_filter)
        envs = list(project.environments.values())
        if "query" in f:
            q = f["query"].lower()
            envs = [e for e in envs if q in e.key.lower() or q in e.name.lower()]
        page = envs[offset : offset + limit]
        path = f"/api/v2/projects/{project.key}/environments"
        extra = f"&filter={raw_filter}" if raw_filter else ""
        return JSONResponse(
            {
                "_links": self._page_links(path, limit, offset, len(envs), extra),
                "totalCount": len(envs),
                "items": [self.state.environment_json(project, e) for e in page],
            }
        )

    # --- emulator controls -------------------------------------------------------------------

    async def faults(self, request: Request) -> Response:
        if request.method == "PUT":
            body = await self._json_body(request)
            if not isinstance(body, dict):
                raise bad_request("expected an object of fault settings")
            current = self.state.faults
            for key, value in body.items():
                if not hasattr(current, key):
                    raise bad_request(f"unknown fault {key!r}")
                setattr(current, key, type(getattr(current, key))(value))
        return JSONResponse(self.state.faults.to_json())

    async def stats(self, request: Request) -> Response:
        """How many requests each API route has answered (faults and 429s included)."""
        return JSONResponse({"requests": dict(self.state.request_counts)})

    # --- app ---------------------------------------------------------------------------------

    def app(self, *, lifespan: Any = None) -> Any:
        one = f"{BASE}/{{projectKey}}/{{environmentKey}}/{{integrationKey}}/{{integrationId}}"
        routes = [
            Route(BASE, self.route("list", self.list_integrations, beta=True), methods=["GET"]),
            Route(
                f"{BASE}/{{projectKey}}/{{environmentKey}}/{{integrationKey}}",
                self.route("create", self.create_integration, beta=True, write=True),
                methods=["POST"],
            ),
            Route(one, self.route("get", self.get_integration, beta=True), methods=["GET"]),
            Route(
                one,
                self.route("patch", self.patch_integration, beta=True, write=True),
                methods=["PATCH"],
            ),
            Route(
                one,
                self.route("delete", self.delete_integration, beta=True, write=True),
                methods=["DELETE"],
            ),
            Route(
                "/api/v2/segments/{projectKey}/{environmentKey}/{segmentKey}",
                self.route("segment", self.get_segment),
                methods=["GET"],
            ),
            Route(
                "/api/v2/segments/{projectKey}/{environmentKey}/{segmentKey}/contexts/{contextKey}",
                self.route("segment-membership", self.get_segment_membership),
                methods=["GET"],
            ),
            Route(
                "/api/v2/public-ip-list", self.route("public-ip-list", self.public_ip_list), methods=["GET"]
            ),
            Route("/api/v2/projects", self.route("projects", self.list_projects), methods=["GET"]),
            Route(
                "/api/v2/projects/{projectKey}/environments",
                self.route("environments", self.list_environments),
                methods=["GET"],
            ),
            Route(
                "/_emulator/faults",
                self.route("faults", self.faults, write=True, control=True),
                methods=["GET", "PUT"],
            ),
            Route("/_emulator/stats", self.route("stats", self.stats, control=True), methods=["GET"]),
        ]

        async def not_found(request: Request, exc: Exception) -> Response:
            return _error_response(problem(404, "not_found", "Invalid resource identifier"))

        async def not_allowed(request: Request, exc: Exception) -> Response:
            return _error_response(problem(405, "method_not_allowed", "Method not allowed"))

        app = Starlette(
            routes=routes,
            exception_handlers={404: not_found, 405: not_allowed},
            lifespan=lifespan,
        )
        return MethodOverride(app)


class MethodOverride:
    """``X-HTTP-Method-Override: PATCH|DELETE|PUT`` on a POST tunnels that verb (contract §1)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for name, value in scope["headers"]:
                if name == b"x-http-method-override":
                    verb = value.decode("latin-1").strip().upper()
                    if verb in ("PATCH", "DELETE", "PUT"):
                        scope = dict(scope, method=verb)
                    break
        await self.app(scope, receive, send)


def create_app(state: EmulatorState) -> Any:
    return Emulator(state).app()
