"""The bulk use cases: start a job, report a job's status.

The job runs on Durable Functions; this module sees it only through
:class:`JobClient`, the two calls of the Durable client it needs, so the
core never imports the Functions or Durable packages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.bulk.checks import check_all
from shared.bulk.durable_client import JobClient
from shared.bulk.identity import (
    JOB_ID_RE,
    body_hash,
    job_id_for,
    status_token_for,
    token_hash,
    token_is_for,
    token_matches,
)
from shared.bulk.job import Job, batches_per_step
from shared.bulk.orchestration import ORCHESTRATOR
from shared.bulk.plan import JobPlan
from shared.bulk.request import idempotency_key_of, parse_bulk_request
from shared.bulk.results import MAX_PAGE, JobResult
from shared.http.admit import Admitted, Received
from shared.http.messages import CoreResponse, encoded_json_response, json_response
from shared.http.parsing import whole_number_parameter
from shared.process import paths
from shared.process.cpuwork import run_cpu_bound
from shared.process.jsonio import JsonBodyError, loads_exact
from shared.process.problems import Problem
from shared.process.settings import JOB_SECRET_SETTING, Settings
from shared.upstream.client import BusinessCentralClient

log = logging.getLogger(__name__)

# Seconds a poller is asked to wait; a job of 1,000 updates takes a few seconds.
POLL_AFTER_S = 2
_RUNNING = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})
_NO_SUCH_JOB = "No such bulk job, or the token in the URL is not this job's."
# A finished job's items come a page at a time (shared.bulk.results).
PAGING = ("top", "skip")
# The query parameters each route takes.
START_QUERY = ("validateOnly",)
STATUS_QUERY = ("token", *PAGING)


async def start(
    admitted: Admitted, settings: Settings, bc: BusinessCentralClient, jobs: JobClient
) -> CoreResponse:
    """Validate every update, then start (or find) the job. The route requires the
    job secret (:func:`job_secret`) before it looks at the request."""
    secret = settings.bulk_job_secret
    assert secret is not None
    request_id = admitted.request_id
    version, company_id, journal_id = admitted.version, admitted.company_id, admitted.journal_id
    assert company_id is not None
    assert journal_id is not None
    validate_only = _validate_only(admitted.request.query)
    # Parsing and checking up to 2 MiB is CPU work: off the event loop, and
    # bounded so that the loop keeps answering this worker's other requests
    # meanwhile (see shared.process.cpuwork).
    items = await run_cpu_bound(
        len(admitted.request.body),
        parse_bulk_request,
        settings,
        version,
        admitted.request.headers,
        admitted.request.body,
        journal_id,
    )
    if validate_only:
        body = await check_all(settings, bc, admitted, items)
        return json_response(200, body, request_id)
    base = settings.public_base_url
    key = idempotency_key_of(admitted.request.headers)
    job_id = job_id_for(secret, admitted.caller, company_id, journal_id, key)
    token = status_token_for(secret, job_id)
    texts = [item.as_text() for item in items]
    digest = body_hash(version, texts)
    if key is not None:
        status = await _existing_job(jobs, job_id, digest)
        if status is not None:
            return _accepted(base, job_id, token, len(items), request_id, status)
    # The token itself is never stored: whoever can read the task hub (its input
    # is shown to anyone allowed to list instances) learns only its digest.
    job = Job(
        job_id=job_id,
        version=version,
        company_id=company_id,
        journal_id=journal_id,
        items=tuple(texts),
        docs_url=settings.problems_url,
        body_hash=digest,
        token_hash=token_hash(token),
        batch_size=settings.bulk_batch_size,
        max_concurrency=settings.bulk_max_concurrency,
        batches_per_step=batches_per_step(
            len(texts), settings.bulk_batch_size, settings.bulk_max_concurrency
        ),
    )
    try:
        await jobs.start_new(ORCHESTRATOR, job_id, job.to_json())
    except Exception:
        # Either the same key started it a moment ago by a concurrent call (Durable
        # refuses a second start of a running instance), or the start's answer was
        # lost on its way (the host closing a kept-alive connection as the client
        # reused it). Either way an instance holding these updates is this job, and
        # its token is this one: both come from the id. With none, the start is
        # tried once more (a second one of a running instance would be refused).
        if await _existing_job(jobs, job_id, digest) is None:
            log.warning("request %s: starting bulk job %s again", request_id, job_id)
            await jobs.start_new(ORCHESTRATOR, job_id, job.to_json())
    log.info("request %s: bulk job %s started with %d updates", request_id, job_id, len(items))
    return _accepted(base, job_id, token, len(items), request_id)


def _validate_only(query: Mapping[str, str]) -> bool:
    value = query.get("validateOnly")
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise Problem(
            "invalid-query-parameter", 'validateOnly must be "true" or "false" when given.'
        )
    return value.lower() == "true"


def job_secret(settings: Settings) -> bytes:
    """The key of job ids and tokens; without it no bulk route can answer safely."""
    if settings.bulk_job_secret is None:
        raise Problem(
            "proxy-misconfigured",
            f"The proxy's settings are incomplete: {JOB_SECRET_SETTING} is not set (or is a "
            "Key Vault reference the platform has not resolved), so bulk jobs cannot be "
            "started or read. An administrator must set it.",
        )
    return settings.bulk_job_secret


async def _existing_job(jobs: JobClient, job_id: str, digest: str) -> str | None:
    """The status of the job already started under this id, if there is one;
    422 when it was started with a different body."""
    status = await jobs.get_status(job_id, show_input=True)
    if not status or status.name != ORCHESTRATOR:
        return None
    job = _job_input(status)
    if job is None:
        return None
    if job.body_hash != digest:
        raise Problem(
            "idempotency-key-reused",
            "This Idempotency-Key was already used for a different set of updates in this "
            "journal. Use a new key for new updates.",
        )
    return _job_status(status)


def _job_status(status: Any) -> str:
    """What the job's status route would say of it: Running, or how it ended."""
    runtime, result = _runtime_and_result(status)
    if runtime in _RUNNING:
        return "Running"
    return str(result.head.get("status") or "Failed") if result is not None else "Failed"


