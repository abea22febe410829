"""A running sandbox shared by the sandbox tests, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.sandbox import RunningSandbox, start_sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    with start_sandbox() as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> RunningSandbox:
    """The shared sandbox with seed data, no faults, no latency, empty logs."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture(scope="session")
def _bc_client(sandbox_server: RunningSandbox) -> Iterator[httpx.Client]:
    # Tokens outlive resets (the signing key stays), so one client will do.
    with httpx.Client(headers=sandbox_server.auth_headers(), timeout=10) as http:
        yield http


@pytest.fixture
def client(sandbox: RunningSandbox, _bc_client: httpx.Client) -> httpx.Client:
    """An httpx client that sends a valid Business Central token."""
    return _bc_client


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """A plain httpx client (no token) reused across tests."""
    with httpx.Client(timeout=10) as plain:
        yield plain
