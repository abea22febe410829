"""The core's own request and response values, and how answers are rendered.

The adapters (``function_app.py``, the local host, tests) translate to and
from these; nothing in the core sees an Azure Functions type.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.process.jsonio import dumps_exact
from shared.process.problems import Problem
from shared.process.settings import fallback_problems_url

# \Z rather than $: "$" also matches before a trailing newline.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")


@dataclass(frozen=True)
class CoreRequest:
    """What the core needs of an HTTP request; header names are lower-case."""

    method: str
    route_params: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)


# A cross-origin page may read only the response headers named here. Neither
# the platform's CORS nor the local host's adds this header, so every answer
# the core renders carries it, in Azure as locally.
EXPOSED_HEADERS = "ETag, Location, Retry-After, x-request-id, x-application-check"


@dataclass
class CoreResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers.setdefault("Access-Control-Expose-Headers", EXPOSED_HEADERS)
        # Every answer: no content sniffing. Unless an answer says otherwise (the
        # public documents do), no cache keeps it: answers carry payment lines,
        # job status URLs with their tokens, and problems about both.
        self.headers.setdefault("X-Content-Type-Options", "nosniff")
        self.headers.setdefault("Cache-Control", "no-store")


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def request_id_of(headers: Mapping[str, str]) -> str:
    for name in ("x-request-id", "x-ms-client-request-id"):
        value = headers.get(name, "")
        if value and _REQUEST_ID_RE.match(value):
            return value
    return new_request_id()


def new_request_id() -> str:
    """A random (version 4) UUID as ``str(uuid.uuid4())`` writes it, without the UUID
    object's arithmetic (most requests come without an id of their own)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def json_response(status: int, data: Any, request_id: str, **headers: str) -> CoreResponse:
    return encoded_json_response(status, dumps_exact(data), request_id, **headers)


def encoded_json_response(
    status: int, body: bytes, request_id: str, **headers: str
) -> CoreResponse:
    """:func:`json_response` for a body already written as exact JSON."""
    return CoreResponse(
        status,
        body,
        {"Content-Type": "application/json; charset=utf-8", "x-request-id": request_id, **headers},
    )


def problem_response(
    problem: Problem, request_id: str, headers: Mapping[str, str], docs_url: str | None = None
) -> CoreResponse:
    body = problem.as_json(docs_url or fallback_problems_url(os.environ), request_id)
    media = problem_media_type(headers.get("accept", ""))
    out = {"Content-Type": f"{media}; charset=utf-8", "x-request-id": request_id}
    if problem.retry_after is not None:
        out["Retry-After"] = str(problem.retry_after)
    out.update(problem.headers)
    return CoreResponse(problem.status, dumps_exact(body), out)


PROBLEM_JSON = "application/problem+json"
PLAIN_JSON = "application/json"


def _quality(ranges: list[tuple[str, float]], media: str) -> float:
    """RFC 9110 quality of ``media``: the most specific matching range decides."""
    kind = media.split("/", 1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for pattern, q in ranges:
        if pattern == media:
            specificity = 2
        elif pattern == f"{kind}/*":
            specificity = 1
        elif pattern == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, q)
    return best[1]


def parse_accept(value: str) -> list[tuple[str, float]]:
    """Media ranges with their q-values; unreadable ranges are skipped."""
    ranges = []
    for part in value.split(",")[:50]:
        media, *params = (item.strip() for item in part.split(";"))
        if not re.fullmatch(r"[a-z0-9!#$&^_.+*-]+/[a-z0-9!#$&^_.+*-]+", media.lower()):
            continue
        q = 1.0
        for param in params:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(raw.strip())))
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges


def problem_media_type(accept: str) -> str:
    """problem+json, unless the caller prefers plain JSON: some low-code clients
    parse only application/json, and say so in Accept."""
    ranges = parse_accept(accept)
    plain = _quality(ranges, PLAIN_JSON)
    return PLAIN_JSON if plain > 0 and plain > _quality(ranges, PROBLEM_JSON) else PROBLEM_JSON
