"""What an update's answers prove, as the settlement rule: the outcome an update
gets (updated, failed or unknown, :class:`PatchOutcome`), what a line read back
proves about an update whose answer was lost (read before resend), and whether a
line holds the values sent (an amount rounded as its currency stores it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from shared.payment.amounts import held_amount
from shared.payment.models import stored_form
from shared.process.problems import Problem, UpstreamError

OutcomeKind = Literal["updated", "failed", "unknown"]


UNKNOWN_SLUGS = frozenset({"upstream-timeout", "outcome-unknown"})


@dataclass(frozen=True)
class PatchOutcome:
    """The answer one update gets: a line (200) or the problem that says why not."""

    status: int
    line: dict[str, Any] | None = None
    problem: Problem | None = None

    @property
    def kind(self) -> OutcomeKind:
        if self.status == 200:
            return "updated"
        if self.problem is not None and self.problem.slug in UNKNOWN_SLUGS:
            return "unknown"
        return "failed"

    @property
    def etag(self) -> str | None:
        value = (self.line or {}).get("etag")
        return value if isinstance(value, str) else None


def updated(line: dict[str, Any]) -> PatchOutcome:
    return PatchOutcome(200, line=line)


def refused(problem: Problem) -> PatchOutcome:
    return PatchOutcome(problem.status, problem=problem)


def unknown(upstream: UpstreamError | None = None) -> PatchOutcome:
    return refused(Problem("upstream-timeout", UNKNOWN_OUTCOME_DETAIL, upstream=upstream))


ETAG_MISMATCH_AFTER_LOSS_DETAIL = (
    "The payment line was changed by someone else since you read it, and it does not "
    "hold your update. GET the line again for its current ETag and values, then retry "
    "with that ETag in If-Match."
)


def judge_read(
    line: dict[str, Any],
    etag: str | None,
    if_match: str | None,
    changes: dict[str, Any],
    amount_decimals: int,
    amount_steps: Sequence[Decimal] | None = None,
) -> PatchOutcome | None:
    """Read before resend, decided on the line read back after an update with
    ``if_match`` was lost. None means "not applied: send it again"."""
    if same_entity_tag(etag, if_match):
        return None
    if holds_values(line, changes, amount_decimals=amount_decimals, amount_steps=amount_steps):
        return refused(Problem("outcome-unknown", OUTCOME_UNKNOWN_DETAIL, current=line))
    return refused(Problem("etag-mismatch", ETAG_MISMATCH_AFTER_LOSS_DETAIL))


def still_unknown(line: dict[str, Any]) -> PatchOutcome:
    """An earlier attempt's outcome was lost and a later one was refused or
    failed: the line as it is now, since the refusal proves nothing."""
    return refused(Problem("outcome-unknown", REFUSED_RESEND_DETAIL, current=line))


def unreadable(problem: Problem) -> PatchOutcome:
    """A read-back that failed: a line that is gone took the change with it;
    anything else leaves the outcome unknown."""
    return refused(problem) if problem.slug == "not-found" else unknown(problem.upstream)


# Properties Business Central fills from others: applying an update to an invoice
# makes the line pay that invoice's customer.
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


_INVOICE_PROPERTIES = ("appliesToInvoiceId", "appliesToInvoiceNumber")


_CUSTOMER_PROPERTIES = ("customerId", "customerNumber")


def derived_properties(changes: Mapping[str, Any]) -> frozenset[str]:
    """The properties of ``changes`` whose sent value Business Central replaces
    with one it derives: an empty customer sent beside an invoice to apply to."""
    applies = any(changes.get(name) not in (None, "", EMPTY_GUID) for name in _INVOICE_PROPERTIES)
    if not applies:
        return frozenset()
    return frozenset(
        name
        for name in _CUSTOMER_PROPERTIES
        if name in changes and changes[name] in ("", EMPTY_GUID)
    )


def holds_values(
    line: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    amount_decimals: int = 2,
    amount_steps: Sequence[Decimal] | None = None,
) -> bool:
    """Whether a stored line holds an update, every value compared in its
    stored form (``stored_form``: Code fields trimmed and upper-case, GUIDs in
    any case, amounts rounded to ``amount_decimals`` or, given ``amount_steps``,
    to the line's currency's step: see ``shared.payment.amounts``), and
    properties Business Central derives from others (see
    ``derived_properties``) not held against the value sent."""
    derived = derived_properties(changes)

    def same(name: str, value: Any) -> bool:
        if name == "amount" and amount_steps is not None:
            return _held_amount(line[name], value, amount_steps)
        stored = stored_form(name, line[name], amount_decimals)
        return bool(stored == stored_form(name, value, amount_decimals))

    return all(
        name in derived or (name in line and same(name, value)) for name, value in changes.items()
    )


OUTCOME_UNKNOWN_DETAIL = (
    "The proxy lost Business Central's answer to this update, and the line has changed "
    "since the ETag you sent while holding the values you sent: the proxy cannot tell "
    "whether its write or someone else's made it so. The line as it is now is in "
    "current; if it is what you want, you are done, otherwise update it with its etag."
)


REFUSED_RESEND_DETAIL = (
    "The proxy lost Business Central's answer to an earlier attempt of this update, and "
    "a later attempt was refused or failed, which says nothing about the earlier one: it "
    "may or may not have been applied. The line as it is now is in current; if it is "
    "what you want, you are done, otherwise update it with its etag."
)


UNCONFIRMED_SUCCESS_DETAIL = (
    "Business Central answered that the update succeeded, but its answer could not be "
    "read, and the line read back does not hold the values you sent: it was changed "
    "since, or Business Central's answer was wrong. The line as it is now is in current; "
    "update it again with its etag if your change is still needed."
)


UNKNOWN_OUTCOME_DETAIL = (
    "Business Central did not confirm the update in time. It may or may not have been "
    "applied: GET the payment line and compare it with what you sent before retrying."
)


def same_entity_tag(a: str | None, b: str | None) -> bool:
    """Whether two entity-tags name the same version under RFC 9110's weak
    comparison: ``W/"X"`` and ``"X"`` do, as Business Central accepts either."""
    if a is None or b is None:
        return False
    return a.removeprefix("W/") == b.removeprefix("W/")


def confirmed(
    line: dict[str, Any],
    changes: dict[str, Any],
    amount_decimals: int,
    amount_steps: Sequence[Decimal] | None = None,
) -> PatchOutcome:
    """A 2xx whose body could not be read, decided on the line read back: the update,
    if the line holds the values sent; else the line as it is now, outcome unknown."""
    if holds_values(line, changes, amount_decimals=amount_decimals, amount_steps=amount_steps):
        return updated(line)
    return refused(Problem("outcome-unknown", UNCONFIRMED_SUCCESS_DETAIL, current=line))


def _held_amount(stored: Any, sent: Any, steps: Sequence[Decimal]) -> bool:
    values = (stored, sent)
    if not all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in values):
        return False
    return held_amount(Decimal(stored), Decimal(sent), steps)
