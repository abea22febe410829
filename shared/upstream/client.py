"""The Business Central client: URLs from the settings and checked addresses
only, one attempt at a time with the proxy's own token within a concurrency
slot (``send_once``), and the GET loop that retries a read while the budget
allows (``read``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

import httpx

from shared.payment.fields import API_VERSIONS, ApiVersion
from shared.payment.refs import CollectionRef, CompanySetRef, ForwardHeaders, PaymentRef
from shared.payment.settlement import UNKNOWN_OUTCOME_DETAIL
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.process.telemetry import note_wait, outgoing_traceparent
from shared.upstream.attempts import (
    READ_RETRY,
    Budget,
    RetryPolicy,
    final_problem,
    log_attempt,
    parse_retry_after,
)
from shared.upstream.errors import (
    READ_TIMEOUT_DETAIL,
    NotSent,
    OutcomeLost,
    identity_problem,
    no_time,
    problem_from_upstream,
)
from shared.upstream.identity import IdentityUnavailable, TokenProvider

log = logging.getLogger(__name__)

Method = Literal["GET", "PATCH", "POST"]


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
    # Never follow redirects: the proxy talks to one URL and nothing else. Every request
    # asks for JSON: said once here rather than in each request's own headers.
    return _CookielessClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        transport=transport,
        headers={"Accept": "application/json"},
    )


class _NoCookies(httpx.Cookies):
    """A cookie store that keeps nothing and sends nothing."""

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("the Business Central client keeps no cookies")

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class _CookielessClient(httpx.AsyncClient):
    """An httpx client that keeps no cookie: one client serves every caller, so a
    cookie Business Central (or anything in front of it) set on one caller's request
    must not ride along on the next one's; and reading each answer's cookies (httpx
    builds urllib request and message objects for it) cost a quarter of the client's
    work per request."""

    _none = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._none

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("the Business Central client keeps no cookies")


class BusinessCentralClient:
    """Sends requests to the URL shapes the proxy knows.

    Every attempt waits for a slot (``BC_MAX_CONCURRENCY`` per process, Business
    Central's per-principal figure) so that a burst queues here instead of
    provoking a storm of 429s upstream. The waiting counts against the budget.
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
        self.policy = policy or RetryPolicy()
        self._slots = asyncio.Semaphore(settings.bc_max_concurrency)
        # Settings do not change for a client's life: each version's root is built once.
        tenant = quote(settings.bc_tenant_id, safe="")
        environment = quote(settings.bc_environment, safe="")
        self._roots = {
            version: f"{settings.bc_base_url}/v2.0/{tenant}/{environment}/api/{version}"
            for version in API_VERSIONS
        }

    @property
    def settings(self) -> Settings:
        return self._settings

    def api_root(self, version: ApiVersion) -> str:
        return self._roots[version]

    def payment_url(self, ref: PaymentRef) -> str:
        return f"{self.api_root(ref.version)}/{ref.path}"

    def collection_url(self, ref: CollectionRef) -> str:
        return f"{self.api_root(ref.version)}/{ref.path}"

    def company_set_url(self, ref: CompanySetRef) -> str:
        return f"{self.api_root(ref.version)}/{ref.path}"

    def _headers(
        self,
        token: str,
        forward: ForwardHeaders,
        has_body: bool,
        extra: Mapping[str, str] | None,
    ) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
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
        headers.update(extra or {})
        return headers

    async def send_once(
        self,
        method: Method,
        url: str,
        forward: ForwardHeaders,
        budget: Budget,
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        *,
        reserve: float = 0.0,
        min_time: float = 0.0,
    ) -> httpx.Response:
        """One attempt (and one more with a fresh token after a 401).

        ``reserve`` is budget kept back for whatever must follow (settling an
        unknown outcome); the attempt starts only if ``min_time`` is left
        beside it, and its timeouts end before the reserve. Raises
        :class:`NotSent` or :class:`OutcomeLost`.
        """
        refreshed = False
        while True:
            token = self._tokens.cached() or await self._token(budget, reserve)
            response = await self._send(
                method, url, forward, budget, token, body, extra_headers, reserve, min_time
            )
            if response.status_code == 401 and not refreshed:
                # A revoked or rotated token: refused before processing, so one
                # fresh token and one more try is safe.
                refreshed = True
                log_attempt(forward, method, "401, new token", response, None)
                await self._tokens.invalidate(token)
                continue
            return response

    async def _token(self, budget: Budget, reserve: float) -> str:
        """A new token (none is cached), fetched within what the budget leaves."""
        left = budget.remaining() - reserve
        if left <= 0:
            raise NotSent(identity_problem(), "no time left for a token")
        try:
            return await asyncio.wait_for(self._tokens.get_token(), left)
        except TimeoutError:
            raise NotSent(
                identity_problem(), "the identity endpoint did not answer in time"
            ) from None
        except IdentityUnavailable as exc:
            raise NotSent(identity_problem(), f"no token ({exc})") from None

    async def _acquire_slot(self, budget: Budget, reserve: float, min_time: float) -> None:
        patience = budget.remaining() - reserve - min_time
        if not self._slots.locked():
            await self._slots.acquire()
        elif patience <= 0:
            raise no_time("no slot, no time")
        else:
            try:
                await asyncio.wait_for(self._slots.acquire(), patience)
            except TimeoutError:
                raise no_time("queued past the budget") from None
        if budget.remaining() - reserve < min_time:
            self._slots.release()
            raise no_time("too little time left")

    async def _send(
        self,
        method: Method,
        url: str,
        forward: ForwardHeaders,
        budget: Budget,
        token: str,
        body: bytes | None,
        extra_headers: Mapping[str, str] | None,
        reserve: float,
        min_time: float,
    ) -> httpx.Response:
        await self._acquire_slot(budget, reserve, min_time)
        try:
            left = max(0.001, budget.remaining() - reserve)
            # httpx's per-phase timeouts, as the "timeout" extension it reads them from
            # (what build_request makes of an httpx.Timeout, without building two).
            timeout = {
                "connect": min(self._settings.bc_connect_timeout_s, left),
                "read": min(self._settings.bc_read_timeout_s, left),
                "write": min(self._settings.bc_read_timeout_s, left),
                "pool": left,
            }
            # httpx's timeouts are per phase and per read; the attempt as a whole
            # (connect, send, every read of the body) ends before the reserve.
            deadline = asyncio.get_running_loop().time() + left
            request = self._http.build_request(
                method,
                url,
                headers=self._headers(token, forward, body is not None, extra_headers),
                content=body,
                extensions={"timeout": timeout},
            )
            response: httpx.Response | None = None
            try:
                try:
                    # One deadline for the status line and the body alike.
                    async with asyncio.timeout_at(deadline):
                        response = await self._http.send(request, stream=True)
                        await response.aread()
                except (httpx.HTTPError, TimeoutError) as exc:
                    if response is None:
                        if isinstance(exc, TimeoutError):
                            raise httpx.ReadTimeout(
                                "no answer before the attempt's deadline"
                            ) from None
                        raise
                    # The status line arrived (so did the verdict); only the body is
                    # unreadable: undecodable, cut mid-stream or late. Keep the status,
                    # drop the body: a 2xx then reads as "applied, body unreadable",
                    # which the caller settles by reading the line, never by sending again.
                    log.warning(
                        "request %s: %s answer %s with an unreadable body (%s)",
                        forward.request_id,
                        method,
                        response.status_code,
                        type(exc).__name__,
                    )
                    return _without_body(response)
            finally:
                if response is not None:
                    await response.aclose()
            return response
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing was sent: safe to retry, and certainly not applied.
            raise NotSent(
                Problem("upstream-unavailable", "Business Central could not be reached"),
                type(exc).__name__,
            ) from None
        except httpx.HTTPError as exc:
            # Sent, but no answer (dropped connection, read timeout): unknown.
            detail = READ_TIMEOUT_DETAIL if method == "GET" else UNKNOWN_OUTCOME_DETAIL
            raise OutcomeLost(Problem("upstream-timeout", detail), type(exc).__name__) from None
        finally:
            self._slots.release()

    async def read(
        self,
        url: str,
        forward: ForwardHeaders,
        budget: Budget,
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """GET until Business Central gives an answer not worth retrying.

        Reads are safe to repeat, so every lost or throttled attempt is retried
        while the budget allows; then the last failure's problem is raised.
        With ``body``, the read is a ``$batch`` of GETs, POSTed to ``url``.
        """
        method: Method = "GET" if body is None else "POST"
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            answer: httpx.Response | None = None
            try:
                response = await self.send_once(method, url, forward, budget, body, extra_headers)
            except (NotSent, OutcomeLost) as exc:
                failure, outcome = exc.problem, exc.reason
            else:
                if response.status_code not in READ_RETRY:
                    log_attempt(forward, method, response.status_code, response, None, attempt)
                    return response
                answer = response
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                failure = problem_from_upstream(
                    response.status_code, response.content, if_match_sent=False
                )
                outcome = str(response.status_code)
            wait = self.policy.wait(attempt, retry_after)
            if not budget.fits(wait, self.policy):
                log_attempt(forward, method, outcome, answer, None, attempt)
                raise final_problem(failure, wait)
            log_attempt(forward, method, outcome, answer, wait, attempt)
            note_wait(wait)
            await asyncio.sleep(wait)


def _without_body(response: httpx.Response) -> httpx.Response:
    dropped = {b"content-encoding", b"content-length", b"transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in dropped]
    return httpx.Response(
        response.status_code, headers=headers, content=b"", request=response.request
    )
