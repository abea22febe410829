"""What every protected route does around its own work: settings, request id,
route and caller checks, one place where a problem becomes the answer, and
one log line per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping

from shared.callers import check_caller
from shared.http import CoreRequest, CoreResponse, problem_response, request_id_of
from shared.parsing import check_route
from shared.payments import shown
from shared.problems import Problem
from shared.runtime import current_settings
from shared.settings import Settings, SettingsError

log = logging.getLogger(__name__)

Work = Callable[[Settings, str], Awaitable[CoreResponse]]

# The function key may always come as ?code=; the Functions host reads it first.
FUNCTION_KEY_PARAMETER = "code"


def settings_or_problem(request_id: str) -> Settings:
    try:
        return current_settings()
    except SettingsError as exc:
        # Names only: a value could be a secret pasted into the wrong setting.
        log.error("request %s: invalid settings: %s", request_id, ", ".join(exc.names))
        raise Problem(
            "proxy-misconfigured",
            "The proxy's settings are incomplete or invalid: "
            + ", ".join(exc.names)
            + ". An administrator must fix the app settings.",
        ) from None


async def answer(request: CoreRequest, what: str, work: Work) -> CoreResponse:
    """Run ``work`` for a protected route; any problem raised is the answer."""
    headers = request.headers
    request_id = request_id_of(headers)
    started = time.monotonic()
    docs_url = None
    try:
        settings = settings_or_problem(request_id)
        docs_url = settings.problem_docs_url
        check_route(request.route_params)
        check_caller(settings, headers)
        response = await work(settings, request_id)
        outcome = response.status
    except Problem as problem:
        response = problem_response(problem, request_id, headers, docs_url)
        outcome = problem.status
        if problem.upstream is not None:
            log.info(
                "request %s: problem %s (upstream %s %s, correlation %s)",
                request_id,
                problem.slug,
                problem.upstream.status,
                problem.upstream.code,
                problem.upstream.correlation_id,
            )
    log.info(
        "request %s: %s %s answered %s in %.0f ms",
        request_id,
        request.method.upper(),
        what,
        outcome,
        (time.monotonic() - started) * 1000,
    )
    return response


def check_query_names(query: Mapping[str, str], allowed: Collection[str]) -> None:
    """400 naming the first query parameter the route does not take."""
    for name in query:
        if name != FUNCTION_KEY_PARAMETER and name not in allowed:
            accepted = ", ".join(sorted(allowed)) or "none"
            raise Problem(
                "invalid-query-parameter",
                f'This route does not take the query parameter "{shown(name)}" '
                f"(accepted: {accepted}).",
            )