def _runtime_and_result(status: Any) -> tuple[Any, JobResult | None]:
    """The instance's runtime status, and the job's result once it completed."""
    runtime = getattr(status.runtime_status, "value", status.runtime_status)
    if runtime != "Completed":
        return runtime, None
    text = _exact_text(status.output)
    return runtime, JobResult.read(text) if text is not None else None


def _accepted(
    base: str, job_id: str, token: str, total: int, request_id: str, status: str = "Running"
) -> CoreResponse:
    """202 with the status URL in Location, whatever the job's state: a caller
    following the asynchronous pattern polls it and gets the result there."""
    url = status_url(base, job_id, token)
    body = {"jobId": job_id, "status": status, "statusUrl": url, "total": total}
    return _poll_again(url, body, request_id)


def _poll_again(url: str, body: dict[str, Any], request_id: str) -> CoreResponse:
    """202 pointing at the status URL, with how long to wait before asking it."""
    return json_response(202, body, request_id, Location=url, **{"Retry-After": str(POLL_AFTER_S)})


def status_url(base: str, job_id: str, token: str) -> str:
    # The token is URL-safe base64: nothing to escape.
    return f"{base}/{paths.BULK_JOBS}/{job_id}?token={token}"


def _exact_text(raw: Any) -> str | None:
    """An instance's output as the exact JSON text this app wrote (see
    :func:`_exact_object` for the one more level a status may wrap it in)."""
    if isinstance(raw, str) and raw.startswith('"'):
        try:
            raw = loads_exact(raw.encode())
        except JsonBodyError:
            return None
    return raw if isinstance(raw, str) else None


def _exact_object(raw: Any) -> dict[str, Any] | None:
    """An instance's input or output: the exact JSON text this app wrote. The
    Durable client carries a text input as a JSON string, so the status may
    show it as that string's JSON form: one more level is unwrapped then."""
    data = raw
    for _ in range(2):
        if not isinstance(data, str):
            break
        try:
            data = loads_exact(data.encode())
        except JsonBodyError:
            return None
    return data if isinstance(data, dict) else None


