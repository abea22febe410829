"""An attempt at Business Central and the next one: what an answer proves (the
status classes), how long to wait before trying again, whether another attempt
fits the request's budget, the answer when none does, and the line each attempt
logs. The GET loop (``client.read``), the PATCH loop (``patch``) and ``$batch``
(``batch``) are all judged by these rules; docs/contract.md ("What a status
proves") says the same for callers.

* **Throttled** (429): Business Central checks its limits before a request
  runs, so nothing ran; wait and send again.
* **Unavailable** (503) depends on who says it. Business Central's own 503
  (a request that waited its 8 minutes in the queue, an environment that is
  unavailable) is sent before anything runs, and carries its error body,
  ``{"error": {"code", "message"}}``. A gateway's 503 proves nothing: Azure
  Front Door, for one, answers 503 when the server it forwarded the request
  to took too long or answered something it could not use, so the request
  may have run. The queue's 503 cannot even reach the proxy, whose attempts
  end after ``BC_READ_TIMEOUT_S``. So a 503 with Business Central's error
  body proves nothing ran; any other 503 is settled by reading, like a
  gateway's 502 or 504.
* **Unsettled** (408, 502, 504, and the 503 above): the request may or may
  not have run. A gateway's 502 or 504 cannot say; Business Central's 408
  means an operation hit its time limit, which stops it but proves nothing
  about what it wrote before. Read before anything is sent again.
* Anything else is Business Central's verdict on the request itself: a 2xx
  (applied) or a refusal (nothing applied: a single request runs in one
  transaction).

A ``$batch`` as a whole is different: its operations run and commit one by
one, so only an answer sent before any of them ran proves that none did:
throttled, Business Central's own 503, and 401/403 (the proxy's identity
refused at the door). Any other whole-batch status (400, 408, 500, 502, a
gateway's 503, 504, ...) is settled as a lost batch, by reading the lines.

The budget is the time one proxied request may take, retries and waits
included (Power Automate gives up after 120 s and the Functions host after
230 s; the default is 30 s).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import Enum

import httpx

from shared.payment.refs import ForwardHeaders
from shared.process.problems import Problem
from shared.process.telemetry import note_upstream_attempt
from shared.upstream.errors import parse_upstream_error

# The attempt lines keep the client's logger name: operators quiet it, and turn it
# on again, by that name (shared.process.telemetry.QUIET_LOGGERS).
log = logging.getLogger("shared.upstream.client")

# --- what an answer proves

THROTTLED = frozenset({429})
UNAVAILABLE = frozenset({503})
# Answers after which a write may or may not have happened, whatever their body.
UNSETTLED = frozenset({408, 502, 504})
# A read is safe to repeat: every answer that is not a verdict is tried again.
READ_RETRY = THROTTLED | UNAVAILABLE | frozenset({502, 504})
# A whole $batch refused before any operation ran: the proxy's identity.
BATCH_REFUSED = frozenset({401, 403})
# Nothing sent because Business Central or the identity endpoint could not be reached:
# worth another attempt. (No slot or no time left is not: the budget is what ran out.)
NOT_SENT_RETRY = frozenset({"upstream-unavailable", "identity-unavailable"})


class Proof(Enum):
    """What one answer proves about the request it answers."""

    NOT_RUN = "not run"  # refused before it ran: send it again after the wait
    UNSETTLED = "unsettled"  # it may have run: read before sending anything again
    VERDICT = "verdict"  # Business Central's own answer to it: applied or refused


def from_business_central(status: int, body: bytes) -> bool:
    """Whether an answer carries Business Central's own error body."""
    return parse_upstream_error(status, body) is not None


def proves(status: int, body: bytes) -> Proof:
    """What one answer to a write proves: a single PATCH's, or one operation's
    inside a ``$batch``."""
    if status in THROTTLED or (status in UNAVAILABLE and from_business_central(status, body)):
        return Proof.NOT_RUN
    if status in UNSETTLED or status in UNAVAILABLE:
        return Proof.UNSETTLED
    return Proof.VERDICT


def batch_proves(status: int, body: bytes) -> Proof:
    """What the answer to a ``$batch`` as a whole proves about its operations.
    ``VERDICT``: a 200 (each operation's own answer decides) or a refusal of the
    whole batch before any operation ran."""
    if status == 200 or status in BATCH_REFUSED:
        return Proof.VERDICT
    if proves(status, body) is Proof.NOT_RUN:
        return Proof.NOT_RUN
    return Proof.UNSETTLED


# --- the wait before the next attempt

_jitter = random.SystemRandom()


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; Retry-After wins when given."""

    base_s: float = 0.25
    cap_s: float = 4.0
    # No single wait is longer than this, whatever Retry-After says; a longer
    # one is handed back to the caller instead (see Budget.fits).
    max_wait_s: float = 20.0

    def backoff(self, attempt: int) -> float:
        """Wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return _jitter.uniform(0, ceiling)

    def wait(self, attempt: int, retry_after: float | None) -> float:
        return retry_after if retry_after is not None else self.backoff(attempt)


# --- whether another attempt fits

# How late a wake-up may be (the event loop, the scheduler) and still leave an
# attempt the time it was given.
WAKE_UP_MARGIN_S = 0.1
# The least time worth starting another read with.
READ_MINIMUM_S = 0.5


@dataclass
class Budget:
    """The total time one proxied request may take, retries and waits included."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        return max(0.0, self.seconds - (self.clock() - self.started))

    def fits(self, wait: float, policy: RetryPolicy, needed: float = READ_MINIMUM_S) -> bool:
        """Whether another attempt can start after ``wait`` and still have ``needed``
        (its own minimum, and whatever must follow it). A sleep ends a little after
        its time: without room for that, an attempt decided here could find too
        little time left when it starts and be answered as if throttled."""
        return wait <= policy.max_wait_s and wait + WAKE_UP_MARGIN_S + needed <= self.remaining()


def retry_after_header(seconds: float) -> int:
    """A whole number of seconds for a ``Retry-After`` header, at least 1."""
    return max(1, math.ceil(seconds))


def final_problem(failure: Problem, wait: float) -> Problem:
    """The answer when no further attempt fits: with Retry-After where waiting helps."""
    if failure.status in (429, 503) or failure.slug == "identity-unavailable":
        failure.retry_after = retry_after_header(wait)
    return failure


# --- the attempt's line


def log_attempt(
    forward: ForwardHeaders,
    method: str,
    outcome: object,
    response: httpx.Response | None,
    wait: float | None,
    attempt: int | None = None,
) -> None:
    """One line per upstream attempt: what happened, BC's correlation id, the wait;
    the request's record counts it."""
    correlation = None
    if response is not None and response.status_code >= 400:
        error = parse_upstream_error(response.status_code, response.content)
        correlation = error.correlation_id if error else None
    note_upstream_attempt(None if response is None else response.status_code, correlation)
    log.info(
        "request %s: %s attempt %s upstream %s%s%s",
        forward.request_id,
        method,
        attempt if attempt is not None else "-",
        outcome,
        f", correlation {correlation}" if correlation else "",
        f", retrying in {wait:.2f} s" if wait is not None else "",
    )
