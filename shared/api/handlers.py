"""The routes about the API itself: its OpenAPI document, the problems page,
health, and the answer for any path that is not a route."""

from __future__ import annotations

import functools
import json

from shared.api.problem_page import problem_page, problem_page_csp
from shared.http.handling import settings_or_problem
from shared.http.messages import (
    CoreRequest,
    CoreResponse,
    json_response,
    problem_response,
    request_id_of,
)
from shared.process import paths
from shared.process.paths import API_PREFIX, documented
from shared.process.problems import Problem
from shared.process.settings import Settings, SettingsError, current_settings


def handle_openapi(request: CoreRequest) -> CoreResponse:
    request_id = request_id_of(request.headers)
    try:
        settings = settings_or_problem(request_id)
    except Problem as problem:
        return problem_response(problem, request_id, request.headers)
    return CoreResponse(
        200,
        _openapi_bytes(settings),
        {"Content-Type": "application/json; charset=utf-8", "x-request-id": request_id},
    )


@functools.lru_cache(maxsize=4)
def _openapi_bytes(settings: Settings) -> bytes:
    # Imported here: the route table and its models are built for the first
    # request for the document, not at every cold start.
    from shared.api.openapi import openapi_document

    return json.dumps(openapi_document(settings), separators=(",", ":")).encode()


def handle_problems_page(request: CoreRequest) -> CoreResponse:
    """The page every problem ``type`` URI points at: one anchor per slug."""
    return CoreResponse(
        200,
        problem_page(),
        {
            "Content-Type": "text/html; charset=utf-8",
            "x-request-id": request_id_of(request.headers),
            "Cache-Control": "public, max-age=3600",
            "Content-Security-Policy": problem_page_csp(),
        },
    )


def handle_health(request: CoreRequest) -> CoreResponse:
    return json_response(200, {"status": "ok"}, request_id_of(request.headers))


def handle_not_found(request: CoreRequest) -> CoreResponse:
    problem = Problem(
        "not-found",
        f"No {request.method.upper()} route here. Payment lines live at "
        f"{API_PREFIX}{documented(paths.PAYMENT)} (GET or PATCH); "
        f"see {API_PREFIX}/{paths.OPENAPI}.",
    )
    try:
        docs_url: str | None = current_settings().problems_url
    except SettingsError:
        docs_url = None
    return problem_response(problem, request_id_of(request.headers), request.headers, docs_url)
