"""One call to the emulated Business Central API and its answer: the request
as the API root sees it, the result with its status and headers, and BC's
error envelope."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.store import BcError

ODATA_CONTENT_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true"


@dataclass
class BcResult:
    """One answer: status, JSON body (or None) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # How many $batch operations ran (the per-operation latency is paid for these).
    operations: int = 0


def error_body(code: str, message: str) -> dict[str, Any]:
    """BC's error envelope; every message ends with its correlation id."""
    return {"error": {"code": code, "message": f"{message}  CorrelationId:  {uuid.uuid4()}."}}


def error_result(err: BcError) -> BcResult:
    return BcResult(err.status, error_body(err.code, err.message), dict(err.headers))


def not_found(message: str, code: str = "BadRequest_NotFound") -> BcError:
    return BcError(404, code, message)


@dataclass
class Call:
    """One request to the API root ``.../api/{version}/``."""

    method: str
    version: str
    path: str
    headers: dict[str, str]
    load_body: Callable[[], Any]
    context_base: str
    # The raw (percent-encoded) query string: OData options for collections.
    query: str = ""

    @property
    def if_match(self) -> str | None:
        return self.headers.get("if-match")
