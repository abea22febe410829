"""The use cases: read a payment line, update a payment line.

Handlers take a :class:`CoreRequest` and return a :class:`CoreResponse`; every
error is a :class:`Problem` raised on the way and rendered once, at the end.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from shared.businesscentral import ForwardHeaders, PaymentRef
from shared.callers import check_caller, check_scope
from shared.jsonio import JsonBodyError, dumps_exact, loads_exact
from shared.openapi import openapi_document
from shared.payments import API_VERSIONS, ApiVersion, holds_values, validate_update
from shared.problems import UNKNOWN_OUTCOME_DETAIL, Problem, problem_from_upstream
from shared.resilience import Budget
from shared.runtime import current_settings, get_runtime
from shared.settings import DEFAULT_PROBLEM_DOCS_URL, GUID_RE, Settings, SettingsError

log = logging.getLogger(__name__)

JOURNAL_SETS = ("customerPaymentJournals", "customerPaymentsJournals")
# \Z rather than $: "$" also matches before a trailing newline.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_ENTITY_TAG_RE = re.compile(r'^(W/)?"[\x21\x23-\x7e]*"\Z')
_MAX_IF_MATCH = 1024
_TRACEPARENT_RE = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\Z")
_LANGUAGE_RE = re.compile(r"^[A-Za-z0-9 ,;=.*-]{1,200}\Z")
_LENGTH_RE = re.compile(r"^[0-9]{1,19}\Z")
_MEDIA_TYPES = ("application/json", "application/merge-patch+json")


@dataclass(frozen=True)
class CoreRequest:
    """What the core needs of an HTTP request; header names are lower-case."""

    method: str
    route_params: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class CoreResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def request_id_of(headers: Mapping[str, str]) -> str:
    for name in ("x-request-id", "x-ms-client-request-id"):
        value = headers.get(name, "")
        if _REQUEST_ID_RE.match(value):
            return value
    return str(uuid.uuid4())


# --- responses ----------------------------------------------------------------


def json_response(status: int, data: Any, request_id: str, **headers: str) -> CoreResponse:
    return CoreResponse(
        status,
        dumps_exact(data),
        {"Content-Type": "application/json; charset=utf-8", "x-request-id": request_id, **headers},
    )


def problem_response(
    problem: Problem, request_id: str, headers: Mapping[str, str], docs_url: str | None = None
) -> CoreResponse:
    body = problem.as_json(docs_url or DEFAULT_PROBLEM_DOCS_URL, request_id)
    accept = headers.get("accept", "").lower()
    # Some low-code clients parse only application/json; honour that when asked.
    plain = "application/json" in accept and "application/problem+json" not in accept
    media = "application/json" if plain else "application/problem+json"
    out = {"Content-Type": f"{media}; charset=utf-8", "x-request-id": request_id}
    if problem.retry_after is not None:
        out["Retry-After"] = str(problem.retry_after)
    return CoreResponse(problem.status, dumps_exact(body), out)


# --- the payment route ----------------------------------------------------------


def check_route(params: Mapping[str, str]) -> None:
    """404 for an API version or entity set that does not exist."""
    if params.get("apiVersion", "") not in API_VERSIONS:
        raise Problem(
            "not-found", "Unknown API version: use v2.0 or v1.0 in the path (/api/v2.0/...)."
        )
    if params.get("journalSet", "customerPaymentJournals") not in JOURNAL_SETS:
        raise Problem("not-found", "No such route; see /api/openapi.json.")


def parse_route(params: Mapping[str, str]) -> PaymentRef:
    """The payment line's address; 400 naming every id that is not a GUID."""
    check_route(params)
    bad = [
        name
        for name in ("companyId", "journalId", "paymentId")
        if not GUID_RE.match(params.get(name, ""))
    ]
    if bad:
        names = " and ".join(bad)
        raise Problem(
            "invalid-path-parameter",
            f"{names} must be a GUID such as 3f2b5c1e-0a4d-4b8e-9c6f-2d1e7a9b0c3d "
            "(no braces, no quotes).",
        )
    return PaymentRef(
        cast(ApiVersion, params["apiVersion"]),
        params["companyId"].lower(),
        params["journalId"].lower(),
        params["paymentId"].lower(),
    )


def forward_headers(
    headers: Mapping[str, str], request_id: str, if_match: str | None
) -> ForwardHeaders:
    language = headers.get("accept-language")
    traceparent = headers.get("traceparent")
    return ForwardHeaders(
        request_id=request_id,
        if_match=if_match,
        accept_language=language if language and _LANGUAGE_RE.match(language) else None,
        traceparent=traceparent if traceparent and _TRACEPARENT_RE.match(traceparent) else None,
    )


