"""The App Service managed-identity endpoint (``IDENTITY_ENDPOINT``) the app's
azure-identity credential calls for its Business Central tokens, with the
fault rules applied to it (no latency)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from sandbox import jsonutil, seed
from sandbox.faults import deliver, fault_answer
from sandbox.state import SandboxState

IDENTITY_PATH = "/msi/token"
IDENTITY_API_VERSION = "2019-08-01"


def issuer_url(request: Request) -> str:
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
        return await fault_answer(rule, rule.delay_ms)
    response = process()
    if rule is not None and rule.delay_ms:
        await asyncio.sleep(rule.delay_ms / 1000)
    return deliver(rule, response)


def identity_endpoint(state: SandboxState) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state.token_requests += 1
        return await _with_faults(state, request, lambda: _issue(state, request))

    return endpoint


def _identity_error(status: int, message: str) -> Response:
    # App Service's identity endpoint answers errors in this shape.
    return jsonutil.response(
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
        issuer=issuer_url(request), resource=audience, client_id=client_id
    )
    return jsonutil.response(
        {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }
    )
