"""Servers in processes of their own, for the benches that measure one of them.

    python bench/servers.py proxy [--tree PATH]     the app on the local host, as make run serves it
    python bench/servers.py forwarder               a bare httpx forwarder that only adds the token
    python bench/servers.py hosted                  that forwarder as a function on the local host
    python bench/servers.py sandbox                 the sandbox (Business Central and its identity)

Each prints one JSON line (its URL, and the sandbox its settings for a proxy), then
answers one line per command read from stdin:

* ``cpu``: the process's CPU seconds, user and system (every thread);
* ``profile start`` / ``profile stop FILE``: cProfile on the server's event loop thread,
  written to FILE (pstats format);
* ``rss``: the process's peak resident memory so far, in bytes;
* ``durable``: the proxy's Durable instances (stand-in figures: episodes, the worker's
  CPU over them, history events and characters, input and output characters), as JSON;
* end of input: the server stops and the process ends.

``--tree`` serves the app of another checkout (e.g. a worktree of main), so that two
versions can be measured side by side by one bench. The proxy's settings come from the
environment (``RunningSandbox.environment_variables()``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Child:
    """A server process spoken to line by line."""

    process: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def pid(self) -> int:
        return self.process.pid

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"server {self.process.args!r} ended ({self.process.wait()})")
        return answer.strip()

    def cpu(self) -> tuple[float, float]:
        """User and system CPU seconds the server's process has used so far."""
        user, system = self.ask("cpu").split()
        return float(user), float(system)


