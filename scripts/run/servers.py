"""The servers ``make run`` starts, in one event loop: uvicorn on sockets bound
beforehand, stopped in order on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn

from scripts.run.settings import HOST

logger = logging.getLogger("scripts.run")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: :func:`serve` owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass
class Served:
    name: str
    server: _Server
    sock: socket.socket


def make_server(name: str, app: Any, sock: socket.socket, **options: Any) -> Served:
    # uvicorn's access logger is shared by every server of the process; the local
    # host writes its own, scrubbed access log instead (scripts.run.access).
    settings: dict[str, Any] = {"log_level": "info", "lifespan": "on", "access_log": False}
    settings.update(options)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host=HOST, port=port, **settings)
    return Served(name, _Server(config), sock)


async def _run(served: Served) -> bool:
    """Serve until told to stop; False if the server gave up (e.g. app startup failed)."""
    try:
        await served.server.serve(sockets=[served.sock])
    except SystemExit:  # uvicorn's way of reporting a failed startup
        logger.error("%s failed to start", served.name)
        return False
    return served.server.started


async def serve(servers: Sequence[Served], on_ready: Callable[[], Awaitable[None]]) -> int:
    """Run the servers until SIGINT/SIGTERM; stop them in order (first listed first).

    Returns 0 after a requested stop, 1 if a server failed on its own.
    """
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if stop_requested.is_set() and sig == signal.SIGINT:
            for s in servers:  # a second Ctrl-C: stop waiting for open connections
                s.server.force_exit = True
        stop_requested.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    tasks = [asyncio.create_task(_run(s), name=s.name) for s in servers]
    try:
        while not all(s.server.started for s in servers):
            if stop_requested.is_set() or any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.02)
        else:
            await on_ready()
        waiter = asyncio.create_task(stop_requested.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        # Stop the proxy before the sandbox it talks to.
        healthy = True
        for served, task in zip(servers, tasks, strict=True):
            served.server.should_exit = True
            healthy = await task and healthy
        failed = not stop_requested.is_set() or not healthy
        return 1 if failed else 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        # remove_signal_handler restores SIGTERM's default (die at once); keep it
        # a clean stop while asyncio.run winds down.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
