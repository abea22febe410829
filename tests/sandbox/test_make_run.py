"""`make run` (python -m scripts.run): the real entry point as a subprocess.

Starts the sandbox and the local host on free loopback ports, talks to them
over HTTP, then stops the process with a signal and checks it exits cleanly
and frees its ports.
"""

from __future__ import annotations

import shlex
import signal
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from scripts.run.settings import (
    StartupError,
    allowed_origins,
    is_local_url,
    read_port,
    sandbox_mode,
)
from tests.support.make_run import READY_LINE, Running, start_make_run

Starter = Callable[..., Running]


@pytest.fixture
def start() -> Iterator[Starter]:
    started: list[Running] = []

    def starter(extra_env: dict[str, str] | None = None) -> Running:
        running = start_make_run(extra_env)
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

    # The bulk example of the README needs two lines: both are printed.
    second = journal["payments"][1]
    assert f"  payment  {payment['id']}\n  payment  {second['id']}\n" in output

    curls = [line.strip() for line in output.splitlines() if line.strip().startswith("curl ")]
    get_cmd = next(c for c in curls if "-X " not in c)
    patch_cmd = next(c for c in curls if "-X PATCH" in c)
    bulk_cmd = next(c for c in curls if "-X POST" in c)
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

    started = replay_curl(bulk_cmd)
    assert started.status_code == 202, started.text
    job = poll_until_done(started.headers["location"])
    assert [(item["id"], item["outcome"]) for item in job["items"]] == [
        (payment["id"], "updated"),
        (second["id"], "updated"),
    ]

    # The identity endpoint issued the proxy's token: the real credential was used.
    assert httpx.get(f"{running.sandbox_url}/_sandbox/identity/stats").json()["tokenRequests"] >= 1

    # The sample page, on its own origin, which the local host's CORS allows by default.
    page_line = next(
        line.strip() for line in output.splitlines() if line.strip().startswith(running.web_url)
    )
    assert page_line.startswith(f"{running.web_url}/?company=")
    assert "api=" not in page_line
    assert payment["id"] in page_line
    page = httpx.get(page_line)
    assert page.status_code == 200
    assert '<script type="module" src="app.js">' in page.text
    # The proxy the page calls is in its config block, written when it is served.
    assert f'"apiBase": "{running.proxy_url}/api"' in page.text
    script = httpx.get(f"{running.web_url}/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert f"CORS allowed origins:      {running.web_url}" in output
    assert preflight_origin(running, running.web_url) == running.web_url
    assert preflight_origin(running, f"http://localhost:{running.web_port}") is not None
    assert preflight_origin(running, "http://evil.example") is None
    read = httpx.get(get_cmd.split()[-1], headers={"Origin": running.web_url})
    assert read.headers["access-control-allow-origin"] == running.web_url
    assert "ETag" in read.headers["access-control-expose-headers"]

    assert running.stop(signal.SIGTERM) == 0
    assert port_is_free(running.proxy_port)
    assert port_is_free(running.sandbox_port)
    assert port_is_free(running.web_port)


def poll_until_done(location: str, timeout: float = 30) -> dict[str, Any]:
    """A bulk job's status, polled as its Location says, until it is done."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(location, timeout=30)
        if answer.status_code != 202 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            result: dict[str, Any] = answer.json()
            return result
        time.sleep(0.2)


def preflight_origin(running: Running, origin: str) -> str | None:
    """The origin a preflight PATCH from ``origin`` is allowed for, None when refused."""
    response = httpx.options(
        f"{running.proxy_url}/api/health",
        headers={"Origin": origin, "Access-Control-Request-Method": "PATCH"},
    )
    assert response.status_code == 204
    allowed: str | None = response.headers.get("access-control-allow-origin")
    return allowed


@pytest.mark.e2e
def test_cors_allowed_origins_replaces_the_default(start: Starter) -> None:
    running = start({"CORS_ALLOWED_ORIGINS": "https://finance.contoso.com"})
    running.wait_for_output(READY_LINE)
    assert preflight_origin(running, "https://finance.contoso.com") == "https://finance.contoso.com"
    assert preflight_origin(running, running.web_url) is None
    assert running.stop(signal.SIGTERM) == 0


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
@pytest.mark.parametrize("setting", ["PROXY_PORT", "WEB_PORT"])
def test_a_taken_port_is_reported_and_exits_non_zero(start: Starter, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        running = start({setting: str(port)})
        assert running.process.wait(30) == 1
        time.sleep(0.2)  # let the reader thread drain the pipe
        assert f"127.0.0.1:{port}" in running.output
        assert setting in running.output
        assert "Traceback" not in running.output


@pytest.mark.e2e
def test_an_invalid_cors_setting_is_reported_and_exits_non_zero(start: Starter) -> None:
    running = start({"CORS_ALLOWED_ORIGINS": "*"})
    assert running.process.wait(30) == 1
    time.sleep(0.2)  # let the reader thread drain the pipe
    assert "CORS_ALLOWED_ORIGINS" in running.output
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


def test_allowed_origins_default_to_the_sample_page() -> None:
    assert allowed_origins({}, 7073) == ("http://127.0.0.1:7073", "http://localhost:7073")
    assert allowed_origins({"CORS_ALLOWED_ORIGINS": ""}, 7073) == ()  # set but empty: no CORS
    assert allowed_origins({"CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example"}, 1) == (
        "https://a.example",
        "https://b.example",
    )
    for bad in ("*", "https://a.example/path", "a.example"):
        with pytest.raises(StartupError, match="CORS_ALLOWED_ORIGINS"):
            allowed_origins({"CORS_ALLOWED_ORIGINS": bad}, 7073)


@pytest.mark.e2e
def test_no_secret_reaches_the_log_of_a_run_that_polls_a_bulk_job(start: Starter) -> None:
    """Everything `make run` prints while a caller starts a bulk job and polls
    its status URL (token in the query), with a function key in `?code=`,
    holds neither: the access log shows where they were, redacted."""
    key = "caller-function-key-Zq9w8e7r6t5y4u3i"
    secret = "bulk-job-secret-for-the-log-scan-0123456789"
    running = start({"BULK_JOB_SECRET": secret})
    running.wait_for_output(READY_LINE)
    company = httpx.get(f"{running.sandbox_url}/_sandbox/seed").json()["companies"][0]
    journal = company["journals"][0]
    payment = journal["payments"][0]["id"]
    base = f"{running.proxy_url}/api/v2.0/companies/{company['id']}"
    started = httpx.post(
        f"{base}/customerPaymentJournals/{journal['id']}/bulkPaymentUpdates",
        params={"code": key},
        json={"updates": [{"id": payment, "ifMatch": "*", "changes": {"comment": "log scan"}}]},
        timeout=30,
    )
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    token = parse_qs(urlsplit(location).query)["token"][0]
    deadline = time.monotonic() + 30
    while (poll := httpx.get(f"{location}&code={key}", timeout=30)).status_code == 202:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)
    assert poll.status_code == 200, poll.text
    assert poll.json()["items"][0]["outcome"] == "updated"
    listed = httpx.get(f"{base}/customerPaymentJournals", params={"code": key}, timeout=30)
    assert listed.status_code == 200
    assert running.stop(signal.SIGTERM) == 0

    output = running.output
    for value in (token, key, secret):
        assert value not in output
    assert "eyJ" not in output  # no bearer token (JWT) either
    # The access log did write those requests, with the secrets cut out.
    assert "token=<redacted>" in output
    assert "code=<redacted>" in output
    assert "Logging error" not in output
    assert "Traceback" not in output
