"""The upstream client: builds Business Central URLs from settings and
validated ids only, and sends one request with the proxy's own token."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import httpx

from shared.identity import IdentityUnavailable, TokenProvider
from shared.payments import ApiVersion
from shared.problems import UNKNOWN_OUTCOME_DETAIL, Problem
from shared.settings import GUID_RE, Settings

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


class BusinessCentralClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, tokens: TokenProvider) -> None:
        self._settings = settings
        self._http = http
        self._tokens = tokens

    def payment_url(self, ref: PaymentRef) -> str:
        s = self._settings
        tenant = quote(s.bc_tenant_id, safe="")
        environment = quote(s.bc_environment, safe="")
        return (
            f"{s.bc_base_url}/v2.0/{tenant}/{environment}/api/{ref.version}"
            f"/companies({ref.company_id})/customerPaymentJournals({ref.journal_id})"
            f"/customerPayments({ref.payment_id})"
        )

    async def send(
        self, method: Method, ref: PaymentRef, forward: ForwardHeaders, body: bytes | None = None
    ) -> httpx.Response:
        """One upstream request; transport failures become problems here."""
        try:
            token = await self._tokens.get_token()
        except IdentityUnavailable as exc:
            log.error("request %s: no token from the managed identity: %s", forward.request_id, exc)
            raise Problem(
                "identity-unavailable",
                "The proxy could not obtain a token from its managed identity. Check that the "
                "function app has a managed identity and that AZURE_CLIENT_ID names it.",
                retry_after=5,
            ) from None
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "x-ms-client-request-id": forward.request_id,
        }
        if forward.if_match is not None:
            headers["If-Match"] = forward.if_match
        if forward.accept_language is not None:
            headers["Accept-Language"] = forward.accept_language
        if forward.traceparent is not None:
            headers["traceparent"] = forward.traceparent
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method, self.payment_url(ref), headers=headers, content=body
            )
        except httpx.ConnectError:
            raise Problem(
                "upstream-unavailable", "Business Central could not be reached", retry_after=5
            ) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # A request that may have reached BC has an unknown outcome.
            log.warning(
                "request %s: %s to Business Central failed: %s",
                forward.request_id,
                method,
                type(exc).__name__,
            )
            if method == "GET":
                raise Problem(
                    "upstream-unavailable", "Business Central did not answer", retry_after=5
                ) from None
            raise Problem("upstream-timeout", UNKNOWN_OUTCOME_DETAIL) from None
        log.info(
            "request %s: %s upstream status %s", forward.request_id, method, response.status_code
        )
        return response
