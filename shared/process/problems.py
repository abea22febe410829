"""RFC 9457 problem details: the vocabulary of every error the proxy returns
(slug, status, title), the problem itself, and how it is written as JSON (Business
Central's own error carried along, a long list of field errors capped). Business
Central's answers are mapped to problems in ``shared.upstream.errors``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    retryable: bool = False


_TYPES = (
    ProblemType("malformed-json", 400, "The request body is not a JSON object"),
    ProblemType("invalid-path-parameter", 400, "A path parameter is not valid"),
    ProblemType("invalid-if-match", 400, "The If-Match header is not an entity tag"),
    ProblemType("invalid-query-parameter", 400, "A query parameter is not valid"),
    ProblemType("unauthenticated", 401, "The caller is not authenticated"),
    ProblemType("forbidden", 403, "The caller may not perform this request"),
    ProblemType("not-found", 404, "Not found"),
    ProblemType("outcome-unknown", 409, "The update may or may not have been applied; see current"),
    ProblemType("etag-mismatch", 412, "The payment line changed since it was read"),
    ProblemType("payload-too-large", 413, "The request body is too large"),
    ProblemType("unsupported-media-type", 415, "The request body must be JSON"),
    ProblemType(
        "validation-failed", 422, "The request body is not a valid customer payment update"
    ),
    ProblemType("upstream-rejected", 422, "Business Central rejected the update"),
    # The application check: the customer or invoice an update names does not fit.
    ProblemType("customer-not-found", 422, "The customer does not exist in Business Central"),
    ProblemType("customer-blocked", 422, "The customer is blocked for payments"),
    ProblemType("invoice-not-found", 422, "The sales invoice does not exist in Business Central"),
    ProblemType("invoice-not-posted", 422, "The sales invoice is not posted"),
    ProblemType("invoice-fully-paid", 422, "Nothing is left to pay on the sales invoice"),
    ProblemType("invoice-customer-mismatch", 422, "The sales invoice belongs to another customer"),
    ProblemType(
        "invoice-currency-mismatch",
        422,
        "The sales invoice is in another currency than the payment",
    ),
    ProblemType(
        "idempotency-key-reused", 422, "This Idempotency-Key was used for a different request"
    ),
    ProblemType("precondition-required", 428, "An If-Match header is required"),
    ProblemType("upstream-throttled", 429, "Business Central is throttling requests", True),
    ProblemType("internal-error", 500, "The proxy failed unexpectedly"),
    ProblemType("proxy-misconfigured", 500, "The proxy is not configured correctly"),
    ProblemType(
        "upstream-auth-failed", 502, "Business Central did not accept the proxy's identity"
    ),
    ProblemType(
        "identity-unavailable", 502, "No token could be obtained for Business Central", True
    ),
    ProblemType("upstream-error", 502, "Business Central answered with an error", True),
    ProblemType("upstream-unavailable", 503, "Business Central is unavailable", True),
    ProblemType("upstream-timeout", 504, "Business Central did not answer in time", True),
)
PROBLEM_TYPES: dict[str, ProblemType] = {t.slug: t for t in _TYPES}


@dataclass(frozen=True)
class FieldError:
    """One property that breaks a rule: ``code`` is stable, ``message`` is for people.

    ``hint`` adds to the message only when it is read: a "did you mean"
    suggestion costs a fuzzy match, and a capped list never shows most errors.
    """

    field: str
    code: str
    text: str
    hint: Callable[[], str] | None = dataclass_field(default=None, compare=False, repr=False)

    @property
    def message(self) -> str:
        return self.text + (self.hint() if self.hint is not None else "")

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class UpstreamError:
    """What Business Central said, with its correlation id split off the message."""

    status: int
    code: str | None = None
    message: str | None = None
    correlation_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.code is not None:
            data["code"] = self.code
        if self.message is not None:
            data["message"] = self.message
        if self.correlation_id is not None:
            data["correlationId"] = self.correlation_id
        return data


class Problem(Exception):
    """An error answer; raise it anywhere in the core, render it in one place."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: tuple[FieldError, ...] = (),
        upstream: UpstreamError | None = None,
        retry_after: int | None = None,
        current: dict[str, Any] | None = None,
    ) -> None:
        if slug not in PROBLEM_TYPES:
            raise ValueError(f"unknown problem slug {slug!r}")
        super().__init__(f"{slug}: {detail}")
        self.type = PROBLEM_TYPES[slug]
        self.detail = detail
        self.errors = errors
        self.upstream = upstream
        self.retry_after = retry_after
        # The line as it is now, for an outcome the caller must judge itself.
        self.current = current
        # Headers the answer carries beside Retry-After (what a check could not do).
        self.headers: dict[str, str] = {}

    @property
    def slug(self) -> str:
        return self.type.slug

    @property
    def status(self) -> int:
        return self.type.status

    def as_json(self, docs_url: str, request_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{docs_url}#{self.slug}",
            "title": self.type.title,
            "status": self.status,
            "detail": self.detail,
            "requestId": request_id,
        }
        if self.errors:
            body["errors"] = capped_errors(self.errors)
        if self.upstream is not None:
            body["upstream"] = self.upstream.as_json()
        if self.current is not None:
            body["current"] = self.current
        return body


MAX_ERRORS = 100


def capped_errors(errors: tuple[FieldError, ...]) -> list[dict[str, str]]:
    """At most MAX_ERRORS entries, then one saying how many more there were:
    a body of a thousand unknown keys must not become a megabyte problem."""
    shown = [error.as_json() for error in errors[:MAX_ERRORS]]
    if len(errors) == MAX_ERRORS + 1 and errors[-1].code == "too_many_errors":
        # Checking already stopped at the cap and said so.
        shown.append(errors[-1].as_json())
    elif len(errors) > MAX_ERRORS:
        more = len(errors) - MAX_ERRORS
        shown.append(
            FieldError(
                "", "too_many_errors", f"{more} more problem{'s' if more != 1 else ''} not shown"
            ).as_json()
        )
    return shown
