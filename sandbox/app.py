"""The sandbox as one Starlette app: emulated Business Central under
``/v2.0/...``, an App Service managed-identity endpoint at ``/msi/token`` and
the admin API under ``/_sandbox/...``.

Serve it with ``uvicorn.Config(app, **SERVER_OPTIONS)``: the options install
the protocol that can really drop connections for the ``drop`` fault rules.
"""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import jsonutil, seed
from sandbox.bc import ODATA_CONTENT_TYPE, BcResult, BusinessCentral, Call, error_body
from sandbox.faults import DroppingH11Protocol, DropResponse, FaultRule, FaultRules, RuleError
from sandbox.store import BcError, Data
from sandbox.tokens import TokenIssuer, TokenRejected

SERVER_OPTIONS: dict[str, Any] = {"http": DroppingH11Protocol}

IDENTITY_PATH = "/msi/token"
IDENTITY_API_VERSION = "2019-08-01"
DEFAULT_TOKEN_LIFETIME_S = 3600
API_VERSIONS = ("v1.0", "v2.0")
_BC_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "MERGE", "OPTIONS"]
_INVALID_CREDENTIALS = "The server has rejected the client credentials."


class SandboxState:
    """Everything the admin API can inspect or change, in one place."""

    def __init__(self, identity_header: str) -> None:
        self.identity_header = identity_header
        self.tokens = TokenIssuer(lifetime_s=DEFAULT_TOKEN_LIFETIME_S)
        self.data = Data.from_seed()
        self.bc = BusinessCentral(lambda: self.data, self._set_data)
        self.faults = FaultRules()
        self.latency_ms = 0
        self.requests: list[dict[str, Any]] = []
        self.token_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def _set_data(self, data: Data) -> None:
        self.data = data

    def reset(self) -> None:
        # The signing key survives a reset, so tokens a client has cached
        # stay valid, as they would against a real tenant.
        self.data = Data.from_seed()
        self.faults.clear()
        self.latency_ms = 0
        self.requests.clear()
        self.token_requests = 0
        self.tokens.lifetime_s = DEFAULT_TOKEN_LIFETIME_S
        self.max_in_flight = self.in_flight


def create_sandbox_app(*, identity_header: str) -> Starlette:
    """A fresh sandbox with the seed data and its own token signing key."""
    if not identity_header:
        raise ValueError("identity_header must not be empty")
    state = SandboxState(identity_header)
    routes = [
        Route(IDENTITY_PATH, _identity_endpoint(state), methods=["GET"]),
        Route("/v2.0/{rest:path}", _bc_endpoint(state), methods=_BC_METHODS),
        *_admin_routes(state),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


# --- shared plumbing ---------------------------------------------------------------


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        jsonutil.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


def _issuer(request: Request) -> str:
    """The identity endpoint's URL as the socket sees it (not the Host header),
    so issuing and checking agree however a client spells the host."""
    server = request.scope.get("server")
    if server is None:
        return f"{request.base_url}{IDENTITY_PATH.lstrip('/')}"
    host, port = server[0], server[1]
    if ":" in str(host):
        host = f"[{host}]"
    return f"http://{host}:{port}{IDENTITY_PATH}"


async def _with_faults(
    state: SandboxState,
    request: Request,
    process: Callable[[], Response],
    *,
    latency_ms: int,
) -> Response:
    rule = state.faults.take(request.method, request.url.path)
    delay_s = (latency_ms + (rule.delay_ms if rule else 0)) / 1000
    if rule is not None and rule.drop == "before":
        await asyncio.sleep(delay_s)
        return DropResponse()
    response = _fault_response(rule) if rule is not None and rule.answers else process()
    if delay_s:
        await asyncio.sleep(delay_s)
    if rule is not None and rule.drop == "after":
        return DropResponse()
    return response


def _fault_response(rule: FaultRule) -> Response:
    status = rule.status if rule.status is not None else 500
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    if rule.raw_body is not None:
        return Response(rule.raw_body, status, headers, media_type="application/json")
    body = error_body(rule.code or "Unknown", rule.message or "A fault rule answered this request.")
    return _json(body, status, headers)


# --- Business Central ----------------------------------------------------------------


def _bc_endpoint(state: SandboxState) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        entry = _log_entry(request, body)
        state.requests.append(entry)
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)

        def process() -> Response:
            # Recorded even when the answer is later dropped: it tells tests
            # whether a write really happened (and how often).
            response = _bc_response(_bc_process(state, request, body))
            entry["processedStatus"] = response.status_code
            return response

        try:
            return await _with_faults(state, request, process, latency_ms=state.latency_ms)
        finally:
            state.in_flight -= 1

    return endpoint


