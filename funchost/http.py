"""A local stand-in for the Azure Functions host's HTTP layer.

The Functions host (Core Tools) is not needed to run the app on a developer
machine: :func:`create_local_host` turns the HTTP-triggered functions
registered on a ``FunctionApp`` or ``DFApp`` (the very object Azure indexes) into an ASGI
app served by uvicorn. It follows the host where callers can tell:

* routes are ``<routePrefix>/<route>`` with ``routePrefix`` from host.json
  (``extensions.http.routePrefix``, default ``api``); a function without a
  route is served under its function name;
* the route template features the app uses (:mod:`funchost.routes`):
  literal segments, ``{name}`` and a final catch-all ``{*name}``; literal
  segments match case-insensitively and a trailing slash is ignored. Other
  ASP.NET template features (constraints, optional or default values,
  complex segments) are refused at startup;
* precedence: literal segments beat parameters, which beat catch-alls; ties
  go to the order of registration;
* a request whose path or method matches no function gets 404 with an empty
  body, except the root ``/``: the host's own page there (200, HTML; this one
  lists the app's routes, Azure's names none), or 204 with
  ``AzureWebJobsDisableHomepage=true``. An exception raised by a function gets
  500 with an empty body (the traceback is logged here, never sent);
* route parameters are URL-decoded once; repeated request headers are joined
  with ", ", repeated query parameters with ",".

Given allowed origins, it applies CORS in front of every function as Core
Tools does with ``Host.CORS`` (see :mod:`funchost.cors`).

Like the Functions host run locally, it does NOT check function keys unless
given some: then, as in Azure, a function of auth level ``function`` or
``admin`` needs one of them in the ``x-functions-key`` header or the ``code``
query parameter, and answers 401 with an empty body without (the app never
sees the request). Without keys every auth level behaves as ``anonymous``.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, unquote

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger
from starlette.types import ASGIApp, Receive, Scope, Send

from funchost.asgi import BodyTooLarge, HostApp, read_body, send_response, server_origin
from funchost.cors import with_cors
from funchost.durable import DurableStandIn
from funchost.home import home_page
from funchost.indexing import indexed_functions
from funchost.invocation import HttpFunction, call_function
from funchost.keys import FunctionKeys
from funchost.routes import RouteTemplate

logger = logging.getLogger("funchost.http")

DEFAULT_ROUTE_PREFIX = "api"
# The Functions host refuses request bodies over 100 MB.
MAX_REQUEST_BYTES = 100 * 1024 * 1024

ShutdownCallback = Callable[[], Awaitable[None]]


class DurableExtension(Protocol):
    """What the local host needs from a Durable Functions stand-in
    (``funchost.durable.DurableStandIn``)."""

    functions: list[Any]  # the app's indexed functions, shared with the HTTP host

    def client_binding(self, origin: str) -> str: ...

    def webhooks(self, fallback: ASGIApp) -> ASGIApp: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


# --- functions --------------------------------------------------------------


def read_route_prefix(host_json: Path | None) -> str:
    """``extensions.http.routePrefix`` from host.json (``api`` when absent)."""
    if host_json is None:
        return DEFAULT_ROUTE_PREFIX
    data = json.loads(host_json.read_text(encoding="utf-8"))
    prefix = data.get("extensions", {}).get("http", {}).get("routePrefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(prefix, str):
        raise ValueError(f"{host_json}: extensions.http.routePrefix must be a string")
    return prefix.strip("/")


def http_functions(
    function_app: func.FunctionRegister,
    *,
    host_json: Path | None = None,
    indexed: Sequence[Any] | None = None,
) -> list[HttpFunction]:
    """The app's HTTP functions in matching order (most specific route first).

    ``indexed``: the app's functions when already indexed (by the Durable stand-in).
    """
    prefix = read_route_prefix(host_json)
    found: list[HttpFunction] = []
    for function in indexed if indexed is not None else indexed_functions(function_app):
        trigger = function.get_trigger()
        if not isinstance(trigger, HttpTrigger):
            continue  # orchestrations, timers, queues...: not served over HTTP
        name = str(function.get_function_name())
        route = (trigger.route if trigger.route is not None else name).strip("/")
        full = "/".join(part for part in (prefix, route) if part)
        methods = (
            None if trigger.methods is None else frozenset(str(m).upper() for m in trigger.methods)
        )
        level = trigger.auth_level if trigger.auth_level is not None else function_app.auth_level
        target = function.get_user_function()
        found.append(
            HttpFunction(
                name=name,
                route=full,
                methods=methods,
                auth_level=str(level).lower(),
                trigger_arg=str(trigger.name),
                user_function=target,
                template=RouteTemplate.parse(full),
                client_inputs=tuple(
                    str(b.name)
                    for b in function.get_bindings()
                    if str(getattr(b, "type", "")) == "durableClient"
                ),
                wants_context="context" in inspect.signature(target).parameters
                and str(trigger.name) != "context",
                is_async=inspect.iscoroutinefunction(target),
            )
        )
    # sorted() is stable: equal precedence keeps the order of registration.
    return sorted(found, key=lambda f: f.template.precedence)


# --- the ASGI app -------------------------------------------------------------


def _decoded_segments(raw_path: str) -> list[str]:
    segments = raw_path.lstrip("/").split("/")
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # ASP.NET routing ignores one trailing slash
    if segments == [""]:
        segments = []
    return [unquote(s) for s in segments]


def _join_duplicates(pairs: Sequence[tuple[str, str]], separator: str) -> dict[str, str]:
    # Names compare case-insensitively (as in ASP.NET); the first spelling is kept.
    plain = dict(pairs)
    listed = "\n".join(plain)
    if len(plain) == len(pairs) and listed == listed.lower():
        return plain  # the usual case (servers pass names in lower case): none repeats
    joined: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in pairs:
        names.setdefault(name.lower(), name)
        joined.setdefault(name.lower(), []).append(value)
    return {names[key]: separator.join(values) for key, values in joined.items()}


def _response_headers(response: func.HttpResponse) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    typed = False
    for name, value in response.headers.items():
        lower = str(name).lower()
        if lower in ("content-length", "transfer-encoding"):
            continue
        typed = typed or lower == "content-type"
        headers.append((str(name).encode("latin-1"), str(value).encode("latin-1")))
    if not typed:
        # The same default the Python worker applies before handing the response to the host.
        mimetype, charset = str(response.mimetype), str(response.charset)
        content_type = (
            f"{mimetype}; charset={charset}" if mimetype.startswith("text/") else mimetype
        )
        headers.append((b"Content-Type", content_type.encode("latin-1")))
    return headers


class _FunctionsEndpoint:
    def __init__(
        self,
        functions: Sequence[HttpFunction],
        durable: DurableExtension | None = None,
        keys: Sequence[str] = (),
        home: bytes | None = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self._functions = list(functions)
        self._durable = durable
        self._keys = FunctionKeys(keys)
        self._home = home  # None: the home page is turned off
        self._max_request_bytes = max_request_bytes
        # The functions a path of so many segments can match, in matching order.
        self._by_length: dict[int, list[HttpFunction]] = {}

    def _candidates(self, length: int) -> list[HttpFunction]:
        found = self._by_length.get(length)
        if found is None:
            found = [f for f in self._functions if f.template.can_match(length)]
            if length <= 64:  # a bound on what is kept, whatever paths arrive
                self._by_length[length] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope["path"])
        path = path.split("?", 1)[0]
        segments = _decoded_segments(path)
        folded = [segment.casefold() for segment in segments]
        method = str(scope["method"]).upper()
        for function in self._candidates(len(segments)):
            route_params = function.template.match(segments, folded)
            if route_params is None:
                continue
            if function.methods is not None and method not in function.methods:
                continue
            if not self._keys.admits(function.auth_level, scope):
                await send_response(send, scope, 401, [], b"")
                return
            try:
                body = await read_body(receive, self._max_request_bytes)
            except BodyTooLarge:
                await send_response(send, scope, 413, [], b"")
                return
            if body is None:
                return
            request = _to_request(scope, path, body, route_params)
            await self._invoke(function, request, scope, send)
            return
        if path == "/":
            # The host answers its root itself when no function is there.
            if self._home is None:
                await send_response(send, scope, 204, [], b"")
            else:
                html_type = [(b"content-type", b"text/html; charset=utf-8")]
                await send_response(send, scope, 200, html_type, self._home)
            return
        await send_response(send, scope, 404, [], b"")

    async def _invoke(
        self, function: HttpFunction, request: func.HttpRequest, scope: Scope, send: Send
    ) -> None:
        try:
            extra: dict[str, Any] = {}
            if function.client_inputs and self._durable is not None:
                binding = self._durable.client_binding(server_origin(scope))
                extra = dict.fromkeys(function.client_inputs, binding)
            result = await call_function(function, request, extra)
            if isinstance(result, func.HttpResponse):
                status, headers, body = (
                    int(result.status_code),
                    _response_headers(result),
                    bytes(result.get_body()),
                )
            elif isinstance(result, str | bytes):
                text = result.encode("utf-8") if isinstance(result, str) else result
                status, headers, body = 200, [(b"content-type", b"text/plain; charset=utf-8")], text
            else:
                raise TypeError(f"returned {type(result).__name__}, not an HttpResponse")
        except Exception:
            logger.exception("function %s failed", function.name)
            await send_response(send, scope, 500, [], b"")
            return
        await send_response(send, scope, status, headers, body)


def _to_request(
    scope: Scope, raw_path: str, body: bytes, route_params: Mapping[str, str]
) -> func.HttpRequest:
    headers = _join_duplicates(
        [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
        ", ",
    )
    query = scope.get("query_string", b"").decode("latin-1")
    params = _join_duplicates(parse_qsl(query, keep_blank_values=True), ",") if query else {}
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    url = f"{scope.get('scheme', 'http')}://{host}{raw_path}" + (f"?{query}" if query else "")
    return func.HttpRequest(
        str(scope["method"]).upper(),
        url,
        headers=headers,
        params=params,
        route_params=dict(route_params),
        body=body,
    )


def create_local_host(
    function_app: func.FunctionRegister,
    *,
    host_json: Path | None = None,
    on_shutdown: Sequence[ShutdownCallback] = (),
    durable: DurableExtension | None = None,
    cors_origins: Sequence[str] = (),
    function_keys: Sequence[str] = (),
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> HostApp:
    """An ASGI app serving ``function_app``'s HTTP functions like the Functions host.

    ``on_shutdown`` callbacks are awaited in order when the server stops (ASGI
    lifespan), e.g. to close the app's per-process HTTP client; one failing
    does not keep the others from running. ``cors_origins`` (see
    :func:`funchost.cors.with_cors`) turns on CORS as Core Tools' ``Host.CORS``
    does; empty, no CORS header is ever sent.

    ``durable``: a Durable Functions stand-in (``funchost.durable.DurableStandIn``
    built on the same app); it runs the orchestrations, serves its webhook API
    here and gives Durable client bindings to the functions that declare one.
    An app with Durable functions gets one on the wall clock when none is given.

    ``function_keys``: keys that open the ``function`` and ``admin`` level routes, as
    the host's keys do in Azure; empty, no key is asked for (Core Tools' behaviour).
    A body over ``max_request_bytes`` is answered 413 with no body, as the host does
    over 100 MB, and never reaches a function.
    """
    if durable is None:
        indexed = indexed_functions(function_app)
        if any(_uses_durable(f) for f in indexed):
            durable = DurableStandIn(function_app, indexed=indexed)
    else:
        indexed = durable.functions
    functions = http_functions(function_app, host_json=host_json, indexed=indexed)
    callbacks = tuple(on_shutdown) + ((durable.shutdown,) if durable is not None else ())

    async def startup() -> None:
        if durable is not None:
            await durable.startup()

    async def shutdown() -> None:
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                logger.exception("shutdown callback %r failed", callback)

    # Every path goes to the function router, whatever it contains (a path with an
    # encoded line break too).
    home = home_page(functions, read_route_prefix(host_json), os.environ)
    endpoint = _FunctionsEndpoint(functions, durable, function_keys, home, max_request_bytes)
    served = with_cors(endpoint, cors_origins, (f.methods for f in functions))
    # The webhook API is for the SDK's client, not for browsers: no CORS there.
    app = HostApp(durable.webhooks(served) if durable is not None else served, startup, shutdown)
    app.state.functions = functions
    app.state.durable = durable
    app.state.checks_keys = bool(function_keys)
    return app


def _uses_durable(function: Any) -> bool:
    kinds = {str(getattr(b, "type", "")) for b in function.get_bindings()}
    return bool(
        kinds & {"orchestrationTrigger", "activityTrigger", "entityTrigger", "durableClient"}
    )
