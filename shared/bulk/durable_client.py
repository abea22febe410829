"""The Durable Functions client as the bulk routes use it: the two calls they make
(start an instance, read its status) as a protocol (:class:`JobClient`), so the core
never imports the Durable package, and :class:`WebhookJobs`, the adapter over the
real client that reads a status without its input unless asked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


class StartsJobs(Protocol):
    """Starting an orchestration, as ``DurableOrchestrationClient`` does."""

    async def start_new(
        self,
        orchestration_function_name: str,
        instance_id: str | None = None,
        client_input: Any | None = None,
    ) -> str: ...


class JobClient(StartsJobs, Protocol):
    """The part of ``DurableOrchestrationClient`` the bulk routes use."""

    async def get_status(
        self,
        instance_id: str,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = False,
    ) -> Any: ...


class DurableClient(StartsJobs, Protocol):
    """What the Durable client gives :class:`WebhookJobs`."""

    def get_client_response_links(self, request: Any, instance_id: str) -> dict[str, str]: ...


@dataclass(frozen=True)
class InstanceStatus:
    """An orchestration instance as the Durable extension's status endpoint shows it."""

    name: str | None
    runtime_status: str | None
    input_: Any
    output: Any
    custom_status: Any


class WebhookJobs:
    """:class:`JobClient` over the Durable client, with ``show_input`` honoured.

    The SDK's ``get_status`` leaves ``showInput`` out of the URL when it is
    false, and the extension's default is to include the input: every poll
    would carry the job's whole input (up to the bulk body limit). Reading the
    instance's own status URL with ``showInput`` spelled out avoids that.
    """

    def __init__(self, client: DurableClient, timeout_s: float = 10.0) -> None:
        self._client = client
        self._timeout_s = timeout_s

    async def start_new(
        self,
        orchestration_function_name: str,
        instance_id: str | None = None,
        client_input: Any | None = None,
    ) -> str:
        return await self._client.start_new(orchestration_function_name, instance_id, client_input)

    async def get_status(
        self,
        instance_id: str,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = False,
    ) -> InstanceStatus | None:
        flags = f"showInput={str(show_input).lower()}&showHistory={str(show_history).lower()}"
        # The host's internal endpoint, as the SDK's own get_status uses it (no
        # front end, no App Service Authentication in the way); the public
        # status URL where a client has no such endpoint.
        rpc = getattr(getattr(self._client, "_orchestration_bindings", None), "rpc_base_url", None)
        if isinstance(rpc, str) and rpc:
            url = f"{rpc.rstrip('/')}/instances/{instance_id}?{flags}"
        else:
            links = self._client.get_client_response_links(None, instance_id)
            url = f"{links['statusQueryGetUri']}&{flags}"
        async with httpx.AsyncClient(timeout=self._timeout_s) as http:
            response = await http.get(url)
        if response.status_code == 404:
            return None
        data = json.loads(response.content) if response.content else None
        if not isinstance(data, dict) or "runtimeStatus" not in data:
            raise RuntimeError(f"the Durable status endpoint answered HTTP {response.status_code}")
        return InstanceStatus(
            data.get("name"),
            data.get("runtimeStatus"),
            data.get("input"),
            data.get("output"),
            data.get("customStatus"),
        )
