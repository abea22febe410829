"""`make smoke`'s script against `make run`: the sandbox and the local host as one
developer starts them, the script as an operator runs it against a deployment (a
subprocess, real sockets). The local host checks function keys only when started with
LOCAL_FUNCTION_KEY, as Azure does; without, the smoke test must say the payment routes
are open."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.make_run import READY_LINE, REPO_ROOT, Running, start_make_run

pytestmark = pytest.mark.e2e

KEY = "local-smoke-key-0123456789"


def started(extra_env: dict[str, str]) -> Iterator[Running]:
    running = start_make_run(extra_env)
    try:
        running.wait_for_output(READY_LINE)
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


@pytest.fixture(scope="module")
def keyed() -> Iterator[Running]:
    yield from started({"LOCAL_FUNCTION_KEY": KEY})


@pytest.fixture(scope="module")
def open_host() -> Iterator[Running]:
    yield from started({})


def seeded_ids(running: Running) -> list[str]:
    seed = httpx.get(f"{running.sandbox_url}/_sandbox/seed", timeout=10).json()
    company = seed["companies"][0]
    journal = company["journals"][0]
    return [company["id"], journal["id"], journal["payments"][0]["id"]]


def sandbox_log(running: Running) -> list[dict[str, Any]]:
    """What reached Business Central (the proxy's requests carry a client request id)."""
    entries = httpx.get(f"{running.sandbox_url}/_sandbox/requests", timeout=10).json()
    return [e for e in entries if "x-ms-client-request-id" in e["headers"]]


def clear_sandbox_log(running: Running) -> None:
    httpx.delete(f"{running.sandbox_url}/_sandbox/requests", timeout=10).raise_for_status()


def smoke(running: Running, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SMOKE_")}
    if key is not None:
        env["SMOKE_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "scripts.smoke", "--url", running.proxy_url, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def with_ids(running: Running) -> list[str]:
    company, journal, payment = seeded_ids(running)
    return ["--company", company, "--journal", journal, "--payment", payment]


def results(output: str) -> dict[str, str]:
    """Check name -> ok / FAIL / skip, from the script's lines."""
    found = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "FAIL", "skip"):
            found[rest.strip().split(":", 1)[0]] = status
    return found


def test_the_read_only_smoke_test_passes_and_nothing_it_sends_unauthenticated_reaches_bc(
    keyed: Running,
) -> None:
    assert "function keys are checked" in keyed.output
    clear_sandbox_log(keyed)
    done = smoke(keyed, *with_ids(keyed))
    assert done.returncode == 0, done.stdout + done.stderr
    assert results(done.stdout) == {
        "health answers": "ok",
        "OpenAPI answers": "ok",
        "a payment route refuses a call without credentials": "ok",
        "a forged X-MS-CLIENT-PRINCIPAL opens nothing": "ok",
        "dot-dot paths from anonymous routes never reach a payment route": "ok",
        "a line can be read": "ok",
        "the bulk route is configured": "ok",
        "writing": "skip",
    }
    # Business Central saw the one read with the key, and nothing else: no dot-dot path,
    # forged principal or keyless call got through, and read-only means no PATCH.
    seen = sandbox_log(keyed)
    assert [entry["method"] for entry in seen] == ["GET"], seen
    assert seeded_ids(keyed)[2] in seen[0]["path"]


def test_with_write_the_comment_goes_back_unchanged_and_a_stale_etag_is_refused(
    keyed: Running,
) -> None:
    company, journal, payment = seeded_ids(keyed)
    line_url = (
        f"{keyed.proxy_url}/api/v2.0/companies/{company}/customerPaymentJournals/{journal}"
        f"/customerPayments/{payment}"
    )
    before = httpx.get(line_url, headers={"x-functions-key": KEY}, timeout=10).json()
    clear_sandbox_log(keyed)
    done = smoke(keyed, *with_ids(keyed), "--write")
    assert done.returncode == 0, done.stdout + done.stderr
    assert results(done.stdout)["a write with the ETag, and a stale ETag refused"] == "ok"
    assert "then 412 with the stale one" in done.stdout
    # One PATCH applied; the one with the stale ETag was refused by Business Central.
    patches = [entry for entry in sandbox_log(keyed) if entry["method"] == "PATCH"]
    assert len(patches) == 2
    assert patches[0]["processedStatus"] == 200
    assert patches[1]["processedStatus"] >= 400
    after = httpx.get(line_url, headers={"x-functions-key": KEY}, timeout=10).json()
    assert after["comment"] == before["comment"]
    assert after["etag"] != before["etag"]


def test_a_wrong_key_fails_the_reads_and_says_so(keyed: Running) -> None:
    done = smoke(keyed, *with_ids(keyed), key="not-the-key")
    assert done.returncode == 1
    assert results(done.stdout)["a line can be read"] == "FAIL"
    assert "GET of the line answered 401" in done.stdout


def test_without_function_keys_the_smoke_test_fails_on_the_open_payment_route(
    open_host: Running,
) -> None:
    # `make run` without LOCAL_FUNCTION_KEY lets anyone in, like the Functions tools: the
    # check that matters on a deployment must see it.
    assert "function keys are not checked" in open_host.output
    done = smoke(open_host, *with_ids(open_host), key=None)
    assert done.returncode == 1
    outcome = results(done.stdout)
    assert outcome["a payment route refuses a call without credentials"] == "FAIL"
    assert outcome["a forged X-MS-CLIENT-PRINCIPAL opens nothing"] == "FAIL"
    assert "a payment route answered 200 without credentials" in done.stdout
    # The anonymous routes cannot be walked out of even so.
    assert outcome["dot-dot paths from anonymous routes never reach a payment route"] == "ok"