def check_content_type(headers: Mapping[str, str]) -> None:
    value = headers.get("content-type", "")
    media, _, params = value.partition(";")
    charset = re.search(r"(?i)charset\s*=\s*\"?([^\";\s]+)", params)
    if media.strip().lower() not in _MEDIA_TYPES or (
        charset and charset.group(1).lower() not in ("utf-8", "utf8")
    ):
        raise Problem(
            "unsupported-media-type",
            "Send the body as Content-Type: application/json (UTF-8).",
        )


def if_match_of(settings: Settings, headers: Mapping[str, str]) -> str:
    value = headers.get("if-match")
    if value is None or not value.strip():
        if settings.if_match_default is not None:
            return settings.if_match_default
        raise Problem(
            "precondition-required",
            "Send If-Match with the line's ETag: GET the payment line first and copy its ETag "
            'header (or the "etag" property), or send If-Match: * to overwrite whatever is '
            "there now.",
        )
    value = value.strip()
    if value != "*" and (len(value) > _MAX_IF_MATCH or not _ENTITY_TAG_RE.match(value)):
        raise Problem(
            "invalid-if-match",
            'If-Match must be one entity tag such as W/"JzE5OzEn" (copy the ETag header of a '
            "GET), or *.",
        )
    return value


def check_body_size(settings: Settings, headers: Mapping[str, str], body: bytes) -> None:
    """Before anything parses: the declared length and the actual one."""
    header = headers.get("content-length", "").strip()
    declared = int(header) if _LENGTH_RE.match(header) else None
    size = max(len(body), declared or 0)
    if size > settings.max_body_bytes:
        raise Problem(
            "payload-too-large",
            f"The body is {size} bytes; the limit is {settings.max_body_bytes} bytes.",
        )
    if declared is not None and len(body) < declared:
        # A body cut off in transit may still be valid JSON: never act on it.
        raise Problem(
            "malformed-json",
            f"The body is shorter ({len(body)} bytes) than its Content-Length ({declared}): "
            "it was cut off.",
        )


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = loads_exact(body)
    except JsonBodyError as exc:
        raise Problem("malformed-json", str(exc)[:300]) from None
    if not isinstance(data, dict):
        kind = {"list": "an array", "str": "a string", "bool": "a boolean", "NoneType": "null"}.get(
            type(data).__name__, "a number"
        )
        raise Problem("malformed-json", f"The body must be a JSON object, but it is {kind}.")
    return data


def normalize_line(response: httpx.Response) -> tuple[dict[str, Any], str | None]:
    """BC's entity without ``@odata.*``, with ``etag``; raises if it is not one."""
    try:
        data = loads_exact(response.content)
    except JsonBodyError:
        data = None
    if not isinstance(data, dict):
        raise Problem(
            "upstream-error", "Business Central answered with a body that is not a payment line"
        )
    etag = data.get("@odata.etag")
    if not isinstance(etag, str):
        etag = response.headers.get("etag")
    line = {key: value for key, value in data.items() if not key.startswith("@odata.")}
    if etag is not None:
        line["etag"] = etag
    return line, etag


async def handle_payment(request: CoreRequest) -> CoreResponse:
    """GET or PATCH one customer payment line."""
    headers = request.headers
    request_id = request_id_of(headers)
    started = time.monotonic()
    docs_url = None
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
        outcome = response.status
    except Problem as problem:
        response = problem_response(problem, request_id, headers, docs_url)
        outcome = problem.status
        if problem.upstream is not None:
            log.info(
                "request %s: problem %s (upstream %s %s, correlation %s)",
                request_id,
                problem.slug,
                problem.upstream.status,
                problem.upstream.code,
                problem.upstream.correlation_id,
            )
    log.info(
        "request %s: %s payment answered %s in %.0f ms",
        request_id,
        request.method.upper(),
        outcome,
        (time.monotonic() - started) * 1000,
    )
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
    check_body_size(settings, headers, request.body)
    check_content_type(headers)
    if_match = if_match_of(settings, headers)
    data = parse_body(request.body)
    changes = validate_update(ref.version, data, amount_decimals=settings.amount_decimals)
    if isinstance(changes, list):
        count = len(changes)
        raise Problem(
            "validation-failed",
            f"{count} propert{'y is' if count == 1 else 'ies are'} invalid",
            errors=tuple(changes),
        )
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
