"""Reusable sandbox fixture code for any test suite (sandbox, end-to-end).

from tests.sandbox_fixtures import start_sandbox

with start_sandbox() as sandbox:
    sandbox.url              # base URL: BC_BASE_URL and the admin API
    sandbox.identity_endpoint, sandbox.identity_header   # IDENTITY_ENDPOINT / IDENTITY_HEADER
    sandbox.seed             # GET /_sandbox/seed (amounts as Decimal)
    sandbox.reset(); sandbox.add_faults({...}); sandbox.requests()
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from sandbox.app import SERVER_OPTIONS, create_sandbox_app
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
        c = self.seed["companies"][company]
        j = c["journals"][journal]
        p = j["payments"][line]
        return (
            f"{self.api_url(version)}/companies({c['id']})/customerPaymentJournals({j['id']})"
            f"/customerPayments({p['id']})"
        )

    def environment_variables(self) -> dict[str, str]:
        """Settings that point the proxy at this sandbox."""
        return {
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

    def token(self) -> str:
        return str(self._admin("POST", "identity/token")["access_token"])

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def add_faults(self, *rules: dict[str, Any]) -> None:
        self._admin("POST", "faults", {"rules": list(rules)})

    def faults(self) -> list[dict[str, Any]]:
        """The rules still active (each is gone once it has taken ``times`` requests)."""
        return list(self._admin("GET", "faults")["rules"])

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")

    def set_latency(self, ms: int) -> None:
        self._admin("POST", "latency", {"ms": ms})

    def set_token_lifetime(self, seconds: int) -> None:
        self._admin("POST", "identity", {"tokenLifetimeS": seconds})

    def requests(self) -> list[dict[str, Any]]:
        return list(self._admin("GET", "requests"))

    def token_requests(self) -> int:
        return int(self._admin("GET", "identity/stats")["tokenRequests"])

    def concurrency(self) -> dict[str, int]:
        return dict(self._admin("GET", "concurrency"))


@contextmanager
def start_sandbox(identity_header: str | None = None) -> Iterator[RunningSandbox]:
    """Serve a fresh sandbox on a free loopback port until the block ends."""
    header = identity_header or secrets.token_urlsafe(24)
    app = create_sandbox_app(identity_header=header)
    with serve_in_thread(app, **SERVER_OPTIONS) as server, httpx.Client(timeout=10) as http:
        seed = json.loads(http.get(f"{server.url}/_sandbox/seed").text, parse_float=Decimal)
        running = RunningSandbox(server.url, header, seed, server, app, http)
        yield running
