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
3. otherwise its principal (the token's ``oid``; :mod:`sandbox.throttle`)
   must be within its rate window (else 429 ``Application_TooManyRequests``
   with ``Retry-After``: the seconds until the window admits one again), then
   it waits for one of the principal's slots, or gets the same 429 when the
   queue is full (either logged with ``processedStatus`` 429: Business
   Central, not a rule, refused it); a request whose token is refused is
   answered 401 without counting or a slot, as there is no principal;
4. Business Central's logic runs, then the answer waits out the latency in
   force at that moment (``ms``, plus ``perBatchOperationMs`` per ``$batch``
   operation run, plus a rule's ``delayMs``) while still holding the slot;
   the log entry's ``delayedMs`` says how long;
5. a ``drop: "after"``, ``drop: "midBody"``, ``corruptBody`` or
   ``processFirst`` rule spoils the delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import jsonutil, seed
from sandbox.admin import admin_routes
from sandbox.calls import ODATA_CONTENT_TYPE, BcResult, Call, error_body
from sandbox.faults import DroppingH11Protocol, deliver, fault_answer
from sandbox.identity import IDENTITY_PATH, identity_endpoint, issuer_url
from sandbox.requestlog import MAX_ENTRIES
from sandbox.state import SandboxState
from sandbox.store import BcError
from sandbox.throttle import Throttled
from sandbox.tokens import TokenRejected

SERVER_OPTIONS: dict[str, Any] = {"http": DroppingH11Protocol}
API_VERSIONS = ("v1.0", "v2.0")
_BC_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "MERGE", "OPTIONS"]
_INVALID_CREDENTIALS = "The server has rejected the client credentials."
# What a throttled caller is told to wait: a slot usually frees within that.
THROTTLED_RETRY_AFTER_S = 1


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
        Route(IDENTITY_PATH, identity_endpoint(state), methods=["GET"]),
        Route("/v2.0/{rest:path}", _bc_endpoint(state), methods=_BC_METHODS),
        *admin_routes(state),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


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
            return await fault_answer(rule, state.latency.ms + rule_delay_ms)
        principal = _principal(state, request)
        wait_s = state.rate.admit(principal) if principal is not None else None
        if wait_s is not None:
            # Over the principal's rate window: refused before processing, like a full queue.
            result = _rate_limited(state, wait_s)
            entry["processedStatus"] = result.status
            entry["delayedMs"] = state.latency.ms + rule_delay_ms
            if entry["delayedMs"]:
                await asyncio.sleep(entry["delayedMs"] / 1000)
            return deliver(rule, _bc_response(result))
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
        return deliver(rule, _bc_response(result))

    return endpoint


def _principal(state: SandboxState, request: Request) -> str | None:
    """The caller Business Central throttles (the token's ``oid``); None if refused."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        claims = state.tokens.verify(token.strip(), issuer=issuer_url(request))
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


def _rate_limited(state: SandboxState, wait_s: int) -> BcResult:
    return BcResult(
        429,
        error_body(
            "Application_TooManyRequests",
            f"Too many requests: this user sent more than {state.rate.requests} requests in "
            f"{state.rate.window_s} seconds. Please retry after {wait_s} seconds.",
        ),
        {"Retry-After": str(wait_s)},
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
