"""ASGI plumbing shared by the local host's function router (:mod:`funchost.http`)
and the Durable stand-in's webhook API (:mod:`funchost.durable.standin`)."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send


def server_origin(scope: Scope) -> str:
    """The address the host listens on, as the Durable extension's rpcBaseUrl is."""
    server = scope.get("server") or ("127.0.0.1", 80)
    host = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
    return f"{scope.get('scheme', 'http')}://{host}:{server[1]}"


async def read_body(receive: Receive) -> bytes | None:
    """The whole body, or None if the client went away before sending it all
    (the Functions host never invokes a function with a cut-off body)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


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
