"""The sandbox as one Starlette app: emulated Business Central under
``/v2.0/...``, an App Service managed-identity endpoint at ``/msi/token`` and
the admin API under ``/_sandbox/...``.

Serve it with ``uvicorn.Config(app, **SERVER_OPTIONS)``: the options install
the protocol that can really drop connections for the ``drop`` fault rules.

A Business Central request goes through these steps:

1. it is logged (:mod:`sandbox.requestlog`);
2. a fault rule that answers (``status``, ``rawBody``) or drops it before
   processing takes it here: Business Central never sees it, so it takes no
   concurrency slot (it is still delayed by the latency setting);
3. otherwise it waits for one of its principal's slots (the token's ``oid``;
   :mod:`sandbox.throttle`), or gets 429 ``Application_TooManyRequests``
   when the queue is full (logged with ``processedStatus`` 429: Business
   Central, not a rule, refused it); a request whose token is refused is
   answered 401 without a slot, as there is no principal to count it against;
4. Business Central's logic runs, then the answer waits out the latency in
   force at that moment (``ms``, plus ``perBatchOperationMs`` per ``$batch``
   operation run, plus a rule's ``delayMs``) while still holding the slot;
   the log entry's ``delayedMs`` says how long;
5. a ``drop: "after"`` or ``corruptBody`` rule spoils the delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import jsonutil, seed, store
from sandbox.bc import ODATA_CONTENT_TYPE, BcResult, BusinessCentral, Call, error_body
from sandbox.faults import (
    CutResponse,
    DroppingH11Protocol,
    DropResponse,
    FaultRule,
    FaultRules,
    RuleError,
    corrupted,
)
from sandbox.requestlog import MAX_ENTRIES, RequestLog
from sandbox.store import BcError, Data
from sandbox.throttle import DEFAULT_CONCURRENT, DEFAULT_QUEUE, ConcurrencyGate, Throttled
from sandbox.tokens import TokenIssuer, TokenRejected

SERVER_OPTIONS: dict[str, Any] = {"http": DroppingH11Protocol}
# GET /_sandbox/lines pages: lines per page by default, and at most.
DEFAULT_LINES_PAGE = 100
MAX_LINES_PAGE = 1000

IDENTITY_PATH = "/msi/token"
IDENTITY_API_VERSION = "2019-08-01"
DEFAULT_TOKEN_LIFETIME_S = 3600
API_VERSIONS = ("v1.0", "v2.0")
_BC_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "MERGE", "OPTIONS"]
_INVALID_CREDENTIALS = "The server has rejected the client credentials."
# What a throttled caller is told to wait: a slot usually frees within that.
THROTTLED_RETRY_AFTER_S = 1
MAX_GENERATED_LINES = 10_000


@dataclass(frozen=True)
class Latency:
    """Added to every Business Central answer; per operation run for a ``$batch``."""

    ms: int = 0
    per_batch_operation_ms: int = 0

    def for_result(self, result: BcResult) -> int:
        return self.ms + self.per_batch_operation_ms * result.operations


class SandboxState:
    """Everything the admin API can inspect or change, in one place."""

    def __init__(self, identity_header: str, max_logged_requests: int = MAX_ENTRIES) -> None:
        self.identity_header = identity_header
        self.tokens = TokenIssuer(lifetime_s=DEFAULT_TOKEN_LIFETIME_S)
        self.data = Data.from_seed()
        self.bc = BusinessCentral(lambda: self.data, self._set_data)
        self.faults = FaultRules()
        self.latency = Latency()
        self.requests = RequestLog(max_logged_requests)
        self.token_requests = 0
        self.gate = ConcurrencyGate()
        # How a failing $batch operation affects the rest (see sandbox.bc).
        self.stop_batch_on_error = False

    def _set_data(self, data: Data) -> None:
        self.data = data

    def reset(self) -> None:
        # The signing key survives a reset, so tokens a client has cached
        # stay valid, as they would against a real tenant.
        self.data = Data.from_seed()
        self.faults.clear()
        self.latency = Latency()
        self.requests.clear()
        self.token_requests = 0
        self.tokens.lifetime_s = DEFAULT_TOKEN_LIFETIME_S
        self.gate.reset()
        self.stop_batch_on_error = False


def create_sandbox_app(
    *, identity_header: str, max_logged_requests: int = MAX_ENTRIES
) -> Starlette:
    """A fresh sandbox with the seed data and its own token signing key.

    ``max_logged_requests`` bounds the request log (tests make it small).
    """
    if not identity_header:
        raise ValueError("identity_header must not be empty")
    state = SandboxState(identity_header, max_logged_requests)
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
    state: SandboxState, request: Request, process: Callable[[], Response]
) -> Response:
    """The identity endpoint's answer with the fault rules applied (no latency)."""
    rule = state.faults.take(request.method, request.url.path)
    if rule is not None and rule.takes_request:
        return await _fault_answer(rule, rule.delay_ms)
    response = process()
    if rule is not None and rule.delay_ms:
        await asyncio.sleep(rule.delay_ms / 1000)
    return _deliver(rule, response)