@contextlib.contextmanager
def spawn(
    kind: str,
    *options: str,
    env: dict[str, str] | None = None,
    prefix: tuple[str, ...] = (),
    start_timeout_s: float = 120,
) -> Iterator[Child]:
    """Start ``bench/servers.py KIND`` (``prefix``: e.g. valgrind's command line before
    the interpreter); stopped when the block ends."""
    process = subprocess.Popen(
        [*prefix, sys.executable, str(Path(__file__).resolve()), kind, *options],
        env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = threading.Event()
        first: list[str] = []

        def read_first() -> None:
            assert process.stdout is not None
            first.append(process.stdout.readline())
            ready.set()

        threading.Thread(target=read_first, daemon=True).start()
        if not ready.wait(start_timeout_s) or not first[0]:
            raise RuntimeError(f"server {kind} did not start")
        yield Child(process, json.loads(first[0]))
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- in the child --------------------------------------------------------------------


def _proxy_app(tree: Path) -> Any:
    import function_app
    from funchost.http import create_local_host
    from shared.upstream import runtime

    return create_local_host(
        function_app.app, host_json=tree / "host.json", on_shutdown=[runtime.aclose_runtime]
    )


class Forwarder:
    """What a proxy without any of this project's checks would be: the path mapped onto
    Business Central's, the caller's If-Match and body passed on, a managed-identity token
    added (fetched once, kept), and Business Central's status, ETag and body passed back.
    Served bare (an ASGI app, no host) or as an HTTP function on the local host
    (:func:`hosted_forwarder`), so that the host's own share can be told apart."""

    def __init__(self, environ: dict[str, str]) -> None:
        self._base = (
            f"{environ['BC_BASE_URL']}/v2.0/{environ['BC_TENANT_ID']}/{environ['BC_ENVIRONMENT']}"
            "/api"
        )
        self._identity = (environ["IDENTITY_ENDPOINT"], environ["IDENTITY_HEADER"])
        self._http: httpx.AsyncClient | None = None
        self._token: str | None = None

    async def forward(
        self, method: str, path: str, if_match: str | None, body: bytes
    ) -> tuple[int, str | None, bytes]:
        """Business Central's status, ETag and body for a call to ``path``."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=30)
        if self._token is None:
            endpoint, secret = self._identity
            answer = await self._http.get(
                endpoint,
                params={
                    "api-version": "2019-08-01",
                    "resource": "https://api.businesscentral.dynamics.com",
                },
                headers={"X-IDENTITY-HEADER": secret},
            )
            self._token = answer.json()["access_token"]
        # /api/v2.0/companies/{c}/customerPaymentJournals/{j}/customerPayments/{p}
        _, _, version, _, company, sets, journal, lines, line = path.split("/")
        url = f"{self._base}/{version}/companies({company})/{sets}({journal})/{lines}({line})"
        out = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        if if_match is not None:
            out["If-Match"] = if_match
        response = await self._http.request(method, url, content=body, headers=out)
        return response.status_code, response.headers.get("etag"), response.content

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status, etag, content = await self.forward(
            scope["method"], scope["path"], headers.get("if-match"), body
        )
        reply = [(b"content-type", b"application/json")]
        if etag is not None:
            reply.append((b"etag", etag.encode()))
        await send({"type": "http.response.start", "status": status, "headers": reply})
        await send({"type": "http.response.body", "body": content})


def hosted_forwarder(environ: dict[str, str]) -> Any:
    """The forwarder as the one HTTP function of an app on the local host, the way the
    proxy is served: the host's request and response objects, its routing, nothing else."""
    import azure.functions as func

    from funchost.http import create_local_host

    forwarder = Forwarder(environ)
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(
        route="{version}/companies/{company}/{sets}/{journal}/{lines}/{line}",
        methods=["GET", "PATCH"],
    )
    async def forward(req: func.HttpRequest) -> func.HttpResponse:
        path = "/" + req.url.split("/", 3)[3].split("?", 1)[0]
        status, etag, content = await forwarder.forward(
            req.method, path, req.headers.get("if-match"), req.get_body()
        )
        headers = {"ETag": etag} if etag is not None else {}
        return func.HttpResponse(
            content, status_code=status, headers=headers, mimetype="application/json"
        )

    return create_local_host(app, on_shutdown=[forwarder.aclose])


def _serve(kind: str, tree: Path, log_size: int) -> None:
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    from sandbox.serving import free_port, serve_in_thread

    options: dict[str, Any] = {"port": free_port()}
    # The app builds absolute URLs (a bulk job's status) from the host name it is served on.
    os.environ["WEBSITE_HOSTNAME"] = f"127.0.0.1:{options['port']}"
    info: dict[str, Any] = {}
    sandbox_context: Any = contextlib.nullcontext()
    if kind == "proxy":
        app = _proxy_app(tree)
    elif kind == "forwarder":
        app = Forwarder(dict(os.environ))
    elif kind == "hosted":
        app = hosted_forwarder(dict(os.environ))
    else:
        from tests.support.sandbox import start_sandbox

        sandbox_context = start_sandbox(max_logged_requests=log_size)
        app = None
    with sandbox_context as sandbox:
        server_context: Any = (
            contextlib.nullcontext(sandbox.server)
            if app is None
            else serve_in_thread(app, **options)
        )
        with server_context as server:
            info["url"] = server.url
            if sandbox is not None:
                info["environment"] = sandbox.environment_variables()
                info["seed"] = json.loads(json.dumps(sandbox.seed, default=str))
            print(json.dumps(info), flush=True)
            _commands(server, app)


def _durable_figures(app: Any) -> list[dict[str, Any]]:
    durable = getattr(getattr(app, "state", None), "durable", None)
    if durable is None:
        return []
    figures = []
    for view in durable.instances():
        figures.append(
            {
                "id": view.instance_id,
                "status": str(view.status),
                "episodes": view.episodes,
                "replayCpuS": getattr(view, "replay_cpu_s", None),
                "largestEpisodeChars": getattr(view, "largest_episode_chars", None),
                "executions": len(view.previous_histories) + 1,
                "historyEvents": len(view.history),
                "historyChars": len(json.dumps(view.history, default=str)),
                "inputChars": len(view.input_text or ""),
                "outputChars": len(view.output if isinstance(view.output, str) else ""),
                "activityRuns": dict(view.activity_runs),
                "seconds": (view.last_updated - view.created).total_seconds(),
                "lastUpdated": view.last_updated.timestamp(),
            }
        )
    return figures


def _commands(server: Any, app: Any) -> None:
    import resource

    profiler = cProfile.Profile()
    for line in sys.stdin:
        words = line.split()
        if words == ["rss"]:
            answer = str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        elif words == ["durable"]:
            answer = json.dumps(_durable_figures(app))
        elif words == ["cpu"]:
            times = os.times()
            answer = f"{times.user!r} {times.system!r}"
        elif words[:2] == ["profile", "start"]:
            server.loop.call_soon_threadsafe(profiler.enable)
            time.sleep(0.05)
            answer = "ok"
        elif words[:2] == ["profile", "stop"]:
            server.loop.call_soon_threadsafe(profiler.disable)
            time.sleep(0.05)
            profiler.dump_stats(words[2])
            answer = "ok"
        else:
            answer = "unknown command"
        print(answer, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("proxy", "forwarder", "hosted", "sandbox"))
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument(
        "--log", type=int, default=10_000, help="sandbox: requests its log keeps (the latest)"
    )
    args = parser.parse_args()
    _serve(args.kind, args.tree.resolve(), args.log)


if __name__ == "__main__":
    main()
