"""The token provider: reuse, refresh margin, single flight, failures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from shared.upstream.identity import IdentityUnavailable, TokenProvider, credential_factory
from tests.support.fakes import CountingCredential

SCOPE = "https://api.businesscentral.dynamics.com/.default"


def provider(credential: CountingCredential, clock: list[float] | None = None) -> TokenProvider:
    if clock is None:
        return TokenProvider(lambda: credential, SCOPE)
    return TokenProvider(lambda: credential, SCOPE, clock=lambda: clock[0])


async def test_concurrent_cold_requests_share_one_fetch() -> None:
    credential = CountingCredential(delay_s=0.05)
    tokens = provider(credential)
    results = await asyncio.gather(*(tokens.get_token() for _ in range(200)))
    assert credential.calls == 1
    assert set(results) == {"token-1"}


async def test_token_is_reused_until_the_refresh_margin() -> None:
    import time

    now = time.time()
    clock = [now]
    credential = CountingCredential(lifetime_s=3600)
    tokens = provider(credential, clock)
    assert await tokens.get_token() == "token-1"
    clock[0] = now + 3600 - 301
    assert await tokens.get_token() == "token-1"
    clock[0] = now + 3600 - 299
    assert await tokens.get_token() == "token-2"
    assert credential.calls == 2


async def test_short_lived_tokens_are_still_reused_for_half_their_life() -> None:
    import time

    now = time.time()
    clock = [now]
    credential = CountingCredential(lifetime_s=60)
    tokens = provider(credential, clock)
    await tokens.get_token()
    clock[0] = now + 29
    await tokens.get_token()
    assert credential.calls == 1
    clock[0] = now + 31
    await tokens.get_token()
    assert credential.calls == 2


async def test_a_failure_reaches_every_waiter_and_the_next_call_retries() -> None:
    credential = CountingCredential(fail=True, delay_s=0.02)
    tokens = provider(credential)
    results = await asyncio.gather(*(tokens.get_token() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, IdentityUnavailable) for r in results)
    assert credential.calls == 1
    credential.fail = False
    assert await tokens.get_token() == "token-2"


async def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch() -> None:
    credential = CountingCredential(delay_s=0.05)
    tokens = provider(credential)
    first = asyncio.ensure_future(tokens.get_token())
    second = asyncio.ensure_future(tokens.get_token())
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == "token-1"
    assert credential.calls == 1


async def test_invalidate_drops_the_token_and_the_credential() -> None:
    credential = CountingCredential()
    tokens = provider(credential)
    token = await tokens.get_token()
    await tokens.invalidate("some-other-token")
    assert await tokens.get_token() == token
    await tokens.invalidate(token)
    assert credential.closed == 1
    assert await tokens.get_token() == "token-2"


async def test_aclose_closes_the_credential() -> None:
    credential = CountingCredential()
    tokens = provider(credential)
    await tokens.get_token()
    await tokens.aclose()
    assert credential.closed == 1


def test_managed_identity_when_the_platform_offers_one() -> None:
    factory = credential_factory(
        {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token", "IDENTITY_HEADER": "h"}, None
    )
    assert type(factory()).__name__ == "ManagedIdentityCredential"


def test_developer_credential_without_identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    factory = credential_factory({}, None)
    assert type(factory()).__name__ == "DefaultAzureCredential"


class ClosingCredential:
    """Like azure-identity's: get_token fails once the credential is closed."""

    def __init__(self, name: str, delay_s: float) -> None:
        self.name = name
        self.delay_s = delay_s
        self.closed = False
        self.calls = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.closed:
            raise RuntimeError("Session is closed")
        return AccessToken(f"{self.name}-{self.calls}", int(time.time() + 3600))

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> ClosingCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


async def test_a_concurrent_401_does_not_close_a_credential_in_use() -> None:
    made: list[ClosingCredential] = []

    def factory() -> ClosingCredential:
        made.append(ClosingCredential(f"c{len(made)}", delay_s=0.05))
        return made[-1]

    clock = [0.0]
    tokens = TokenProvider(factory, "scope", clock=lambda: time.time() + clock[0])
    first = await tokens.get_token()
    clock[0] = 7200  # the cached token is now due for refresh
    refreshing = asyncio.ensure_future(tokens.get_token())
    await asyncio.sleep(0.01)  # the refresh is in flight on the first credential
    await tokens.invalidate(first)  # another request's 401 for the old token
    refreshed = await refreshing
    assert refreshed.startswith("c0-")  # the in-flight fetch finished on its credential
    assert refreshed != first
    await asyncio.sleep(0.1)
    assert made[0].closed  # closed once it was no longer in use
    clock[0] = 0
    again = await tokens.get_token()
    assert again.startswith("c1-")  # the refused token's generation is not cached
    await tokens.aclose()
