"""The routes about the API itself: its OpenAPI document, the problems page,
health, and the answer for any path that is not a route. The request frame
(``shared.functions.frame``) runs them like every other route; none writes a
request record, and only the OpenAPI document needs valid settings."""

from __future__ import annotations

import functools
import json

from shared.api.problem_page import problem_page, problem_page_csp
from shared.http.admit import Received
from shared.http.messages import CoreResponse, json_response
from shared.process import paths
from shared.process.paths import API_PREFIX, documented
from shared.process.problems import Problem
from shared.process.settings import Settings


async def openapi(received: Received, settings: Settings) -> CoreResponse:
    return CoreResponse(
        200,
        _openapi_bytes(settings),
        {"Content-Type": "application/json; charset=utf-8", "x-request-id": received.request_id},
    )


@functools.lru_cache(maxsize=4)
def _openapi_bytes(settings: Settings) -> bytes:
    # Imported here: the route table and its models are built for the first
    # request for the document, not at every cold start.
    from shared.api.openapi import openapi_document

    return json.dumps(openapi_document(settings), separators=(",", ":")).encode()


async def problems_page(received: Received) -> CoreResponse:
    """The page every problem ``type`` URI points at: one anchor per slug."""
    return CoreResponse(
        200,
        problem_page(),
        {
            "Content-Type": "text/html; charset=utf-8",
            "x-request-id": received.request_id,
            "Cache-Control": "public, max-age=3600",
            "Content-Security-Policy": problem_page_csp(),
        },
    )


async def health(received: Received) -> CoreResponse:
    return json_response(200, {"status": "ok"}, received.request_id)


async def not_found(received: Received) -> CoreResponse:
    raise Problem(
        "not-found",
        f"No {received.request.method.upper()} route here. Payment lines live at "
        f"{API_PREFIX}{documented(paths.PAYMENT)} (GET or PATCH); "
        f"see {API_PREFIX}/{paths.OPENAPI}.",
    )
