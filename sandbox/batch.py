"""Business Central's JSON ``$batch``, as far as it is known.

Operations run one after another, each with its own If-Match, ETag and
error; at most 100 of them; ``Isolation: snapshot`` makes the batch one
transaction. How a failing operation affects the rest is reported two ways,
so the caller picks one (``stop_on_error``): carry on, or stop there unless
``Prefer: odata.continue-on-error`` was sent (the operations after it get no
response at all and are not run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.calls import ODATA_CONTENT_TYPE, BcResult, Call, error_body, error_result, not_found
from sandbox.store import BcError, Data

MAX_BATCH_OPERATIONS = 100


def run_batch(
    call: Call,
    handle: Callable[[Call], BcResult],
    *,
    snapshot: Callable[[], Data] | None,
    restore: Callable[[Data], None],
    stop_on_error: bool,
) -> BcResult:
    """Run the operations of ``call`` through ``handle``; with ``snapshot`` the
    whole batch is one transaction, undone through ``restore`` if one fails."""
    try:
        requests = _batch_requests(call)
    except BcError as err:
        return error_result(err)
    stop = stop_on_error and not continue_on_error(call.headers.get("prefer", ""))
    saved = snapshot() if snapshot is not None else None
    responses: list[dict[str, Any]] = []
    failed: dict[str, Any] | None = None
    for index, raw in enumerate(requests):
        response = _batch_one(call, raw, _operation_id(raw, index), handle)
        responses.append(response)
        if response["status"] >= 400 and (saved is not None or stop):
            failed = response
            break
    ran = len(responses)
    if saved is not None and failed is not None:
        restore(saved)
        # Nothing of a failed transaction took effect: every other
        # operation is reported as failed because of the one that failed
        # (when stopping, those after it get no response at all).
        answered = requests[:ran] if stop else requests
        responses = [
            failed if raw_id == failed["id"] else _dependency_failed(raw_id, failed["id"])
            for raw_id in (_operation_id(raw, index) for index, raw in enumerate(answered))
        ]
    return BcResult(200, {"responses": responses}, operations=ran)


def _batch_requests(call: Call) -> list[dict[str, Any]]:
    body = call.load_body()
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise BcError(400, "BadRequest", "Invalid Request Body")
    if len(requests) > MAX_BATCH_OPERATIONS:
        raise BcError(
            400,
            "BadRequest",
            f"A maximum number of '{MAX_BATCH_OPERATIONS}' query operations and change "
            "sets are allowed in a batch message.",
        )
    return requests


def _batch_one(
    call: Call, raw: dict[str, Any], request_id: str, handle: Callable[[Call], BcResult]
) -> dict[str, Any]:
    method = raw.get("method")
    url = raw.get("url")
    headers = raw.get("headers") or {}
    if not isinstance(method, str) or not isinstance(url, str) or not isinstance(headers, dict):
        result = error_result(BcError(400, "BadRequest", "Invalid batch operation."))
    else:
        path = _batch_path(url, call.version)
        if path is None:
            result = error_result(
                not_found(f"No HTTP resource was found that matches the request URI '{url}'.")
            )
        else:
            inner = Call(
                method=method.upper(),
                version=path[0],
                path=path[1].split("?")[0],
                query=path[1].partition("?")[2],
                headers={str(k).lower(): str(v) for k, v in headers.items()},
                load_body=lambda: _batch_body(raw),
                context_base=call.context_base.replace(f"/api/{call.version}/", f"/api/{path[0]}/"),
            )
            result = handle(inner)
    response_headers = {"odata-version": "4.0", **result.headers}
    if result.body is not None:
        response_headers["content-type"] = ODATA_CONTENT_TYPE
    response: dict[str, Any] = {
        "id": request_id,
        "status": result.status,
        "headers": response_headers,
    }
    if result.body is not None:
        response["body"] = result.body
    return response


def _dependency_failed(request_id: str, failed_id: str) -> dict[str, Any]:
    return {
        "id": request_id,
        "status": 424,
        "headers": {"content-type": ODATA_CONTENT_TYPE, "odata-version": "4.0"},
        "body": error_body(
            "BadRequest",
            f"The batch was rolled back because operation '{failed_id}' failed.",
        ),
    }


def continue_on_error(prefer: str) -> bool:
    """Whether a Prefer header asks for continue-on-error (OData 4.0 and 4.01 spellings)."""
    for preference in prefer.split(","):
        name, _, value = preference.partition("=")
        if name.strip().lower() in ("odata.continue-on-error", "continue-on-error"):
            return value.strip().strip('"').lower() in ("", "true")
    return False


def _operation_id(raw: dict[str, Any], index: int) -> str:
    return str(raw.get("id", index + 1))


def _batch_path(url: str, default_version: str) -> tuple[str, str] | None:
    """(api version, path under the api root with its query) of an inner request's url."""
    match = re.search(r"/api/(v1\.0|v2\.0)/(.*)$", url)
    if match:
        return match.group(1), match.group(2)
    if url.startswith(("http://", "https://", "/")):
        return None
    return default_version, url


def _batch_body(raw: dict[str, Any]) -> Any:
    if "body" not in raw or raw["body"] is None:
        raise BcError(400, "BadRequest", "Invalid Request Body")
    return raw["body"]
