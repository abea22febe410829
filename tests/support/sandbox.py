"""The sandbox started for a test or a benchmark, on a free loopback port, and its
admin API.

from tests.support.sandbox import start_sandbox

with start_sandbox() as sandbox:
    sandbox.url              # base URL: BC_BASE_URL and the admin API
    sandbox.identity_endpoint, sandbox.identity_header   # IDENTITY_ENDPOINT / IDENTITY_HEADER
    sandbox.seed             # GET /_sandbox/seed (amounts as Decimal)
    sandbox.reset(); sandbox.add_faults({...}); sandbox.requests()
    sandbox.set_latency(100, per_batch_operation_ms=5); sandbox.set_limits(concurrent=1)
    sandbox.set_batch_on_error("stop"); sandbox.add_lines(1000) -> ids
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from sandbox.app import SERVER_OPTIONS, create_sandbox_app
from sandbox.requestlog import MAX_ENTRIES
from sandbox.serving import BackgroundServer, serve_in_thread


@dataclass
class RunningSandbox:
    url: str
    identity_header: str
    seed: dict[str, Any]
    server: BackgroundServer
    # The Starlette app itself, for tests that tune the emulator in-process.
    app: Any
    # One connection pool for admin calls: creating a client per call costs
    # an SSL context each time, which adds up over hundreds of tests.
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10), repr=False)
    # The bulk job secret a proxy pointed here is given (see environment_variables).
    job_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @property
    def tenant(self) -> str:
        return str(self.seed["tenant"])

    @property
    def environment(self) -> str:
        return str(self.seed["environment"])

    @property
    def identity_endpoint(self) -> str:
        return f"{self.url}/msi/token"

    def api_url(self, version: str = "v2.0") -> str:
        return f"{self.url}/v2.0/{self.tenant}/{self.environment}/api/{version}"

    def payment_url(
        self, version: str = "v2.0", company: int = 0, journal: int = 0, line: int = 0
    ) -> str:
        """The URL of a seeded line."""
        p = self.seed["companies"][company]["journals"][journal]["payments"][line]
        return self.line_url(str(p["id"]), version, company, journal)

    def patch_operation(
        self,
        op_id: str,
        line_id: str,
        body: dict[str, Any],
        if_match: str = "*",
        company: int = 0,
        journal: int = 0,
    ) -> dict[str, Any]:
        """One PATCH for a ``$batch`` body, its URL relative to the API root."""
        url = self.line_url(line_id, company=company, journal=journal)
        return {
            "id": op_id,
            "method": "PATCH",
            "url": url.removeprefix(self.api_url() + "/"),
            "headers": {"Content-Type": "application/json", "If-Match": if_match},
            "body": body,
        }

    def environment_variables(self) -> dict[str, str]:
        """Settings for a proxy that runs against this sandbox: where it is, and a
        bulk job secret of this sandbox's own, as ``make run`` makes one per run."""
        return {
            "BULK_JOB_SECRET": self.job_secret,
            "BC_BASE_URL": self.url,
            "BC_TENANT_ID": self.tenant,
            "BC_ENVIRONMENT": self.environment,
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
        }

    # --- admin API ---------------------------------------------------------------

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, f"{self.url}/_sandbox/{path}", json=body)
        response.raise_for_status()
        return json.loads(response.text, parse_float=Decimal)

    def reset(self) -> None:
        self._admin("POST", "reset")

    def token(self, client_id: str | None = None) -> str:
        """A valid Business Central token; ``client_id`` picks the identity
        (the principal whose concurrency slots it uses)."""
        body = {"clientId": client_id} if client_id else None
        return str(self._admin("POST", "identity/token", body)["access_token"])

    def auth_headers(self, client_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client_id)}"}

    def add_faults(self, *rules: dict[str, Any]) -> None:
        self._admin("POST", "faults", {"rules": list(rules)})

    def faults(self) -> list[dict[str, Any]]:
        """The rules still active (each is gone once it has taken ``times`` requests)."""
        return list(self._admin("GET", "faults")["rules"])

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")

    def set_latency(self, ms: int, per_batch_operation_ms: int = 0) -> None:
        """Delay every Business Central answer ``ms``, a $batch also per operation."""
        self._admin("POST", "latency", {"ms": ms, "perBatchOperationMs": per_batch_operation_ms})

    def set_limits(
        self, concurrent: int = 5, queue: int = 95, requests: int = 6000, window_s: int = 300
    ) -> None:
        """Per-principal limits: requests processed at once, how many may wait, and how
        many are admitted in any window of ``window_s`` seconds."""
        self._admin(
            "POST",
            "limits",
            {"concurrent": concurrent, "queue": queue, "requests": requests, "windowS": window_s},
        )

    def set_batch_on_error(self, mode: str) -> None:
        """``"continue"`` (default) or ``"stop"``: what a failing $batch operation does."""
        self._admin("POST", "batch", {"onError": mode})

    def add_lines(self, count: int, company: int = 0, journal: int = 0) -> list[str]:
        """Add ``count`` valid lines to a seeded journal; their ids in creation order."""
        c = self.seed["companies"][company]
        body = {"companyId": c["id"], "journalId": c["journals"][journal]["id"], "count": count}
        return [str(line_id) for line_id in self._admin("POST", "lines", body)["ids"]]

    def line_url(
        self, line_id: str, version: str = "v2.0", company: int = 0, journal: int = 0
    ) -> str:
        """The URL of any line (e.g. one from :meth:`add_lines`) in a seeded journal."""
        c = self.seed["companies"][company]
        j = c["journals"][journal]
        return (
            f"{self.api_url(version)}/companies({c['id']})/customerPaymentJournals({j['id']})"
            f"/customerPayments({line_id})"
        )

    def set_token_lifetime(self, seconds: int) -> None:
        self._admin("POST", "identity", {"tokenLifetimeS": seconds})

    def requests(self) -> list[dict[str, Any]]:
        return list(self._admin("GET", "requests"))

    def clear_requests(self) -> None:
        """Empty the request log only (data, faults and limits stay)."""
        self._admin("DELETE", "requests")

    def token_requests(self) -> int:
        return int(self._admin("GET", "identity/stats")["tokenRequests"])

    def concurrency(self) -> dict[str, int]:
        """``current`` (holding a slot now), ``max`` (since the reset), ``queued`` (waiting)."""
        return dict(self._admin("GET", "concurrency"))

    def rate_window(self) -> dict[str, int]:
        """``inWindow`` (requests counted in the current window, every principal) and
        ``refused`` (requests the window turned away since the reset)."""
        return dict(self._admin("GET", "window"))

    def wait_for_concurrency(self, timeout_s: float = 10, **expected: int) -> dict[str, int]:
        """Poll until the concurrency counts include ``expected`` (e.g. current=2, queued=1)."""
        deadline = time.monotonic() + timeout_s
        while True:
            seen = self.concurrency()
            if all(seen.get(name) == value for name, value in expected.items()):
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"concurrency never reached {expected}: last {seen}")
            time.sleep(0.01)

    async def wait_for_concurrency_async(
        self, timeout_s: float = 10, **expected: int
    ) -> dict[str, int]:
        """:meth:`wait_for_concurrency` for async tests (it leaves the event loop free)."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=10) as http:
            while True:
                seen = dict((await http.get(f"{self.url}/_sandbox/concurrency")).json())
                if all(seen.get(name) == value for name, value in expected.items()):
                    return seen
                if time.monotonic() > deadline:
                    raise AssertionError(f"concurrency never reached {expected}: last {seen}")
                await asyncio.sleep(0.01)


@contextmanager
def start_sandbox(
    identity_header: str | None = None, max_logged_requests: int = MAX_ENTRIES
) -> Iterator[RunningSandbox]:
    """Serve a fresh sandbox on a free loopback port until the block ends."""
    header = identity_header or secrets.token_urlsafe(24)
    app = create_sandbox_app(identity_header=header, max_logged_requests=max_logged_requests)
    with serve_in_thread(app, **SERVER_OPTIONS) as server, httpx.Client(timeout=10) as http:
        seed = json.loads(http.get(f"{server.url}/_sandbox/seed").text, parse_float=Decimal)
        running = RunningSandbox(server.url, header, seed, server, app, http)
        yield running
