"""What a bulk job shows to someone who does not hold its status URL, end to end:
ids and tokens keyed with the deployment's secret, racing starts with one key,
the secret missing, and a hostile body that must not hold up the worker."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from funchost.durable import DurableStandIn
from shared.bulk import request as bulk_request
from shared.bulk import service as bulk_service
from shared.process.jsonio import dumps_exact, loads_exact
from tests.support.bulk_jobs import finished, journal_url, seeded, start
from tests.support.proxy import Configure, Proxy, bc_requests

pytestmark = pytest.mark.e2e

KEY = "statement-2026-11-30"


def id_and_token(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 202, response.text
    parts = urlsplit(response.headers["Location"])
    return parts.path.rsplit("/", 1)[1], parse_qs(parts.query)["token"][0]


def test_job_ids_and_tokens_are_keyed_with_the_deployment_secret(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    updates = [{"id": seeded(proxy, 0), "ifMatch": "*", "changes": {"comment": "keyed"}}]
    first = start(proxy, updates, key=KEY)
    job_id, token = id_and_token(first)
    finished(proxy, durable, first)
    ids = proxy.line()
    # Not the digest of what a caller knows, however it might be put together.
    for label in ("bulk", "bulk-job-id"):
        inputs = (label, "function-key", ids["company"], ids["journal"], KEY)
        for separator in ("\x1f", "|", ":", ""):
            guess = hashlib.sha256(separator.join(inputs).encode()).hexdigest()
            assert job_id not in (guess[:32], guess[-32:])
    # The task hub holds the token's digest only: reading it gives no status URL.
    view = durable.engine.view(job_id)
    assert view is not None
    assert view.input_text is not None
    assert token not in view.input_text
    job = loads_exact(view.input_text.encode())
    job = loads_exact(job.encode()) if isinstance(job, str) else job  # the client's JSON string
    assert "token" not in job
    assert job["tokenHash"] == hashlib.sha256(token.encode()).hexdigest()

    # Another deployment (another secret): the same caller, journal and key give
    # another job, and the first job's status URL means nothing there.
    configure(BULK_JOB_SECRET="another-deployment-secret-" + uuid.uuid4().hex)
    assert httpx.get(first.headers["Location"], timeout=10).status_code == 404
    second = start(proxy, updates, key=KEY)
    other_id, other_token = id_and_token(second)
    assert other_id != job_id
    assert other_token != token
    assert finished(proxy, durable, second)["status"] == "Completed"


def test_concurrent_starts_with_one_key_return_one_location_that_works(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    ids = proxy.sandbox.add_lines(20)
    body = dumps_exact(
        {"updates": [{"id": line, "ifMatch": "*", "changes": {"comment": "race"}} for line in ids]}
    )
    url = journal_url(proxy)
    gate = threading.Barrier(4)
    answers: list[httpx.Response] = []

    def post() -> None:
        with httpx.Client(timeout=60) as http:
            gate.wait()
            answers.append(
                http.post(
                    url,
                    content=body,
                    headers={"Content-Type": "application/json", "Idempotency-Key": "race-1"},
                )
            )

    senders = [threading.Thread(target=post) for _ in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
    assert len({a.headers["Location"] for a in answers}) == 1
    assert len(durable.instances()) == 1
    result = finished(proxy, durable, answers[0])
    assert result["counts"] == {"updated": 20, "failed": 0, "unknown": 0}
    # Each line was written once, by the one job.
    assert len([r for r in bc_requests(proxy.sandbox, "POST") if "$batch" in r["path"]]) == 1


@pytest.mark.parametrize(
    "secret",
    [
        "",
        # What App Service leaves in the setting when it cannot read the vault.
        "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/bulk-job-secret/"
        "0123456789abcdef0123456789abcdef)",
    ],
    ids=["unset", "unresolved Key Vault reference"],
)
def test_without_the_secret_only_the_bulk_routes_refuse(
    proxy: Proxy, durable: DurableStandIn, configure: Configure, secret: str
) -> None:
    started = start(proxy, [{"id": seeded(proxy, 0), "ifMatch": "*", "changes": {"comment": "a"}}])
    finished(proxy, durable, started)
    configure(BULK_JOB_SECRET=secret)
    answers = [
        start(proxy, [{"id": seeded(proxy, 1), "ifMatch": "*", "changes": {"comment": "b"}}]),
        httpx.get(started.headers["Location"], timeout=10),
    ]
    for answer in answers:
        assert answer.status_code == 500
        assert answer.json()["type"].endswith("#proxy-misconfigured")
        assert "BULK_JOB_SECRET" in answer.json()["detail"]
    assert len(durable.instances()) == 1
    # The single-line routes do not need it.
    line = proxy.get()
    assert line.status_code == 200, line.text
    changed = proxy.patch({"comment": "single"})
    assert changed.status_code == 200, changed.text


def hostile_body(limit: int = 2 * 2**20, keys: int = 60) -> bytes:
    """Updates with ``keys`` misspelled properties each, as many as fit in ``limit``
    bytes (1,000 at most): a body at the bulk route's default limit."""
    changes = {f"descriptionOfThePaymentLine{n:02d}": 1 for n in range(keys)}
    item = {"id": str(uuid.uuid4()), "ifMatch": "*", "changes": changes}
    count = min(1000, (limit - 20) // (len(dumps_exact(item)) + 1))
    return dumps_exact({"updates": [{**item, "id": str(uuid.uuid4())} for _ in range(count)]})


def test_a_hostile_body_is_refused_while_health_keeps_answering(
    proxy: Proxy, durable: DurableStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = hostile_body()
    assert 1.9 * 2**20 < len(body) <= 2 * 2**20
    parsing = threading.Event()
    release = threading.Event()
    real_parse: Callable[..., Any] = bulk_request.parse_bulk_request

    def parse_when_released(*args: Any) -> Any:
        # The parse is held until the test has seen /api/health answer: if the
        # parse held the worker's event loop, health could not answer first.
        parsing.set()
        release.wait(timeout=10)
        return real_parse(*args)

    monkeypatch.setattr(bulk_service, "parse_bulk_request", parse_when_released)
    order: list[str] = []
    refused: list[httpx.Response] = []

    def post() -> None:
        with httpx.Client(timeout=60) as http:
            refused.append(
                http.post(
                    journal_url(proxy), content=body, headers={"Content-Type": "application/json"}
                )
            )
        order.append("bulk 422")

    sender = threading.Thread(target=post)
    sender.start()
    assert parsing.wait(timeout=30)
    health = httpx.get(f"{proxy.url}/health", timeout=30)
    order.append(f"health {health.status_code}")
    release.set()
    sender.join()
    assert order == ["health 200", "bulk 422"]
    (answer,) = refused
    assert answer.status_code == 422
    problem = answer.json()
    # The capped list: 100 problems, then one entry saying where checking stopped.
    assert len(problem["errors"]) == 101
    assert problem["errors"][-1]["code"] == "too_many_errors"
    assert {e["code"] for e in problem["errors"][:100]} == {"unknown_field"}
    assert durable.instances() == []
    assert bc_requests(proxy.sandbox) == []
