"""`make run` (python -m scripts.run) as a subprocess on free loopback ports.

Used by the tests of `make run` itself and by the browser test, which drives
the sample page against exactly what a developer starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox.serving import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Press Ctrl+C to stop."
# Settings that would change the mode, the identity the app uses, or what
# `make run` serves by default: a developer's shell must not leak them in.
_INHERITED_SETTINGS = (
    "BC_TENANT_ID",
    "BC_BASE_URL",
    "BC_ENVIRONMENT",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_CLIENT_ID",
    "CORS_ALLOWED_ORIGINS",
    # The address the app's own links (a bulk job's Location) are built from; the
    # in-process end-to-end proxy sets it for itself.
    "WEBSITE_HOSTNAME",
)


@dataclass
class Running:
    process: subprocess.Popen[str]
    proxy_port: int
    sandbox_port: int
    web_port: int
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

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

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


def distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def start_make_run(extra_env: dict[str, str] | None = None) -> Running:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_SETTINGS}
    proxy_port, sandbox_port, web_port = distinct_free_ports(3)
    env.update(
        PROXY_PORT=str(proxy_port),
        SANDBOX_PORT=str(sandbox_port),
        WEB_PORT=str(web_port),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Running(process, proxy_port, sandbox_port, web_port)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return running
