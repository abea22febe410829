"""The routes about the API itself, anonymous: OpenAPI, problems page, health,
and the catch-all that answers every other path (register it last)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.api import handlers
from shared.functions.convert import core_request, http_response
from shared.process import paths

ANONYMOUS = func.AuthLevel.ANONYMOUS


def blueprint() -> df.Blueprint:
    bp = df.Blueprint()

    @bp.function_name("openapi")
    @bp.route(route=paths.OPENAPI, methods=["GET"], auth_level=ANONYMOUS)
    async def openapi(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(handlers.handle_openapi(core_request(req)))

    @bp.function_name("problems")
    @bp.route(route=paths.PROBLEMS, methods=["GET"], auth_level=ANONYMOUS)
    async def problems(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(handlers.handle_problems_page(core_request(req)))

    @bp.function_name("health")
    @bp.route(route=paths.HEALTH, methods=["GET"], auth_level=ANONYMOUS)
    async def health(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(handlers.handle_health(core_request(req)))

    @bp.function_name("not_found")
    @bp.route(route=paths.EVERYTHING_ELSE, auth_level=ANONYMOUS)
    async def not_found(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(handlers.handle_not_found(core_request(req)))

    return bp
