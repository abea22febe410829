"""Request parsing: headers and body, each checked before use, and an update
body judged as a PATCH of one line (for a PATCH, validate-only and each item of a
bulk job alike); the paging parameters of a list.

Every function raises a :class:`Problem` naming what is wrong; nothing that
has not passed through here reaches an upstream URL or body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.http.preconditions import Where, etag_precondition, if_match_header, unnamed_version
from shared.payment.echoes import ECHOED, ETAG, in_body_order, nothing_to_update, set_aside
from shared.payment.fields import ApiVersion
from shared.payment.models import validate_update
from shared.payment.refs import ForwardHeaders, PaymentRef
from shared.process.jsonio import JsonBodyError, loads_exact
from shared.process.problems import FieldError, Problem
from shared.process.settings import Settings

_TRACEPARENT_RE = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\Z")
_LANGUAGE_RE = re.compile(r"^[A-Za-z0-9 ,;=.*-]{1,200}\Z")
_LENGTH_RE = re.compile(r"^[0-9]{1,19}\Z")
_MEDIA_TYPES = ("application/json", "application/merge-patch+json")
_CHARSET_RE = re.compile(r"(?i)charset\s*=\s*\"?([^\";\s]+)")
_WHOLE_NUMBER_RE = re.compile(r"^[0-9]{1,10}\Z")
# The most a page may skip (OData's $skip is a 32-bit integer).
MAX_SKIP = 2147483647


def forward_headers(
    headers: Mapping[str, str], request_id: str, if_match: str | None
) -> ForwardHeaders:
    language = headers.get("accept-language")
    traceparent = headers.get("traceparent")
    return ForwardHeaders(
        request_id=request_id,
        if_match=if_match,
        accept_language=language if language and _LANGUAGE_RE.match(language) else None,
        traceparent=traceparent if traceparent and _TRACEPARENT_RE.match(traceparent) else None,
    )


def check_content_type(headers: Mapping[str, str]) -> None:
    value = headers.get("content-type", "")
    media, _, params = value.partition(";")
    charset = _CHARSET_RE.search(params) if params else None
    if media.strip().lower() not in _MEDIA_TYPES or (
        charset and charset.group(1).lower() not in ("utf-8", "utf8")
    ):
        raise Problem(
            "unsupported-media-type",
            "Send the body as Content-Type: application/json (UTF-8).",
        )


def check_body_size(headers: Mapping[str, str], body: bytes, limit: int) -> None:
    """Before anything parses: the declared length and the actual one."""
    header = headers.get("content-length", "").strip()
    declared = int(header) if _LENGTH_RE.match(header) else None
    size = max(len(body), declared or 0)
    if size > limit:
        raise Problem(
            "payload-too-large",
            f"The body is {size} bytes; the limit is {limit} bytes.",
        )
    if declared is not None and len(body) < declared:
        # A body cut off in transit may still be valid JSON: never act on it.
        raise Problem(
            "malformed-json",
            f"The body is shorter ({len(body)} bytes) than its Content-Length ({declared}): "
            "it was cut off.",
        )


def parse_body(body: bytes, array_hint: str = "") -> dict[str, Any]:
    """The body as one JSON object; ``array_hint`` says what to send instead of an array."""
    try:
        data = loads_exact(body)
    except JsonBodyError as exc:
        raise Problem("malformed-json", str(exc)[:300]) from None
    if not isinstance(data, dict):
        kind = {"list": "an array", "str": "a string", "bool": "a boolean", "NoneType": "null"}.get(
            type(data).__name__, "a number"
        )
        hint = f"; {array_hint}" if array_hint and isinstance(data, list) else ""
        raise Problem("malformed-json", f"The body must be a JSON object, but it is {kind}{hint}.")
    return data


def validation_problem(errors: list[FieldError]) -> Problem:
    count = len(errors)
    return Problem(
        "validation-failed",
        f"{count} propert{'y is' if count == 1 else 'ies are'} invalid",
        errors=tuple(errors),
    )


class CheckedUpdate(NamedTuple):
    """An update body judged: the changes to forward (None when refused), the
    If-Match to send with them, and every problem found, in body order.
    ``if_match`` is None when the request named no version at all."""

    changes: dict[str, Any] | None
    if_match: str | None
    errors: list[FieldError]


def check_update(
    version: ApiVersion,
    body: Mapping[str, Any],
    *,
    address: Mapping[str, str | None],
    if_match: str | None,
    amount_decimals: int,
    if_match_name: Where = "If-Match",
) -> CheckedUpdate:
    """A body judged as a PATCH of the line at ``address`` (``id``, ``journalId``)
    sent with ``if_match`` (already checked; None when absent): the echoes of a
    read set aside (``shared.payment.echoes``), its ``etag`` as the precondition,
    the rest by the field rules. Nothing read-only is ever forwarded."""
    errors: list[FieldError] = []
    rest: Mapping[str, Any] = body
    # The usual body (a bulk job has a thousand) carries no echo: nothing to set aside.
    if not body.keys().isdisjoint(ECHOED):
        echoes = set_aside(body, address)
        errors += echoes.errors
        rest = echoes.rest
        if echoes.sent_etag:
            if_match, refused = etag_precondition(echoes.etag, if_match, if_match_name)
            errors += refused
        if not rest:
            errors.append(nothing_to_update(echoes))
    # Echoes alone were answered above; an empty body is the field rules' to refuse.
    result = (
        [] if body and not rest else validate_update(version, rest, amount_decimals=amount_decimals)
    )
    if isinstance(result, list):
        errors += result
    if errors:
        # The field rules report in body order; the echoes' errors are merged into it.
        return CheckedUpdate(
            None, if_match, in_body_order(errors, body) if rest is not body else errors
        )
    assert isinstance(result, dict)
    return CheckedUpdate(result, if_match, [])


def prepare_update(
    settings: Settings, ref: PaymentRef, headers: Mapping[str, str], body: bytes
) -> tuple[str, dict[str, Any]]:
    """Every check a PATCH of ``ref`` makes before Business Central is called, in
    order: the If-Match to send and the exact properties to forward."""
    check_body_size(headers, body, settings.max_body_bytes)
    check_content_type(headers)
    header = if_match_header(headers)
    data = parse_body(body)
    checked = check_update(
        ref.version,
        data,
        address={"id": ref.payment_id, "journalId": ref.journal_id},
        if_match=header,
        amount_decimals=settings.amount_decimals,
    )
    if_match = checked.if_match
    if if_match is None and ETAG not in data:
        if_match = unnamed_version(settings.if_match_default)
    if checked.errors:
        raise validation_problem(checked.errors)
    assert checked.changes is not None
    assert if_match is not None
    return if_match, checked.changes


def whole_number_parameter(
    query: Mapping[str, str], name: str, default: int, low: int, high: int = MAX_SKIP
) -> int:
    """A paging parameter such as ``top`` or ``skip``: ``default`` when absent, else a
    whole number from ``low`` to ``high``, or 400 naming it."""
    raw = query.get(name)
    if raw is None:
        return default
    if not _WHOLE_NUMBER_RE.match(raw) or not low <= int(raw) <= high:
        rule = f"from {low} to {high}" if high < MAX_SKIP else f"{low} or more"
        raise Problem(
            "invalid-query-parameter", f"The query parameter {name} must be a whole number {rule}."
        )
    return int(raw)