def _bc_process(state: SandboxState, request: Request, body: bytes) -> BcResult:
    tenant, environment, api, version, path = _split_bc_path(request.path_params["rest"])
    try:
        _check_token(state, request)
    except TokenRejected:
        result = BcResult(
            401, error_body("Authentication_InvalidCredentials", _INVALID_CREDENTIALS)
        )
        result.headers["www-authenticate"] = (
            f'Bearer authorization_uri="https://login.microsoftonline.com/{tenant}'
            f'/oauth2/authorize", resource_id="{seed.BC_RESOURCE}"'
        )
        return result
    if tenant.lower() != seed.TENANT_ID:
        return BcResult(
            404, error_body("BadRequest_NotFound", f"The tenant '{tenant}' was not found.")
        )
    if environment.lower() != seed.ENVIRONMENT:
        return BcResult(
            404,
            error_body(
                "BadRequest_NotFound",
                f"The environment '{environment}' does not exist in tenant '{tenant}'.",
            ),
        )
    if api != "api" or version not in API_VERSIONS or not path:
        return BcResult(
            404,
            error_body(
                "BadRequest_NotFound",
                f"No HTTP resource was found that matches the request URI '{request.url.path}'.",
            ),
        )

    def load_body() -> Any:
        try:
            return jsonutil.loads(body, reject_duplicates=True)
        except jsonutil.NotJson:
            raise BcError(400, "BadRequest", "Invalid Request Body") from None

    call = Call(
        method=request.method,
        version=version,
        path=path,
        headers={k.lower(): v for k, v in request.headers.items()},
        load_body=load_body,
        context_base=(f"{request.base_url}v2.0/{tenant}/{environment}/api/{version}/$metadata#"),
        query=request.url.query,
    )
    if path.strip("/") == "$batch":
        if request.method != "POST":
            return BcResult(
                405,
                error_body("BadRequest_MethodNotAllowed", "Only POST is allowed for $batch."),
            )
        snapshot = request.headers.get("isolation", "").strip().lower() == "snapshot"
        return state.bc.batch(call, snapshot=snapshot)
    return state.bc.handle(call)


def _split_bc_path(rest: str) -> tuple[str, str, str, str, str]:
    parts = rest.split("/", 4)
    parts += [""] * (5 - len(parts))
    return parts[0], parts[1], parts[2], parts[3], parts[4]


