"""The upstream client: builds Business Central URLs from settings and
validated ids only, and sends one request with the proxy's own token."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import httpx

from shared.identity import IdentityUnavailable, TokenProvider
from shared.payments import ApiVersion
from shared.problems import (
    UNKNOWN_OUTCOME_DETAIL,
    Problem,
    parse_upstream_error,
    problem_from_upstream,
)
from shared.resilience import (
    RETRY_STATUSES,
    UNKNOWN_OUTCOME_STATUSES,
    Budget,
    RetryPolicy,
    parse_retry_after,
    retry_after_header,
)
from shared.settings import GUID_RE, Settings
from shared.telemetry import note_upstream_attempt, outgoing_traceparent

log = logging.getLogger(__name__)

Method = Literal["GET", "PATCH"]


@dataclass(frozen=True)
class PaymentRef:
    """A payment line's address; ids are validated GUIDs, stored lower-case."""

    version: ApiVersion
    company_id: str
    journal_id: str
    payment_id: str

    def __post_init__(self) -> None:
        for value in (self.company_id, self.journal_id, self.payment_id):
            if not GUID_RE.match(value):
                raise ValueError("payment references hold GUIDs only")


@dataclass(frozen=True)
class ForwardHeaders:
    """What the caller may pass through, each already checked."""

    request_id: str
    if_match: str | None = None
    accept_language: str | None = None
    traceparent: str | None = None


