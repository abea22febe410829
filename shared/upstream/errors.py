"""Business Central's errors: its error body read (code, message, correlation id,
secrets redacted), each answer it refuses mapped to the proxy's problem, and the
two ways an attempt ends without an answer (:class:`NotSent`: certainly not
applied; :class:`OutcomeLost`: maybe applied)."""

from __future__ import annotations

import re

from shared.payment.settlement import UNKNOWN_OUTCOME_DETAIL
from shared.process.guids import GUID
from shared.process.jsonio import JsonBodyError, loads_exact
from shared.process.logsafety import redact
from shared.process.problems import Problem, UpstreamError


class NotSent(Exception):
    """Nothing reached Business Central (no slot or time left, no connection,
    no token): certainly not applied, safe to send again."""

    def __init__(self, problem: Problem, reason: str) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason


class OutcomeLost(Exception):
    """The request was sent but no readable answer came back (dropped
    connection, read timeout, undecodable body): a write may have happened."""

    def __init__(self, problem: Problem, reason: str) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason


NO_TIME_DETAIL = (
    "Too many requests are waiting for Business Central to start this one in the time "
    "left; nothing was sent. Retry after the time in Retry-After."
)


def no_time(reason: str) -> NotSent:
    return NotSent(Problem("upstream-throttled", NO_TIME_DETAIL), reason)


def identity_problem() -> Problem:
    return Problem(
        "identity-unavailable",
        "The proxy could not obtain a token from its managed identity. Check that the "
        "function app has a managed identity and that AZURE_CLIENT_ID names it.",
    )


_CORRELATION_RE = re.compile(rf"\s*CorrelationId:\s*({GUID})\.?\s*$")


_MAX_UPSTREAM_MESSAGE = 1000


_NOT_FOUND_CODES = {
    "BadRequest_NotFound",
    "BadRequest_ResourceNotFound",
    "Internal_RecordNotFound",
    "Internal_CompanyNotFound",
    "Internal_DataNotFoundFilter",
}


AUTH_FAILED_DETAIL = (
    "Business Central refused the proxy's own token (HTTP {status}). The app's managed "
    "identity is not set up in Business Central: give it the API.ReadWrite.All application "
    "permission of Dynamics 365 Business Central, then register its client id on the "
    '"Microsoft Entra Applications" page in Business Central with state Enabled and a '
    "permission set that allows editing customer payment journals."
)


READ_TIMEOUT_DETAIL = (
    "Business Central did not answer the read in time. Nothing was changed; retry the GET."
)


def parse_upstream_error(status: int, body: bytes) -> UpstreamError | None:
    """Read BC's ``{"error": {"code", "message"}}``; None when the body is not that."""
    try:
        data = loads_exact(body) if body else None
    except JsonBodyError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return None
    error = data["error"]
    code = error.get("code")
    message = error.get("message")
    if not isinstance(code, str) or (message is not None and not isinstance(message, str)):
        return None
    correlation_id = None
    if message is not None:
        match = _CORRELATION_RE.search(message)
        if match:
            correlation_id = match.group(1)
            message = message[: match.start()].rstrip()
        message = redact(message)[:_MAX_UPSTREAM_MESSAGE]
    return UpstreamError(status, redact(code)[:200], message, correlation_id)


def problem_from_upstream(status: int, body: bytes, *, if_match_sent: bool) -> Problem:
    """Map a Business Central error answer (any status >= 300) to a problem."""
    error = parse_upstream_error(status, body)
    upstream = error or UpstreamError(status)
    code = error.code if error else None
    said = f": {error.message}" if error and error.message else ""

    if status == 412 or (status == 409 and code == "Request_EntityChanged"):
        return Problem(
            "etag-mismatch",
            "The payment line was changed by someone else since you read it. GET the line "
            "again for its current ETag and values, then retry with that ETag in If-Match.",
            upstream=upstream,
        )
    if status == 400 and code == "BadRequest_InvalidToken" and if_match_sent:
        return Problem(
            "etag-mismatch",
            "Business Central could not validate the ETag sent in If-Match. GET the line "
            "for its current ETag and retry with it.",
            upstream=upstream,
        )
    if status in (401, 403):
        return Problem(
            "upstream-auth-failed", AUTH_FAILED_DETAIL.format(status=status), upstream=upstream
        )
    if status == 404 or code in _NOT_FOUND_CODES:
        return Problem(
            "not-found",
            "Business Central has no such company, journal or payment line" + said,
            upstream=upstream,
        )
    if error is not None and status in (400, 409):
        return Problem(
            "upstream-rejected", "Business Central rejected the update" + said, upstream=upstream
        )
    if status == 429:
        return Problem(
            "upstream-throttled",
            "Business Central is throttling the proxy; retry after the time in Retry-After",
            upstream=upstream,
        )
    if status == 503:
        return Problem(
            "upstream-unavailable",
            "Business Central is unavailable; retry after the time in Retry-After",
            upstream=upstream,
        )
    if status in (408, 504):
        detail = UNKNOWN_OUTCOME_DETAIL if if_match_sent else READ_TIMEOUT_DETAIL
        return Problem("upstream-timeout", detail, upstream=upstream)
    return Problem(
        "upstream-error",
        f"Business Central answered HTTP {status}"
        + (said if error else " with a body that is not its error format"),
        upstream=upstream,
    )
