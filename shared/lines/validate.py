"""Validate only: every check a PATCH makes before it would call Business
Central, and nothing after. No token is fetched and nothing is sent upstream,
so a flow can test its input without touching the books."""

from __future__ import annotations

from shared.http.callers import check_caller, check_scope
from shared.http.handling import handle
from shared.http.messages import CoreRequest, CoreResponse, json_response
from shared.http.parsing import check_route, parse_route, prepare_update
from shared.process.settings import Settings


async def handle_validate(request: CoreRequest) -> CoreResponse:
    """200 ``{"valid": true, "changes": ...}`` or the problem the PATCH would get."""

    async def work(settings: Settings, request: CoreRequest, request_id: str) -> CoreResponse:
        check_route(request.route_params)
        check_caller(settings, request.headers)
        ref = parse_route(request.route_params)
        check_scope(settings, ref)
        _, changes = prepare_update(settings, ref.version, request.headers, request.body)
        return json_response(200, {"valid": True, "changes": changes}, request_id)

    return await handle(request, work, name="validate")
