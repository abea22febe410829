"""The host's request and response objects, to and from the core's values: header
names lower-case, no body as an empty one, every answer header carried over."""

from __future__ import annotations

import azure.functions as func

from shared.functions.convert import core_request, http_response
from shared.http.messages import CoreResponse


def test_a_request_reaches_the_core_with_lower_case_header_names() -> None:
    request = func.HttpRequest(
        "PATCH",
        "http://localhost/api/x?top=5",
        headers={"If-Match": "*", "X-Request-Id": "r1"},
        params={"top": "5"},
        route_params={"apiVersion": "v2.0"},
        body=b'{"a": 1}',
    )
    core = core_request(request)
    assert (core.method, core.body) == ("PATCH", b'{"a": 1}')
    assert core.headers == {"if-match": "*", "x-request-id": "r1"}
    assert dict(core.query) == {"top": "5"}
    assert dict(core.route_params) == {"apiVersion": "v2.0"}


def test_a_request_without_a_body_has_an_empty_one() -> None:
    assert core_request(func.HttpRequest("GET", "http://localhost/api/x", body=b"")).body == b""


def test_an_answer_keeps_its_status_body_and_headers() -> None:
    response = http_response(CoreResponse(412, b"{}", {"ETag": 'W/"1"'}))
    assert (response.status_code, response.get_body()) == (412, b"{}")
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Cache-Control"] == "no-store"
