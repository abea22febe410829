"""Unit-level fixtures: settings from a controlled environment, Business Central
faked with httpx.MockTransport, and a counting stand-in for the credential (built
in tests/support/fakes.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shared.process.settings import current_settings, reset_settings
from shared.upstream import runtime as runtime_module
from tests.support.environment import IDENTITY_NAMES, SETTING_NAMES
from tests.support.fakes import (
    BASE_ENV,
    CountingCredential,
    FakeBusinessCentral,
    Reconfigure,
    bc_line,
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A clean proxy environment; tests may add to it before the first request."""
    for name in (*SETTING_NAMES, *IDENTITY_NAMES):
        monkeypatch.delenv(name, raising=False)
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    yield BASE_ENV
    reset_settings()


@pytest.fixture
def credential() -> CountingCredential:
    return CountingCredential()


@pytest.fixture
async def bc(
    env: dict[str, str], credential: CountingCredential
) -> AsyncIterator[FakeBusinessCentral]:
    """Install a runtime whose Business Central is a MockTransport."""
    fake = FakeBusinessCentral(lambda request: httpx.Response(200, json=bc_line()))
    runtime = _install(fake, credential)
    yield fake
    runtime_module.install_runtime(None)
    await runtime.aclose()


def _install(fake: FakeBusinessCentral, credential: CountingCredential) -> runtime_module.Runtime:
    runtime = runtime_module.build_runtime(
        current_settings(),
        transport=httpx.MockTransport(fake),
        credentials=lambda: credential,
    )
    runtime_module.install_runtime(runtime)
    return runtime


@pytest.fixture
async def reconfigure(
    bc: FakeBusinessCentral, credential: CountingCredential, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Reconfigure]:
    """Change settings mid-test, keeping the fake Business Central and credential."""
    installed: list[runtime_module.Runtime] = []

    async def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        installed.append(_install(bc, credential))

    yield apply
    for runtime in installed:
        await runtime.aclose()
