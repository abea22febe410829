"""Everything the sandbox's admin API can inspect or change, in one place:
the data, the emulated Business Central over it, the token issuer, fault
rules, latency, the request log, the per-principal concurrency gate and rate window."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.bc import BusinessCentral
from sandbox.calls import BcResult
from sandbox.faults import FaultRules
from sandbox.requestlog import MAX_ENTRIES, RequestLog
from sandbox.store import Data
from sandbox.throttle import ConcurrencyGate, RateWindow
from sandbox.tokens import TokenIssuer

DEFAULT_TOKEN_LIFETIME_S = 3600


@dataclass(frozen=True)
class Latency:
    """Added to every Business Central answer; per operation run for a ``$batch``."""

    ms: int = 0
    per_batch_operation_ms: int = 0

    def for_result(self, result: BcResult) -> int:
        return self.ms + self.per_batch_operation_ms * result.operations


class SandboxState:
    """Everything the admin API can inspect or change, in one place."""

    def __init__(self, identity_header: str, max_logged_requests: int = MAX_ENTRIES) -> None:
        self.identity_header = identity_header
        self.tokens = TokenIssuer(lifetime_s=DEFAULT_TOKEN_LIFETIME_S)
        self.data = Data.from_seed()
        self.bc = BusinessCentral(lambda: self.data, self._set_data)
        self.faults = FaultRules()
        self.latency = Latency()
        self.requests = RequestLog(max_logged_requests)
        self.token_requests = 0
        self.gate = ConcurrencyGate()
        self.rate = RateWindow()
        # How a failing $batch operation affects the rest (see sandbox.batch).
        self.stop_batch_on_error = False

    def _set_data(self, data: Data) -> None:
        self.data = data

    def reset(self) -> None:
        # The signing key survives a reset, so tokens a client has cached
        # stay valid, as they would against a real tenant.
        self.data = Data.from_seed()
        self.faults.clear()
        self.latency = Latency()
        self.requests.clear()
        self.token_requests = 0
        self.tokens.lifetime_s = DEFAULT_TOKEN_LIFETIME_S
        self.gate.reset()
        self.rate.reset()
        self.stop_batch_on_error = False
