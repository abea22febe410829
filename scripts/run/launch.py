"""Starting ``make run``: the settings, the sandbox (in sandbox mode), the app
on the local host with its Durable stand-in, the sample page; see
:mod:`scripts.run`."""

# ruff: noqa: T201 - the console is where `make run` reports

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import MutableMapping
from pathlib import Path

import azure.functions as func

from funchost.durable import DurableStandIn, WallClock
from funchost.http import ShutdownCallback, create_local_host
from scripts.run.access import access_logged
from scripts.run.banner import banner, fetch_seed
from scripts.run.servers import Served, make_server, serve
from scripts.run.settings import (
    DEFAULT_PROXY_PORT,
    DEFAULT_SANDBOX_PORT,
    DEFAULT_WEB_PORT,
    HOST,
    StartupError,
    allowed_origins,
    bind,
    bypass_proxies_for_loopback,
    local_function_keys,
    read_port,
    sandbox_environment,
    sandbox_mode,
)
from scripts.run.web import web_app

REPO_ROOT = Path(__file__).resolve().parents[2]


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
            # No access log: its requests show up in the app's own logs (httpx).
            sandbox_served = make_server(
                "sandbox", sandbox_app, sandbox_sock, **emulator.SERVER_OPTIONS
            )
            env.update(
                sandbox_environment(
                    sandbox_url=sandbox_url,
                    tenant=str(seed_module.TENANT_ID),
                    environment=str(seed_module.ENVIRONMENT),
                    identity_header=identity_header,
                )
            )
            bypass_proxies_for_loopback(env)
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
            function_keys=local_function_keys(env),
        )
        proxy_url = f"http://{HOST}:{proxy_port}"
        web_url = f"http://{HOST}:{web_port}"
        # One access line per request to the local host, secrets cut out.
        servers.append(make_server("proxy", access_logged(host), socks[0]))
        # The page's server stops with the proxy, before the sandbox.
        servers.append(make_server("web", web_app(f"{proxy_url}/api"), web_sock))
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
                checks_keys=bool(host.state.checks_keys),
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
