"""Per-process objects: one HTTP client, one token provider and the Business
Central client over them, for the settings ``shared.process.settings`` read.

Created lazily inside the running event loop (httpx and azure-identity bind
to it) and reused by every invocation; ``aclose_runtime`` releases them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import httpx

from shared.process.settings import Settings, current_settings
from shared.upstream.client import BusinessCentralClient, http_client
from shared.upstream.identity import CredentialFactory, TokenProvider, credential_factory


@dataclass
class Runtime:
    settings: Settings
    http: httpx.AsyncClient
    tokens: TokenProvider
    bc: BusinessCentralClient
    # Keeps the loop-end watcher alive (the loop itself only holds it weakly).
    watcher: AsyncGenerator[None, None] | None = field(default=None, repr=False)

    async def aclose(self) -> None:
        await self.tokens.aclose()
        await self.http.aclose()


# One runtime per event loop: the Functions worker has one loop, while the
# local host and tests may run several (each owns its clients). The key is
# weak and the runtime holds no reference to its loop, so a finished loop's
# entry goes away with it.
_runtimes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Runtime] = (
    weakref.WeakKeyDictionary()
)


def build_runtime(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    credentials: CredentialFactory | None = None,
) -> Runtime:
    """The process's objects; tests pass a transport or credential of their own."""
    http = http_client(settings, transport=transport)
    factory = credentials or credential_factory(os.environ, settings.azure_client_id)
    tokens = TokenProvider(factory, settings.bc_scope)
    bc = BusinessCentralClient(settings, http, tokens)
    return Runtime(settings, http, tokens, bc)


def get_runtime() -> Runtime:
    loop = asyncio.get_running_loop()
    settings = current_settings()
    runtime = _runtimes.get(loop)
    if runtime is None or runtime.settings is not settings:
        # Only when a runtime is made: a lookup that finds one needs no sweep.
        _forget_closed_loops()
        if runtime is not None:
            # Settings were re-read (tests): finish with the old clients quietly.
            _background_close(runtime)
        runtime = _runtimes[loop] = build_runtime(settings)
        _close_at_loop_end(loop, runtime)
    return runtime


def _forget_closed_loops() -> None:
    """A loop closed without shutting down its async generators left its entry."""
    for loop in [loop for loop in _runtimes if loop.is_closed()]:
        _runtimes.pop(loop, None)


def _close_at_loop_end(loop: asyncio.AbstractEventLoop, runtime: Runtime) -> None:
    """Close ``runtime``'s clients inside ``loop`` when the loop shuts down.

    asyncio.run (and so uvicorn) closes every pending async generator of a loop
    before closing it; a generator parked at its first ``yield`` is therefore
    a shutdown hook that still runs in the loop, where httpx and the
    credential can be closed properly. It also drops the map entry, whose
    value (through tasks and locks) may reference the loop.
    """

    async def watch() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if _runtimes.get(loop) is runtime:
                del _runtimes[loop]
            runtime.watcher = None
            await runtime.aclose()

    watcher = watch()
    # Run to the first yield now; the loop's asyncgen hook registers it.
    with contextlib.suppress(StopIteration):
        watcher.asend(None).send(None)
    runtime.watcher = watcher


def _background_close(runtime: Runtime) -> None:
    task = asyncio.ensure_future(runtime.aclose())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Future[None]] = set()


def install_runtime(runtime: Runtime | None) -> None:
    """Use ``runtime`` for the current event loop's requests (tests)."""
    loop = asyncio.get_running_loop()
    if runtime is None:
        _runtimes.pop(loop, None)
    else:
        _runtimes[loop] = runtime


async def aclose_runtime() -> None:
    """Close the current loop's HTTP client and credential (shutdown, tests)."""
    runtime = _runtimes.pop(asyncio.get_running_loop(), None)
    if runtime is not None:
        await runtime.aclose()
