"""`make run` (python -m sandbox.run): the real entry point as a subprocess.

Starts the sandbox and the local host on free loopback ports, talks to them
over HTTP, then stops the process with a signal and checks it exits cleanly
and frees its ports.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sandbox.run import StartupError, is_local_url, read_port, sandbox_mode
from sandbox.serving import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Press Ctrl+C to stop."
# Settings that would change the mode or the identity the app uses.
_MODE_SETTINGS = (
    "BC_TENANT_ID",
    "BC_BASE_URL",
    "BC_ENVIRONMENT",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_CLIENT_ID",
)


@dataclass
class Running:
    process: subprocess.Popen[str]
    proxy_port: int
    sandbox_port: int
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader thread drain the pipe
                pytest.fail(f"exited with {self.process.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not printed within {timeout}s:\n{self.output}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals, timeout: float = 20) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout)


def _start(extra_env: dict[str, str]) -> Running:
    env = {k: v for k, v in os.environ.items() if k not in _MODE_SETTINGS}
    proxy_port, sandbox_port = free_port(), free_port()
    while sandbox_port == proxy_port:
        sandbox_port = free_port()
    env.update(PROXY_PORT=str(proxy_port), SANDBOX_PORT=str(sandbox_port), PYTHONUNBUFFERED="1")
    env.update(extra_env)
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Running(process, proxy_port, sandbox_port)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return running


Starter = Callable[..., Running]


@pytest.fixture
def start() -> Iterator[Starter]:
    started: list[Running] = []

    def starter(extra_env: dict[str, str] | None = None) -> Running:
        running = _start(extra_env or {})
        started.append(running)
        return running

    yield starter
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def replay_curl(command: str) -> httpx.Response:
    """Send what a printed `curl -i [-X M] URL [-H h]... [-d body]` line asks for."""
    args = shlex.split(command)
    assert args[0] == "curl"
    method, url, headers, body = "GET", "", {}, None
    it = iter(args[1:])
    for arg in it:
        if arg == "-X":
            method = next(it)
        elif arg == "-H":
            name, value = next(it).split(":", 1)
            headers[name.strip()] = value.strip()
        elif arg in ("-d", "--data", "--data-raw"):
            body = next(it)
        elif arg == "-i":
            continue
        else:
            url = arg
    return httpx.request(method, url, headers=headers, content=body, timeout=30)


# --- the full local run -------------------------------------------------------


@pytest.mark.e2e
def test_make_run_serves_the_proxy_against_the_sandbox_and_stops_cleanly(start: Starter) -> None:
    running = start()
    running.wait_for_output(READY_LINE)
    assert httpx.get(f"{running.proxy_url}/api/health").json() == {"status": "ok"}

    output = running.output
    assert running.proxy_url in output
    assert running.sandbox_url in output

    seed = httpx.get(f"{running.sandbox_url}/_sandbox/seed").json()
    company = seed["companies"][0]
    journal = company["journals"][0]
    payment = journal["payments"][0]
    for guid in (company["id"], journal["id"], payment["id"]):
        assert guid in output

    curls = [line.strip() for line in output.splitlines() if line.strip().startswith("curl ")]
    get_cmd = next(c for c in curls if "-X PATCH" not in c)
    patch_cmd = next(c for c in curls if "-X PATCH" in c)
    assert "If-Match: *" in patch_cmd
    assert "Content-Type: application/json" in patch_cmd

    before = replay_curl(get_cmd)
    assert before.status_code == 200, before.text
    assert before.json()["id"] == payment["id"]
    assert before.json()["amount"] != 1234.56

    patched = replay_curl(patch_cmd)
    assert patched.status_code == 200, patched.text
    assert patched.json()["amount"] == 1234.56
    assert patched.headers["etag"] != before.headers["etag"]

    after = replay_curl(get_cmd)
    assert after.json()["amount"] == 1234.56
    assert after.headers["etag"] == patched.headers["etag"]

    # The identity endpoint issued the proxy's token: the real credential was used.
    assert httpx.get(f"{running.sandbox_url}/_sandbox/identity/stats").json()["tokenRequests"] >= 1

    assert running.stop(signal.SIGTERM) == 0
    assert port_is_free(running.proxy_port)
    assert port_is_free(running.sandbox_port)


@pytest.mark.e2e
def test_ctrl_c_stops_both_servers(start: Starter) -> None:
    running = start()
    running.wait_for_output(READY_LINE)
    assert running.stop(signal.SIGINT) == 0
    assert "Traceback" not in running.output
    assert port_is_free(running.proxy_port)
    assert port_is_free(running.sandbox_port)


@pytest.mark.e2e
def test_a_real_tenant_starts_only_the_local_host(start: Starter) -> None:
    running = start(
        {"BC_TENANT_ID": "contoso.onmicrosoft.com", "BC_BASE_URL": "https://bc.example.invalid"}
    )
    running.wait_for_output(READY_LINE)
    assert httpx.get(f"{running.proxy_url}/api/health").status_code == 200
    assert port_is_free(running.sandbox_port)  # no sandbox was started
    assert "<paymentId>" in running.output  # no seed to take ids from
    assert running.stop(signal.SIGTERM) == 0
    assert port_is_free(running.proxy_port)


@pytest.mark.e2e
def test_a_taken_port_is_reported_and_exits_non_zero(start: Starter) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        running = start({"PROXY_PORT": str(port)})
        assert running.process.wait(30) == 1
        time.sleep(0.2)  # let the reader thread drain the pipe
        assert f"127.0.0.1:{port}" in running.output
        assert "PROXY_PORT" in running.output
        assert "Traceback" not in running.output


# --- mode and settings --------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, True),
        ({"BC_TENANT_ID": "contoso.onmicrosoft.com"}, True),
        ({"BC_TENANT_ID": "t", "BC_BASE_URL": "http://127.0.0.1:7072"}, True),
        ({"BC_TENANT_ID": "t", "BC_BASE_URL": "http://localhost:9000/"}, True),
        ({"BC_TENANT_ID": "t", "BC_BASE_URL": "http://[::1]:9000"}, True),
        ({"BC_BASE_URL": "https://api.businesscentral.dynamics.com"}, True),
        ({"BC_TENANT_ID": "t", "BC_BASE_URL": "https://api.businesscentral.dynamics.com"}, False),
    ],
)
def test_mode(env: dict[str, str], expected: bool) -> None:
    assert sandbox_mode(env) is expected


def test_local_url_detection_looks_at_the_host_only() -> None:
    assert is_local_url("http://LOCALHOST:1")
    assert not is_local_url("https://localhost.example.com")
    assert not is_local_url("https://example.com/127.0.0.1")


def test_ports() -> None:
    assert read_port({}, "PROXY_PORT", 7071) == 7071
    assert read_port({"PROXY_PORT": " 8080 "}, "PROXY_PORT", 7071) == 8080
    for bad in ("0", "65536", "http", "-1"):
        with pytest.raises(StartupError, match="PROXY_PORT"):
            read_port({"PROXY_PORT": bad}, "PROXY_PORT", 7071)
