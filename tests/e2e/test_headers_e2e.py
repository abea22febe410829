"""Headers on every route of the route table, in success and in failure: no
content sniffing anywhere, no cache for anything that carries a payment line,
a job's status URL or a problem, and a strict policy on the problems page."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest

from funchost.durable import DurableStandIn
from shared.api.routes import OPERATIONS
from shared.api.spec import Operation
from shared.process.jsonio import dumps_exact
from tests.support.proxy import Proxy

pytestmark = pytest.mark.e2e

BODIES: dict[str, dict[str, Any]] = {
    "patch": {"comment": "headers"},
    "bulk": {"updates": [{"id": "", "ifMatch": "*", "changes": {"comment": "headers"}}]},
}


def url_of(proxy: Proxy, operation: Operation, job_id: str) -> str:
    ids = proxy.line()
    values = {
        "apiVersion": "v2.0",
        "companyId": ids["company"],
        "journalId": ids["journal"],
        "paymentId": ids["payment"],
        "jobId": job_id,
    }
    path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], operation.path)
    return f"{proxy.url}{path}"


def send(proxy: Proxy, operation: Operation, job_id: str) -> httpx.Response:
    body = None
    if operation.body is not None:
        data = BODIES[operation.body]
        if operation.body == "bulk":
            data = {"updates": [{**data["updates"][0], "id": proxy.line()["payment"]}]}
        body = dumps_exact(data)
    headers = {"Content-Type": "application/json", "If-Match": "*"}
    return proxy.http.request(
        operation.method, url_of(proxy, operation, job_id), content=body, headers=headers
    )


@pytest.fixture
def job_id(durable: DurableStandIn) -> str:
    """A job id no job has: the status route answers its 404 problem."""
    return secrets.token_hex(16)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: f"{o.method} {o.path}")
def test_every_route_sends_nosniff_and_no_store(
    proxy: Proxy, operation: Operation, job_id: str
) -> None:
    response = send(proxy, operation, job_id)
    assert response.status_code < 500, response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if operation.response == "problems":
        assert response.status_code == 200
        policy = response.headers["Content-Security-Policy"]
        assert policy.startswith("default-src 'none'; ")
        assert "frame-ancestors 'none'" in policy
        assert "script-src" not in policy
        assert "'unsafe-inline'" not in policy
    else:
        assert response.headers["Cache-Control"] == "no-store"


def test_a_job_status_url_and_its_answers_are_never_cached(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    operation = next(o for o in OPERATIONS if o.body == "bulk")
    started = send(proxy, operation, "")
    assert started.status_code == 202, started.text
    assert started.headers["Cache-Control"] == "no-store"
    assert "token=" in started.headers["Location"]
    durable.wait_done_sync(started.json()["jobId"])
    status = httpx.get(started.headers["Location"], timeout=30)
    assert status.status_code == 200, status.text
    assert status.headers["Cache-Control"] == "no-store"
    assert status.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/openapi.json", "/no/such/route"])
def test_documents_and_failures_carry_the_same_headers(proxy: Proxy, path: str) -> None:
    response = proxy.http.get(f"{proxy.url}{path}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
