"""A bulk update request read: every update checked with the very rules of a
single PATCH (all problems at once, in one 422), and its Idempotency-Key."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from shared.http.parsing import check_body_size, check_content_type, check_update, parse_body
from shared.http.preconditions import sent_if_match, unnamed_version
from shared.payment.fields import CONTROL_RE, ApiVersion, shown
from shared.process.guids import GUID_RE
from shared.process.problems import MAX_ERRORS, FieldError, Problem
from shared.process.settings import Settings
from shared.upstream.batch import Operation

MAX_CLIENT_REF = 100
IDEMPOTENCY_HEADER = "idempotency-key"
# 1..255 printable ASCII characters, as the contract says.
_IDEMPOTENCY_KEY_RE = re.compile(r"^[\x20-\x7e]{1,255}\Z")
_ITEM_KEYS = ("id", "ifMatch", "changes", "clientRef")


def parse_bulk_request(
    settings: Settings,
    version: ApiVersion,
    headers: Mapping[str, str],
    body: bytes,
    journal_id: str | None = None,
) -> list[Operation]:
    """Every item validated, or one 422 listing every problem (413/415/400 first).
    ``journal_id`` is the journal in the path: a ``journalId`` sent back in an
    item's changes must be it."""
    check_body_size(headers, body, settings.bulk_max_body_bytes)
    check_content_type(headers)
    data = parse_body(body, array_hint='send the updates as {"updates": [...]}')
    errors: list[FieldError] = [
        FieldError(name, "unknown_field", f'unknown field "{shown(name)}"; send only "updates"')
        for name in data
        if name != "updates"
    ]
    updates = data.get("updates")
    if not isinstance(updates, list):
        code, message = (
            ("required", "updates is required: a list of updates")
            if updates is None
            else ("wrong_type", "updates must be a list")
        )
        raise bulk_validation_problem([FieldError("updates", code, message), *errors])
    if not updates:
        errors.append(FieldError("updates", "required", "updates must hold at least one update"))
    if len(updates) > settings.bulk_max_items:
        errors.append(
            FieldError(
                "updates",
                "too_many_items",
                f"at most {settings.bulk_max_items} updates per job (got {len(updates)}); "
                "split them into several jobs",
            )
        )
        raise bulk_validation_problem(errors)
    items: list[Operation] = []
    seen: set[str] = set()
    for index, raw in enumerate(updates):
        if len(errors) > MAX_ERRORS:
            # No more than a rendered list's worth is checked: a body of
            # thousands of bad keys costs the worker one screenful of work.
            raise bulk_validation_problem(
                [
                    *errors[:MAX_ERRORS],
                    FieldError(
                        "",
                        "too_many_errors",
                        f"more problems not shown: checking stopped before updates[{index}] "
                        f"of {len(updates)}; fix these and send again",
                    ),
                ],
                complete=False,
            )
        item = _parse_item(settings, version, index, raw, errors, journal_id)
        if item is not None:
            items.append(item)
        # Duplicates count whatever else is wrong with either item.
        payment_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(payment_id, str) and GUID_RE.match(payment_id):
            if payment_id.lower() in seen:
                errors.append(
                    FieldError(
                        f"updates[{index}].id",
                        "duplicate_id",
                        "this line is already updated by an earlier item of the same job",
                    )
                )
            seen.add(payment_id.lower())
    if errors:
        raise bulk_validation_problem(errors)
    return items


def _parse_item(
    settings: Settings,
    version: ApiVersion,
    index: int,
    raw: Any,
    errors: list[FieldError],
    journal_id: str | None,
) -> Operation | None:
    where = f"updates[{index}]"
    if not isinstance(raw, dict):
        errors.append(FieldError(where, "wrong_type", f"{where} must be an object"))
        return None
    before = len(errors)
    for name in raw:
        if name not in _ITEM_KEYS:
            errors.append(
                FieldError(
                    f"{where}.{shown(name)}",
                    "unknown_field",
                    f'unknown field "{shown(name)}"; an update has id, ifMatch, changes '
                    "and clientRef",
                )
            )

    payment_id = raw.get("id")
    if payment_id is None:
        errors.append(FieldError(f"{where}.id", "required", "id is required: the line's GUID"))
    elif not isinstance(payment_id, str) or not GUID_RE.match(payment_id):
        errors.append(
            FieldError(f"{where}.id", "invalid_guid", "id must be the payment line's GUID")
        )

    given = raw.get("ifMatch")
    if_match: str | None = None
    if given is not None:
        try:
            if_match = sent_if_match(given, "ifMatch")
        except Problem as problem:
            errors.append(FieldError(f"{where}.ifMatch", "invalid_if_match", problem.detail))

    changes = raw.get("changes")
    validated: dict[str, Any] | None = None
    echoed_etag = False
    if not isinstance(changes, dict):
        code = "required" if changes is None else "wrong_type"
        change_errors = [
            FieldError(f"{where}.changes", code, "changes must be an object of properties")
        ]
    else:
        # A line sent back as it was read may be the changes: its etag then names
        # the version, as ifMatch does (see shared.payment.echoes).
        line = {"id": payment_id if isinstance(payment_id, str) else None, "journalId": journal_id}
        checked = check_update(
            version,
            changes,
            address=line,
            if_match=if_match,
            amount_decimals=settings.amount_decimals,
            if_match_name="ifMatch",
        )
        validated, if_match, echoed_etag = checked.changes, checked.if_match, "etag" in changes
        change_errors = [
            dataclasses.replace(
                error, field=f"{where}.changes" + (f".{error.field}" if error.field else "")
            )
            for error in checked.errors
        ]
    if given is None and not echoed_etag:
        try:
            if_match = unnamed_version(settings.if_match_default)
        except Problem:
            errors.append(
                FieldError(
                    f"{where}.ifMatch",
                    "required",
                    "ifMatch is required: the line's ETag (from a GET), or * to overwrite",
                )
            )
    errors.extend(change_errors)

    client_ref = raw.get("clientRef")
    if client_ref is not None and (
        not isinstance(client_ref, str)
        or len(client_ref) > MAX_CLIENT_REF
        or CONTROL_RE.search(client_ref)
    ):
        errors.append(
            FieldError(
                f"{where}.clientRef",
                "invalid_client_ref",
                f"clientRef must be text of at most {MAX_CLIENT_REF} characters "
                "without control characters",
            )
        )

    if len(errors) > before or validated is None:
        return None
    assert isinstance(payment_id, str)
    assert isinstance(if_match, str)
    return Operation(index, payment_id.lower(), if_match, validated, client_ref)


def bulk_validation_problem(errors: list[FieldError], *, complete: bool = True) -> Problem:
    """422 naming the problems found; rendering caps the list, as for a single
    PATCH. ``complete`` is false when checking stopped at the cap."""
    count = len(errors)
    found = (
        f"{count} problem{'' if count == 1 else 's'}"
        if complete
        else (f"more than {MAX_ERRORS} problems")
    )
    return Problem(
        "validation-failed",
        f"{found} in the bulk update; nothing was started",
        errors=tuple(errors),
    )


def idempotency_key_of(headers: Mapping[str, str]) -> str | None:
    value = headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY_RE.match(value):
        raise Problem(
            "validation-failed",
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
            errors=(
                FieldError(
                    "Idempotency-Key",
                    "invalid_idempotency_key",
                    "must be 1 to 255 printable ASCII characters",
                ),
            ),
        )
    return value
