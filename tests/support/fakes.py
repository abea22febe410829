"""What the core's unit tests build: ids and requests, Business Central's answers
and a fake Business Central behind httpx.MockTransport, a counting stand-in for the
credential, settings from a controlled environment, and a fresh interpreter."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from azure.core.credentials import AccessToken

from shared.http.messages import CoreRequest, CoreResponse
from shared.process.jsonio import dumps_exact
from shared.process.settings import Settings

TENANT = "11111111-2222-3333-4444-555555555555"
COMPANY = "6f3c1a9e-1b2c-4d3e-8f90-0a1b2c3d4e5f"
JOURNAL = "7a4d2b0f-2c3d-4e5f-9a01-1b2c3d4e5f60"
PAYMENT = "8b5e3c10-3d4e-4f60-8b12-2c3d4e5f6071"
ETAG = 'W/"JzE5OzEyMzQ1Njc4OTAxMjM0NTY3ODkwMTswMDsn"'
NEW_ETAG = 'W/"JzE5Ozk4NzY1NDMyMTA5ODc2NTQzMjEwOTswMDsn"'
BASE_ENV = {
    "BC_TENANT_ID": TENANT,
    "BC_ENVIRONMENT": "production",
    "BC_BASE_URL": "https://bc.example.test",
    # Retries stop at this budget; short, so that failure paths end quickly.
    "SYNC_BUDGET_S": "2",
    "READ_BACK_RESERVE_S": "0.5",
    "MIN_ATTEMPT_S": "0.5",
    # Keys the bulk job ids and tokens; the proxy only requires its length.
    "BULK_JOB_SECRET": "unit-tests-bulk-job-secret-0123456789",
}


def payment_path(
    version: str = "v2.0", journal_set: str = "customerPaymentJournals"
) -> dict[str, str]:
    return {
        "apiVersion": version,
        "companyId": COMPANY,
        "journalSet": journal_set,
        "journalId": JOURNAL,
        "paymentId": PAYMENT,
    }


def comment_patch(headers: dict[str, str] | None = None) -> CoreRequest:
    """A valid PATCH of one comment, with a specific ETag and any extra headers."""
    return CoreRequest(
        "PATCH",
        payment_path(),
        {"content-type": "application/json", "if-match": ETAG, **(headers or {})},
        b'{"comment": "x"}',
    )


def bc_line(**changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "@odata.context": "https://bc.example.test/$metadata#customerPayments/$entity",
        "@odata.etag": NEW_ETAG,
        "id": PAYMENT,
        "journalId": JOURNAL,
        "journalDisplayName": "CASH",
        "lineNumber": 10000,
        "customerId": "9c6f4d21-4e5f-4071-9c23-3d4e5f607182",
        "customerNumber": "10000",
        "postingDate": "2026-11-27",
        "documentNumber": "G00001",
        "externalDocumentNumber": "",
        "amount": 2000.5,
        "appliesToInvoiceId": "00000000-0000-0000-0000-000000000000",
        "appliesToInvoiceNumber": "",
        "description": "",
        "comment": "",
        "lastModifiedDateTime": "2026-11-27T10:00:00Z",
    }
    line.update(changes)
    return line


def bc_error(status: int, code: str, message: str) -> httpx.Response:
    text = f"{message}  CorrelationId:  0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0."
    return httpx.Response(status, json={"error": {"code": code, "message": text}})


class CountingCredential:
    """Stands in for azure-identity where no identity endpoint runs (unit level)."""

    def __init__(self, lifetime_s: float = 3600, delay_s: float = 0.01, fail: bool = False) -> None:
        self.calls = 0
        self.closed = 0
        self.lifetime_s = lifetime_s
        self.delay_s = delay_s
        self.fail = fail

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("identity endpoint answered 500")
        return AccessToken(f"token-{self.calls}", int(time.time() + self.lifetime_s))

    async def close(self) -> None:
        self.closed += 1

    async def __aenter__(self) -> CountingCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


@dataclass
class FakeBusinessCentral:
    """Records what the proxy sent; answers with ``responder``."""

    responder: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responder(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self) -> Any:
        return json.loads(self.last.content)


Reconfigure = Callable[..., Awaitable[None]]


def settings_with(**values: str) -> Settings:
    return Settings.from_env({**BASE_ENV, **values})


REPO = Path(__file__).resolve().parents[2]


def fresh_python(script: str, **environ: str) -> list[str]:
    """The lines ``script`` prints in a new interpreter in the repository, as the
    Functions worker starts one: nothing already imported, no Application Insights
    setting unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    env.update(environ)
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def get_request(headers: dict[str, str] | None = None, **path: str) -> CoreRequest:
    return CoreRequest("GET", {**payment_path(), **path}, headers or {})


def slug(response: CoreResponse) -> str:
    """The problem's slug: the fragment of its type URI."""
    return str(json.loads(response.body)["type"]).rsplit("#", 1)[1]


def exact(status: int, data: Any, **headers: str) -> httpx.Response:
    """An answer with exact decimals, as Business Central writes them."""
    return httpx.Response(
        status, content=dumps_exact(data), headers={"content-type": "application/json", **headers}
    )


def batch_answer(*responses: dict[str, Any]) -> httpx.Response:
    return exact(200, {"responses": list(responses)})


def answer_each(
    answer: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[[httpx.Request], httpx.Response]:
    """A responder for ``$batch`` requests: each operation gets its ``status`` and
    ``body`` from ``answer``, called with the operation as sent."""

    def respond(request: httpx.Request) -> httpx.Response:
        operations = json.loads(request.content)["requests"]
        return batch_answer(*({"id": op["id"], "headers": {}, **answer(op)} for op in operations))

    return respond
