"""The If-Match rule, for the If-Match header of a PATCH and a bulk item's
``ifMatch`` alike: what an entity tag looks like, how a wrong one is explained
(naming the usual mistake of copying it out of JSON text), what the ``etag`` of
a line sent back as it was read says beside it, and which version an update is
sent with when it names none."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from shared.payment.echoes import ETAG
from shared.payment.settlement import same_entity_tag
from shared.process.problems import FieldError, Problem

# One entity tag, weak or strong (RFC 9110); the OpenAPI document and the connector
# describe If-Match with the same expression.
ENTITY_TAG = r'(W/)?"[\x21\x23-\x7e]*"'
# \Z rather than $: "$" also matches before a trailing newline.
_ENTITY_TAG_RE = re.compile(rf"^{ENTITY_TAG}\Z")
# The longest If-Match taken (the documents say so too).
MAX_IF_MATCH = 1024

PRECONDITION_REQUIRED_DETAIL = (
    "Send If-Match with the line's ETag: GET the payment line first and copy its ETag "
    'header (or send the line back with its "etag" property), or send If-Match: * to '
    "overwrite whatever is there now."
)
# What an ETag looks like once copied out of JSON text: the backslashes before
# its quotes kept (W/\"X\"), or the whole JSON string, outer quotes included.
_BACKSLASHED_RE = re.compile(r'^(W/)?\\"[^"\\]*\\"\Z')
_JSON_STRING_RE = re.compile(r'^"(W/)?\\"[^"\\]*\\""\Z')
# Where an entity tag is sent, and how to get it right there.
Where = Literal["If-Match", "ifMatch"]
_HOW_TO_SEND: dict[Where, str] = {
    "If-Match": 'exactly as the ETag header of a GET shows it, such as W/"JzE5OzEn"',
    "ifMatch": 'as a read\'s JSON shows the line\'s "etag": "ifMatch": "W/\\"JzE5OzEn\\"" '
    'in the body (which JSON reads as W/"JzE5OzEn")',
}


def is_entity_tag_or_star(value: str) -> bool:
    """Whether ``value`` is one entity tag (weak or strong) or ``*``."""
    return value == "*" or (len(value) <= MAX_IF_MATCH and bool(_ENTITY_TAG_RE.match(value)))


def if_match_problem(value: str, name: Where = "If-Match") -> str:
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


def sent_if_match(value: Any, name: Where) -> str:
    """A version as sent, surrounding blanks dropped, when it is one entity tag or
    ``*``; otherwise ``invalid-if-match`` saying why, in the words of where it was
    sent."""
    text = value.strip() if isinstance(value, str) else ""
    if text and is_entity_tag_or_star(text):
        return text
    raise Problem("invalid-if-match", if_match_problem(text, name))


def if_match_header(headers: Mapping[str, str]) -> str | None:
    """The If-Match header, checked; None when it is absent or blank."""
    value = headers.get("if-match")
    if value is None or not value.strip():
        return None
    return sent_if_match(value, "If-Match")


def unnamed_version(default: str | None) -> str:
    """The If-Match of an update that names no version (no If-Match or ``ifMatch``,
    no ``etag`` sent back): the deployment's ``IF_MATCH_DEFAULT``. Without one the
    update is refused, ``precondition-required``."""
    if default is None:
        raise Problem("precondition-required", PRECONDITION_REQUIRED_DETAIL)
    return default


def etag_precondition(
    etag: Any, if_match: str | None, name: Where
) -> tuple[str | None, list[FieldError]]:
    """The ``etag`` of a line sent back as it was read, beside the If-Match sent:
    the precondition when none was sent, the same version (compared as entity-tags)
    when one was."""
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
