"""The API's own routes as bound: anonymous, no request record of their own, and the
catch-all registered last of them, taking every method."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.functions import api
from shared.http.messages import CoreRequest
from shared.process import paths
from tests.support.fakes import slug


def _triggers() -> list[tuple[str, Any]]:
    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(api.blueprint())
    return [
        (fn.get_function_name(), next(b for b in fn.get_bindings() if b.type == "httpTrigger"))
        for fn in app.get_functions()
    ]


def test_the_api_routes_are_anonymous_and_the_catch_all_comes_last() -> None:
    found = _triggers()
    assert [(name, t.route) for name, t in found] == [
        ("openapi", paths.OPENAPI),
        ("problems", paths.PROBLEMS),
        ("health", paths.HEALTH),
        ("not_found", paths.EVERYTHING_ELSE),
    ]
    assert {t.auth_level for _, t in found} == {func.AuthLevel.ANONYMOUS}
    assert found[-1][1].methods is None  # every method reaches the catch-all


def test_the_api_routes_write_no_request_record() -> None:
    routes = (api.handle_openapi, api.handle_problems_page, api.handle_health, api.handle_not_found)
    assert [route.recorded for route in routes] == [False] * 4


async def test_a_path_no_route_takes_is_told_where_payment_lines_live() -> None:
    response = await api.handle_not_found(CoreRequest("DELETE", {}, {}))
    assert (response.status, slug(response)) == (404, "not-found")
    assert "No DELETE route here. Payment lines live at /api/" in response.body.decode()
