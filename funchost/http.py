"""A local stand-in for the Azure Functions host's HTTP layer.

The Functions host (Core Tools) is not needed to run the app on a developer
machine: :func:`create_local_host` turns the HTTP-triggered functions
registered on a ``FunctionApp`` or ``DFApp`` (the very object Azure indexes) into an ASGI
app served by uvicorn. It follows the host where callers can tell:

* routes are ``<routePrefix>/<route>`` with ``routePrefix`` from host.json
  (``extensions.http.routePrefix``, default ``api``); a function without a
  route is served under its function name;
* ASP.NET route templates: ``{name}``, optional ``{name?}``, defaults
  ``{name=value}``, catch-all ``{*name}``, constraints such as ``:guid``,
  ``:int``, ``:alpha``, ``:regex(...)`` (chained with ``:``); literal
  segments match case-insensitively and a trailing slash is ignored;
* precedence: literal segments beat constrained parameters, which beat plain
  parameters, which beat catch-alls; ties go to the order of registration;
* a request whose path or method matches no function gets 404 with an empty
  body; an exception raised by a function gets 500 with an empty body (the
  traceback is logged here, never sent);
* route parameters are URL-decoded once; repeated request headers are joined
  with ", ", repeated query parameters with ",".

Like the Functions host run locally, it does NOT check function keys: every
auth level behaves as ``anonymous``. In Azure the same functions are served
by the real host, which does.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, unquote

import azure.functions as func
from azure.functions._abc import TraceContext  # not re-exported by the package
from azure.functions.decorators.http import HttpTrigger
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

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


class RouteTemplateError(ValueError):
    """A route template the Functions host would refuse at startup."""


# --- route templates -------------------------------------------------------


def _check_int(value: str, low: int, high: int) -> bool:
    text = value.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return False
    return low <= int(text) <= high


def _as_int(value: str) -> int | None:
    text = value.strip()
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None


def _is_decimal(value: str) -> bool:
    if not re.fullmatch(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", value):
        return False
    try:
        Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern already excludes these
        return False
    return True


_GUID_RE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # D
    r"|[0-9a-f]{32}"  # N
    r"|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}"  # B
    r"|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)",  # P
    re.IGNORECASE,
)

Constraint = Callable[[str], bool]


def _numbers(args: str, count: int, name: str) -> list[int]:
    parts = [p.strip() for p in args.split(",")]
    if len(parts) != count or not all(re.fullmatch(r"-?[0-9]+", p) for p in parts):
        raise RouteTemplateError(f"constraint {name}({args}) needs {count} integer argument(s)")
    return [int(p) for p in parts]


def _constraint(text: str) -> Constraint:
    """Build the check for one inline constraint (ASP.NET's built-in set)."""
    match = re.fullmatch(r"([A-Za-z]+)(?:\((.*)\))?", text, re.DOTALL)
    if match is None:
        raise RouteTemplateError(f"invalid route constraint {text!r}")
    name, args = match.group(1).lower(), match.group(2)
    simple: dict[str, Constraint] = {
        "int": lambda v: _check_int(v, -(2**31), 2**31 - 1),
        "long": lambda v: _check_int(v, -(2**63), 2**63 - 1),
        "bool": lambda v: v.strip().lower() in ("true", "false"),
        "guid": lambda v: _GUID_RE.fullmatch(v.strip()) is not None,
        "alpha": lambda v: re.fullmatch(r"[a-z]*", v, re.IGNORECASE) is not None,
        "decimal": _is_decimal,
        "double": _is_decimal,
        "float": _is_decimal,
        "required": lambda v: v != "",
    }
    if name in simple and args is None:
        return simple[name]
    if args is None:
        raise RouteTemplateError(f"unknown route constraint {text!r}")
    if name == "regex":
        try:
            # ASP.NET applies these case-insensitively and unanchored.
            pattern = re.compile(args, re.IGNORECASE)
        except re.error as exc:
            raise RouteTemplateError(f"invalid regex constraint {args!r}: {exc}") from exc
        return lambda v: pattern.search(v) is not None
    if name in ("minlength", "maxlength", "min", "max"):
        (n,) = _numbers(args, 1, name)
        checks: dict[str, Constraint] = {
            "minlength": lambda v: len(v) >= n,
            "maxlength": lambda v: len(v) <= n,
            "min": lambda v: (i := _as_int(v)) is not None and i >= n,
            "max": lambda v: (i := _as_int(v)) is not None and i <= n,
        }
        return checks[name]
    if name == "length":
        bounds = _numbers(args, 2 if "," in args else 1, name)
        low, high = (bounds[0], bounds[-1])
        return lambda v: low <= len(v) <= high
    if name == "range":
        low, high = _numbers(args, 2, name)
        return lambda v: (i := _as_int(v)) is not None and low <= i <= high
    raise RouteTemplateError(f"unknown route constraint {text!r}")


@dataclass(frozen=True)
class _Param:
    name: str
    optional: bool = False
    catch_all: bool = False
    default: str | None = None
    constraints: tuple[Constraint, ...] = ()

    def accepts(self, value: str) -> bool:
        return all(check(value) for check in self.constraints)


@dataclass(frozen=True)
class _Segment:
    parts: tuple[str | _Param, ...]
    pattern: re.Pattern[str] | None = None  # only for segments mixing literals and params

    @property
    def single_param(self) -> _Param | None:
        if len(self.parts) == 1 and isinstance(self.parts[0], _Param):
            return self.parts[0]
        return None

    @property
    def precedence(self) -> int:
        # ASP.NET's inbound precedence digit: lower matches first.
        if len(self.parts) > 1:
            return 2
        part = self.parts[0]
        if isinstance(part, str):
            return 1
        digit = 5 if part.catch_all else 3
        return digit - 1 if part.constraints else digit


def _split_constraints(text: str) -> list[str]:
    """Split ``int:min(1):regex(a:b)`` on colons outside parentheses."""
    pieces: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if char == ":" and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _parse_param(text: str, template: str) -> _Param:
    catch_all = text.startswith("*")
    body = text.lstrip("*")
    optional = body.endswith("?")
    if optional:
        body = body[:-1]
    name_match = re.match(r"[^:=?]+", body)
    if name_match is None:
        raise RouteTemplateError(f"empty parameter name in route {template!r}")
    name = name_match.group(0)
    rest = body[len(name) :]
    default: str | None = None
    # A default is the text after an '=' that sits outside any constraint's parentheses.
    depth = 0
    for index, char in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "=" and depth == 0:
            rest, default = rest[:index], rest[index + 1 :]
            break
    constraints: tuple[Constraint, ...] = ()
    if rest:
        if not rest.startswith(":"):
            raise RouteTemplateError(f"invalid parameter {{{text}}} in route {template!r}")
        constraints = tuple(_constraint(c) for c in _split_constraints(rest[1:]))
    if catch_all and optional:
        raise RouteTemplateError(f"a catch-all parameter cannot be optional: {template!r}")
    if optional and default is not None:
        raise RouteTemplateError(f"an optional parameter cannot have a default: {template!r}")
    return _Param(name, optional, catch_all, default, constraints)


def _parse_segment(text: str, template: str) -> _Segment:
    parts: list[str | _Param] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("{{", index) or text.startswith("}}", index):
            literal.append(char)
            index += 2
        elif char == "{":
            if literal:
                parts.append("".join(literal))
                literal = []
            inner: list[str] = []
            index += 1
            while True:
                if index >= len(text):
                    raise RouteTemplateError(f"unclosed '{{' in route {template!r}")
                if text.startswith("}}", index) or text.startswith("{{", index):
                    inner.append(text[index])  # an escaped brace inside a regex
                    index += 2
                elif text[index] == "}":
                    index += 1
                    break
                elif text[index] == "{":
                    raise RouteTemplateError(f"unescaped '{{' inside a parameter: {template!r}")
                else:
                    inner.append(text[index])
                    index += 1
            parts.append(_parse_param("".join(inner), template))
        elif char == "}":
            raise RouteTemplateError(f"unmatched '}}' in route {template!r}")
        else:
            literal.append(char)
            index += 1
    if literal:
        parts.append("".join(literal))
    if not parts:
        raise RouteTemplateError(f"empty segment in route {template!r}")
    if len(parts) == 1:
        return _Segment(tuple(parts))
    for first, second in itertools.pairwise(parts):
        if isinstance(first, _Param) and isinstance(second, _Param):
            raise RouteTemplateError(f"two parameters need a literal between them: {template!r}")
    if any(isinstance(p, _Param) and (p.catch_all or p.optional) for p in parts):
        raise RouteTemplateError(f"unsupported parameter in a complex segment: {template!r}")
    regex = "".join(
        re.escape(p) if isinstance(p, str) else f"(?P<p{i}>.+?)" for i, p in enumerate(parts)
    )
    return _Segment(tuple(parts), re.compile(regex, re.IGNORECASE | re.DOTALL))


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed ASP.NET route template (prefix included)."""

    text: str
    segments: tuple[_Segment, ...]

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        stripped = text.strip("/")
        segments = tuple(_parse_segment(s, text) for s in stripped.split("/")) if stripped else ()
        names: set[str] = set()
        for position, segment in enumerate(segments):
            for part in segment.parts:
                if isinstance(part, _Param):
                    if part.name.lower() in names:
                        raise RouteTemplateError(f"parameter {part.name!r} repeated in {text!r}")
                    names.add(part.name.lower())
                    if part.catch_all and position != len(segments) - 1:
                        raise RouteTemplateError(f"catch-all must be the last segment: {text!r}")
        # Only trailing segments may be left out of a request path.
        seen_optional = False
        for segment in segments:
            param = segment.single_param
            skippable = param is not None and (
                param.optional or param.catch_all or param.default is not None
            )
            if seen_optional and not skippable:
                raise RouteTemplateError(f"an optional parameter must be at the end: {text!r}")
            seen_optional = seen_optional or skippable
        return cls(text, segments)

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(segment.precedence for segment in self.segments)

    def match(self, path_segments: Sequence[str]) -> dict[str, str] | None:
        """Route values for decoded path segments, or None when it does not match."""
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            param = segment.single_param
            if param is not None and param.catch_all:
                rest = "/".join(path_segments[index:])
                if rest:
                    if not param.accepts(rest):
                        return None
                    values[param.name] = rest
                return values
            if index >= len(path_segments):
                if param is None or not (param.optional or param.default is not None):
                    return None
                if param.default is not None:
                    values[param.name] = param.default
                continue
            value = path_segments[index]
            if param is not None:
                if value == "" or not param.accepts(value):
                    return None
                values[param.name] = value
            elif segment.pattern is None:
                literal = segment.parts[0]
                assert isinstance(literal, str)
                if value.casefold() != literal.casefold():
                    return None
            else:
                found = segment.pattern.fullmatch(value)
                if found is None:
                    return None
                for i, part in enumerate(segment.parts):
                    if isinstance(part, _Param):
                        captured = found.group(f"p{i}")
                        if not part.accepts(captured):
                            return None
                        values[part.name] = captured
        if len(path_segments) > len(self.segments):
            return None
        return values


# --- functions --------------------------------------------------------------


@dataclass(frozen=True)
class HttpFunction:
    """One HTTP-triggered function as the local host serves it."""

    name: str
    route: str  # the full template, route prefix included, no leading slash
    methods: frozenset[str] | None  # None: every method
    auth_level: str
    trigger_arg: str
    user_function: Callable[..., Any] = field(repr=False, compare=False)
    template: RouteTemplate = field(repr=False, compare=False)
    # Parameters bound to a Durable client (``@app.durable_client_input``).
    client_inputs: tuple[str, ...] = ()


def read_route_prefix(host_json: Path | None) -> str:
    """``extensions.http.routePrefix`` from host.json (``api`` when absent)."""
    if host_json is None:
        return DEFAULT_ROUTE_PREFIX
    data = json.loads(host_json.read_text(encoding="utf-8"))
    prefix = data.get("extensions", {}).get("http", {}).get("routePrefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(prefix, str):
        raise ValueError(f"{host_json}: extensions.http.routePrefix must be a string")
    return prefix.strip("/")


def _indexed_functions(function_app: func.FunctionRegister) -> list[Any]:
    # get_functions() records the names it has seen and refuses to run twice on
    # one app (it would report every name as a duplicate); indexing must leave
    # the app as it found it so that the worker or a test can index it too.
    seen = function_app.functions_bindings
    function_app.functions_bindings = None
    try:
        return list(function_app.get_functions())
    finally:
        function_app.functions_bindings = seen


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
    for function in indexed if indexed is not None else _indexed_functions(function_app):
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
        found.append(
            HttpFunction(
                name=name,
                route=full,
                methods=methods,
                auth_level=str(level).lower(),
                trigger_arg=str(trigger.name),
                user_function=function.get_user_function(),
                template=RouteTemplate.parse(full),
                client_inputs=tuple(
                    str(b.name)
                    for b in function.get_bindings()
                    if str(getattr(b, "type", "")) == "durableClient"
                ),
            )
        )
    # sorted() is stable: equal precedence keeps the order of registration.
    return sorted(found, key=lambda f: f.template.precedence)


# --- invocation context -------------------------------------------------------


class _TraceContext(TraceContext):
    def __init__(self, trace_parent: str, trace_state: str) -> None:
        self._parent, self._state = trace_parent, trace_state

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def trace_state(self) -> str:
        return self._state

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _Context(func.Context):
    """What a function declaring a ``context`` parameter receives."""

    def __init__(self, function_name: str, trace: _TraceContext) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._trace = trace
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return str(Path.cwd())

    @property
    def trace_context(self) -> _TraceContext:
        return self._trace

    @property
    def retry_context(self) -> Any:
        return None  # HTTP triggers have no retry policy


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
    joined: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in pairs:
        names.setdefault(name.lower(), name)
        joined.setdefault(name.lower(), []).append(value)
    return {names[key]: separator.join(values) for key, values in joined.items()}


def _response_headers(response: func.HttpResponse) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[str, str]] = [
        (str(name), str(value))
        for name, value in response.headers.items()
        if str(name).lower() not in ("content-length", "transfer-encoding")
    ]
    if not any(name.lower() == "content-type" for name, _ in headers):
        # The same default the Python worker applies before handing the response to the host.
        mimetype, charset = str(response.mimetype), str(response.charset)
        content_type = (
            f"{mimetype}; charset={charset}" if mimetype.startswith("text/") else mimetype
        )
        headers.append(("Content-Type", content_type))
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]


class _FunctionsEndpoint:
    def __init__(
        self, functions: Sequence[HttpFunction], durable: DurableExtension | None = None
    ) -> None:
        self._functions = list(functions)
        self._durable = durable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope["path"])
        path = path.split("?", 1)[0]
        segments = _decoded_segments(path)
        method = str(scope["method"]).upper()
        for function in self._functions:
            route_params = function.template.match(segments)
            if route_params is None:
                continue
            if function.methods is not None and method not in function.methods:
                continue
            body = await _read_body(receive)
            if body is None:
                return
            request = _to_request(scope, path, body, route_params)
            await self._invoke(function, request, scope, send)
            return
        await _send(send, scope, 404, [], b"")

    async def _invoke(
        self, function: HttpFunction, request: func.HttpRequest, scope: Scope, send: Send
    ) -> None:
        try:
            extra: dict[str, Any] = {}
            if function.client_inputs and self._durable is not None:
                binding = self._durable.client_binding(_origin(scope))
                extra = dict.fromkeys(function.client_inputs, binding)
            result = await _call(function, request, extra)
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
            await _send(send, scope, 500, [], b"")
            return
        await _send(send, scope, status, headers, body)


def _origin(scope: Scope) -> str:
    # The address the host listens on, as the Durable extension's rpcBaseUrl is.
    server = scope.get("server") or ("127.0.0.1", 80)
    host = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
    return f"{scope.get('scheme', 'http')}://{host}:{server[1]}"


async def _call(
    function: HttpFunction, request: func.HttpRequest, extra: Mapping[str, Any] | None = None
) -> Any:
    target = function.user_function
    kwargs: dict[str, Any] = {function.trigger_arg: request, **(extra or {})}
    if "context" in inspect.signature(target).parameters and function.trigger_arg != "context":
        trace = _TraceContext(
            request.headers.get("traceparent", ""), request.headers.get("tracestate", "")
        )
        kwargs["context"] = _Context(function.name, trace)
    if inspect.iscoroutinefunction(target):
        return await target(**kwargs)
    # The Python worker runs synchronous functions on a thread pool.
    result = await asyncio.to_thread(target, **kwargs)
    return await result if inspect.isawaitable(result) else result


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None if the client went away before sending it all
    (the Functions host never invokes a function with a cut-off body)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _to_request(
    scope: Scope, raw_path: str, body: bytes, route_params: Mapping[str, str]
) -> func.HttpRequest:
    header_pairs = [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
    ]
    headers = _join_duplicates(header_pairs, ", ")
    query = scope.get("query_string", b"").decode("latin-1")
    params = _join_duplicates(parse_qsl(query, keep_blank_values=True), ",")
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


async def _send(
    send: Send, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    if status < 200 or status in (204, 304):
        body = b""  # these statuses carry no body
    else:
        headers = [*headers, (b"content-length", str(len(body)).encode("ascii"))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_local_host(
    function_app: func.FunctionRegister,
    *,
    host_json: Path | None = None,
    on_shutdown: Sequence[ShutdownCallback] = (),
    durable: DurableExtension | None = None,
) -> Starlette:
    """An ASGI app serving ``function_app``'s HTTP functions like the Functions host.

    ``on_shutdown`` callbacks are awaited in order when the server stops (ASGI
    lifespan), e.g. to close the app's per-process HTTP client; one failing
    does not keep the others from running.

    ``durable``: a Durable Functions stand-in (``funchost.durable.DurableStandIn``
    built on the same app); it runs the orchestrations, serves its webhook API
    here and gives Durable client bindings to the functions that declare one.
    An app with Durable functions gets one on the wall clock when none is given.
    """
    if durable is None:
        indexed = _indexed_functions(function_app)
        if any(_uses_durable(f) for f in indexed):
            from funchost.durable import DurableStandIn  # it builds on this module

            durable = DurableStandIn(function_app, indexed=indexed)
    else:
        indexed = durable.functions
    functions = http_functions(function_app, host_json=host_json, indexed=indexed)
    callbacks = tuple(on_shutdown) + ((durable.shutdown,) if durable is not None else ())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if durable is not None:
            await durable.startup()
        yield
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                logger.exception("shutdown callback %r failed", callback)

    app = Starlette(lifespan=lifespan, max_body_size=MAX_REQUEST_BYTES)
    # Every path goes to the function router, whatever it contains: Starlette's
    # own path patterns would not match a path with an encoded line break.
    endpoint = _FunctionsEndpoint(functions, durable)
    app.router.default = durable.webhooks(endpoint) if durable is not None else endpoint
    app.state.functions = functions
    app.state.durable = durable
    return app


def _uses_durable(function: Any) -> bool:
    kinds = {str(getattr(b, "type", "")) for b in function.get_bindings()}
    return bool(
        kinds & {"orchestrationTrigger", "activityTrigger", "entityTrigger", "durableClient"}
    )