def _job_input(status: Any) -> Job | None:
    data = _exact_object(status.input_)
    if data is None or not isinstance(data.get("items"), list):
        return None
    return Job.from_data(data)


async def status(received: Received, settings: Settings, jobs: JobClient) -> CoreResponse:
    """A job's progress or results, for whoever holds its status URL (no
    caller check: flows poll Location without credentials)."""
    secret = job_secret(settings)
    job_id = received.request.route_params.get("jobId", "")
    token = received.request.query.get("token", "")
    # The token is checked before anything is read: a wrong token costs one HMAC,
    # whether the job exists or not, and only job ids reach the Durable API's URLs.
    if not JOB_ID_RE.match(job_id) or not token_is_for(secret, job_id, token):
        raise Problem("not-found", _NO_SUCH_JOB)
    # Polls are frequent: the status without the (large) input is enough while
    # the job runs and once it has a result.
    found = await jobs.get_status(job_id)
    if not found or found.name != ORCHESTRATOR:
        raise Problem("not-found", _NO_SUCH_JOB)
    # A job started under another secret has another token's digest.
    known = _token_hash_of(found)
    if known is not None and not token_matches(token, known):
        raise Problem("not-found", _NO_SUCH_JOB)
    return await _status_response(
        settings, jobs, job_id, found, token, received.request.query, received.request_id
    )


def _token_hash_of(status: Any) -> str | None:
    if not isinstance(status.custom_status, dict):
        return None
    value = status.custom_status.get("tokenHash")
    return value if isinstance(value, str) else None


async def _status_response(
    settings: Settings,
    jobs: JobClient,
    job_id: str,
    status: Any,
    token: str,
    request_query: Mapping[str, str],
    request_id: str,
) -> CoreResponse:
    runtime, result = _runtime_and_result(status)
    progress = status.custom_status if isinstance(status.custom_status, dict) else {}
    job: Job | None = None
    if runtime in _RUNNING:
        # Before its first step the job has no progress yet: its size is in its input.
        if not isinstance(progress.get("total"), int):
            job = _job_input(await jobs.get_status(job_id, show_input=True))
        body = {
            "jobId": job_id,
            "status": "Running",
            "total": len(job.items) if job is not None else int(progress["total"]),
            "done": int(progress.get("done", 0)),
        }
        return _poll_again(status_url(settings.public_base_url, job_id, token), body, request_id)
    if result is None:
        job = _job_input(await jobs.get_status(job_id, show_input=True))
        if job is None:
            raise Problem("not-found", _NO_SUCH_JOB)
        result = JobResult.of(_stopped_job(job))
    return _result_page(settings, result, job_id, token, request_query, request_id)


def _result_page(
    settings: Settings,
    result: JobResult,
    job_id: str,
    token: str,
    query: Mapping[str, str],
    request_id: str,
) -> CoreResponse:
    """One page of a finished job's items (``top``, at most 1000, from ``skip``): the
    counts and total always of the whole job, ``nextLink`` while more items follow."""
    top = whole_number_parameter(query, "top", MAX_PAGE, 1, MAX_PAGE)
    skip = whole_number_parameter(query, "skip", 0, 0)
    result.head.pop("peakBatchesInFlight", None)
    extra: dict[str, Any] = {}
    if skip + top < len(result.items):
        url = status_url(settings.public_base_url, job_id, token)
        extra["nextLink"] = f"{url}&top={top}&skip={skip + top}"
    return encoded_json_response(200, result.page(skip, top, extra), request_id)


def _stopped_job(job: Job) -> dict[str, Any]:
    """A job that ended without a result (it failed or was terminated): what
    was sent is not known, so no item claims more than that."""
    plan = JobPlan(len(job.items), 1, job.docs_url, job.job_id)
    entries = [
        {"id": item.payment_id, "clientRef": item.client_ref, **plan.lost()}
        for item in job.updates()
    ]
    return {
        "jobId": job.job_id,
        "status": "Failed",
        "total": len(entries),
        "counts": {"updated": 0, "failed": 0, "unknown": len(entries)},
        "items": entries,
    }
