"""The routes about the API itself, anonymous: OpenAPI, problems page, health,
and the catch-all that answers every other path (register it last)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.api import handlers
from shared.functions.frame import PlainRoute, PublicRoute, bind
from shared.process import paths

ANONYMOUS = func.AuthLevel.ANONYMOUS

handle_openapi = PublicRoute("openapi", handlers.openapi, recorded=False)
handle_problems_page = PlainRoute("problems page", handlers.problems_page)
handle_health = PlainRoute("health", handlers.health)
handle_not_found = PlainRoute("not found", handlers.not_found)


def blueprint() -> df.Blueprint:
    bp = df.Blueprint()
    bind(bp, "openapi", paths.OPENAPI, ["GET"], ANONYMOUS, handle_openapi)
    bind(bp, "problems", paths.PROBLEMS, ["GET"], ANONYMOUS, handle_problems_page)
    bind(bp, "health", paths.HEALTH, ["GET"], ANONYMOUS, handle_health)
    # Every method: the answer names the routes there are.
    bind(bp, "not_found", paths.EVERYTHING_ELSE, None, ANONYMOUS, handle_not_found)
    return bp
