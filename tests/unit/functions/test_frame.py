"""The request frame every route runs in: what each kind of route's use case
receives, the one request record, the settings, and the one place a problem or
an unexpected error becomes an answer."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from shared.functions.frame import CallerRoute, PlainRoute, PublicRoute
from shared.functions.lines import handle_payment
from shared.http.admit import Admitted, Received
from shared.http.messages import CoreRequest, CoreResponse, json_response
from shared.lines import single as service
from shared.process import telemetry
from shared.process.problems import Problem
from shared.process.settings import Settings, reset_settings
from shared.upstream.client import BusinessCentralClient
from shared.upstream.runtime import get_runtime
from tests.support.fakes import PAYMENT, FakeBusinessCentral, payment_path

GET = CoreRequest("GET", payment_path(), {"x-request-id": "frame-1"})


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == telemetry.REQUESTS_LOGGER]


async def test_a_callers_use_case_gets_the_admitted_request_the_settings_and_the_client(
    bc: FakeBusinessCentral, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Any] = []

    async def use_case(
        admitted: Admitted, settings: Settings, client: BusinessCentralClient, extra: str
    ) -> CoreResponse:
        seen.extend((admitted, settings, client, extra))
        return json_response(200, {}, admitted.request_id)

    route = CallerRoute("frame test", use_case, query=())
    with caplog.at_level(logging.INFO, logger=telemetry.REQUESTS_LOGGER):
        response = await route(GET, "passed on")
    assert response.status == 200
    admitted, settings, client, extra = seen
    assert (admitted.payment_id, admitted.request_id, admitted.request) == (PAYMENT, "frame-1", GET)
    assert client is get_runtime().bc
    assert settings is client.settings
    assert extra == "passed on"
    (record,) = records(caplog)
    assert (record.route, record.status) == ("frame test", 200)  # type: ignore[attr-defined]


async def test_a_request_the_admission_refuses_never_reaches_the_use_case(
    bc: FakeBusinessCentral,
) -> None:
    async def use_case(*args: Any) -> CoreResponse:
        raise AssertionError("admitted")

    route = CallerRoute("frame test", use_case, query=())
    refused = await route(CoreRequest("GET", payment_path(), {}, query={"colour": "red"}))
    assert refused.status == 400
    assert json.loads(refused.body)["type"].endswith("#invalid-query-parameter")


async def test_what_a_route_requires_of_the_settings_comes_before_the_request(
    bc: FakeBusinessCentral,
) -> None:
    def requires(settings: Settings) -> None:
        raise Problem("proxy-misconfigured", "a setting this route needs is missing")

    async def use_case(*args: Any) -> CoreResponse:
        raise AssertionError("admitted")

    route = CallerRoute("frame test", use_case, requires=requires)
    # A path no admission would let in: the settings' problem is still the answer.
    bad = CoreRequest("GET", {**payment_path(), "apiVersion": "v9"}, {})
    assert (await route(bad)).status == 500


async def test_an_unexpected_error_in_any_route_is_a_problem_logged_with_its_request_id(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(received: Received) -> CoreResponse:
        raise KeyError("secret-internal-detail")

    route = PlainRoute("plain test", broken)
    with caplog.at_level(logging.INFO):
        response = await route(GET)
    assert response.status == 500
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == "frame-1"
    assert b"internal-error" in response.body
    assert b"secret-internal-detail" not in response.body
    assert [r for r in caplog.records if r.exc_info and "frame-1" in r.getMessage()]
    assert records(caplog) == []  # the API's own routes write no record


async def test_a_public_route_needs_valid_settings_and_a_plain_one_does_not(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def public(received: Received, settings: Settings) -> CoreResponse:
        return json_response(200, {}, received.request_id)

    async def plain(received: Received) -> CoreResponse:
        raise Problem("not-found", "nothing here")

    monkeypatch.delenv("BC_TENANT_ID")
    reset_settings()
    misconfigured = await PublicRoute("public test", public, recorded=False)(GET)
    assert misconfigured.status == 500
    assert json.loads(misconfigured.body)["type"].endswith("#proxy-misconfigured")
    # Without readable settings the problem's type points at the page the host serves.
    not_found = await PlainRoute("plain test", plain)(GET)
    assert not_found.status == 404
    assert json.loads(not_found.body)["type"].startswith("http://127.0.0.1:7071/api/problems#")


async def test_a_public_route_checks_its_query_names(env: dict[str, str]) -> None:
    async def public(received: Received, settings: Settings) -> CoreResponse:
        return json_response(200, {"query": dict(received.request.query)}, received.request_id)

    route = PublicRoute("public test", public, query=("token",))
    good = await route(CoreRequest("GET", {}, {}, query={"token": "t", "code": "key"}))
    assert json.loads(good.body) == {"query": {"token": "t", "code": "key"}}
    bad = await route(CoreRequest("GET", {}, {}, query={"token": "t", "top": "1"}))
    assert bad.status == 400


async def test_an_unexpected_exception_is_an_internal_error_problem(
    bc: FakeBusinessCentral, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("secret-internal-detail")

    monkeypatch.setattr(service, "read_line", broken)
    request = CoreRequest("GET", payment_path(), {"x-request-id": "bug-1"})
    with caplog.at_level(logging.ERROR):
        response = await handle_payment(request)
    assert response.status == 500
    assert response.headers["x-request-id"] == "bug-1"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert b"internal-error" in response.body
    assert b"secret-internal-detail" not in response.body
    assert b"Traceback" not in response.body
    logged = [r for r in caplog.records if r.exc_info and "bug-1" in r.getMessage()]
    assert logged, "the traceback is logged with the request id"