async def _fault_answer(rule: FaultRule, delay_ms: int) -> Response:
    """What a rule that takes the request sends instead of the emulator."""
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    if rule.drop == "before":
        return DropResponse()
    return _fault_response(rule)


def _deliver(rule: FaultRule | None, response: Response) -> Response:
    """The processed answer as a rule lets it reach the client."""
    if rule is not None and rule.drop == "after":
        return DropResponse()
    if rule is not None and rule.drop == "midBody":
        return CutResponse(response)
    if rule is not None and rule.corrupt_body:
        return corrupted(response)
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
        received = dt.datetime.now(dt.UTC)
        body = await request.body()
        entry = state.requests.record(request, body, received)
        rule = state.faults.take(request.method, request.url.path)
        rule_delay_ms = rule.delay_ms if rule else 0
        if rule is not None and rule.takes_request:
            entry["delayedMs"] = state.latency.ms + rule_delay_ms
            return await _fault_answer(rule, state.latency.ms + rule_delay_ms)
        principal = _principal(state, request)
        try:
            async with _slot(state, principal):
                result = _bc_process(state, request, body, authenticated=principal is not None)
                # Recorded even when the answer is later dropped: it tells tests
                # whether a write really happened (and how often).
                entry["processedStatus"] = result.status
                if result.operations:
                    # Each $batch operation's own status: which writes really ran.
                    entry["operationStatuses"] = {
                        str(r.get("id")): r.get("status") for r in result.body["responses"]
                    }
                delay_ms = state.latency.for_result(result) + rule_delay_ms
                entry["delayedMs"] = delay_ms
                if delay_ms:
                    await asyncio.sleep(delay_ms / 1000)
        except Throttled:
            result = _throttled()
            entry["processedStatus"] = result.status
            entry["delayedMs"] = state.latency.ms + rule_delay_ms
            if entry["delayedMs"]:
                await asyncio.sleep(entry["delayedMs"] / 1000)
        return _deliver(rule, _bc_response(result))

    return endpoint


