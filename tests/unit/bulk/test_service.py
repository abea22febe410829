"""The bulk start and status use cases against a recording job client (the
Durable extension cannot run at unit level; the end-to-end tests drive the
real SDK client through the local stand-in)."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.bulk.identity import token_hash
from shared.bulk.job import Job
from shared.bulk.orchestration import ORCHESTRATOR
from shared.functions.bulk import handle_bulk_start, handle_bulk_status
from shared.http.messages import CoreRequest, CoreResponse
from shared.process.jsonio import dumps_exact, loads_exact
from shared.process.settings import reset_settings
from tests.support.fakes import COMPANY, ETAG, JOURNAL

HOST = "proxy.example.test"
IDS = [f"{n:08x}-2222-4000-8000-000000000000" for n in range(1, 6)]


@dataclass
class Status:
    name: str | None = None
    runtime_status: Any = None
    input_: Any = None
    output: Any = None
    custom_status: Any = None

    def __bool__(self) -> bool:
        return self.name is not None


@dataclass
class RecordingJobs:
    instances: dict[str, Status] = field(default_factory=dict)
    started: list[tuple[str, str]] = field(default_factory=list)
    inputs_read: int = 0
    reads: int = 0
    # Hold look-ups until this many have arrived: concurrent starts then all look
    # before any starts, as can happen on Azure Storage.
    hold_lookups: int = 0
    _held: list[asyncio.Event] = field(default_factory=list)

    async def start_new(
        self,
        orchestration_function_name: str,
        instance_id: str | None = None,
        client_input: Any | None = None,
    ) -> str:
        assert instance_id is not None
        assert isinstance(client_input, str)
        self.started.append((orchestration_function_name, instance_id))
        self.instances[instance_id] = Status(
            orchestration_function_name, "Running", client_input, None, {"done": 0}
        )
        return instance_id

    async def get_status(
        self,
        instance_id: str,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = False,
    ) -> Status:
        self.reads += 1
        self.inputs_read += show_input
        status = self.instances.get(instance_id, Status())
        if self.hold_lookups:
            # What was seen is answered only once every held look-up has seen it.
            event = asyncio.Event()
            self._held.append(event)
            if len(self._held) >= self.hold_lookups:
                self.hold_lookups = 0
                for waiting in self._held:
                    waiting.set()
            await event.wait()
        return status if show_input else Status(**{**vars(status), "input_": None})


@pytest.fixture
def jobs(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> RecordingJobs:
    monkeypatch.setenv("WEBSITE_HOSTNAME", HOST)
    return RecordingJobs()


def start_request(
    updates: list[dict[str, Any]], query: dict[str, str] | None = None, **headers: str
) -> CoreRequest:
    return CoreRequest(
        "POST",
        {
            "apiVersion": "v2.0",
            "companyId": COMPANY,
            "journalSet": "customerPaymentJournals",
            "journalId": JOURNAL,
        },
        {
            "content-type": "application/json",
            **{k.replace("_", "-"): v for k, v in headers.items()},
        },
        dumps_exact({"updates": updates}),
        query or {},
    )


def updates(amount: str = "10.50") -> list[dict[str, Any]]:
    return [
        {"id": IDS[0], "ifMatch": ETAG, "changes": {"amount": Decimal(amount)}, "clientRef": "r1"},
        {"id": IDS[1], "ifMatch": "*", "changes": {"comment": "paid"}},
    ]


def body(response: CoreResponse) -> Any:
    return loads_exact(response.body)


async def test_start_answers_202_with_an_absolute_location_and_starts_once(
    jobs: RecordingJobs,
) -> None:
    response = await handle_bulk_start(start_request(updates()), jobs)
    assert response.status == 202, response.body
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("https", HOST)
    job_id = parts.path.rsplit("/", 1)[1]
    assert parts.path == f"/api/bulkPaymentUpdates/{job_id}"
    assert body(response) == {
        "jobId": job_id,
        "status": "Running",
        "statusUrl": location,
        "total": 2,
    }
    assert int(response.headers["Retry-After"]) >= 1
    assert jobs.started == [(ORCHESTRATOR, job_id)]
    job = loads_exact(jobs.instances[job_id].input_.encode())
    # Only the token's digest is stored: reading the task hub does not give it away.
    token = parse_qs(parts.query)["token"][0]
    assert job["tokenHash"] == token_hash(token)
    assert token not in jobs.instances[job_id].input_
    items = Job.from_data(job).updates()
    assert [item.payment_id for item in items] == IDS[:2]
    assert items[0].changes == {"amount": Decimal("10.50")}
    assert (job["batchSize"], job["maxConcurrency"]) == (100, 2)


async def test_validation_failure_or_validate_only_starts_nothing(jobs: RecordingJobs) -> None:
    bad = updates()
    bad[1]["changes"] = {"amount": "1.234"}
    response = await handle_bulk_start(start_request(bad), jobs)
    assert response.status == 422
    assert body(response)["errors"][0]["field"] == "updates[1].changes.amount"
    checked = await handle_bulk_start(start_request(updates(), {"validateOnly": "true"}), jobs)
    assert (checked.status, body(checked)) == (200, {"valid": True, "total": 2})
    wrong = await handle_bulk_start(start_request(updates(), {"validateOnly": "yes"}), jobs)
    assert wrong.status == 400
    assert jobs.started == []


async def test_allow_lists_are_checked_before_anything_starts(
    jobs: RecordingJobs, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("ALLOWED_JOURNAL_IDS", IDS[4])
    reset_settings()
    response = await handle_bulk_start(start_request(updates()), jobs)
    assert response.status == 403
    assert jobs.started == []


async def test_the_same_key_and_body_return_the_same_job(jobs: RecordingJobs) -> None:
    first = await handle_bulk_start(start_request(updates(), idempotency_key="stmt-1"), jobs)
    again = await handle_bulk_start(start_request(updates(), idempotency_key="stmt-1"), jobs)
    assert first.status == again.status == 202
    assert first.headers["Location"] == again.headers["Location"]
    assert len(jobs.started) == 1
    # Finished jobs too: still 202 with the same Location, never a re-run.
    (job_id,) = jobs.instances
    jobs.instances[job_id].runtime_status = "Completed"
    late = await handle_bulk_start(start_request(updates(), idempotency_key="stmt-1"), jobs)
    assert late.headers["Location"] == first.headers["Location"]
    assert len(jobs.started) == 1


async def test_the_same_key_with_another_body_is_refused(jobs: RecordingJobs) -> None:
    await handle_bulk_start(start_request(updates(), idempotency_key="stmt-1"), jobs)
    other = await handle_bulk_start(start_request(updates("11"), idempotency_key="stmt-1"), jobs)
    assert other.status == 422
    assert body(other)["type"].endswith("#idempotency-key-reused")
    assert len(jobs.started) == 1
    fresh = await handle_bulk_start(start_request(updates("11"), idempotency_key="stmt-2"), jobs)
    assert fresh.status == 202
    assert len(jobs.started) == 2


async def test_location_never_comes_from_the_host_header(
    jobs: RecordingJobs, monkeypatch: pytest.MonkeyPatch
) -> None:

    forged = start_request(updates(), host="evil.example.test")
    assert urlsplit((await handle_bulk_start(forged, jobs)).headers["Location"]).netloc == HOST
    monkeypatch.delenv("WEBSITE_HOSTNAME")
    reset_settings()
    local = await handle_bulk_start(forged, jobs)
    assert local.headers["Location"].startswith("http://127.0.0.1:7071/api/bulkPaymentUpdates/")


def status_request(job_id: str, token: str | None) -> CoreRequest:
    return CoreRequest("GET", {"jobId": job_id}, {}, b"", {} if token is None else {"token": token})


async def started(jobs: RecordingJobs) -> tuple[str, str]:
    return status_of(await handle_bulk_start(start_request(updates()), jobs))


async def test_status_while_running_and_when_done(jobs: RecordingJobs) -> None:
    job_id, token = await started(jobs)
    jobs.instances[job_id].custom_status = {"done": 1, "total": 2}
    running = await handle_bulk_status(status_request(job_id, token), jobs)
    assert running.status == 202
    assert body(running) == {"jobId": job_id, "status": "Running", "total": 2, "done": 1}
    assert running.headers["Location"].startswith(f"https://{HOST}/api/bulkPaymentUpdates/")
    result = {
        "jobId": job_id,
        "status": "Completed",
        "total": 2,
        "counts": {"updated": 2, "failed": 0, "unknown": 0},
        "items": [],
        "peakBatchesInFlight": 1,
    }
    jobs.instances[job_id].runtime_status = "Completed"
    jobs.instances[job_id].output = dumps_exact(result).decode()
    done = await handle_bulk_status(status_request(job_id, token), jobs)
    assert done.status == 200
    assert body(done) == {k: v for k, v in result.items() if k != "peakBatchesInFlight"}


async def test_a_job_that_crashed_claims_nothing(jobs: RecordingJobs) -> None:
    job_id, token = await started(jobs)
    jobs.instances[job_id].runtime_status = "Failed"
    response = await handle_bulk_status(status_request(job_id, token), jobs)
    data = body(response)
    assert (response.status, data["status"]) == (200, "Failed")
    assert [(i["id"], i["outcome"], i["status"]) for i in data["items"]] == [
        (IDS[0], "unknown", 504),
        (IDS[1], "unknown", 504),
    ]


async def test_wrong_token_and_unknown_job_get_the_same_404(jobs: RecordingJobs) -> None:
    job_id, token = await started(jobs)
    jobs.reads = 0
    answers = [
        await handle_bulk_status(status_request(job_id, token[:-1] + "x"), jobs),
        await handle_bulk_status(status_request(job_id, None), jobs),
        await handle_bulk_status(status_request("0" * 32, token), jobs),
        await handle_bulk_status(status_request("../instances", token), jobs),
    ]
    assert {a.status for a in answers} == {404}
    assert len({body(a)["detail"] for a in answers}) == 1
    assert all(token.encode() not in a.body for a in answers)
    # A token is checked before anything is read: a wrong one costs the same whether
    # the job exists or not, so its timing says nothing either.
    assert jobs.reads == 0


async def test_the_bulk_routes_need_the_job_secret(
    jobs: RecordingJobs, monkeypatch: pytest.MonkeyPatch
) -> None:

    job_id, token = await started(jobs)
    monkeypatch.delenv("BULK_JOB_SECRET")
    reset_settings()
    answers = [
        await handle_bulk_start(start_request(updates(), idempotency_key="k"), jobs),
        await handle_bulk_status(status_request(job_id, token), jobs),
    ]
    for answer in answers:
        assert answer.status == 500
        assert body(answer)["type"].endswith("#proxy-misconfigured")
        assert "BULK_JOB_SECRET" in body(answer)["detail"]
    assert len(jobs.started) == 1
    # A value too short to be a secret is a settings error like any other.
    monkeypatch.setenv("BULK_JOB_SECRET", "too-short")
    reset_settings()
    short = await handle_bulk_start(start_request(updates()), jobs)
    assert (short.status, "BULK_JOB_SECRET" in body(short)["detail"]) == (500, True)
    assert "too-short" not in short.body.decode()


async def test_another_secret_gives_other_ids_and_refuses_old_tokens(
    jobs: RecordingJobs, monkeypatch: pytest.MonkeyPatch
) -> None:

    first = await handle_bulk_start(start_request(updates(), idempotency_key="stmt-1"), jobs)
    job_id, token = status_of(first)
    monkeypatch.setenv("BULK_JOB_SECRET", "another-deployment-secret-0123456789")
    reset_settings()
    assert (await handle_bulk_status(status_request(job_id, token), jobs)).status == 404
    second = await handle_bulk_start(start_request(updates(), idempotency_key="stmt-1"), jobs)
    assert status_of(second)[0] != job_id
    assert len(jobs.started) == 2


async def test_concurrent_starts_with_one_key_hand_out_one_working_location(
    jobs: RecordingJobs,
) -> None:
    # Both starts look the key up before either has started the job, as can happen on
    # Azure Storage, where look-up-then-start is not atomic; both then start it.
    jobs.hold_lookups = 2
    answers = await asyncio.gather(
        *(handle_bulk_start(start_request(updates(), idempotency_key="stmt-1"), jobs) for _ in "ab")
    )
    assert [a.status for a in answers] == [202, 202]
    assert len(jobs.started) == 2  # the race happened
    locations = {a.headers["Location"] for a in answers}
    assert len(locations) == 1
    job_id, token = status_of(answers[0])
    assert (await handle_bulk_status(status_request(job_id, token), jobs)).status == 202


def status_of(response: CoreResponse) -> tuple[str, str]:
    parts = urlsplit(response.headers["Location"])
    return parts.path.rsplit("/", 1)[1], parse_qs(parts.query)["token"][0]


def principal(app_id: str) -> str:
    claims = {"auth_typ": "aad", "claims": [{"typ": "appid", "val": app_id}]}
    return base64.b64encode(json.dumps(claims).encode()).decode()


async def test_entra_callers_have_their_own_keys_and_poll_without_credentials(
    jobs: RecordingJobs, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("CALLER_AUTH", "entra")
    monkeypatch.setenv("ALLOWED_CALLERS", f"{IDS[3]},{IDS[4]}")
    reset_settings()
    anonymous = await handle_bulk_start(start_request(updates(), idempotency_key="k"), jobs)
    assert anonymous.status == 401
    first = await handle_bulk_start(
        start_request(updates(), idempotency_key="k", x_ms_client_principal=principal(IDS[3])),
        jobs,
    )
    other = await handle_bulk_start(
        start_request(updates("99"), idempotency_key="k", x_ms_client_principal=principal(IDS[4])),
        jobs,
    )
    assert first.status == other.status == 202
    assert first.headers["Location"] != other.headers["Location"]
    job_id, token = status_of(first)
    assert (await handle_bulk_status(status_request(job_id, token), jobs)).status == 202


async def test_polls_of_a_running_job_do_not_read_its_input(jobs: RecordingJobs) -> None:
    job_id, token = await started(jobs)
    job = loads_exact(jobs.instances[job_id].input_.encode())
    assert job["tokenHash"] == token_hash(token)
    # What the orchestrator shows once it runs: progress and the token's digest only.
    jobs.instances[job_id].custom_status = {"done": 1, "total": 2, "tokenHash": job["tokenHash"]}
    jobs.inputs_read = 0
    running = await handle_bulk_status(status_request(job_id, token), jobs)
    assert (running.status, body(running)["total"], body(running)["done"]) == (202, 2, 1)
    wrong = await handle_bulk_status(status_request(job_id, "x" + token), jobs)
    assert wrong.status == 404
    assert jobs.inputs_read == 0


@dataclass
class FlakyJobs(RecordingJobs):
    """The first start fails on the way: before Durable got it, or after it started
    the instance (its answer lost)."""

    started_before_failing: bool = False
    failures: int = 1

    async def start_new(
        self,
        orchestration_function_name: str,
        instance_id: str | None = None,
        client_input: Any | None = None,
    ) -> str:
        if self.failures:
            self.failures -= 1
            if self.started_before_failing:
                await super().start_new(orchestration_function_name, instance_id, client_input)
            raise ConnectionResetError("Server disconnected")
        if instance_id in self.instances:
            raise RuntimeError("an orchestration with this id is already running")
        return await super().start_new(orchestration_function_name, instance_id, client_input)


@pytest.mark.parametrize("started_before_failing", [False, True])
async def test_a_start_whose_answer_is_lost_starts_the_job_exactly_once(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, started_before_failing: bool
) -> None:
    monkeypatch.setenv("WEBSITE_HOSTNAME", HOST)
    jobs = FlakyJobs(started_before_failing=started_before_failing)
    response = await handle_bulk_start(start_request(updates()), jobs)
    assert response.status == 202, response.body
    job_id = body(response)["jobId"]
    assert jobs.started == [(ORCHESTRATOR, job_id)]
    assert job_id in response.headers["Location"]


async def test_a_start_that_fails_twice_is_an_internal_error_and_starts_nothing(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBSITE_HOSTNAME", HOST)
    jobs = FlakyJobs(failures=2)
    response = await handle_bulk_start(start_request(updates()), jobs)
    assert response.status == 500
    assert body(response)["type"].endswith("#internal-error")
    assert jobs.started == []
