"""The local host serves a FunctionApp's HTTP functions the way the Functions host does.

Each test builds a small FunctionApp, serves it with uvicorn on a loopback
port and talks to it with a real HTTP client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import azure.functions as func
import httpx
import pytest

from funchost.http import create_local_host, http_functions
from funchost.routes import RouteTemplateError
from sandbox.serving import serve_in_thread


def _echo(name: str, req: func.HttpRequest) -> func.HttpResponse:
    payload = {
        "fn": name,
        "method": req.method,
        "url": req.url,
        "route": dict(req.route_params),
        "params": dict(req.params),
        "body": req.get_body().hex(),
        "thread": threading.current_thread().name,
    }
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


def routing_app() -> func.FunctionApp:
    # Registration order deliberately puts the least specific routes first:
    # precedence, not order, must decide between them.
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="items/{*rest}", methods=["GET"])
    async def items_catch_all(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("items_catch_all", req)

    @app.route(route="items/{id}", methods=["GET"])
    async def items_param(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("items_param", req)

    @app.route(route="items/special", methods=["GET"])
    async def items_literal(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("items_literal", req)

    @app.route(route="tie/{a}")
    async def tie_first(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("tie_first", req)

    @app.route(route="tie/{b}")
    async def tie_second(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("tie_second", req)

    @app.route(route="only-get", methods=["GET"])
    async def only_get(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("only_get", req)

    @app.route(route="any")
    async def any_method(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("any_method", req)

    @app.route(route="m/{x}", methods=["GET"])
    async def m_get(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("m_get", req)

    @app.route(route="m/{*rest}", methods=["POST"])
    async def m_post_catch_all(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("m_post_catch_all", req)

    @app.function_name("named_fn")
    @app.route()
    async def no_route(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("no_route", req)

    return app


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with (
        serve_in_thread(create_local_host(routing_app())) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        yield http


def fn_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["fn"])


# --- routing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/items/special", "items_literal"),
        ("/api/items/42", "items_param"),
        ("/api/items/abc", "items_param"),
        ("/api/items/a/b", "items_catch_all"),
        ("/api/items", "items_catch_all"),
    ],
)
def test_precedence_literal_then_parameter_then_catch_all(
    client: httpx.Client, path: str, expected: str
) -> None:
    assert fn_of(client.get(path)) == expected


def test_equal_precedence_goes_to_the_first_registered(client: httpx.Client) -> None:
    response = client.get("/api/tie/x")
    assert fn_of(response) == "tie_first"
    assert response.json()["route"] == {"a": "x"}


def test_catch_all_captures_the_rest_or_nothing(client: httpx.Client) -> None:
    assert client.get("/api/items/a/b/c").json()["route"] == {"rest": "a/b/c"}
    assert client.get("/api/items").json()["route"] == {}


def test_literal_segments_match_case_insensitively_and_keep_param_case(
    client: httpx.Client,
) -> None:
    assert fn_of(client.get("/API/Items/SPECIAL")) == "items_literal"
    response = client.get("/Api/ITEMS/MiXeD")
    assert fn_of(response) == "items_param"
    assert response.json()["route"] == {"id": "MiXeD"}


def test_a_trailing_slash_is_ignored(client: httpx.Client) -> None:
    assert fn_of(client.get("/api/items/special/")) == "items_literal"


def test_function_without_route_is_served_under_its_function_name(client: httpx.Client) -> None:
    assert fn_of(client.get("/api/named_fn")) == "no_route"
    assert client.get("/api/no_route").status_code == 404


def test_unmatched_route_is_an_empty_404(client: httpx.Client) -> None:
    # The root is the host's own page (next test); every other unmatched path is this.
    for path in ("/api/nothing-here", "/items/special", "/api/only-get/x", "/api/tie"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.content == b"", path


def test_the_root_is_the_hosts_page_naming_where_the_functions_are(client: httpx.Client) -> None:
    """Like the Functions host, the root answers with the host's page when no
    function is there; this one says the routes are under the prefix."""
    for method in ("GET", "POST"):
        response = client.request(method, "/")
        assert response.status_code == 200, method
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "under <code>/api/</code>" in response.text
        assert "<code>GET /api/items/special</code>" in response.text
        assert "<code>ANY /api/any</code>" in response.text


def test_the_hosts_page_can_be_turned_off_as_in_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsDisableHomepage", "true")
    with serve_in_thread(create_local_host(routing_app())) as server:
        response = httpx.get(f"{server.url}/", timeout=10)
        assert (response.status_code, response.content) == (204, b"")
        assert httpx.get(f"{server.url}/nothing", timeout=10).status_code == 404


def test_methods(client: httpx.Client) -> None:
    assert fn_of(client.get("/api/only-get")) == "only_get"
    post = client.post("/api/only-get")
    assert post.status_code == 404
    assert post.content == b""
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        response = client.request(method, "/api/any")
        assert fn_of(response) == "any_method"
        assert response.json()["method"] == method


def test_a_method_mismatch_falls_through_to_a_later_route(client: httpx.Client) -> None:
    assert fn_of(client.get("/api/m/1")) == "m_get"
    assert fn_of(client.post("/api/m/1")) == "m_post_catch_all"


def test_function_keys_are_not_enforced_locally(client: httpx.Client) -> None:
    # Every function here has auth level "function"; the local host, like the
    # Functions host run locally, lets requests through without a key.
    assert client.get("/api/only-get").status_code == 200


def keyed_app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="keyed", methods=["GET", "POST"])
    async def keyed(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("keyed", req)

    @app.route(route="open", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    async def open_route(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("open", req)

    return app


def test_given_keys_a_keyed_route_needs_one_as_in_azure() -> None:
    calls: list[str] = []
    app = keyed_app()
    with (
        serve_in_thread(create_local_host(app, function_keys=["k-one", "k-two"])) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        refused = [
            http.get("/api/keyed"),
            http.get("/api/keyed", headers={"x-functions-key": "k-three"}),
            http.get("/api/keyed", params={"code": ""}),
            http.post("/api/keyed", content=b"x" * 100, headers={"x-functions-key": "k-on"}),
        ]
        for response in refused:
            # The host's answer: 401 and nothing else; the function never ran.
            assert (response.status_code, response.content) == (401, b"")
        for response in (
            http.get("/api/keyed", headers={"x-functions-key": "k-one"}),
            http.get("/api/keyed", headers={"X-Functions-Key": "k-two"}),
            http.get("/api/keyed", params={"code": "k-two"}),
        ):
            calls.append(fn_of(response))
        # An anonymous route stays open; an unknown path is still the host's empty 404.
        calls.append(fn_of(http.get("/api/open")))
        assert http.get("/api/elsewhere").status_code == 404
    assert calls == ["keyed", "keyed", "keyed", "open"]


def test_route_prefix_comes_from_host_json(tmp_path: Path) -> None:
    custom = tmp_path / "host.json"
    custom.write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": "v"}}}))
    with (
        serve_in_thread(create_local_host(routing_app(), host_json=custom)) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        assert fn_of(http.get("/v/items/special")) == "items_literal"
        assert http.get("/api/items/special").status_code == 404

    empty = tmp_path / "empty-prefix.json"
    empty.write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}))
    without = tmp_path / "no-extensions.json"
    without.write_text(json.dumps({"version": "2.0"}))
    routes_empty = {f.route for f in http_functions(routing_app(), host_json=empty)}
    routes_default = {f.route for f in http_functions(routing_app(), host_json=without)}
    assert "items/special" in routes_empty
    assert "api/items/special" in routes_default
    assert not any(r.startswith("api/") for r in routes_empty)


def test_the_project_host_json_prefix_is_api() -> None:
    host_json = Path(__file__).resolve().parents[2] / "host.json"
    routes = {f.route for f in http_functions(routing_app(), host_json=host_json)}
    assert "api/items/special" in routes


# --- request conversion ------------------------------------------------------


def test_route_params_are_url_decoded_once(client: httpx.Client) -> None:
    assert client.get("/api/items/a%20b").json()["route"] == {"id": "a b"}
    assert client.get("/api/items/100%2541").json()["route"] == {"id": "100%41"}
    assert client.get("/api/items/x%2Fy").json()["route"] == {"id": "x/y"}


def test_query_parameters_and_full_url(client: httpx.Client) -> None:
    query = "a=1&b=x+y&A=2&c=%26&empty"
    data = client.get(f"/api/any?{query}").json()
    # Repeated names (compared case-insensitively) are joined with "," as the host does.
    assert data["params"] == {"a": "1,2", "b": "x y", "c": "&", "empty": ""}
    assert data["url"] == f"{client.base_url}".rstrip("/") + f"/api/any?{query}"


def test_request_headers_duplicates_joined_and_case_insensitive() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="headers")
    async def headers(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(
            json.dumps(
                {
                    "accept": req.headers.get("ACCEPT"),
                    "x-multi": req.headers.get("x-multi"),
                    "if-match": req.headers.get("If-Match"),
                }
            ),
            mimetype="application/json",
        )

    with (
        serve_in_thread(create_local_host(app)) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        response = http.get(
            "/api/headers",
            headers=[
                ("Accept", "application/json"),
                ("X-Multi", "one"),
                ("x-multi", "two"),
                ("If-Match", 'W/"abc"'),
            ],
        )
    assert response.json() == {
        "accept": "application/json",
        "x-multi": "one, two",
        "if-match": 'W/"abc"',
    }


def test_request_body_bytes_arrive_unchanged(client: httpx.Client) -> None:
    body = bytes(range(256)) * 300  # not UTF-8, larger than one socket read
    response = client.patch("/api/any", content=body)
    assert bytes.fromhex(response.json()["body"]) == body
    assert client.get("/api/any").json()["body"] == ""


def test_a_body_over_the_host_limit_is_an_empty_413_and_never_reaches_the_function() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    calls: list[int] = []

    @app.route(route="sink", methods=["POST"])
    async def sink(req: func.HttpRequest) -> func.HttpResponse:
        calls.append(len(req.get_body()))
        return func.HttpResponse("taken")

    with (
        serve_in_thread(create_local_host(app, max_request_bytes=100_000)) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        at_limit = http.post("/api/sink", content=b"x" * 100_000)
        over = http.post("/api/sink", content=b"x" * 100_001)
    assert (at_limit.status_code, at_limit.text) == (200, "taken")
    assert (over.status_code, over.content) == (413, b"")
    assert calls == [100_000]


def test_the_functions_a_path_can_match_are_worked_out_by_its_length() -> None:
    functions = http_functions(routing_app())
    by_route = {f.template.text: f.template for f in functions}
    # A catch-all may capture nothing; a fixed route takes exactly its segments.
    assert by_route["api/items/{*rest}"].can_match(2)
    assert by_route["api/items/{*rest}"].can_match(9)
    assert not by_route["api/items/{*rest}"].can_match(1)
    assert by_route["api/items/{id}"].can_match(3)
    assert not by_route["api/items/{id}"].can_match(4)


# --- response conversion and invocation --------------------------------------


def response_app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="created")
    async def created(req: func.HttpRequest) -> func.HttpResponse:
        response = func.HttpResponse(
            b'{"ok": true}',
            status_code=201,
            headers={"ETag": 'W/"1"', "Location": "/api/created/1"},
            mimetype="application/problem+json",
        )
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        return response

    @app.route(route="html")
    def html(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("caf\u00e9", mimetype="text/html", charset="latin-1")

    @app.route(route="explicit-type")
    def explicit_type(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("x", headers={"Content-Type": "application/json; v=1"})

    @app.route(route="no-content")
    async def no_content(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(status_code=204)

    @app.route(route="plain-string")
    async def plain_string(req: func.HttpRequest) -> str:
        return "hello"

    @app.route(route="sync")
    def sync_fn(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("sync", req)

    @app.route(route="async")
    async def async_fn(req: func.HttpRequest) -> func.HttpResponse:
        return _echo("async", req)

    @app.route(route="boom")
    async def boom(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("boom: something broke")

    @app.route(route="sync-boom")
    def sync_boom(req: func.HttpRequest) -> func.HttpResponse:
        raise ValueError("sync boom")

    @app.route(route="bad-return")
    async def bad_return(req: func.HttpRequest) -> func.HttpResponse:
        return 42  # type: ignore[return-value]

    @app.route(route="with-context")
    async def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        return func.HttpResponse(
            json.dumps(
                {
                    "invocation_id": context.invocation_id,
                    "function_name": context.function_name,
                    "traceparent": context.trace_context.trace_parent,
                }
            ),
            mimetype="application/json",
        )

    @app.route(route="custom-arg", trigger_arg_name="request")
    async def custom_arg(request: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(request.method)

    return app


@pytest.fixture(scope="module")
def responses() -> Iterator[tuple[httpx.Client, int]]:
    with (
        serve_in_thread(create_local_host(response_app())) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        yield http, server.port


def test_response_status_headers_and_mimetype(responses: tuple[httpx.Client, int]) -> None:
    http, _ = responses
    response = http.get("/api/created")
    assert response.status_code == 201
    assert response.content == b'{"ok": true}'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == "/api/created/1"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["content-length"] == str(len(response.content))


def test_text_mimetypes_carry_the_charset(responses: tuple[httpx.Client, int]) -> None:
    http, _ = responses
    response = http.get("/api/html")
    assert response.headers["content-type"] == "text/html; charset=latin-1"
    assert response.content == "caf\u00e9".encode("latin-1")
    explicit = http.get("/api/explicit-type")
    assert explicit.headers.get_list("content-type") == ["application/json; v=1"]


def test_no_content_and_plain_string_returns(responses: tuple[httpx.Client, int]) -> None:
    http, _ = responses
    empty = http.get("/api/no-content")
    assert empty.status_code == 204
    assert empty.content == b""
    text = http.get("/api/plain-string")
    assert text.status_code == 200
    assert text.text == "hello"
    assert text.headers["content-type"] == "text/plain; charset=utf-8"


def test_sync_functions_run_off_the_event_loop_and_async_ones_on_it(
    responses: tuple[httpx.Client, int],
) -> None:
    http, port = responses
    loop_thread = f"uvicorn:{port}"  # serving.BackgroundServer's thread name
    assert http.get("/api/async").json()["thread"] == loop_thread
    sync_thread = http.get("/api/sync").json()["thread"]
    assert sync_thread != loop_thread
    assert sync_thread != threading.main_thread().name


@pytest.mark.parametrize("path", ["/api/boom", "/api/sync-boom", "/api/bad-return"])
def test_a_failing_function_is_an_empty_500_logged_server_side(
    responses: tuple[httpx.Client, int], caplog: pytest.LogCaptureFixture, path: str
) -> None:
    http, _ = responses
    with caplog.at_level(logging.ERROR, logger="funchost.http"):
        response = http.get(path)
    assert response.status_code == 500
    assert response.content == b""
    assert "Traceback" in caplog.text
    assert path.rsplit("/", 1)[1].replace("-", "_") in caplog.text  # names the function


def test_context_parameter_and_custom_trigger_argument(
    responses: tuple[httpx.Client, int],
) -> None:
    http, _ = responses
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    first = http.get("/api/with-context", headers={"traceparent": traceparent}).json()
    second = http.get("/api/with-context").json()
    assert first["function_name"] == "with_context"
    assert first["traceparent"] == traceparent
    assert first["invocation_id"] != second["invocation_id"]
    assert http.put("/api/custom-arg").text == "PUT"


def test_requests_are_served_concurrently() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    gate = asyncio.Event()

    @app.route(route="wait")
    async def wait(req: func.HttpRequest) -> func.HttpResponse:
        await asyncio.wait_for(gate.wait(), timeout=5)
        return func.HttpResponse("released")

    @app.route(route="release")
    async def release(req: func.HttpRequest) -> func.HttpResponse:
        gate.set()
        return func.HttpResponse("ok")

    async def scenario(url: str) -> list[str]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            waiting = asyncio.create_task(http.get("/api/wait"))
            await asyncio.sleep(0.2)
            released = await http.get("/api/release")
            return [(await waiting).text, released.text]

    with serve_in_thread(create_local_host(app)) as server:
        assert asyncio.run(scenario(server.url)) == ["released", "ok"]


# --- app lifecycle and indexing ----------------------------------------------


def test_shutdown_callbacks_are_awaited_in_order_even_if_one_fails() -> None:
    calls: list[str] = []

    async def first() -> None:
        await asyncio.sleep(0)
        calls.append("first")
        raise RuntimeError("close failed")

    async def second() -> None:
        await asyncio.sleep(0)
        calls.append("second")

    host = create_local_host(response_app(), on_shutdown=[first, second])
    with serve_in_thread(host) as server:
        assert httpx.get(f"{server.url}/api/plain-string").text == "hello"
        assert calls == []
    assert calls == ["first", "second"]


def test_the_app_can_still_be_indexed_after_the_local_host_read_it() -> None:
    app = routing_app()
    create_local_host(app)
    names = {f.get_function_name() for f in app.get_functions()}
    assert {"items_literal", "named_fn"} <= names


def test_non_http_functions_are_not_served() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
    def tick(timer: func.TimerRequest) -> None:
        pass  # pragma: no cover - never invoked

    @app.route(route="up")
    def up(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("up")

    assert [f.name for f in http_functions(app)] == ["up"]


@pytest.mark.parametrize(
    "route",
    [
        # What the app's routes never use is refused rather than served approximately.
        "x/{id:int}",
        "x/{id:guid}",
        "x/{name?}",
        "x/{lang=en}",
        "x/{name}.{ext}",
        "x/pre{id}",
        "x/{{literal}}",
        # Malformed in the Functions host too.
        "x/{*rest}/y",
        "x/{a}/{A}",
        "x/{id",
        "x/{a}{b}",
        "x/{}",
        "x//y",
    ],
)
def test_unsupported_or_invalid_route_templates_fail_at_startup(route: str) -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route=route)
    def bad(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("never")  # pragma: no cover

    with pytest.raises(RouteTemplateError, match="route"):
        create_local_host(app)


def test_the_apps_own_routes_are_all_supported() -> None:
    import function_app

    routes = {f.name: f.route for f in http_functions(function_app.app)}
    assert routes["payment"].endswith("/customerPayments/{paymentId}")
    assert routes["not_found"] == "api/{*path}"
