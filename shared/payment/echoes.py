"""A line sent back as it was read: what becomes of the read-only properties
the proxy itself answers with when a body carries them back.

A flow that reads a line, changes one property and sends the whole object
back must not be refused for what the proxy put there, and nothing it sends
back may change anything unseen. So the echoes are judged here, before the
field rules, and none of them is ever forwarded:

* ``id`` and ``journalId`` name the line and its journal: taken when they are
  the ids of the address (any case), refused otherwise;
* ``etag`` is the version the caller read: it is the update's precondition
  (the HTTP edge compares it with If-Match, see ``shared.http.parsing``);
* the others (``journalDisplayName``, ``lastModifiedDateTime``, v1.0's
  ``dimensions``, the lists' ``title``) cannot be checked without a read:
  taken only beside an ``etag``, which makes Business Central refuse the
  update unless the line is still the version they were read from; alone they
  are refused, as an attempt to change them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.payment.models import READ_ONLY_PROPERTIES
from shared.process.problems import FieldError

ETAG = "etag"
# The lists' label for pickers (``shared.lines.lists``), answered with every listed line.
TITLE = "title"
# Echoes the address decides, and what each names.
ADDRESSED = {"id": "line", "journalId": "journal"}
# Echoes only the version read can vouch for.
READ_ALONG = tuple(sorted((READ_ONLY_PROPERTIES - ADDRESSED.keys()) | {TITLE}))
ECHOED = (*ADDRESSED, ETAG, *READ_ALONG)

# The rule for each echo, as the OpenAPI document and the README say it.
ECHO_RULES = {
    **{
        name: f"Read-only. Sent back as it was read (the id of the {what} in the path), it "
        "is accepted and never forwarded; any other value is refused."
        for name, what in ADDRESSED.items()
    },
    ETAG: "Read-only. The line's ETag as it was read: without If-Match it is the update's "
    "precondition; with If-Match it must name the same version (not *). Never forwarded.",
    **{
        name: "Read-only. Accepted beside the line's etag (a line sent back as it was read) "
        "and never forwarded; without the etag it is refused."
        for name in READ_ALONG
    },
}


@dataclass(frozen=True)
class Echoes:
    """A body with its echoes set aside: ``rest`` is what the field rules judge,
    ``etag`` the body's own (``None`` when it has none, ``sent_etag`` says
    whether it had one), ``errors`` the echoes refused."""

    rest: dict[str, Any]
    etag: Any
    sent_etag: bool
    errors: tuple[FieldError, ...]
    set_aside: tuple[str, ...]


def set_aside(body: Mapping[str, Any], address: Mapping[str, str | None]) -> Echoes:
    """Take the echoes out of ``body``. ``address`` holds the ids the request
    names (``id``, ``journalId``); an id it lacks cannot be checked, so its
    echo is refused."""
    rest: dict[str, Any] = {}
    errors: list[FieldError] = []
    aside: list[str] = []
    for name, value in body.items():
        if name not in ECHOED:
            rest[name] = value
            continue
        aside.append(name)
        if name in ADDRESSED:
            expected = address.get(name)
            if not (isinstance(value, str) and expected and value.lower() == expected.lower()):
                errors.append(_not_this(name, expected))
        elif name in READ_ALONG and ETAG not in body:
            errors.append(
                FieldError(
                    name,
                    "read_only",
                    f'"{name}" is read-only and cannot be changed; leave it out (a line '
                    f'sent back as it was read keeps it beside its "{ETAG}")',
                )
            )
    return Echoes(rest, body.get(ETAG), ETAG in body, tuple(errors), tuple(aside))


def _not_this(name: str, expected: str | None) -> FieldError:
    what = ADDRESSED[name]
    where = f" ({expected})" if expected else ""
    return FieldError(
        name,
        "read_only",
        f'"{name}" is read-only and is not the id of the {what} in the address{where}; '
        "leave it out: the address alone says which line is updated",
    )


def nothing_to_update(echoes: Echoes) -> FieldError:
    """The body held echoes only: nothing would change."""
    names = ", ".join(f'"{name}"' for name in echoes.set_aside)
    return FieldError(
        "",
        "empty",
        f"nothing to update: {names} only say which line and version this is; "
        "add a property to change",
    )


def in_body_order(errors: list[FieldError], body: Mapping[str, Any]) -> list[FieldError]:
    """Errors in the order of the properties they name; a whole-body error first."""
    order = {name: index for index, name in enumerate(body)}
    return sorted(errors, key=lambda error: order.get(error.field, -1))