def http_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One pooled client per worker process; explicit timeouts everywhere."""
    timeout = httpx.Timeout(
        connect=settings.bc_connect_timeout_s,
        read=settings.bc_read_timeout_s,
        write=settings.bc_read_timeout_s,
        pool=settings.sync_budget_s,
    )
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    # Never follow redirects: the proxy talks to one URL and nothing else.
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, follow_redirects=False, transport=transport
    )


@dataclass(frozen=True)
class UpstreamResult:
    """Business Central's final answer, and whether an earlier attempt of the
    same request may already have been applied (its outcome was unknown)."""

    response: httpx.Response
    maybe_applied: bool
    attempts: int


class BusinessCentralClient:
    """Sends requests to the one URL shape the proxy knows, with retries.

    Every attempt waits for a slot (``BC_MAX_CONCURRENCY`` per process, Business
    Central's per-principal figure) so that a burst queues here instead of
    provoking a storm of 429s upstream.
    """

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        tokens: TokenProvider,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._tokens = tokens
        self._policy = policy or RetryPolicy()
        self._slots = asyncio.Semaphore(settings.bc_max_concurrency)

    def payment_url(self, ref: PaymentRef) -> str:
        s = self._settings
        tenant = quote(s.bc_tenant_id, safe="")
        environment = quote(s.bc_environment, safe="")
        return (
            f"{s.bc_base_url}/v2.0/{tenant}/{environment}/api/{ref.version}"
            f"/companies({ref.company_id})/customerPaymentJournals({ref.journal_id})"
            f"/customerPayments({ref.payment_id})"
        )

    def _headers(self, token: str, forward: ForwardHeaders, has_body: bool) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "x-ms-client-request-id": forward.request_id,
        }
        if forward.if_match is not None:
            headers["If-Match"] = forward.if_match
        if forward.accept_language is not None:
            headers["Accept-Language"] = forward.accept_language
        traceparent = outgoing_traceparent(forward.traceparent)
        if traceparent is not None:
            headers["traceparent"] = traceparent
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    async def request(
        self,
        method: Method,
        ref: PaymentRef,
        forward: ForwardHeaders,
        budget: Budget,
        body: bytes | None = None,
    ) -> UpstreamResult:
        """Send until Business Central gives a definite answer or the budget ends.

        Returns the first answer that is not worth retrying (success or not).
        Raises a Problem when the budget ends first: ``upstream-timeout`` if an
        attempt may have been applied, otherwise the problem of the last failure.
        """
        policy = self._policy
        maybe_applied = False
        refreshed_token = False
        attempt = 0
        while True:
            attempt += 1
            failure: Problem
            retry_after: float | None = None
            answer: httpx.Response | None = None
            try:
                token = await self._token(budget)
                response = await self._attempt(method, ref, forward, budget, token, body)
            except IdentityUnavailable as exc:
                failure = _identity_problem()
                outcome = f"no token ({exc})"
            except _Unknown as exc:
                maybe_applied = maybe_applied or method == "PATCH"
                failure = exc.problem
                outcome = exc.reason
            except _NotSent as exc:
                failure = exc.problem
                outcome = exc.reason
            else:
                status = response.status_code
                if status == 401 and not refreshed_token:
                    # A revoked or rotated token: one fresh token, one more try.
                    refreshed_token = True
                    await self._tokens.invalidate(token)
                    self._log(forward, attempt, status, response, 0.0)
                    continue
                if status not in RETRY_STATUSES:
                    self._log(forward, attempt, status, response, None)
                    return UpstreamResult(response, maybe_applied, attempt)
                if status in UNKNOWN_OUTCOME_STATUSES:
                    maybe_applied = maybe_applied or method == "PATCH"
                answer = response
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                failure = _status_problem(response)
                outcome = str(status)

            wait = policy.wait(attempt, retry_after)
            if not budget.fits(wait, policy):
                self._log(forward, attempt, outcome, answer, None)
                raise _final_problem(failure, maybe_applied, wait)
            self._log(forward, attempt, outcome, answer, wait)
            await asyncio.sleep(wait)

    async def _token(self, budget: Budget) -> str:
        try:
            return await asyncio.wait_for(self._tokens.get_token(), budget.remaining())
        except TimeoutError:
            raise IdentityUnavailable("the identity endpoint did not answer in time") from None

    async def _attempt(
        self,
        method: Method,
        ref: PaymentRef,
        forward: ForwardHeaders,
        budget: Budget,
        token: str,
        body: bytes | None,
    ) -> httpx.Response:
        try:
            await asyncio.wait_for(self._slots.acquire(), budget.remaining())
        except TimeoutError:
            raise _NotSent(
                Problem(
                    "upstream-throttled",
                    "Too many requests are waiting for Business Central; retry later.",
                ),
                "queued past the budget",
            ) from None
        try:
            remaining = budget.remaining()
            timeout = httpx.Timeout(
                connect=min(self._settings.bc_connect_timeout_s, remaining),
                read=min(self._settings.bc_read_timeout_s, remaining),
                write=min(self._settings.bc_read_timeout_s, remaining),
                pool=remaining,
            )
            return await self._http.request(
                method,
                self.payment_url(ref),
                headers=self._headers(token, forward, body is not None),
                content=body,
                timeout=timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing was sent: safe to retry, and certainly not applied.
            raise _NotSent(
                Problem("upstream-unavailable", "Business Central could not be reached"),
                type(exc).__name__,
            ) from None
        except httpx.TransportError as exc:
            # Sent, but no answer (dropped connection, read timeout): unknown.
            raise _Unknown(
                Problem("upstream-timeout", UNKNOWN_OUTCOME_DETAIL), type(exc).__name__
            ) from None
        finally:
            self._slots.release()

    @staticmethod
    def _log(
        forward: ForwardHeaders,
        attempt: int,
        outcome: object,
        response: httpx.Response | None,
        wait: float | None,
    ) -> None:
        correlation = None
        if response is not None and response.status_code >= 400:
            error = parse_upstream_error(response.status_code, response.content)
            correlation = error.correlation_id if error else None
        note_upstream_attempt(None if response is None else response.status_code, correlation, wait)
        log.info(
            "request %s: attempt %d upstream %s%s%s",
            forward.request_id,
            attempt,
            outcome,
            f", correlation {correlation}" if correlation else "",
            f", retrying in {wait:.2f} s" if wait is not None else "",
        )


class _NotSent(Exception):
    def __init__(self, problem: Problem, reason: str) -> None:
        self.problem = problem
        self.reason = reason


class _Unknown(_NotSent):
    pass


def _identity_problem() -> Problem:
    return Problem(
        "identity-unavailable",
        "The proxy could not obtain a token from its managed identity. Check that the "
        "function app has a managed identity and that AZURE_CLIENT_ID names it.",
    )


def _status_problem(response: httpx.Response) -> Problem:
    return problem_from_upstream(response.status_code, response.content, if_match_sent=False)


def _final_problem(failure: Problem, maybe_applied: bool, wait: float) -> Problem:
    """The answer when no further attempt fits in the budget."""
    if maybe_applied:
        return Problem("upstream-timeout", UNKNOWN_OUTCOME_DETAIL, upstream=failure.upstream)
    if failure.status in (429, 503) or failure.slug == "identity-unavailable":
        failure.retry_after = retry_after_header(wait)
    return failure
