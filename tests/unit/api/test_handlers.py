"""The routes about the API itself, in the request frame: health and the problems
page answer whatever the settings say, the OpenAPI document needs them, and any
other path is a not-found problem naming where the lines are."""

from __future__ import annotations

import json

import pytest

from shared.functions.api import (
    handle_health,
    handle_not_found,
    handle_openapi,
    handle_problems_page,
)
from shared.http.messages import CoreRequest
from shared.process.settings import reset_settings


def request(method: str = "GET") -> CoreRequest:
    return CoreRequest(method, {}, {"x-request-id": "api-1"})


async def test_health_and_the_problems_page_answer_even_when_misconfigured(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BC_TENANT_ID")
    reset_settings()
    health = await handle_health(request())
    assert (health.status, json.loads(health.body)) == (200, {"status": "ok"})
    page = await handle_problems_page(request())
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "public, max-age=3600"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert b'id="proxy-misconfigured"' in page.body
    openapi = await handle_openapi(request())
    assert openapi.status == 500
    assert json.loads(openapi.body)["type"].endswith("#proxy-misconfigured")


async def test_the_openapi_document_is_served_with_the_request_id(env: dict[str, str]) -> None:
    response = await handle_openapi(request())
    assert response.status == 200
    assert response.headers["x-request-id"] == "api-1"
    assert json.loads(response.body)["openapi"].startswith("3.1")


@pytest.mark.parametrize("method", ["GET", "DELETE", "put"])
async def test_any_other_path_names_the_method_and_where_the_lines_are(
    env: dict[str, str], method: str
) -> None:
    response = await handle_not_found(request(method))
    body = json.loads(response.body)
    assert (response.status, body["type"].rsplit("#", 1)[1]) == (404, "not-found")
    assert body["detail"].startswith(f"No {method.upper()} route here.")
    assert "/api/{apiVersion}/companies/{companyId}/customerPaymentJournals/" in body["detail"]
    assert body["detail"].endswith("see /api/openapi.json.")
