"""CORS in the local host, as Core Tools applies ``Host.CORS``: real sockets, real client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import azure.functions as func
import httpx
import pytest

from funchost.cors import REQUEST_HEADERS, CorsSettingError, parse_allowed_origins
from funchost.http import create_local_host
from sandbox.serving import serve_in_thread

PAGE = "http://127.0.0.1:7073"
OTHER = "http://evil.example"


def cors_app(calls: list[str]) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="lines/{id}", methods=["GET", "PATCH"])
    async def line(req: func.HttpRequest) -> func.HttpResponse:
        calls.append(req.method)
        return func.HttpResponse(
            json.dumps({"id": req.route_params["id"]}),
            mimetype="application/json",
            headers={"ETag": 'W/"1"'},
        )

    @app.route(route="jobs", methods=["POST"])
    async def jobs(req: func.HttpRequest) -> func.HttpResponse:
        calls.append(req.method)
        # An app that sets its own CORS header: the host's policy wins, as in Azure.
        return func.HttpResponse("started", headers={"Access-Control-Allow-Origin": "*"})

    @app.route(route="{*path}")
    async def fallback(req: func.HttpRequest) -> func.HttpResponse:
        calls.append(f"fallback {req.method}")
        return func.HttpResponse(status_code=404)

    return app


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[httpx.Client, list[str]]]:
    calls: list[str] = []
    host = create_local_host(cors_app(calls), cors_origins=[f"{PAGE}, https://*.contoso.com"])
    with serve_in_thread(host) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        yield http, calls


def preflight(http: httpx.Client, origin: str, path: str = "/api/lines/1") -> httpx.Response:
    return http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "content-type,if-match",
        },
    )


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def test_a_preflight_from_an_allowed_origin_is_answered_by_the_host(
    served: tuple[httpx.Client, list[str]],
) -> None:
    http, calls = served
    calls.clear()
    response = preflight(http, PAGE)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == PAGE
    # The methods the routes declare (a route open to every method adds none).
    assert response.headers["access-control-allow-methods"] == "GET, PATCH, POST"
    allowed = [h.strip() for h in response.headers["access-control-allow-headers"].split(",")]
    assert allowed == list(REQUEST_HEADERS)
    assert {"If-Match", "Idempotency-Key", "traceparent", "Authorization"} <= set(allowed)
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers.get_list("vary")
    assert calls == []  # no function saw the preflight


def test_a_preflight_from_another_origin_gets_no_cors_header(
    served: tuple[httpx.Client, list[str]],
) -> None:
    http, calls = served
    calls.clear()
    for origin in (OTHER, "http://127.0.0.1:7074", "https://127.0.0.1:7073", "null"):
        response = preflight(http, origin)
        assert response.status_code == 204, origin
        assert cors_headers(response) == {}, origin
    assert calls == []


def test_actual_requests_get_the_origin_only_when_it_is_allowed(
    served: tuple[httpx.Client, list[str]],
) -> None:
    http, calls = served
    calls.clear()
    allowed = http.get("/api/lines/7", headers={"Origin": PAGE})
    assert allowed.status_code == 200
    assert allowed.json() == {"id": "7"}
    assert allowed.headers["access-control-allow-origin"] == PAGE
    assert "Origin" in allowed.headers.get_list("vary")
    assert allowed.headers["etag"] == 'W/"1"'

    other = http.get("/api/lines/7", headers={"Origin": OTHER})
    assert other.status_code == 200  # the browser, not the server, withholds the answer
    assert "access-control-allow-origin" not in other.headers

    same_origin = http.get("/api/lines/7")
    assert "access-control-allow-origin" not in same_origin.headers
    assert calls == ["GET", "GET", "GET"]


def test_the_hosts_policy_replaces_a_cors_header_the_app_sets(
    served: tuple[httpx.Client, list[str]],
) -> None:
    http, _ = served
    response = http.post("/api/jobs", headers={"Origin": PAGE})
    assert response.text == "started"
    assert response.headers.get_list("access-control-allow-origin") == [PAGE]


def test_an_options_request_that_is_not_a_preflight_reaches_the_functions(
    served: tuple[httpx.Client, list[str]],
) -> None:
    http, calls = served
    calls.clear()
    response = http.options("/api/lines/1", headers={"Origin": PAGE})
    assert response.status_code == 404
    assert calls == ["fallback OPTIONS"]
    assert response.headers["access-control-allow-origin"] == PAGE


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.contoso.com", True),
        ("https://a.b.contoso.com", True),
        ("https://contoso.com", False),
        ("http://app.contoso.com", False),
        ("https://evilcontoso.com", False),
        ("https://app.contoso.com.evil.example", False),
        ("https://evil.example/.contoso.com", False),
        ("https://user@app.contoso.com", False),
    ],
)
def test_wildcard_subdomains_as_the_platform_allows_them(
    served: tuple[httpx.Client, list[str]], origin: str, allowed: bool
) -> None:
    http, _ = served
    response = preflight(http, origin)
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed


def test_without_allowed_origins_there_is_no_cors_at_all() -> None:
    calls: list[str] = []
    with (
        serve_in_thread(create_local_host(cors_app(calls))) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        response = preflight(http, PAGE)
        assert response.status_code == 404
        assert cors_headers(response) == {}
        assert calls == ["fallback OPTIONS"]
        assert (
            "access-control-allow-origin"
            not in http.get("/api/lines/1", headers={"Origin": PAGE}).headers
        )


def test_allowed_origins_setting_is_parsed_and_normalized() -> None:
    assert parse_allowed_origins("") == ()
    assert parse_allowed_origins(" , ") == ()
    assert parse_allowed_origins("HTTP://127.0.0.1:7073/, https://*.Contoso.com") == (
        "http://127.0.0.1:7073",
        "https://*.contoso.com",
    )
    assert parse_allowed_origins("http://[::1]:8080") == ("http://[::1]:8080",)


@pytest.mark.parametrize(
    "entry",
    [
        "*",
        "127.0.0.1:7073",
        "ftp://example.com",
        "http://example.com/page",
        "http://example.com?x=1",
        "http://user@example.com",
        "http://example.com:port",
        "http://exa mple.com",
        "http://*",
    ],
)
def test_invalid_allowed_origins_are_refused(entry: str) -> None:
    with pytest.raises(CorsSettingError):
        parse_allowed_origins(f"http://ok.example, {entry}")


def test_an_invalid_origin_fails_the_host_at_startup() -> None:
    with pytest.raises(CorsSettingError, match=r"\*"):
        create_local_host(cors_app([]), cors_origins=["*"])
