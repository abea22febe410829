"""The one place where a use case's outcome becomes an HTTP answer.

Every handler runs through :func:`handle`: settings are read, the use case
runs, a :class:`Problem` becomes problem+json, and anything unexpected
becomes ``500 internal-error`` (logged with its traceback and the request id,
never shown). No request ever ends in a bare 500 from the host.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from shared.http.messages import CoreRequest, CoreResponse, problem_response, request_id_of
from shared.process import telemetry
from shared.process.problems import Problem
from shared.process.settings import Settings, SettingsError, current_settings

log = logging.getLogger(__name__)

UseCase = Callable[[Settings, CoreRequest, str], Awaitable[CoreResponse]]

INTERNAL_ERROR_DETAIL = (
    "The proxy failed unexpectedly while handling this request. Nothing about the "
    "failure is shown here; quote the requestId when reporting it."
)


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


async def handle(request: CoreRequest, use_case: UseCase, *, name: str) -> CoreResponse:
    """Run ``use_case`` and render whatever it ends with."""
    headers = request.headers
    request_id = request_id_of(headers)
    docs_url: str | None = None
    # One record per request, filled on the way down, written once (shared.process.telemetry).
    record, token = telemetry.begin_record(request_id, name, request.method)
    try:
        failure: Problem | None = None
        try:
            settings = settings_or_problem(request_id)
            docs_url = settings.problems_url
            response = await use_case(settings, request, request_id)
        except Problem as problem:
            response = problem_response(problem, request_id, headers, docs_url)
            failure = problem
        except Exception:
            log.exception("request %s: internal error in %s", request_id, name)
            failure = Problem("internal-error", INTERNAL_ERROR_DETAIL)
            response = problem_response(failure, request_id, headers, docs_url)
        telemetry.emit(record, response.status, failure)
    finally:
        telemetry.end_record(token)
    return response
