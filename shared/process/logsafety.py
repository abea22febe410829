"""Keep secrets out of every log record, whichever library writes it.

The proxy's own code never logs a token, but azure-identity, azure-core,
httpx and httpcore log at DEBUG, and error messages they build may quote an
answer that echoes our request. Redacting where a record is *created* covers
every logger and every handler, including ones the Functions worker (or a
test) attaches later.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

# Function keys travel as ?code=... or in x-functions-key; a bulk job's status
# URL carries its token as ?token=...: wherever a URL is written, neither is.
_KEY_RE = re.compile(r"(?i)([?&](?:code|token)=|x-functions-key[\"']?\s*[:=]\s*[\"']?)[^&\s\"',;]+")
REDACTED = "<redacted>"

_lock = threading.Lock()
_installed = False


def scrub(text: str) -> str:
    """``text`` without bearer tokens, JWTs, function keys, status tokens or the
    identity secret."""
    text = redact(text)
    if not _could_match(text, _KEY_MARKS):
        return text
    return _KEY_RE.sub(lambda match: match.group(1) + REDACTED, text)


# Every match of _KEY_RE contains one of these, and every match of _SECRET_RE one of
# _SECRET_MARKS, lower-cased. Their letters are ones that case-insensitive matching
# finds only where str.lower() gives the same letter (unlike i, s and k, which it also
# finds in a dotted or dotless i, a long s or a Kelvin sign), so a text whose lower
# case lacks them all cannot match: most log lines skip the expressions.
# Keep them in step with the expressions: a mark too many only costs a skip, one too
# few lets a secret through. (token= is here for a status URL's ?token=...)
_KEY_MARKS = ("code=", "token=", "x-funct")
_SECRET_MARKS = ("bearer", "eyj")


def _could_match(text: str, marks: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(mark in lowered for mark in marks)


def scrub_record(record: logging.LogRecord) -> None:
    """Redact a record's message, traceback and stack in place."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is for logging itself to report
        return
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Formatters use exc_text when it is set, so the raw traceback is never printed.
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


def install() -> None:
    """Scrub every log record of this process from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


# Anything shaped like a bearer token or JWT is cut from upstream text before
# it is shown: an error page that echoes request headers must not leak ours.
_SECRET_RE = re.compile(
    r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"
)


# The managed identity endpoint's secret (App Service: IDENTITY_HEADER; older
# platforms: MSI_SECRET). Short values are not secrets worth a replace.
SECRET_VARIABLES = ("IDENTITY_HEADER", "MSI_SECRET")


_MIN_SECRET_LENGTH = 8


def redact(text: str) -> str:
    """``text`` without bearer tokens, JWTs or the identity endpoint's secret."""
    if _could_match(text, _SECRET_MARKS):
        text = _SECRET_RE.sub("<redacted>", text)
    for name in SECRET_VARIABLES:
        secret = os.environ.get(name, "")
        if len(secret) >= _MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, "<redacted>")
    return text
