"""The local stand-in for the Durable Functions extension, as the local host uses it.

    stand_in = DurableStandIn(function_app.app, clock=VirtualClock())
    host = create_local_host(function_app.app, durable=stand_in)

It indexes the app once (the HTTP host reuses that list), drives the
registered orchestrators and activities (:mod:`funchost.durable.engine`),
hands functions with ``@app.durable_client_input`` the binding JSON the
extension would, and serves the webhook API the SDK's client calls at
``rpcBaseUrl`` (``/runtime/webhooks/durabletask/`` on the local host):

* ``POST orchestrators/{name}[/{instanceId}]``: start (202 with the id and
  management URLs; 400 with ``ExceptionMessage`` for a Pending/Running id or
  an unknown orchestrator);
* ``GET instances/{id}``: status (202 Pending/Running/ContinuedAsNew, 200
  Completed/Failed/Terminated, 404 with an empty body when unknown);
  ``GET instances/``: the list, filtered like the extension's;
* ``POST instances/{id}/terminate?reason=``: 202, 410 if already finished, 404;
* ``DELETE instances/{id}``: purge a finished instance (200), else 404.

Other management operations (events, rewind, suspend, entities) answer 501.
Development and tests only; in Azure the real extension does all of this.

What it does not model: storage of any kind (instances live in memory and
are gone when the process stops; :meth:`DurableStandIn.restart` acts out a
restart within the process), task hub partitions, queues and their message
size limits (large payloads are neither compressed into blobs nor refused),
leases and worker scale-out, several completions in one episode (it always
delivers one), extended sessions, orchestration versioning, sub-orchestrations,
external events, entities, durable HTTP calls, rewind/suspend/resume, and key
checks on the webhook API (like the Functions host run locally).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import azure.functions as func
from starlette.types import ASGIApp, Receive, Scope, Send

from funchost.asgi import read_body, send_response, server_origin
from funchost.durable import protocol, sdk_session
from funchost.durable.clock import Clock
from funchost.durable.engine import DurableEngine
from funchost.durable.model import (
    DurableStandInError,
    InstanceAlreadyExistsError,
    InstanceView,
    UnknownFunctionError,
)
from funchost.indexing import indexed_functions

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
DEFAULT_TASK_HUB = "TestHubName"


class DurableStandIn:
    """Durable Functions for one app, in memory, on the local host's event loop."""

    def __init__(
        self,
        function_app: func.FunctionRegister,
        *,
        clock: Clock | None = None,
        task_hub: str = DEFAULT_TASK_HUB,
        max_concurrent_activities: int | None = None,
        indexed: Sequence[Any] | None = None,
    ) -> None:
        # get_functions() may be run only once per app: index here (unless the
        # host already did), and let the HTTP host serve its routes from the same list.
        self.functions: list[Any] = (
            list(indexed) if indexed is not None else indexed_functions(function_app)
        )
        self.engine = DurableEngine(
            self.functions, clock=clock, max_concurrent_activities=max_concurrent_activities
        )
        self.task_hub = task_hub
        # Stands in for the task hub's system key in the management URLs; the
        # stand-in checks no keys, like the Functions host run locally.
        self._system_key = secrets.token_urlsafe(24)
        self.status_reads: list[tuple[str, bool]] = []

    # --- what tests and tools use -------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self.engine.clock

    @property
    def errors(self) -> list[DurableStandInError]:
        return self.engine.errors

    @property
    def activity_runs(self) -> Counter[str]:
        """How many times each activity started, over all instances."""
        return self.engine.activity_counts()[0]

    @property
    def activity_peaks(self) -> Counter[str]:
        """The most runs of each activity that were in progress at the same time."""
        return self.engine.activity_counts()[1]

    def lose_next_results(self, activity: str, times: int = 1) -> None:
        """Simulate at-least-once delivery: the next ``times`` runs of ``activity``
        do their work but lose their result, so the activity runs again."""
        self.engine.lose_next_results(activity, times)

    async def restart(self) -> int:
        """Act out a function app restart: activities in progress are killed and run
        again; instances, histories and timers survive. Returns how many re-ran."""
        return await self.engine.restart()

    def restart_sync(self, timeout_s: float = 30.0) -> int:
        """:meth:`restart` from a test thread (the engine's loop runs elsewhere)."""
        return int(self._on_engine_loop(self.restart(), timeout_s))

    def start_new_sync(
        self,
        name: str,
        client_input: Any = None,
        instance_id: str | None = None,
        timeout_s: float = 30.0,
    ) -> str:
        """:meth:`start_new` from a test thread, while the local host runs."""
        started = self._on_engine_loop(self.start_new(name, client_input, instance_id), timeout_s)
        return str(started)

    def _on_engine_loop(self, work: Coroutine[Any, Any, Any], timeout_s: float) -> Any:
        loop = self.engine.loop
        if loop is None or not loop.is_running():
            work.close()
            raise RuntimeError("the stand-in's host is not running")
        return asyncio.run_coroutine_threadsafe(work, loop).result(timeout_s)

    async def start_new(
        self, name: str, client_input: Any = None, instance_id: str | None = None
    ) -> str:
        """Start an orchestration directly (no HTTP); returns the instance id."""
        text = None if client_input is None else json.dumps(client_input)
        return self.engine.start(name, text, instance_id)

    def instance(self, instance_id: str) -> InstanceView | None:
        """A snapshot of the instance (status, output, history...), or None."""
        return self.engine.view(instance_id)

    def instances(self) -> list[InstanceView]:
        return self.engine.views()

    def terminate(self, instance_id: str, reason: str) -> bool | None:
        return self.engine.terminate(instance_id, reason)

    def purge(self, instance_id: str) -> bool:
        return self.engine.purge(instance_id)

    def reset(self) -> None:
        """Forget every instance, recorded error and activity count (between tests)."""
        self.engine.reset()

    def advance(self, seconds: float, timeout_s: float = 30.0) -> None:
        """Let ``seconds`` of virtual time pass (from a test thread): every timer due
        by then fires, in order, and the engine settles after each; see
        :meth:`DurableEngine.advance_sync`."""
        self.engine.advance_sync(seconds, timeout_s)

    async def advance_async(self, seconds: float, timeout_s: float = 30.0) -> None:
        """:meth:`advance` for tests running on the stand-in's own event loop."""
        await self.engine.advance(seconds, timeout_s)

    async def wait_idle(self, timeout_s: float = 30.0, *, raise_errors: bool = True) -> None:
        await self.engine.wait_idle(timeout_s, raise_errors=raise_errors)

    def wait_idle_sync(self, timeout_s: float = 30.0, *, raise_errors: bool = True) -> None:
        self.engine.wait_idle_sync(timeout_s, raise_errors=raise_errors)

    async def wait_done(
        self, instance_id: str, timeout_s: float = 30.0, *, raise_errors: bool = True
    ) -> InstanceView:
        return await self.engine.wait_done(instance_id, timeout_s, raise_errors=raise_errors)

    def wait_done_sync(
        self, instance_id: str, timeout_s: float = 30.0, *, raise_errors: bool = True
    ) -> InstanceView:
        return self.engine.wait_done_sync(instance_id, timeout_s, raise_errors=raise_errors)

    # --- the client binding ---------------------------------------------------------

    def client_binding(self, origin: str) -> str:
        """The JSON text a ``durableClient`` binding receives, for a host at ``origin``."""
        base = f"{origin.rstrip('/')}{WEBHOOK_PATH}"
        key = f"code={self._system_key}"
        create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        binding = {
            "taskHubName": self.task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{create}?{key}",
                "createAndWaitOnNewInstancePostUri": (
                    f"{create}?timeout={{timeoutInSeconds}}"
                    f"&pollingInterval={{intervalInSeconds}}&{key}"
                ),
            },
            "managementUrls": self._management_urls(base, "INSTANCEID"),
            "baseUrl": base,
            "requiredQueryStringParameters": key,
            "rpcBaseUrl": f"{base}/",
        }
        return json.dumps(binding)

    def _management_urls(self, base: str, instance_id: str) -> dict[str, str]:
        hub = f"taskHub={self.task_hub}&connection=Storage&code={self._system_key}"
        at = f"{base}/instances/{instance_id}"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{at}?{hub}",
            "sendEventPostUri": f"{at}/raiseEvent/{{eventName}}?{hub}",
            "terminatePostUri": f"{at}/terminate?reason={{text}}&{hub}",
            "rewindPostUri": f"{at}/rewind?reason={{text}}&{hub}",
            "purgeHistoryDeleteUri": f"{at}?{hub}",
            "restartPostUri": f"{at}/restart?{hub}",
            "suspendPostUri": f"{at}/suspend?reason={{text}}&{hub}",
            "resumePostUri": f"{at}/resume?reason={{text}}&{hub}",
        }

    # --- lifecycle (the local host's lifespan) -----------------------------------------

    async def startup(self) -> None:
        self.engine.bind_to_running_loop()
        sdk_session.install()

    async def shutdown(self) -> None:
        await self.engine.aclose()
        await sdk_session.close_session_of_running_loop()

    # --- the webhook API --------------------------------------------------------------

    def webhooks(self, fallback: ASGIApp) -> ASGIApp:
        """An ASGI app serving the webhook API and passing every other path on."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            path = str(scope.get("path", ""))
            if scope.get("type") != "http" or not (
                path == WEBHOOK_PATH or path.startswith(f"{WEBHOOK_PATH}/")
            ):
                await fallback(scope, receive, send)
                return
            body = await read_body(receive)
            if body is None:
                return
            status, payload, headers = await self._webhook(scope, path, body)
            await _send_json(send, scope, status, payload, headers)

        return app

    async def _webhook(
        self, scope: Scope, path: str, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        method = str(scope.get("method", "GET")).upper()
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        parts = [unquote(p) for p in path[len(WEBHOOK_PATH) :].strip("/").split("/") if p]
        origin = server_origin(scope)
        if method == "POST" and len(parts) in (2, 3) and parts[0] == "orchestrators":
            return self._start(parts[1], parts[2] if len(parts) == 3 else None, body, origin)
        if parts[:1] == ["instances"]:
            if method == "GET" and len(parts) == 1:
                return 200, self._list(query), {}
            if method == "GET" and len(parts) == 2:
                return self._status(parts[1], query)
            if method == "DELETE" and len(parts) == 2:
                if self.engine.purge(parts[1]):
                    return 200, {"instancesDeleted": 1}, {}
                return 404, None, {}
            if method == "POST" and len(parts) == 3 and parts[2] == "terminate":
                outcome = self.engine.terminate(parts[1], query.get("reason", ""))
                return {True: 202, False: 410, None: 404}[outcome], None, {}
        message = f"{method} {path} is not supported by the local Durable stand-in"
        return 501, {"Message": message}, {}

    def _start(
        self, name: str, instance_id: str | None, body: bytes, origin: str
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            value = json.loads(body) if body.strip() else None
        except ValueError:
            return 400, _bad_request("The request body is not valid JSON."), {}
        # The SDK sends its input already as JSON text, inside a JSON string.
        input_text = value if isinstance(value, str) or value is None else json.dumps(value)
        try:
            new_id = self.engine.start(name, input_text, instance_id)
        except (InstanceAlreadyExistsError, UnknownFunctionError) as exc:
            return 400, _bad_request(str(exc)), {}
        payload = self._management_urls(f"{origin}{WEBHOOK_PATH}", new_id)
        return 202, payload, {"Location": payload["statusQueryGetUri"]}

    def _status(
        self, instance_id: str, query: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        view = self.engine.view(instance_id)
        if view is None:
            return 404, None, {}
        show_input = _flag(query, "showInput", True)
        # Which reads carried the input: tests hold pollers to leaving it out.
        self.status_reads.append((instance_id, show_input))
        body = view.status_json(
            show_input=show_input, show_history=_flag(query, "showHistory", False)
        )
        return (200 if view.status.is_terminal else 202), body, {}

    def _list(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        wanted = {s.strip() for s in query.get("runtimeStatus", "").split(",") if s.strip()}
        prefix = query.get("instanceIdPrefix", "")
        since = _when(query.get("createdTimeFrom"))
        until = _when(query.get("createdTimeTo"))
        found = []
        for view in self.engine.views():
            if wanted and view.status.value not in wanted:
                continue
            if not view.instance_id.startswith(prefix):
                continue
            if since is not None and view.created < since:
                continue
            if until is not None and view.created > until:
                continue
            found.append(view.status_json(show_input=_flag(query, "showInput", True)))
        return found


# --- helpers -------------------------------------------------------------------------


def _flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    return default if raw is None else raw.strip().lower() == "true"


def _when(raw: str | None) -> datetime | None:
    return protocol.parse_timestamp(raw) if raw else None


def _bad_request(message: str) -> dict[str, str]:
    return {
        "Message": "One or more of the arguments submitted is incorrect",
        "ExceptionMessage": message,
    }


async def _send_json(
    send: Any, scope: Any, status: int, payload: Any, headers: Mapping[str, str]
) -> None:
    body = b"" if payload is None else json.dumps(payload).encode("utf-8")
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if body:
        raw.append((b"content-type", b"application/json; charset=utf-8"))
    await send_response(send, scope, status, raw, body)
