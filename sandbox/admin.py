"""The sandbox's admin API under ``/_sandbox/`` (loopback clients only): seed,
reset, request log, latency, limits, $batch mode, payment lines, identity
settings, fault rules, concurrency and rate window counts (see the README's table)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import jsonutil, payments, seed, store
from sandbox.faults import FaultRule, RuleError
from sandbox.identity import issuer_url
from sandbox.state import Latency, SandboxState
from sandbox.store import BcError
from sandbox.throttle import (
    DEFAULT_CONCURRENT,
    DEFAULT_QUEUE,
    DEFAULT_WINDOW_REQUESTS,
    DEFAULT_WINDOW_S,
)

# GET /_sandbox/lines pages: lines per page by default, and at most.
DEFAULT_LINES_PAGE = 100
MAX_LINES_PAGE = 1000
MAX_GENERATED_LINES = 10_000


AdminHandler = Callable[[Request], Awaitable[Response]]


def _loopback_only(handler: AdminHandler) -> AdminHandler:
    async def guarded(request: Request) -> Response:
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return jsonutil.response({"error": "the admin API only answers loopback clients"}, 403)
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


def admin_routes(state: SandboxState) -> list[Route]:
    async def get_seed(request: Request) -> Response:
        return jsonutil.response(seed.seed_summary())

    async def reset(request: Request) -> Response:
        state.reset()
        return jsonutil.response({"reset": True})

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.requests.clear()
        return jsonutil.response(list(state.requests))

    async def latency(request: Request) -> Response:
        if request.method == "POST":
            values = _int_settings(
                await _admin_body(request), {"ms": (0, 0), "perBatchOperationMs": (0, 0)}
            )
            state.latency = Latency(values["ms"], values["perBatchOperationMs"])
        return jsonutil.response(
            {"ms": state.latency.ms, "perBatchOperationMs": state.latency.per_batch_operation_ms}
        )

    async def limits(request: Request) -> Response:
        if request.method == "POST":
            values = _int_settings(
                await _admin_body(request),
                {
                    "concurrent": (DEFAULT_CONCURRENT, 1),
                    "queue": (DEFAULT_QUEUE, 0),
                    "requests": (DEFAULT_WINDOW_REQUESTS, 1),
                    "windowS": (DEFAULT_WINDOW_S, 1),
                },
            )
            state.gate.set_limits(values["concurrent"], values["queue"])
            state.rate.set_limits(values["requests"], values["windowS"])
        return jsonutil.response(
            {
                "concurrent": state.gate.concurrent,
                "queue": state.gate.queue,
                "requests": state.rate.requests,
                "windowS": state.rate.window_s,
            }
        )

    async def batch(request: Request) -> Response:
        if request.method == "POST":
            body = await _admin_body(request)
            if set(body) != {"onError"} or body["onError"] not in ("continue", "stop"):
                raise _AdminError('give {"onError": "continue"} or {"onError": "stop"}')
            state.stop_batch_on_error = body["onError"] == "stop"
        return jsonutil.response({"onError": "stop" if state.stop_batch_on_error else "continue"})

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
                **payments.payment_json(payment, journal, "v2.0"),
            }
            for company in state.data.companies.values()
            for journal in company.journals.values()
            for payment in journal.payments.values()
        ]
        page = found[skip : skip + top]
        following = skip + top if skip + top < len(found) else None
        next_url = None if following is None else f"/_sandbox/lines?skip={following}&top={top}"
        return jsonutil.response({"total": len(found), "lines": page, "next": next_url})

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
            return jsonutil.response({"error": "no company with that companyId"}, 404)
        journal = company.journals.get(str(body.get("journalId", "")).lower())
        if journal is None:
            return jsonutil.response(
                {"error": "the company has no journal with that journalId"}, 404
            )
        try:
            ids = payments.add_lines(company, journal, count, state.bc.clock)
        except BcError as exc:
            raise _AdminError(exc.message) from None
        return jsonutil.response({"ids": ids})

    async def identity_stats(request: Request) -> Response:
        return jsonutil.response({"tokenRequests": state.token_requests})

    async def identity_settings(request: Request) -> Response:
        body = await _admin_body(request)
        # Zero or negative lifetimes are allowed: they issue expired tokens.
        state.tokens.lifetime_s = _int_setting(body, "tokenLifetimeS", minimum=None)
        return jsonutil.response({"tokenLifetimeS": state.tokens.lifetime_s})

    async def identity_token(request: Request) -> Response:
        # Optionally for the user-assigned identity: another principal, with
        # concurrency slots of its own.
        client_id = str(
            (await _admin_body(request)).get("clientId") or seed.SYSTEM_ASSIGNED_CLIENT_ID
        ).lower()
        if client_id not in (seed.SYSTEM_ASSIGNED_CLIENT_ID, seed.USER_ASSIGNED_CLIENT_ID):
            raise _AdminError("clientId must be one of the identities in the seed")
        token, expires_on = state.tokens.issue(
            issuer=issuer_url(request), resource=seed.BC_RESOURCE, client_id=client_id
        )
        return jsonutil.response({"access_token": token, "expires_on": str(expires_on)})

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
        return jsonutil.response({"rules": state.faults.to_json()})

    async def concurrency(request: Request) -> Response:
        return jsonutil.response(
            {
                "current": state.gate.active,
                "max": state.gate.max_active,
                "queued": state.gate.queued,
            }
        )

    async def utilization(request: Request) -> Response:
        return jsonutil.response(state.gate.utilization())

    async def window(request: Request) -> Response:
        return jsonutil.response(
            {"inWindow": state.rate.in_window(), "refused": state.rate.refused}
        )

    def admin(handler: AdminHandler) -> AdminHandler:
        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except _AdminError as exc:
                return jsonutil.response({"error": str(exc)}, 400)

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
        Route("/_sandbox/window", admin(window), methods=["GET"]),
        Route("/_sandbox/utilization", admin(utilization), methods=["GET"]),
    ]