def _principal(state: SandboxState, request: Request) -> str | None:
    """The caller Business Central throttles (the token's ``oid``); None if refused."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        claims = state.tokens.verify(token.strip(), issuer=_issuer(request))
    except TokenRejected:
        return None
    return str(claims.get("oid") or claims.get("sub") or "")


@contextlib.asynccontextmanager
async def _slot(state: SandboxState, principal: str | None) -> AsyncIterator[None]:
    if principal is None:
        yield  # refused before throttling: nobody to count it against
        return
    async with state.gate.slot(principal):
        yield


def _throttled() -> BcResult:
    return BcResult(
        429,
        error_body(
            "Application_TooManyRequests",
            "Too many requests: the limit of concurrent and queued requests for this "
            "user was reached. Please retry later.",
        ),
        {"Retry-After": str(THROTTLED_RETRY_AFTER_S)},
    )


def _bc_process(
    state: SandboxState, request: Request, body: bytes, *, authenticated: bool
) -> BcResult:
    tenant, environment, api, version, path = _split_bc_path(request.path_params["rest"])
    if not authenticated:
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
        return state.bc.batch(call, snapshot=snapshot, stop_on_error=state.stop_batch_on_error)
    return state.bc.handle(call)


def _split_bc_path(rest: str) -> tuple[str, str, str, str, str]:
    parts = rest.split("/", 4)
    parts += [""] * (5 - len(parts))
    return parts[0], parts[1], parts[2], parts[3], parts[4]


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


# --- managed identity ---------------------------------------------------------------


def _identity_endpoint(state: SandboxState) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state.token_requests += 1
        return await _with_faults(state, request, lambda: _issue(state, request))

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


def _int_settings(body: dict[str, Any], fields: dict[str, tuple[int, int]]) -> dict[str, int]:
    """A whole setting from ``body``: ``fields`` maps name -> (default, minimum).

    The fields left out take their defaults, so every POST states the complete
    setting (``{}`` restores the defaults).
    """
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise _AdminError(f"unknown properties: {', '.join(unknown)}")
    return {
        name: _int_setting(body, name, minimum=minimum) if name in body else default
        for name, (default, minimum) in fields.items()
    }


def _admin_routes(state: SandboxState) -> list[Route]:
    async def get_seed(request: Request) -> Response:
        return _json(seed.seed_summary())

    async def reset(request: Request) -> Response:
        state.reset()
        return _json({"reset": True})

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.requests.clear()
        return _json(list(state.requests))

    async def latency(request: Request) -> Response:
        if request.method == "POST":
            values = _int_settings(
                await _admin_body(request), {"ms": (0, 0), "perBatchOperationMs": (0, 0)}
            )
            state.latency = Latency(values["ms"], values["perBatchOperationMs"])
        return _json(
            {"ms": state.latency.ms, "perBatchOperationMs": state.latency.per_batch_operation_ms}
        )

    async def limits(request: Request) -> Response:
        if request.method == "POST":
            values = _int_settings(
                await _admin_body(request),
                {"concurrent": (DEFAULT_CONCURRENT, 1), "queue": (DEFAULT_QUEUE, 0)},
            )
            state.gate.set_limits(values["concurrent"], values["queue"])
        return _json({"concurrent": state.gate.concurrent, "queue": state.gate.queue})

    async def batch(request: Request) -> Response:
        if request.method == "POST":
            body = await _admin_body(request)
            if set(body) != {"onError"} or body["onError"] not in ("continue", "stop"):
                raise _AdminError('give {"onError": "continue"} or {"onError": "stop"}')
            state.stop_batch_on_error = body["onError"] == "stop"
        return _json({"onError": "stop" if state.stop_batch_on_error else "continue"})

    async def current_lines(request: Request) -> Response:
        """Every payment line as it is now (not the seed), in pages."""
        try:
            skip = int(request.query_params.get("skip", "0"))
            top = int(request.query_params.get("top", str(DEFAULT_LINES_PAGE)))
        except ValueError:
            raise _AdminError("skip and top must be whole numbers") from None
        if skip < 0 or not 1 <= top <= MAX_LINES_PAGE:
            raise _AdminError(f"skip must be 0 or more and top from 1 to {MAX_LINES_PAGE}")
        found = [
            {
                "companyId": company.id,
                "@odata.etag": store.make_etag(payment.rowversion),
                **store.payment_json(payment, journal, "v2.0"),
            }
            for company in state.data.companies.values()
            for journal in company.journals.values()
            for payment in journal.payments.values()
        ]
        page = found[skip : skip + top]
        following = skip + top if skip + top < len(found) else None
        next_url = None if following is None else f"/_sandbox/lines?skip={following}&top={top}"
        return _json({"total": len(found), "lines": page, "next": next_url})

    async def lines(request: Request) -> Response:
        if request.method == "GET":
            return await current_lines(request)
        body = await _admin_body(request)
        unknown = sorted(set(body) - {"companyId", "journalId", "count"})
        if unknown:
            raise _AdminError(f"unknown properties: {', '.join(unknown)}")
        count = _int_setting(body, "count", minimum=1)
        if count > MAX_GENERATED_LINES:
            raise _AdminError(f"count must be at most {MAX_GENERATED_LINES}")
        company = state.data.companies.get(str(body.get("companyId", "")).lower())
        if company is None:
            return _json({"error": "no company with that companyId"}, 404)
        journal = company.journals.get(str(body.get("journalId", "")).lower())
        if journal is None:
            return _json({"error": "the company has no journal with that journalId"}, 404)
        try:
            ids = store.add_lines(company, journal, count, state.bc.clock)
        except BcError as exc:
            raise _AdminError(exc.message) from None
        return _json({"ids": ids})

    async def identity_stats(request: Request) -> Response:
        return _json({"tokenRequests": state.token_requests})

    async def identity_settings(request: Request) -> Response:
        body = await _admin_body(request)
        # Zero or negative lifetimes are allowed: they issue expired tokens.
        state.tokens.lifetime_s = _int_setting(body, "tokenLifetimeS", minimum=None)
        return _json({"tokenLifetimeS": state.tokens.lifetime_s})

    async def identity_token(request: Request) -> Response:
        # Optionally for the user-assigned identity: another principal, with
        # concurrency slots of its own.
        client_id = str(
            (await _admin_body(request)).get("clientId") or seed.SYSTEM_ASSIGNED_CLIENT_ID
        ).lower()
        if client_id not in (seed.SYSTEM_ASSIGNED_CLIENT_ID, seed.USER_ASSIGNED_CLIENT_ID):
            raise _AdminError("clientId must be one of the identities in the seed")
        token, expires_on = state.tokens.issue(
            issuer=_issuer(request), resource=seed.BC_RESOURCE, client_id=client_id
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
        return _json(
            {
                "current": state.gate.active,
                "max": state.gate.max_active,
                "queued": state.gate.queued,
            }
        )

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
        Route("/_sandbox/requests", admin(requests), methods=["GET", "DELETE"]),
        Route("/_sandbox/latency", admin(latency), methods=["GET", "POST"]),
        Route("/_sandbox/limits", admin(limits), methods=["GET", "POST"]),
        Route("/_sandbox/batch", admin(batch), methods=["GET", "POST"]),
        Route("/_sandbox/lines", admin(lines), methods=["GET", "POST"]),
        Route("/_sandbox/identity/stats", admin(identity_stats), methods=["GET"]),
        Route("/_sandbox/identity", admin(identity_settings), methods=["POST"]),
        Route("/_sandbox/identity/token", admin(identity_token), methods=["POST"]),
        Route("/_sandbox/faults", admin(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/concurrency", admin(concurrency), methods=["GET"]),
    ]
