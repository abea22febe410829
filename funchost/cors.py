"""CORS for the local host, as the Functions host applies it when run locally.

Core Tools reads ``Host.CORS`` from local.settings.json and puts ASP.NET
Core's CORS middleware in front of every function; in Azure the platform does
the same from ``siteConfig.cors``. Either way the app's code never sees a
preflight. This module is that layer for the local host:

* a preflight (``OPTIONS`` with ``Origin`` and
  ``Access-Control-Request-Method``) is answered here with ``204`` and never
  reaches a function; for an allowed origin the answer names the origin, the
  methods the app's routes declare and the request headers the proxy reads;
  for any other origin it carries no CORS header, so the browser refuses;
* an actual request from an allowed origin gets ``Access-Control-Allow-Origin``
  (and ``Vary: Origin``) added to whatever the function answered;
* credentials are never allowed (``siteConfig.cors.supportCredentials`` is
  false in the Bicep; a bearer token in ``Authorization`` needs no credentials
  mode).

``Access-Control-Expose-Headers`` is not added here: neither the local host
nor the platform sets it, the app's own responses carry it (``shared.http.messages``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The request headers the routes read; a browser sends them only after a
# preflight has allowed them by name.
REQUEST_HEADERS = (
    "Content-Type",
    "If-Match",
    "Idempotency-Key",
    "Accept-Language",
    "traceparent",
    "x-request-id",
    "x-functions-key",
    "Authorization",
)

_HOST_RE = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


class CorsSettingError(ValueError):
    """An allowed-origins entry that is not ``scheme://host[:port]``."""


def _normalized_origin(entry: str) -> str:
    text = entry.strip().lower().rstrip("/")
    if text == "*":
        raise CorsSettingError(
            '"*" is not accepted: list each page origin (Azure never applies "*" either)'
        )
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise CorsSettingError(f"{entry.strip()!r} has an invalid port") from None
    host = parts.hostname or ""
    if (
        parts.scheme not in ("http", "https")
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or not (_HOST_RE.fullmatch(host) or host == "::1")
    ):
        raise CorsSettingError(f"{entry.strip()!r} is not an origin like http://127.0.0.1:7073")
    return text


def parse_allowed_origins(text: str) -> tuple[str, ...]:
    """The comma-separated origins of a setting, normalized; empty entries are skipped.

    An entry may start its host with ``*.`` (any subdomain), as the platform
    allows; a bare ``*`` is refused.
    """
    return tuple(_normalized_origin(e) for e in text.split(",") if e.strip())


@dataclass(frozen=True)
class CorsPolicy:
    origins: tuple[str, ...]
    methods: tuple[str, ...]

    def allows(self, origin: str) -> bool:
        candidate = origin.strip().lower()
        for allowed in self.origins:
            if "://*." in allowed:
                scheme, rest = allowed.split("://*.", 1)
                # One or more DNS labels in place of the "*", nothing else.
                pattern = rf"{re.escape(scheme)}://[a-z0-9-]+(\.[a-z0-9-]+)*\.{re.escape(rest)}"
                if re.fullmatch(pattern, candidate):
                    return True
            elif candidate == allowed:
                return True
        return False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class CorsMiddleware:
    """ASGI middleware applying a :class:`CorsPolicy` in front of the functions."""

    def __init__(self, app: ASGIApp, policy: CorsPolicy) -> None:
        self._app = app
        self._policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = _header(scope, b"origin") if scope["type"] == "http" else None
        if origin is None:
            await self._app(scope, receive, send)
            return
        allowed = self._policy.allows(origin)
        preflight = (
            str(scope["method"]).upper() == "OPTIONS"
            and _header(scope, b"access-control-request-method") is not None
        )
        if preflight:
            headers: list[tuple[bytes, bytes]] = [(b"vary", b"Origin")]
            if allowed:
                headers += [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-methods", ", ".join(self._policy.methods).encode()),
                    (b"access-control-allow-headers", ", ".join(REQUEST_HEADERS).encode()),
                ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if not allowed:
            await self._app(scope, receive, send)
            return

        async def send_with_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The platform's CORS takes precedence over any the app sets.
                kept = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"access-control-allow-origin"
                ]
                message = {
                    **message,
                    "headers": [
                        *kept,
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"vary", b"Origin"),
                    ],
                }
            await send(message)

        await self._app(scope, receive, send_with_origin)


def with_cors(
    app: ASGIApp, allowed_origins: Iterable[str], method_sets: Iterable[frozenset[str] | None]
) -> ASGIApp:
    """``app`` behind CORS for ``allowed_origins`` (each entry comma-separated
    origins, see :func:`parse_allowed_origins`); ``app`` itself when there are none.

    ``method_sets`` are the routes' declared methods; a preflight answer names
    their union (a route open to every method adds none).
    """
    origins = tuple(o for entry in allowed_origins for o in parse_allowed_origins(entry))
    if not origins:
        return app
    methods = tuple(sorted({m for methods in method_sets if methods for m in methods}))
    return CorsMiddleware(app, CorsPolicy(origins, methods))
