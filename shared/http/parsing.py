"""Request parsing: route ids, headers and body, each checked before use.

Every function raises a :class:`Problem` naming what is wrong; nothing that
has not passed through here reaches an upstream URL or body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.payment.echoes import ECHOED, ETAG, in_body_order, nothing_to_update, set_aside
from shared.payment.fields import ApiVersion
from shared.payment.models import validate_update
from shared.payment.refs import ForwardHeaders, PaymentRef
from shared.payment.settlement import same_entity_tag
from shared.process.jsonio import JsonBodyError, loads_exact
from shared.process.problems import FieldError, Problem
from shared.process.settings import Settings

# \Z rather than $: "$" also matches before a trailing newline.
_ENTITY_TAG_RE = re.compile(r'^(W/)?"[\x21\x23-\x7e]*"\Z')
_MAX_IF_MATCH = 1024
_TRACEPARENT_RE = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\Z")
_LANGUAGE_RE = re.compile(r"^[A-Za-z0-9 ,;=.*-]{1,200}\Z")
_LENGTH_RE = re.compile(r"^[0-9]{1,19}\Z")
_MEDIA_TYPES = ("application/json", "application/merge-patch+json")
_CHARSET_RE = re.compile(r"(?i)charset\s*=\s*\"?([^\";\s]+)")
_WHOLE_NUMBER_RE = re.compile(r"^[0-9]{1,10}\Z")
# The most a page may skip (OData's $skip is a 32-bit integer).
MAX_SKIP = 2147483647

PRECONDITION_REQUIRED_DETAIL = (
    "Send If-Match with the line's ETag: GET the payment line first and copy its ETag "
    'header (or send the line back with its "etag" property), or send If-Match: * to '
    "overwrite whatever is there now."
)
# What an ETag looks like once copied out of JSON text: the backslashes before
# its quotes kept (W/\"X\"), or the whole JSON string, outer quotes included.
_BACKSLASHED_RE = re.compile(r'^(W/)?\\"[^"\\]*\\"\Z')
_JSON_STRING_RE = re.compile(r'^"(W/)?\\"[^"\\]*\\""\Z')
# How to get it right, by where the entity tag is sent.
_HOW_TO_SEND = {
    "If-Match": 'exactly as the ETag header of a GET shows it, such as W/"JzE5OzEn"',
    "ifMatch": 'as a read\'s JSON shows the line\'s "etag": "ifMatch": "W/\\"JzE5OzEn\\"" '
    'in the body (which JSON reads as W/"JzE5OzEn")',
}


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


def is_entity_tag_or_star(value: str) -> bool:
    """Whether ``value`` is one entity tag (weak or strong) or ``*``."""
    return value == "*" or (len(value) <= _MAX_IF_MATCH and bool(_ENTITY_TAG_RE.match(value)))


def if_match_problem(value: str, name: str = "If-Match") -> str:
    """Why ``value`` is not an entity tag the proxy takes, naming the usual
    mistake; ``name`` is where it was sent (the header, or a bulk item's ``ifMatch``)."""
    how = _HOW_TO_SEND[name]
    if value.startswith('W/"W/'):
        return (
            f'{name} has the weak prefix twice (W/"W/"...""): the line\'s ETag already '
            f"starts with W/. Send it {how}."
        )
    if _JSON_STRING_RE.match(value):
        return (
            f"{name} is the ETag as a JSON string, outer quotes and backslashes included "
            f'("W/\\"...\\""): it was copied out of JSON text as it is written there. '
            f"Send it {how}."
        )
    if _BACKSLASHED_RE.match(value):
        return (
            f"{name} keeps the backslashes JSON text writes before the ETag's quotes "
            f'(W/\\"...\\"). Send it {how}.'
        )
    return f'{name} must be one entity tag (W/"..." or "...") or *. Send it {how}.'


def if_match_header(headers: Mapping[str, str]) -> str | None:
    """The If-Match header, checked; None when it is absent or blank."""
    value = headers.get("if-match")
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not is_entity_tag_or_star(value):
        raise Problem("invalid-if-match", if_match_problem(value))
    return value


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
    if_match_name: str = "If-Match",
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
            if_match, refused = _etag_precondition(echoes.etag, if_match, if_match_name)
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


def _etag_precondition(
    etag: Any, if_match: str | None, name: str
) -> tuple[str | None, list[FieldError]]:
    """The body's ``etag`` beside the If-Match sent: the precondition when none
    was sent, the same version (compared as entity-tags) when one was."""
    if not isinstance(etag, str) or etag.strip() == "*" or not is_entity_tag_or_star(etag.strip()):
        return if_match, [
            FieldError(
                ETAG,
                "read_only",
                f'"{ETAG}" is read-only and must be the line\'s ETag as a read shows it, such '
                'as W/"JzE5OzEn"; leave it out, or send it back as it was read',
            )
        ]
    etag = etag.strip()
    if if_match is None:
        return etag, []
    if if_match == "*":
        return if_match, [
            FieldError(
                ETAG,
                "read_only",
                f'"{ETAG}" names the version of the line that was read, but {name} is * (any '
                f'version): leave "{ETAG}" out to overwrite whatever is there, or send {name} '
                "with that ETag",
            )
        ]
    if not same_entity_tag(etag, if_match):
        return if_match, [
            FieldError(
                ETAG,
                "read_only",
                f'"{ETAG}" is read-only and names another version than {name}: send the same '
                f'ETag in both, or leave "{ETAG}" out',
            )
        ]
    return if_match, []


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
        # No version named, in the header or the body.
        if settings.if_match_default is None:
            raise Problem("precondition-required", PRECONDITION_REQUIRED_DETAIL)
        if_match = settings.if_match_default
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
