# mypy: disable-error-code="untyped-decorator"
# (the Durable SDK's decorators carry no types)
"""The Durable client binding, end to end through the local host over a socket.

HTTP functions declared with ``@app.durable_client_input`` get the binding
JSON from the local host and use the SDK's real client (aiohttp) against the
stand-in's webhook API on the same host.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import httpx
import pytest

from funchost.durable import WEBHOOK_PATH, DurableStandIn, RuntimeStatus, VirtualClock, WallClock
from funchost.http import create_local_host
from sandbox.serving import BackgroundServer, serve_in_thread

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _json(payload: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(payload), status_code=status, mimetype="application/json")


@app.route(route="jobs/{id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> Any:
    instance_id = req.route_params["id"]
    try:
        started = await client.start_new("job", instance_id, req.get_json())
    except Exception as exc:
        return _json({"error": str(exc)}, 409)
    return _json({"id": started}, 202)


@app.route(route="jobs/{id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def job_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> Any:
    status = await client.get_status(req.route_params["id"])
    if not status:
        return _json({"error": "no such job"}, 404)
    return _json(
        {
            "name": status.name,
            "runtimeStatus": status.runtime_status.value,
            "customStatus": status.custom_status,
            "output": status.output,
            "input": status.input_,
        }
    )


@app.route(route="jobs/{id}", methods=["DELETE"])
@app.durable_client_input(client_name="client")
async def stop_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> Any:
    instance_id = req.route_params["id"]
    await client.terminate(instance_id, "stopped by test")
    return _json({"stopped": instance_id})


@app.route(route="jobs/{id}/history", methods=["DELETE"])
@app.durable_client_input(client_name="client")
async def purge_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> Any:
    result = await client.purge_instance_history(req.route_params["id"])
    return _json({"deleted": result.instances_deleted})


@app.route(route="binding", methods=["GET"])
@app.durable_client_input(client_name="client")
async def binding(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> Any:
    bindings = client._orchestration_bindings
    return _json(
        {
            "taskHubName": bindings.task_hub_name,
            "rpcBaseUrl": bindings.rpc_base_url,
            "creationUrls": bindings.creation_urls,
            "managementUrls": bindings.management_urls,
        }
    )


@app.activity_trigger(input_name="value")
async def count_items(value: list[Any]) -> int:
    return len(value)


@app.orchestration_trigger(context_name="context")
def job(context: df.DurableOrchestrationContext) -> Any:
    items = context.get_input()
    context.set_custom_status({"done": 0, "total": len(items)})
    # Waits for the (virtual) clock, so a test can see the job running.
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    counted = yield context.call_activity("count_items", items)
    context.set_custom_status({"done": counted, "total": len(items)})
    return {"counted": counted}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[BackgroundServer, DurableStandIn]]:
    stand_in = DurableStandIn(app, clock=VirtualClock(START))
    server = BackgroundServer(create_local_host(app, durable=stand_in)).start()
    yield server, stand_in
    server.stop()


@pytest.fixture
def api(served: tuple[BackgroundServer, DurableStandIn]) -> Iterator[httpx.Client]:
    server, _ = served
    with httpx.Client(base_url=f"{server.url}/api", timeout=30) as client:
        yield client


@pytest.fixture
def durable(served: tuple[BackgroundServer, DurableStandIn]) -> DurableStandIn:
    return served[1]


def test_start_and_get_status_through_the_client(
    api: httpx.Client, durable: DurableStandIn
) -> None:
    started = api.post("/jobs/job-1", json=["a", "b", "c"])
    assert started.status_code == 202, started.text
    assert started.json() == {"id": "job-1"}

    durable.wait_idle_sync()
    running = api.get("/jobs/job-1").json()
    assert running == {
        "name": "job",
        "runtimeStatus": "Running",
        "customStatus": {"done": 0, "total": 3},
        "output": None,
        "input": '["a", "b", "c"]',
    }

    durable.advance(30)
    durable.wait_done_sync("job-1")
    done = api.get("/jobs/job-1").json()
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"counted": 3}
    assert done["customStatus"] == {"done": 3, "total": 3}


def test_starting_a_running_id_again_fails_like_the_extension(
    api: httpx.Client, durable: DurableStandIn
) -> None:
    assert api.post("/jobs/job-2", json=[1]).status_code == 202
    durable.wait_idle_sync()

    again = api.post("/jobs/job-2", json=[1, 2])
    assert again.status_code == 409
    assert again.json() == {
        "error": "An Orchestration instance with the status Running already exists."
    }

    durable.advance(30)
    assert durable.wait_done_sync("job-2").output == {"counted": 1}
    # A finished id is replaced and runs again.
    assert api.post("/jobs/job-2", json=[1, 2]).status_code == 202
    durable.wait_idle_sync()
    durable.advance(30)
    assert durable.wait_done_sync("job-2").output == {"counted": 2}


def test_unknown_instance_reads_as_no_status(api: httpx.Client) -> None:
    response = api.get("/jobs/never-started")
    assert response.status_code == 404


def test_terminate_and_purge(api: httpx.Client, durable: DurableStandIn) -> None:
    assert api.post("/jobs/job-3", json=[]).status_code == 202
    durable.wait_idle_sync()
    runs_before = durable.activity_runs["count_items"]
    # Purging a running instance deletes nothing.
    assert api.delete("/jobs/job-3/history").json() == {"deleted": 0}

    assert api.delete("/jobs/job-3").status_code == 200
    view = durable.instance("job-3")
    assert view is not None
    assert view.status is RuntimeStatus.TERMINATED
    status = api.get("/jobs/job-3").json()
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "stopped by test"
    # Its timer no longer fires anything.
    durable.advance(30)
    durable.wait_idle_sync()
    assert durable.activity_runs["count_items"] == runs_before

    assert api.delete("/jobs/job-3/history").json() == {"deleted": 1}
    assert durable.instance("job-3") is None


def test_the_binding_points_the_client_at_this_host(
    api: httpx.Client, served: tuple[BackgroundServer, DurableStandIn]
) -> None:
    server, _ = served
    body = api.get("/binding").json()
    base = f"{server.url}{WEBHOOK_PATH}"
    assert body["taskHubName"] == "TestHubName"
    assert body["rpcBaseUrl"] == f"{base}/"
    assert body["creationUrls"]["createNewInstancePostUri"].startswith(
        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?code="
    )
    assert body["managementUrls"]["statusQueryGetUri"].startswith(
        f"{base}/instances/INSTANCEID?taskHub=TestHubName"
    )


def test_webhook_status_codes(
    served: tuple[BackgroundServer, DurableStandIn], durable: DurableStandIn
) -> None:
    server, _ = served
    base = f"{server.url}{WEBHOOK_PATH}"
    with httpx.Client(timeout=30) as http:
        unknown = http.get(f"{base}/instances/nothing-here")
        assert (unknown.status_code, unknown.content) == (404, b"")

        started = http.post(f"{base}/orchestrators/job/hook-1", json=json.dumps([1, 2]))
        assert started.status_code == 202
        assert started.json()["id"] == "hook-1"
        assert started.headers["location"] == started.json()["statusQueryGetUri"]
        durable.wait_idle_sync()
        assert http.get(f"{base}/instances/hook-1").status_code == 202

        refused = http.post(f"{base}/orchestrators/job/hook-1", json=json.dumps([]))
        assert refused.status_code == 400
        assert "already exists" in refused.json()["ExceptionMessage"]

        no_such = http.post(f"{base}/orchestrators/nope", json=None)
        assert no_such.status_code == 400
        assert "'nope' doesn't exist" in no_such.json()["ExceptionMessage"]

        durable.advance(30)
        durable.wait_done_sync("hook-1")
        done = http.get(f"{base}/instances/hook-1", params={"showHistory": "true"})
        assert done.status_code == 200
        kinds = [e["EventType"] for e in done.json()["historyEvents"]]
        assert kinds[:2] == ["OrchestratorStarted", "ExecutionStarted"]
        assert kinds[-1] == "ExecutionCompleted"
        listed = http.get(f"{base}/instances/", params={"runtimeStatus": "Completed"}).json()
        assert "hook-1" in {item["instanceId"] for item in listed}

        assert http.post(f"{base}/instances/hook-1/raiseEvent/x").status_code == 501


def test_hosts_on_other_event_loops_can_use_the_client_too() -> None:
    # The SDK keeps one aiohttp session for the process, bound to one loop; the
    # stand-in gives each loop its own, so hosts side by side or one after the
    # other (each with its own loop) all work.
    def host() -> tuple[BackgroundServer, DurableStandIn]:
        stand_in = DurableStandIn(app, clock=VirtualClock(START))
        return BackgroundServer(create_local_host(app, durable=stand_in)).start(), stand_in

    def start_job(server: BackgroundServer, stand_in: DurableStandIn, name: str) -> str:
        with httpx.Client(base_url=f"{server.url}/api", timeout=30) as http:
            started = http.post(f"/jobs/{name}", json=[1])
            assert started.status_code == 202, started.text
            stand_in.wait_idle_sync()
            return str(http.get(f"/jobs/{name}").json()["runtimeStatus"])

    first, first_durable = host()
    second, second_durable = host()
    try:
        assert start_job(first, first_durable, "side-1") == "Running"
        assert start_job(second, second_durable, "side-2") == "Running"
        assert start_job(first, first_durable, "side-3") == "Running"
    finally:
        first.stop()
    try:
        assert start_job(second, second_durable, "after-1") == "Running"
    finally:
        second.stop()
    third, third_durable = host()
    try:
        assert start_job(third, third_durable, "after-2") == "Running"
    finally:
        third.stop()


def test_timers_survive_a_restart(api: httpx.Client, durable: DurableStandIn) -> None:
    # Started directly, from the test's thread, on the host's loop.
    assert durable.start_new_sync("job", [1, 2, 3, 4], "job-restart") == "job-restart"
    durable.wait_idle_sync()
    assert durable.restart_sync() == 0  # nothing was in progress, only a timer waiting

    durable.advance(30)
    assert durable.wait_done_sync("job-restart").output == {"counted": 4}


def test_an_app_with_durable_functions_gets_a_stand_in_by_default() -> None:
    host = create_local_host(app)
    stand_in = host.state.durable
    assert isinstance(stand_in, DurableStandIn)
    assert isinstance(stand_in.clock, WallClock)
    assert {"job"} == set(stand_in.engine.orchestrators)
    with serve_in_thread(host) as server, httpx.Client(timeout=30) as http:
        response = http.get(f"{server.url}/api/binding")
    assert response.status_code == 200
    assert response.json()["rpcBaseUrl"] == f"{server.url}{WEBHOOK_PATH}/"


def test_starting_directly_needs_a_running_host() -> None:
    stand_in = DurableStandIn(app, clock=VirtualClock(START))
    with pytest.raises(RuntimeError, match="not running"):
        stand_in.start_new_sync("job", [])


def test_an_app_without_durable_functions_gets_none() -> None:
    plain = func.FunctionApp()

    @plain.route(route="ping")
    def ping(req: func.HttpRequest) -> str:
        return "pong"

    assert create_local_host(plain).state.durable is None


def test_the_webhook_api_is_not_opened_to_browser_origins() -> None:
    # It stands for the host's local rpc endpoint, which browsers never reach:
    # CORS for the app's routes does not extend to it.
    page = "http://page.example"
    stand_in = DurableStandIn(app, clock=VirtualClock(START))
    host = create_local_host(app, durable=stand_in, cors_origins=[page])
    with serve_in_thread(host) as server, httpx.Client(timeout=30) as http:
        route = http.get(f"{server.url}/api/jobs/none", headers={"Origin": page})
        hook = http.get(f"{server.url}{WEBHOOK_PATH}/instances/none", headers={"Origin": page})
    assert route.headers.get("access-control-allow-origin") == page
    assert hook.status_code == 404
    assert "access-control-allow-origin" not in hook.headers
