"""The Durable client as the bulk routes use it, against a status endpoint on a real
socket: a status is read without the job's input unless asked for it, on the host's
own endpoint when the client has one, and an unknown instance is None."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.serving import BackgroundServer, serve_in_thread
from shared.bulk.durable_client import WebhookJobs

INSTANCE = {
    "name": "bulk_payment_updates",
    "runtimeStatus": "Running",
    "input": '{"items": []}',
    "output": None,
    "customStatus": {"done": 3},
}


class Endpoint:
    """The extension's status endpoint: one known instance, every query recorded."""

    def __init__(self) -> None:
        self.queries: list[dict[str, str]] = []

    async def status(self, request: Request) -> Response:
        self.queries.append(dict(request.query_params))
        instance = request.path_params["instance"]
        if instance == "gone":
            return Response(status_code=404)
        if instance == "broken":
            return JSONResponse({"message": "the task hub is unavailable"}, status_code=500)
        return JSONResponse(INSTANCE)


@pytest.fixture
def endpoint() -> Iterator[tuple[Endpoint, BackgroundServer]]:
    recorded = Endpoint()
    app = Starlette(routes=[Route("/runtime/instances/{instance}", recorded.status)])
    with serve_in_thread(app) as server:
        yield recorded, server


class Client:
    """What the SDK's client gives: its bindings' internal endpoint (or none), the
    public status links, and starting an instance."""

    def __init__(self, rpc: str | None, public: str) -> None:
        self._orchestration_bindings = SimpleNamespace(rpc_base_url=rpc)
        self.public = public
        self.started: list[tuple[str, str | None, Any]] = []

    def get_client_response_links(self, request: Any, instance_id: str) -> dict[str, str]:
        return {"statusQueryGetUri": f"{self.public}/runtime/instances/{instance_id}?code=k"}

    async def start_new(
        self, name: str, instance_id: str | None = None, client_input: Any | None = None
    ) -> str:
        self.started.append((name, instance_id, client_input))
        return instance_id or "new"


async def test_a_poll_reads_the_status_without_the_input_on_the_hosts_endpoint(
    endpoint: tuple[Endpoint, BackgroundServer],
) -> None:
    recorded, server = endpoint
    jobs = WebhookJobs(Client(f"{server.url}/runtime/", "http://unused.invalid"))
    status = await jobs.get_status("job-1")
    assert status is not None
    assert (status.name, status.runtime_status, status.custom_status) == (
        "bulk_payment_updates",
        "Running",
        {"done": 3},
    )
    assert recorded.queries == [{"showInput": "false", "showHistory": "false"}]
    await jobs.get_status("job-1", show_input=True)
    assert recorded.queries[-1]["showInput"] == "true"


async def test_without_the_hosts_endpoint_the_public_status_url_is_read(
    endpoint: tuple[Endpoint, BackgroundServer],
) -> None:
    recorded, server = endpoint
    jobs = WebhookJobs(Client(None, server.url))
    assert await jobs.get_status("job-2") is not None
    assert recorded.queries == [{"code": "k", "showInput": "false", "showHistory": "false"}]


async def test_an_unknown_instance_is_none_and_anything_else_an_error(
    endpoint: tuple[Endpoint, BackgroundServer],
) -> None:
    _, server = endpoint
    jobs = WebhookJobs(Client(f"{server.url}/runtime", "http://unused.invalid"))
    assert await jobs.get_status("gone") is None
    with pytest.raises(RuntimeError, match="answered HTTP 500"):
        await jobs.get_status("broken")


async def test_a_start_goes_to_the_client_as_it_is() -> None:
    client = Client(None, "http://unused.invalid")
    assert await WebhookJobs(client).start_new("bulk_payment_updates", "job-3", "{}") == "job-3"
    assert client.started == [("bulk_payment_updates", "job-3", "{}")]
