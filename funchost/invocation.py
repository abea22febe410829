"""How the local host calls a function: the function as it serves it (``HttpFunction``),
the ``context`` it may ask for, and the thread it runs on (the event loop for a
coroutine function, the pool for any other), as the Python worker does."""

from __future__ import annotations

import asyncio
import inspect
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions._abc import TraceContext  # not re-exported by the package

from funchost.routes import RouteTemplate


@dataclass(frozen=True)
class HttpFunction:
    """One HTTP-triggered function as the local host serves it."""

    name: str
    route: str  # the full template, route prefix included, no leading slash
    methods: frozenset[str] | None  # None: every method
    auth_level: str
    trigger_arg: str
    user_function: Callable[..., Any] = field(repr=False, compare=False)
    template: RouteTemplate = field(repr=False, compare=False)
    # Parameters bound to a Durable client (``@app.durable_client_input``).
    client_inputs: tuple[str, ...] = ()
    # Read off the function once, not on every request: whether it declares a
    # ``context`` parameter, and whether it is a coroutine function.
    wants_context: bool = False
    is_async: bool = True


class _TraceContext(TraceContext):
    def __init__(self, trace_parent: str, trace_state: str) -> None:
        self._parent, self._state = trace_parent, trace_state

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def trace_state(self) -> str:
        return self._state

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _Context(func.Context):
    """What a function declaring a ``context`` parameter receives."""

    def __init__(self, function_name: str, trace: _TraceContext) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._trace = trace
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return str(Path.cwd())

    @property
    def trace_context(self) -> _TraceContext:
        return self._trace

    @property
    def retry_context(self) -> Any:
        return None  # HTTP triggers have no retry policy


async def call_function(
    function: HttpFunction, request: func.HttpRequest, extra: Mapping[str, Any] | None = None
) -> Any:
    target = function.user_function
    kwargs: dict[str, Any] = {function.trigger_arg: request, **(extra or {})}
    if function.wants_context:
        trace = _TraceContext(
            request.headers.get("traceparent", ""), request.headers.get("tracestate", "")
        )
        kwargs["context"] = _Context(function.name, trace)
    if function.is_async:
        return await target(**kwargs)
    # The Python worker runs synchronous functions on a thread pool.
    result = await asyncio.to_thread(target, **kwargs)
    return await result if inspect.isawaitable(result) else result
