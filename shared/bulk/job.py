"""A bulk job as Durable Functions carries it: the whole job (the orchestrator's
input) and the slice one activity gets. Each is a typed value here and exact
JSON only at the Durable boundary; the JSON keys are those running instances
already hold, so they never change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from shared.payment.fields import ApiVersion
from shared.process.jsonio import dumps_exact, loads_exact
from shared.upstream.batch import Journal, Operation


@dataclass(frozen=True)
class Job:
    """Everything a job needs to run, fixed when it starts. ``items`` holds each
    update as its own exact JSON text, so that an activity's slice is cut from it
    without encoding anything again (replays rebuild every input)."""

    job_id: str
    version: ApiVersion
    company_id: str
    journal_id: str
    items: tuple[str, ...]
    docs_url: str = ""
    body_hash: str = ""
    # The status token's digest: the token itself is never stored.
    token_hash: str | None = None
    batch_size: int = 100
    max_concurrency: int = 2
    # Batches one step (one activity) sends one after another; jobs started before
    # there was a choice have none in their input and keep one.
    batches_per_step: int = 1

    def updates(self) -> list[Operation]:
        return [Operation.from_json(loads_exact(text.encode())) for text in self.items]

    def to_json(self) -> str:
        return dumps_exact(
            {
                "jobId": self.job_id,
                "version": self.version,
                "companyId": self.company_id,
                "journalId": self.journal_id,
                "bodyHash": self.body_hash,
                "tokenHash": self.token_hash,
                "batchSize": self.batch_size,
                "maxConcurrency": self.max_concurrency,
                "batchesPerStep": self.batches_per_step,
                "docsUrl": self.docs_url,
                "items": list(self.items),
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str) -> Job:
        return cls.from_data(loads_exact(text.encode()))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Job:
        token_hash = data.get("tokenHash")
        return cls(
            job_id=str(data["jobId"]),
            version=cast(ApiVersion, data["version"]),
            company_id=str(data["companyId"]),
            journal_id=str(data["journalId"]),
            items=tuple(str(item) for item in data["items"]),
            docs_url=str(data.get("docsUrl") or ""),
            body_hash=str(data.get("bodyHash") or ""),
            token_hash=token_hash if isinstance(token_hash, str) else None,
            batch_size=int(data.get("batchSize", 100)),
            max_concurrency=int(data.get("maxConcurrency", 2)),
            batches_per_step=int(data.get("batchesPerStep", 1)),
        )

    def slice_json(self, indexes: Sequence[int]) -> str:
        """The input of an activity working on ``indexes``: the job's identity and
        only those updates, their texts joined as they are."""
        head = dumps_exact(
            {
                "jobId": self.job_id,
                "version": self.version,
                "companyId": self.company_id,
                "journalId": self.journal_id,
                "docsUrl": self.docs_url,
                "batchSize": self.batch_size,
            }
        ).decode()
        items = ",".join(self.items[index] for index in indexes)
        return f'{head[:-1]},"items":[{items}]}}'


@dataclass(frozen=True)
class JobSlice:
    """What an activity works on: a few of a job's updates, sent in ``$batch``
    requests of ``batch_size`` (a slice of a job started before slices could hold
    several batches has no size: it is one batch)."""

    job_id: str
    journal: Journal
    docs_url: str
    updates: tuple[Operation, ...]
    batch_size: int = 100

    @classmethod
    def from_json(cls, text: str) -> JobSlice:
        data = loads_exact(text.encode())
        journal = Journal(data["version"], data["companyId"], data["journalId"])
        updates = tuple(Operation.from_json(item) for item in data["items"])
        size = int(data.get("batchSize") or max(1, len(updates)))
        return cls(str(data["jobId"]), journal, str(data.get("docsUrl") or ""), updates, size)

    def batches(self) -> list[tuple[Operation, ...]]:
        """The slice's updates in ``$batch`` requests, in order."""
        size = self.batch_size
        return [self.updates[start : start + size] for start in range(0, len(self.updates), size)]


# Each step of a job costs the orchestrator an episode, and every episode replays the
# whole history so far: a job of many batches sends several per step, so that a job has
# about this many steps per window slot, whatever its size, and its replays grow with its
# size, not with its square. A job of up to 10 batches (at the default window) keeps one
# batch a step.
STEPS_PER_SLOT = 5


def batches_per_step(total: int, batch_size: int, max_concurrency: int) -> int:
    batches = -(-total // batch_size)
    return max(1, -(-batches // (max_concurrency * STEPS_PER_SLOT)))
