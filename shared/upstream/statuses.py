"""What an HTTP status from Business Central, or from a gateway in front of it,
proves, in one place: the single PATCH, a ``$batch`` as a whole and each
operation inside one are judged by these classes, and reads are retried by
them. docs/contract.md ("What a status proves") says the same for callers.

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
"""

from __future__ import annotations

from enum import Enum

from shared.upstream.errors import parse_upstream_error

THROTTLED = frozenset({429})
UNAVAILABLE = frozenset({503})
# Answers after which a write may or may not have happened, whatever their body.
UNSETTLED = frozenset({408, 502, 504})
# A read is safe to repeat: every answer that is not a verdict is tried again.
READ_RETRY = THROTTLED | UNAVAILABLE | frozenset({502, 504})
# A whole $batch refused before any operation ran: the proxy's identity.
BATCH_REFUSED = frozenset({401, 403})


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
