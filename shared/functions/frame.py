"""The request frame, applied once to every route by the bindings, as a router
wraps each of its endpoints: the request's id and its telemetry record, the
settings, the admission (route, caller, query names, path ids, allow-lists),
and the one place where a use case's outcome becomes an answer. A
:class:`Problem` becomes problem+json; anything unexpected becomes ``500
internal-error``, logged with its traceback and the request id, never shown. No
request ever ends in a bare 500 from the host.

A use case receives what it needs (the admitted request, the settings, the
Business Central client) and fetches none of it. What each kind of route gets:

* :class:`CallerRoute`, the routes a caller is admitted to (payment lines, the
  lists, lookups, a bulk start): the admitted request, the settings and the
  client; one request record each.
* :class:`PublicRoute`, the routes anyone may call that need the settings (a
  bulk job's status, behind its own token; the OpenAPI document): the request
  and the settings.
* :class:`PlainRoute`, the routes that answer whatever the settings say (health,
  the problems page, unknown paths): the request alone.

A route is called with the core's request (``await handle_payment(request)``),
as the tests do; arguments after it go to the use case as they are (a bulk
route's Durable client). :func:`bind` registers a route on a Blueprint as the
function the host calls, which converts the host's request and answer around it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Generic, TypeVar, TypeVarTuple

import azure.durable_functions as df
import azure.functions as func

from shared.functions.convert import core_request, http_response
from shared.http.admit import Admitted, Received, admit, check_query_names
from shared.http.messages import CoreRequest, CoreResponse, problem_response, request_id_of
from shared.process import telemetry
from shared.process.problems import Problem
from shared.process.settings import Settings, SettingsError, current_settings
from shared.upstream.client import BusinessCentralClient
from shared.upstream.runtime import get_runtime

log = logging.getLogger(__name__)

Ts = TypeVarTuple("Ts")
Client = TypeVar("Client")

INTERNAL_ERROR_DETAIL = (
    "The proxy failed unexpectedly while handling this request. Nothing about the "
    "failure is shown here; quote the requestId when reporting it."
)


def settings_or_problem(request_id: str) -> Settings:
    """The settings, or ``proxy-misconfigured`` naming the bad ones (names only: a
    value could be a secret pasted into the wrong setting)."""
    try:
        return current_settings()
    except SettingsError as exc:
        log.error("request %s: invalid settings: %s", request_id, ", ".join(exc.names))
        raise Problem(
            "proxy-misconfigured",
            "The proxy's settings are incomplete or invalid: "
            + ", ".join(exc.names)
            + ". An administrator must fix the app settings.",
        ) from None


def _docs_url() -> str | None:
    """Where a problem's type points: the settings' page, or (settings unreadable)
    the page the request's host serves."""
    try:
        return current_settings().problems_url
    except SettingsError:
        return None


class _Frame(Generic[*Ts]):
    """The frame itself; each kind of route says what its use case receives."""

    def __init__(self, name: str, *, recorded: bool) -> None:
        # The route's name in its request record and in the log.
        self.name = name
        # Whether the request writes a record (the API's own routes write none: one
        # record per payment request, not per health probe).
        self.recorded = recorded

    def _start(
        self, request: CoreRequest, request_id: str, extra: tuple[*Ts]
    ) -> Awaitable[CoreResponse]:
        raise NotImplementedError

    async def __call__(self, request: CoreRequest, *extra: *Ts) -> CoreResponse:
        headers = request.headers
        request_id = request_id_of(headers)
        record, token = (
            telemetry.begin_record(request_id, self.name, request.method)
            if self.recorded
            else (None, None)
        )
        try:
            failure: Problem | None = None
            try:
                response = await self._start(request, request_id, extra)
            except Problem as problem:
                response = problem_response(problem, request_id, headers, _docs_url())
                failure = problem
            except Exception:
                log.exception("request %s: internal error in %s", request_id, self.name)
                failure = Problem("internal-error", INTERNAL_ERROR_DETAIL)
                response = problem_response(failure, request_id, headers, _docs_url())
            if record is not None:
                telemetry.emit(record, response.status, failure)
        finally:
            if token is not None:
                telemetry.end_record(token)
        return response


