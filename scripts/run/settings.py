"""``make run``'s settings: ports, sandbox or real-tenant mode, the settings
that point the app at the sandbox, the CORS origins, and binding the ports."""

from __future__ import annotations

import socket
from collections.abc import Mapping, MutableMapping
from urllib.parse import urlsplit

from funchost.cors import CorsSettingError, parse_allowed_origins

HOST = "127.0.0.1"
DEFAULT_PROXY_PORT = 7071
DEFAULT_SANDBOX_PORT = 7072
DEFAULT_WEB_PORT = 7073
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


class StartupError(Exception):
    """A problem the user can fix (port taken, bad setting): printed, exit 1."""


def read_port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise StartupError(f"{name} must be a port number between 1 and 65535, got {raw!r}")
    return int(raw)


def is_local_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOCAL_HOSTS


def sandbox_mode(env: Mapping[str, str]) -> bool:
    """True unless a real tenant is configured (tenant and a non-local base URL)."""
    tenant = env.get("BC_TENANT_ID", "").strip()
    base_url = env.get("BC_BASE_URL", "").strip()
    return not tenant or not base_url or is_local_url(base_url)


def sandbox_environment(
    *, sandbox_url: str, tenant: str, environment: str, identity_header: str
) -> dict[str, str]:
    """The settings that point the app (and azure-identity) at the sandbox."""
    return {
        "BC_BASE_URL": sandbox_url,
        "BC_TENANT_ID": tenant,
        "BC_ENVIRONMENT": environment,
        "IDENTITY_ENDPOINT": f"{sandbox_url}/msi/token",
        "IDENTITY_HEADER": identity_header,
    }


def web_origins(web_port: int) -> str:
    """The sample page's origins: what CORS_ALLOWED_ORIGINS means when it is unset."""
    return f"http://{HOST}:{web_port},http://localhost:{web_port}"


def allowed_origins(env: Mapping[str, str], web_port: int) -> tuple[str, ...]:
    """CORS_ALLOWED_ORIGINS (comma-separated), by default the sample page's own origin."""
    raw = env.get("CORS_ALLOWED_ORIGINS")
    try:
        return parse_allowed_origins(web_origins(web_port) if raw is None else raw)
    except CorsSettingError as exc:
        raise StartupError(f"CORS_ALLOWED_ORIGINS: {exc}") from exc


def bypass_proxies_for_loopback(env: MutableMapping[str, str]) -> None:
    # A corporate HTTP(S)_PROXY must not intercept calls to the local sandbox.
    if not any(env.get(v) for v in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")):
        return
    for var in ("NO_PROXY", "no_proxy"):
        entries = [e.strip() for e in env.get(var, "").split(",") if e.strip()]
        entries += [h for h in ("127.0.0.1", "localhost") if h not in entries]
        env[var] = ",".join(entries)


# Opt-in: with a value, the local host asks for it on the routes Azure keys (see
# funchost.keys), so `make smoke` can check that a payment route refuses a caller
# without one. Unset, no key is asked for, as with the Functions tools.
LOCAL_KEY_SETTING = "LOCAL_FUNCTION_KEY"


def local_function_keys(env: Mapping[str, str]) -> tuple[str, ...]:
    key = env.get(LOCAL_KEY_SETTING, "").strip()
    return (key,) if key else ()


def bind(port: int, setting: str) -> socket.socket:
    """Bind the loopback port now, so a taken port is reported before anything starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise StartupError(
            f"cannot listen on {HOST}:{port} ({exc.strerror}); is another `make run` "
            f"still running? Stop it or choose another port with {setting}=<port>."
        ) from exc
    return sock
