"""``make run``: the app on the local host, against the sandbox or a real tenant.

    python -m sandbox.run

Sandbox mode (the default): starts the Business Central emulator and its
managed-identity endpoint on ``127.0.0.1:$SANDBOX_PORT`` (7072), points the
app's settings at it, then serves ``function_app`` on ``127.0.0.1:$PROXY_PORT``
(7071). The app fetches its tokens with the real azure-identity
ManagedIdentityCredential, through the App Service protocol
(``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``).

In both modes the sample browser page (``examples/web``) is served on
``127.0.0.1:$WEB_PORT`` (7073), its own origin, and the local host's CORS
allows that origin unless ``CORS_ALLOWED_ORIGINS`` says otherwise.

Real-tenant mode: when ``BC_TENANT_ID`` is set and ``BC_BASE_URL`` is set to a
non-local URL, only the local host starts and the app uses
DefaultAzureCredential (e.g. your ``az login``).

Every other setting in the environment (allow-lists, limits, CALLER_AUTH...)
reaches the app untouched. All servers run in this process and event loop;
Ctrl-C or SIGTERM stops them (the proxy first, the sandbox last) and exits 0.
Function keys are not checked locally (see funchost.http).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import re
import secrets
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Generator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import azure.functions as func
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from funchost.cors import CorsSettingError, parse_allowed_origins
from funchost.durable import DurableStandIn, WallClock
from funchost.http import HttpFunction, ShutdownCallback, create_local_host

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
DEFAULT_PROXY_PORT = 7071
DEFAULT_SANDBOX_PORT = 7072
DEFAULT_WEB_PORT = 7073
WEB_ROOT = REPO_ROOT / "examples" / "web"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}

logger = logging.getLogger("sandbox.run")


class StartupError(Exception):
    """A problem the user can fix (port taken, bad setting): printed, exit 1."""


# --- configuration -------------------------------------------------------------


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


# The page's config block, as index.html ships it; the served copy names this proxy.
_CONFIG_RE = re.compile(r'("apiBase":\s*)"[^"]*"')


def configured_page(api_base: str, root: Path = WEB_ROOT) -> bytes:
    """index.html with ``apiBase`` set, as a deployment writes its config block:
    the page takes its proxy from there (or its own origin), never from its URL."""
    html = (root / "index.html").read_text(encoding="utf-8")
    configured, count = _CONFIG_RE.subn(lambda m: f"{m.group(1)}{json.dumps(api_base)}", html)
    if count != 1:
        raise StartupError("examples/web/index.html has no apiBase in its config block")
    return configured.encode()


def web_app(api_base: str, root: Path = WEB_ROOT) -> Starlette:
    """The sample browser page on its own origin, configured for ``api_base``."""
    page = configured_page(api_base, root)

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/index.html", index),
            Mount("/", app=StaticFiles(directory=root, html=True)),
        ]
    )


def page_url(web_url: str, ids: Sequence[str] | None) -> str:
    """The page, with the ids of a line to open (the proxy is in its config)."""
    if ids is None:
        return f"{web_url}/"
    query = dict(zip(("company", "journal", "payment"), ids, strict=True))
    return f"{web_url}/?{urlencode(query, safe=':/', quote_via=quote)}"


def _bypass_proxies_for_loopback(env: MutableMapping[str, str]) -> None:
    # A corporate HTTP(S)_PROXY must not intercept calls to the local sandbox.
    if not any(env.get(v) for v in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")):
        return
    for var in ("NO_PROXY", "no_proxy"):
        entries = [e.strip() for e in env.get(var, "").split(",") if e.strip()]
        entries += [h for h in ("127.0.0.1", "localhost") if h not in entries]
        env[var] = ",".join(entries)


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


# --- serving ---------------------------------------------------------------------


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
    settings: dict[str, Any] = {"log_level": "info", "lifespan": "on"}
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


# --- the app ---------------------------------------------------------------------


def load_function_app() -> tuple[func.FunctionRegister, list[ShutdownCallback]]:
    """Import function_app (after the environment is set) and its shutdown hook."""
    module = importlib.import_module("function_app")
    app = getattr(module, "app", None)
    if not isinstance(app, func.FunctionRegister):
        raise StartupError("function_app.app is not a FunctionApp (or DFApp)")
    callbacks: list[ShutdownCallback] = []
    try:
        runtime = importlib.import_module("shared.upstream.runtime")
    except ModuleNotFoundError as exc:
        if exc.name not in ("shared", "shared.upstream.runtime"):
            raise
    else:
        callbacks.append(runtime.aclose_runtime)
    return app, callbacks


def payment_url(proxy_url: str, company: str, journal: str, payment: str) -> str:
    return (
        f"{proxy_url}/api/v2.0/companies/{company}/customerPaymentJournals/{journal}"
        f"/customerPayments/{payment}"
    )


def curl_examples(url: str) -> list[str]:
    quoted = shlex.quote(url)
    return [
        f"curl -i {quoted}",
        f"curl -i -X PATCH {quoted} -H 'If-Match: *' -H 'Content-Type: application/json' "
        """-d '{"amount": 1234.56}'""",
    ]


def banner(
    *,
    proxy_url: str,
    functions: Sequence[HttpFunction],
    sandbox_url: str | None,
    seed: Mapping[str, Any] | None,
    web_url: str | None = None,
    cors_origins: Sequence[str] = (),
    durable: DurableStandIn | None = None,
) -> str:
    lines = [""]
    if sandbox_url is not None:
        lines.append(
            f"Business Central sandbox:  {sandbox_url}  (admin API: {sandbox_url}/_sandbox)"
        )
    lines.append(f"Proxy (local host):        {proxy_url}/api  (function keys are not checked)")
    lines.append(
        "CORS allowed origins:      " + (", ".join(cors_origins) if cors_origins else "(none)")
    )
    lines += ["", "Functions:"]
    for f in functions:
        methods = ",".join(sorted(f.methods)) if f.methods else "ALL"
        lines.append(f"  {f.name}: [{methods}] {proxy_url}/{f.route}")
    if durable is not None and (durable.engine.orchestrators or durable.engine.activities):
        lines.append("Durable Functions (local stand-in, in memory):")
        lines += [f"  {name}: orchestrator" for name in sorted(durable.engine.orchestrators)]
        lines += [f"  {name}: activity" for name in sorted(durable.engine.activities)]
    ids = ("<companyId>", "<journalId>", "<paymentId>")
    seeded = False
    if seed is not None:
        try:
            company = seed["companies"][0]
            journal = company["journals"][0]
            payment = journal["payments"][0]
            ids = (company["id"], journal["id"], payment["id"])
            seeded = True
            lines += [
                "",
                f"Seed: tenant {seed['tenant']}, environment {seed['environment']}",
                f"  company  {company['id']}  {company.get('name', '')}",
                f"  journal  {journal['id']}  {journal.get('code', '')}",
                f"  payment  {payment['id']}",
            ]
        except (KeyError, IndexError, TypeError):
            lines += ["", "(the sandbox seed has an unexpected shape; see /_sandbox/seed)"]
    get_curl, patch_curl = curl_examples(payment_url(proxy_url, *ids))
    if web_url is not None:
        lines += [
            "",
            "Sample browser page (its own origin, so its calls are cross-origin):",
            f"  {page_url(web_url, ids if seeded else None)}",
        ]
    lines += [
        "",
        "Read a payment line (the ETag header is what If-Match wants):",
        f"  {get_curl}",
        "Update it ('*' skips the ETag check; paste the ETag to keep it):",
        f"  {patch_curl}",
        "",
        "Press Ctrl+C to stop.",
        "",
    ]
    return "\n".join(lines)


async def fetch_seed(sandbox_url: str) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            response = await client.get(f"{sandbox_url}/_sandbox/seed")
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("could not read the sandbox seed: %s", exc)
        return None


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # azure-core logs every request and response header block at INFO.
    logging.getLogger("azure").setLevel(logging.WARNING)


def _start(env: MutableMapping[str, str]) -> int:
    proxy_port = read_port(env, "PROXY_PORT", DEFAULT_PROXY_PORT)
    use_sandbox = sandbox_mode(env)
    sandbox_port = read_port(env, "SANDBOX_PORT", DEFAULT_SANDBOX_PORT) if use_sandbox else None
    web_port = read_port(env, "WEB_PORT", DEFAULT_WEB_PORT)
    ports = [p for p in (proxy_port, sandbox_port, web_port) if p is not None]
    if len(set(ports)) != len(ports):
        raise StartupError("PROXY_PORT, SANDBOX_PORT and WEB_PORT must differ")
    cors_origins = allowed_origins(env, web_port)

    socks: list[socket.socket] = []
    try:
        socks.append(bind(proxy_port, "PROXY_PORT"))
        web_sock = bind(web_port, "WEB_PORT")
        socks.append(web_sock)
        servers: list[Served] = []
        sandbox_url: str | None = None
        sandbox_served: Served | None = None
        if sandbox_port is not None:
            sandbox_sock = bind(sandbox_port, "SANDBOX_PORT")
            socks.append(sandbox_sock)
            emulator = importlib.import_module("sandbox.app")
            seed_module = importlib.import_module("sandbox.seed")

            sandbox_url = f"http://{HOST}:{sandbox_port}"
            identity_header = secrets.token_urlsafe(32)
            sandbox_app = emulator.create_sandbox_app(identity_header=identity_header)
            # Its requests show up in the app's own logs (httpx); keep the console readable.
            options = {"access_log": False, **emulator.SERVER_OPTIONS}
            sandbox_served = make_server("sandbox", sandbox_app, sandbox_sock, **options)
            env.update(
                sandbox_environment(
                    sandbox_url=sandbox_url,
                    tenant=str(seed_module.TENANT_ID),
                    environment=str(seed_module.ENVIRONMENT),
                    identity_header=identity_header,
                )
            )
            _bypass_proxies_for_loopback(env)
            print(f"Sandbox mode: Business Central emulator on {sandbox_url}", flush=True)
        else:
            print(
                f"Real tenant mode: {env.get('BC_BASE_URL')} (tenant {env.get('BC_TENANT_ID')},"
                " DefaultAzureCredential)",
                flush=True,
            )

        # Bulk job ids and tokens are keyed with it: a fresh one per run, unless given.
        if not env.get("BULK_JOB_SECRET", "").strip():
            env["BULK_JOB_SECRET"] = secrets.token_urlsafe(32)
        # Like the Functions tools, name the local host the app is served on: the
        # app builds its own absolute URLs (problem types) from it.
        env.setdefault("WEBSITE_HOSTNAME", f"{HOST}:{proxy_port}")
        # The app reads its settings from the environment: import it only now.
        function_app, callbacks = load_function_app()
        # Durable Functions run in memory, on the wall clock (see funchost.durable).
        durable = DurableStandIn(function_app, clock=WallClock())
        host = create_local_host(
            function_app,
            host_json=REPO_ROOT / "host.json",
            on_shutdown=callbacks,
            cors_origins=cors_origins,
            durable=durable,
        )
        proxy_url = f"http://{HOST}:{proxy_port}"
        web_url = f"http://{HOST}:{web_port}"
        servers.append(make_server("proxy", host, socks[0]))
        # The page's server stops with the proxy, before the sandbox.
        servers.append(make_server("web", web_app(f"{proxy_url}/api"), web_sock, access_log=False))
        if sandbox_served is not None:
            servers.append(sandbox_served)

        async def ready() -> None:
            seed = await fetch_seed(sandbox_url) if sandbox_url else None
            text = banner(
                proxy_url=proxy_url,
                functions=host.state.functions,
                sandbox_url=sandbox_url,
                seed=seed,
                web_url=web_url,
                cors_origins=cors_origins,
                durable=durable,
            )
            print(text, flush=True)

        return asyncio.run(serve(servers, ready))
    finally:
        for sock in socks:
            sock.close()


def main(env: MutableMapping[str, str] | None = None) -> int:
    _configure_logging()
    # Until the event loop installs its own handlers, SIGTERM ends startup like Ctrl-C.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return _start(os.environ if env is None else env)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