def _check_token(state: SandboxState, request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected("no bearer token")
    state.tokens.verify(token.strip(), issuer=_issuer(request))


def _bc_response(result: BcResult) -> Response:
    headers = {"OData-Version": "4.0", **result.headers}
    if result.body is None:
        return Response(status_code=result.status, headers=headers)
    return Response(
        jsonutil.dumps(result.body),
        status_code=result.status,
        headers=headers,
        media_type=f"{ODATA_CONTENT_TYPE}; charset=utf-8",
    )


def _log_entry(request: Request, body: bytes) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in ("authorization", "proxy-authorization"):
            scheme = value.split(" ", 1)[0]
            value = "Bearer <redacted>" if scheme.lower() == "bearer" else "<redacted>"
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    parsed: Any = None
    if body.strip():
        try:
            parsed = jsonutil.loads(body)
        except jsonutil.NotJson:
            parsed = body.decode("utf-8", errors="replace")
    return {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "headers": headers,
        "body": parsed,
        # The status the emulator's own logic produced; None while unprocessed
        # and when a fault rule answered or dropped the request instead.
        "processedStatus": None,
    }


# --- managed identity ---------------------------------------------------------------


def _identity_endpoint(state: SandboxState) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state.token_requests += 1
        return await _with_faults(state, request, lambda: _issue(state, request), latency_ms=0)

    return endpoint


def _identity_error(status: int, message: str) -> Response:
    # App Service's identity endpoint answers errors in this shape.
    return _json(
        {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}, status
    )


def _issue(state: SandboxState, request: Request) -> Response:
    secret = request.headers.get("x-identity-header")
    if secret is None:
        return _identity_error(400, "Required header X-IDENTITY-HEADER is missing.")
    if secret != state.identity_header:
        return _identity_error(401, "The X-IDENTITY-HEADER value is not valid.")
    params = request.query_params
    if params.get("api-version") != IDENTITY_API_VERSION:
        return _identity_error(400, f"api-version must be {IDENTITY_API_VERSION}.")
    resource = params.get("resource", "").strip()
    if not resource:
        return _identity_error(400, "Required query parameter resource is missing.")
    client_id = params.get("client_id")
    known = (seed.SYSTEM_ASSIGNED_CLIENT_ID, seed.USER_ASSIGNED_CLIENT_ID)
    if client_id is not None and client_id.lower() not in known:
        return _identity_error(400, "Unable to load the proper Managed Identity.")
    client_id = (client_id or seed.SYSTEM_ASSIGNED_CLIENT_ID).lower()
    # A scope-style resource ("…/.default") names the same audience.
    audience = resource.removesuffix("/.default")
    token, expires_on = state.tokens.issue(
        issuer=_issuer(request), resource=audience, client_id=client_id
    )
    return _json(
        {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }
    )


# --- admin API --------------------------------------------------------------------------


AdminHandler = Callable[[Request], Awaitable[Response]]


def _loopback_only(handler: AdminHandler) -> AdminHandler:
    async def guarded(request: Request) -> Response:
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return _json({"error": "the admin API only answers loopback clients"}, 403)
        return await handler(request)

    return guarded


async def _admin_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = jsonutil.loads(raw)
    except jsonutil.NotJson as exc:
        raise _AdminError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _AdminError("body must be a JSON object")
    return body


class _AdminError(ValueError):
    pass


def _int_setting(body: dict[str, Any], name: str, *, minimum: int | None) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _AdminError(f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise _AdminError(f"{name} must be at least {minimum}")
    return value


def _admin_routes(state: SandboxState) -> list[Route]:
    async def get_seed(request: Request) -> Response:
        return _json(seed.seed_summary())

    async def reset(request: Request) -> Response:
        state.reset()
        return _json({"reset": True})

    async def requests(request: Request) -> Response:
        return _json(state.requests)

    async def latency(request: Request) -> Response:
        body = await _admin_body(request)
        state.latency_ms = _int_setting(body, "ms", minimum=0)
        return _json({"ms": state.latency_ms})

    async def identity_stats(request: Request) -> Response:
        return _json({"tokenRequests": state.token_requests})

    async def identity_settings(request: Request) -> Response:
        body = await _admin_body(request)
        # Zero or negative lifetimes are allowed: they issue expired tokens.
        state.tokens.lifetime_s = _int_setting(body, "tokenLifetimeS", minimum=None)
        return _json({"tokenLifetimeS": state.tokens.lifetime_s})

    async def identity_token(request: Request) -> Response:
        token, expires_on = state.tokens.issue(
            issuer=_issuer(request),
            resource=seed.BC_RESOURCE,
            client_id=seed.SYSTEM_ASSIGNED_CLIENT_ID,
        )
        return _json({"access_token": token, "expires_on": str(expires_on)})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
        elif request.method == "POST":
            body = await _admin_body(request)
            raw_rules = body.get("rules")
            if not isinstance(raw_rules, list):
                raise _AdminError("rules must be a list")
            try:
                rules = [FaultRule.from_json(raw) for raw in raw_rules]
            except RuleError as exc:
                raise _AdminError(str(exc)) from None
            state.faults.add(rules)
        return _json({"rules": state.faults.to_json()})

    async def concurrency(request: Request) -> Response:
        return _json({"current": state.in_flight, "max": state.max_in_flight})

    def admin(handler: AdminHandler) -> AdminHandler:
        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except _AdminError as exc:
                return _json({"error": str(exc)}, 400)

        return _loopback_only(answer)

    return [
        Route("/_sandbox/seed", admin(get_seed), methods=["GET"]),
        Route("/_sandbox/reset", admin(reset), methods=["POST"]),
        Route("/_sandbox/requests", admin(requests), methods=["GET"]),
        Route("/_sandbox/latency", admin(latency), methods=["POST"]),
        Route("/_sandbox/identity/stats", admin(identity_stats), methods=["GET"]),
        Route("/_sandbox/identity", admin(identity_settings), methods=["POST"]),
        Route("/_sandbox/identity/token", admin(identity_token), methods=["POST"]),
        Route("/_sandbox/faults", admin(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/concurrency", admin(concurrency), methods=["GET"]),
    ]