class CallerRoute(_Frame[*Ts]):
    """A route a caller is admitted to. ``query`` names the query parameters it
    takes (None: it reads none and ignores any, as a line's routes do: a connector
    may add its own); ``requires`` checks a setting the route cannot answer without,
    before the request itself is looked at."""

    def __init__(
        self,
        name: str,
        use_case: Callable[
            [Admitted, Settings, BusinessCentralClient, *Ts], Awaitable[CoreResponse]
        ],
        *,
        query: Collection[str] | None = None,
        requires: Callable[[Settings], object] | None = None,
    ) -> None:
        super().__init__(name, recorded=True)
        self.use_case = use_case
        self.query = query
        self.requires = requires

    def _start(
        self, request: CoreRequest, request_id: str, extra: tuple[*Ts]
    ) -> Awaitable[CoreResponse]:
        settings = settings_or_problem(request_id)
        if self.requires is not None:
            self.requires(settings)
        admitted = admit(settings, request, request_id, query=self.query)
        return self.use_case(admitted, settings, get_runtime().bc, *extra)


class PublicRoute(_Frame[*Ts]):
    """A route anyone may call that needs the settings; ``query`` as for a caller's."""

    def __init__(
        self,
        name: str,
        use_case: Callable[[Received, Settings, *Ts], Awaitable[CoreResponse]],
        *,
        query: Collection[str] | None = None,
        recorded: bool = True,
    ) -> None:
        super().__init__(name, recorded=recorded)
        self.use_case = use_case
        self.query = query

    def _start(
        self, request: CoreRequest, request_id: str, extra: tuple[*Ts]
    ) -> Awaitable[CoreResponse]:
        settings = settings_or_problem(request_id)
        if self.query is not None:
            check_query_names(request.query, self.query)
        return self.use_case(Received(request, request_id), settings, *extra)


class PlainRoute(_Frame[()]):
    """A route that answers whatever the settings say; it writes no record."""

    def __init__(self, name: str, use_case: Callable[[Received], Awaitable[CoreResponse]]) -> None:
        super().__init__(name, recorded=False)
        self.use_case = use_case

    def _start(
        self, request: CoreRequest, request_id: str, extra: tuple[()]
    ) -> Awaitable[CoreResponse]:
        return self.use_case(Received(request, request_id))


def bind(
    bp: df.Blueprint,
    function_name: str,
    route: str,
    methods: list[str] | None,
    auth_level: func.AuthLevel,
    handler: _Frame[()],
) -> None:
    """Register ``handler`` on ``bp`` as the HTTP function ``function_name``."""

    async def function(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await handler(core_request(req)))

    _register(bp, function_name, route, methods, auth_level, function)


def bind_with_client(
    bp: df.Blueprint,
    function_name: str,
    route: str,
    methods: list[str] | None,
    auth_level: func.AuthLevel,
    handler: _Frame[Client],
    wrap: Callable[[df.DurableOrchestrationClient], Client],
) -> None:
    """:func:`bind` for a route that works with the Durable client: the host hands it
    over, ``wrap`` makes what the use case takes of it."""

    async def function(
        req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        return http_response(await handler(core_request(req), wrap(client)))

    _register(
        bp,
        function_name,
        route,
        methods,
        auth_level,
        bp.durable_client_input(client_name="client")(function),
    )


def _register(
    bp: df.Blueprint,
    function_name: str,
    route: str,
    methods: list[str] | None,
    auth_level: func.AuthLevel,
    function: Callable[..., Awaitable[func.HttpResponse]],
) -> None:
    routed = bp.route(route=route, methods=methods, auth_level=auth_level)(function)
    bp.function_name(function_name)(routed)
