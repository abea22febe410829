"""ASGI plumbing shared by the local host's function router (:mod:`funchost.http`)
and the Durable stand-in's webhook API (:mod:`funchost.durable.standin`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("funchost.asgi")


class BodyTooLarge(Exception):
    """A request body over the host's limit."""


def server_origin(scope: Scope) -> str:
    """The address the host listens on, as the Durable extension's rpcBaseUrl is."""
    server = scope.get("server") or ("127.0.0.1", 80)
    host = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
    return f"{scope.get('scheme', 'http')}://{host}:{server[1]}"


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole body, or None if the client went away before sending it all
    (the Functions host never invokes a function with a cut-off body).

    Raises :class:`BodyTooLarge` as soon as more than ``limit`` bytes have arrived.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_response(
    send: Send, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """One complete response; statuses that carry no body are sent without one."""
    if status < 200 or status in (204, 304):
        body = b""  # these statuses carry no body
    else:
        headers = [*headers, (b"content-length", str(len(body)).encode("ascii"))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


Hook = Callable[[], Awaitable[None]]


class HostApp:
    """The ASGI app of a local host: HTTP requests straight to ``handler`` (no
    middleware stack on the way: every request of a benchmark pays for each layer),
    the lifespan protocol around ``startup`` and ``shutdown``. An exception that
    escapes ``handler`` is left to the server (uvicorn logs it and answers 500).
    ``state`` holds whatever the host wants to show tests."""

    def __init__(self, handler: ASGIApp, startup: Hook, shutdown: Hook) -> None:
        self._handler = handler
        self._startup = startup
        self._shutdown = shutdown
        self.state = SimpleNamespace()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self._handler(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            await self._startup()
        except Exception as exc:
            logger.exception("the local host failed to start")
            await send({"type": "lifespan.startup.failed", "message": repr(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            await self._shutdown()
        except Exception as exc:
            logger.exception("the local host failed to stop cleanly")
            await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})
