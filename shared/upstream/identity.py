"""Tokens for Business Central from the app's managed identity.

azure-identity caches a token only after it has arrived, so N concurrent cold
requests make N identity calls. :class:`TokenProvider` keeps the token itself
and lets concurrent callers share one in-flight request (single flight).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from azure.core.credentials_async import AsyncTokenCredential

log = logging.getLogger(__name__)

REFRESH_MARGIN_S = 300.0

CredentialFactory = Callable[[], AsyncTokenCredential]


class IdentityUnavailable(Exception):
    """No token could be obtained; the message is safe to log (no secrets)."""


def credential_factory(environ: Mapping[str, str], client_id: str | None) -> CredentialFactory:
    """Managed identity where the platform offers one, else the developer chain.

    ``IDENTITY_ENDPOINT`` is set by App Service / Functions (and by the local
    sandbox); without it, DefaultAzureCredential lets a developer who ran
    ``az login`` point a local run at a real tenant.
    """
    if environ.get("IDENTITY_ENDPOINT"):

        def managed() -> AsyncTokenCredential:
            from azure.identity.aio import ManagedIdentityCredential

            # The proxy retries identity failures itself, within each request's
            # time budget; azure-core's own policy would wait up to minutes.
            return ManagedIdentityCredential(client_id=client_id, retry_total=0)

        return managed

    def developer() -> AsyncTokenCredential:
        from azure.identity.aio import DefaultAzureCredential

        return DefaultAzureCredential(managed_identity_client_id=client_id)

    return developer


@dataclass(frozen=True)
class _Cached:
    token: str
    refresh_at: float


class TokenProvider:
    """Reuses a token until shortly before expiry; one fetch at a time."""

    def __init__(
        self,
        factory: CredentialFactory,
        scope: str,
        *,
        refresh_margin_s: float = REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._factory = factory
        self._scope = scope
        self._margin = refresh_margin_s
        self._clock = clock
        self._credential: AsyncTokenCredential | None = None
        self._cached: _Cached | None = None
        self._inflight: asyncio.Task[_Cached] | None = None
        # Bumped by invalidate(): a fetch that started before must not re-cache
        # the token that was just refused.
        self._generation = 0
        self._retired: set[asyncio.Task[None]] = set()

    def cached(self) -> str | None:
        """The cached token if it is still fresh; never waits."""
        cached = self._cached
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.token
        return None

    async def get_token(self) -> str:
        token = self.cached()
        if token is not None:
            return token
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._fetch())
        # shield: one caller giving up must not cancel the fetch the others await.
        return (await asyncio.shield(self._inflight)).token

    async def _fetch(self) -> _Cached:
        if self._credential is None:
            self._credential = self._factory()
        # This fetch keeps its own credential: invalidate() may swap the
        # attribute while it runs, and must not close it under our feet.
        credential = self._credential
        generation = self._generation
        fetched_at = self._clock()
        try:
            info = await credential.get_token(self._scope)
        except Exception as exc:
            # azure-identity messages describe the endpoint, never the secret header.
            raise IdentityUnavailable(f"{type(exc).__name__}: {exc}") from exc
        lifetime = max(0.0, info.expires_on - fetched_at)
        # Short-lived tokens (as in tests) would never be "fresh" with a fixed
        # 5-minute margin, so the margin is capped at half the lifetime.
        refresh_at = fetched_at + lifetime - min(self._margin, lifetime / 2)
        fetched = _Cached(info.token, refresh_at)
        if generation == self._generation:
            self._cached = fetched
        return fetched

    async def invalidate(self, token: str) -> None:
        """Forget ``token`` (Business Central refused it) and the credential's cache.

        The old credential is closed only once no fetch uses it any more: a
        concurrent request may be in the middle of getting a token from it.
        """
        if self._cached is None or self._cached.token != token:
            return
        self._cached = None
        self._generation += 1
        credential, self._credential = self._credential, None
        if credential is None:
            return
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            self._retire_after(credential, inflight)
        else:
            await credential.close()

    def _retire_after(self, credential: AsyncTokenCredential, fetch: asyncio.Task[_Cached]) -> None:
        async def close_when_done() -> None:
            await asyncio.wait([fetch])
            await credential.close()

        task = asyncio.ensure_future(close_when_done())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def aclose(self) -> None:
        if self._retired:
            await asyncio.gather(*self._retired, return_exceptions=True)
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
        if self._credential is not None:
            await self._credential.close()
            self._credential = None
        self._cached = None
