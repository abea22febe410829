"""Validate only: every check a PATCH makes before it would call Business
Central, and nothing after. No token is fetched and nothing is sent upstream,
so a flow can test its input without touching the books."""

from __future__ import annotations

from shared.http.admit import admit
from shared.http.handling import handle
from shared.http.messages import CoreRequest, CoreResponse, json_response
from shared.http.parsing import prepare_update
from shared.process.settings import Settings


async def handle_validate(request: CoreRequest) -> CoreResponse:
    """200 ``{"valid": true, "changes": ...}`` or the problem the PATCH would get."""

    async def work(settings: Settings, request: CoreRequest, request_id: str) -> CoreResponse:
        ref = admit(settings, request).line
        _, changes = prepare_update(settings, ref, request.headers, request.body)
        return json_response(200, {"valid": True, "changes": changes}, request_id)

    return await handle(request, work, name="validate")
