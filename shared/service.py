"""The use cases: read a payment line, update a payment line.

Handlers take a :class:`CoreRequest` and return a :class:`CoreResponse`; every
error is a :class:`Problem` raised on the way and rendered once, at the end.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from shared import telemetry
from shared.businesscentral import ForwardHeaders, PaymentRef
from shared.callers import check_caller, check_scope
from shared.http import (
    CoreRequest,
    CoreResponse,
    json_response,
    problem_response,
    request_id_of,
)
from shared.jsonio import dumps_exact
from shared.lines import normalize_line
from shared.openapi import openapi_document
from shared.parsing import (
    check_route,
    forward_headers,
    parse_route,
    prepare_update,
)
from shared.payments import holds_values
from shared.problems import UNKNOWN_OUTCOME_DETAIL, Problem, problem_from_upstream
from shared.resilience import Budget
from shared.runtime import current_settings, get_runtime
from shared.settings import Settings, SettingsError

log = logging.getLogger(__name__)


async def handle_payment(request: CoreRequest) -> CoreResponse:
    """GET or PATCH one customer payment line."""
    headers = request.headers
    request_id = request_id_of(headers)
    docs_url = None
    with telemetry.recording(request_id, "payment", request.method) as record:
        failure: Problem | None = None
        try:
            settings = _settings_or_problem(request_id)
            docs_url = settings.problem_docs_url
            check_route(request.route_params)
            check_caller(settings, headers)
            ref = parse_route(request.route_params)
            check_scope(settings, ref)
            response = await (
                _get(settings, ref, headers, request_id)
                if request.method.upper() == "GET"
                else _update(settings, ref, request, request_id)
            )
        except Problem as problem:
            response = problem_response(problem, request_id, headers, docs_url)
            failure = problem
        telemetry.emit(record, response.status, failure)
    return response


async def _read(
    ref: PaymentRef, forward: ForwardHeaders, budget: Budget
) -> tuple[dict[str, Any], str | None]:
    result = await get_runtime().bc.request("GET", ref, forward, budget)
    upstream = result.response
    if upstream.status_code != 200:
        raise problem_from_upstream(upstream.status_code, upstream.content, if_match_sent=False)
    return normalize_line(upstream)


def _line_response(line: dict[str, Any], etag: str | None, request_id: str) -> CoreResponse:
    return json_response(200, line, request_id, **({"ETag": etag} if etag else {}))


async def _get(
    settings: Settings, ref: PaymentRef, headers: Mapping[str, str], request_id: str
) -> CoreResponse:
    forward = forward_headers(headers, request_id, None)
    line, etag = await _read(ref, forward, Budget(settings.sync_budget_s))
    return _line_response(line, etag, request_id)


async def _update(
    settings: Settings, ref: PaymentRef, request: CoreRequest, request_id: str
) -> CoreResponse:
    headers = request.headers
    if_match, changes = prepare_update(settings, ref.version, headers, request.body)
    budget = Budget(settings.sync_budget_s)
    forward = forward_headers(headers, request_id, if_match)
    result = await get_runtime().bc.request("PATCH", ref, forward, budget, dumps_exact(changes))
    upstream = result.response
    if 200 <= upstream.status_code < 300:
        try:
            line, etag = normalize_line(upstream)
        except Problem as unreadable:
            # A success with an unreadable body: believe only what the line shows.
            line, etag = await _read_back(ref, forward, budget)
            if not holds_values(line, changes):
                raise unreadable from None
        return _line_response(line, etag, request_id)
    if result.maybe_applied and upstream.status_code in (409, 412):
        return await _settle_unknown_outcome(ref, forward, budget, changes, upstream, request_id)
    raise problem_from_upstream(upstream.status_code, upstream.content, if_match_sent=True)


async def _settle_unknown_outcome(
    ref: PaymentRef,
    forward: ForwardHeaders,
    budget: Budget,
    changes: dict[str, Any],
    conflict: httpx.Response,
    request_id: str,
) -> CoreResponse:
    """An earlier attempt may have been applied, and the retry met a changed ETag.

    Either that attempt changed the line (it now holds exactly what was sent:
    the update happened once) or someone else did (a genuine conflict).
    """
    line, etag = await _read_back(ref, forward, budget)
    if holds_values(line, changes):
        log.info("request %s: earlier attempt was applied; line holds the update", request_id)
        return _line_response(line, etag, request_id)
    raise problem_from_upstream(conflict.status_code, conflict.content, if_match_sent=True)


async def _read_back(
    ref: PaymentRef, forward: ForwardHeaders, budget: Budget
) -> tuple[dict[str, Any], str | None]:
    """Read the line after a PATCH whose effect is in doubt; when even that
    fails, the honest answer is that the outcome is unknown."""
    try:
        return await _read(ref, dataclasses.replace(forward, if_match=None), budget)
    except Problem as problem:
        raise Problem(
            "upstream-timeout", UNKNOWN_OUTCOME_DETAIL, upstream=problem.upstream
        ) from None


# --- the other routes -------------------------------------------------------------


def _settings_or_problem(request_id: str) -> Settings:
    try:
        return current_settings()
    except SettingsError as exc:
        # Names only: a value could be a secret pasted into the wrong setting.
        log.error("request %s: invalid settings: %s", request_id, ", ".join(exc.names))
        raise Problem(
            "proxy-misconfigured",
            "The proxy's settings are incomplete or invalid: "
            + ", ".join(exc.names)
            + ". An administrator must fix the app settings.",
        ) from None


def handle_openapi(request: CoreRequest) -> CoreResponse:
    request_id = request_id_of(request.headers)
    try:
        settings = _settings_or_problem(request_id)
    except Problem as problem:
        return problem_response(problem, request_id, request.headers)
    return CoreResponse(
        200,
        _openapi_bytes(settings),
        {"Content-Type": "application/json; charset=utf-8", "x-request-id": request_id},
    )


@functools.lru_cache(maxsize=4)
def _openapi_bytes(settings: Settings) -> bytes:
    # JSON Schema keywords such as multipleOf are floats by nature; no money here.
    return json.dumps(openapi_document(settings), separators=(",", ":")).encode()


def handle_health(request: CoreRequest) -> CoreResponse:
    return json_response(200, {"status": "ok"}, request_id_of(request.headers))


def handle_not_found(request: CoreRequest) -> CoreResponse:
    problem = Problem(
        "not-found",
        f"No {request.method.upper()} route here. Payment lines live at "
        "/api/{apiVersion}/companies/{companyId}/customerPaymentJournals/{journalId}"
        "/customerPayments/{paymentId} (GET or PATCH); see /api/openapi.json.",
    )
    try:
        docs_url: str | None = current_settings().problem_docs_url
    except SettingsError:
        docs_url = None
    return problem_response(problem, request_id_of(request.headers), request.headers, docs_url)
