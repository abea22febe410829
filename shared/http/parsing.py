"""Request parsing: route ids, headers and body, each checked before use.

Every function raises a :class:`Problem` naming what is wrong; nothing that
has not passed through here reaches an upstream URL or body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.payment.fields import ApiVersion
from shared.payment.models import validate_update
from shared.process.jsonio import JsonBodyError, loads_exact
from shared.process.problems import FieldError, Problem
from shared.process.settings import Settings
from shared.upstream.refs import ForwardHeaders

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
    'header (or the "etag" property), or send If-Match: * to overwrite whatever is '
    "there now."
)
DOUBLED_WEAK_PREFIX_DETAIL = (
    'If-Match has the weak prefix twice (W/"W/"...""): the ETag a GET answers already '
    'starts with W/. Send it exactly as the ETag header shows it, such as W/"JzE5OzEn".'
)
INVALID_IF_MATCH_DETAIL = (
    'If-Match must be one entity tag such as W/"JzE5OzEn" (copy the ETag header of a GET), or *.'
)


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


def if_match_problem(value: str) -> str:
    """Why ``value`` is not an If-Match the proxy takes, in words a person can act on."""
    if value.startswith('W/"W/'):
        return DOUBLED_WEAK_PREFIX_DETAIL
    return INVALID_IF_MATCH_DETAIL


def if_match_of(settings: Settings, headers: Mapping[str, str]) -> str:
    value = headers.get("if-match")
    if value is None or not value.strip():
        if settings.if_match_default is not None:
            return settings.if_match_default
        raise Problem("precondition-required", PRECONDITION_REQUIRED_DETAIL)
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


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = loads_exact(body)
    except JsonBodyError as exc:
        raise Problem("malformed-json", str(exc)[:300]) from None
    if not isinstance(data, dict):
        kind = {"list": "an array", "str": "a string", "bool": "a boolean", "NoneType": "null"}.get(
            type(data).__name__, "a number"
        )
        raise Problem("malformed-json", f"The body must be a JSON object, but it is {kind}.")
    return data


def validation_problem(errors: list[FieldError]) -> Problem:
    count = len(errors)
    return Problem(
        "validation-failed",
        f"{count} propert{'y is' if count == 1 else 'ies are'} invalid",
        errors=tuple(errors),
    )


def prepare_update(
    settings: Settings, version: ApiVersion, headers: Mapping[str, str], body: bytes
) -> tuple[str, dict[str, Any]]:
    """Every check a PATCH makes before Business Central is called, in order:
    the If-Match to send and the exact properties to forward."""
    check_body_size(headers, body, settings.max_body_bytes)
    check_content_type(headers)
    if_match = if_match_of(settings, headers)
    changes = validate_update(version, parse_body(body), amount_decimals=settings.amount_decimals)
    if isinstance(changes, list):
        raise validation_problem(changes)
    return if_match, changes


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
