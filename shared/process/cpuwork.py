"""CPU-bound work on a large request body, kept from stalling the event loop.

A worker thread alone is not enough. The parse holds the GIL while it runs,
and the event loop needs it back after every socket call it makes (accept,
recv, send, the wait for the next event): each time, it waits until the
parsing thread gives the GIL up, which CPython asks for after the switch
interval (5 ms by default). A request needs several such calls, so while a
2 MiB body is parsed other requests of the same worker crawl; with several
such bodies parsed at once the loop also queues behind every one of them.
In Azure the worker's own gRPC thread makes the same hops. Measured with
``bench/validation.py`` (2 shared cores, 4 hostile 2 MiB bodies at once):
``/api/health`` p99 45-60 ms with the 4 parsed at once, 25-30 ms one at a
time, 16-20 ms one at a time with a 1 ms interval, 13-18 ms with 0.5 ms.

So, for a body of at least :data:`LARGE_BODY_BYTES`:

* at most one such step runs per event loop (one Functions worker process
  serves from one loop); the others wait their turn as plain awaits, holding
  neither the loop nor a thread. Under the GIL they could not run in parallel
  anyway: one at a time, the first answer comes sooner and the loop competes
  with one thread instead of several;
* while one runs, the interpreter's switch interval is 0.5 ms, so the loop
  waits about that long at most for the GIL after each socket call (the step
  itself slows by about a tenth). It is a process-wide setting, changed only
  for as long as a large step runs (the only time a thread competes with the
  loop for long) and then restored.

Neither bounds a single C call: the JSON scanner calls back into Python (and
so lets the GIL go) only for objects and numbers (see shared.process.jsonio), so
2 MiB of nothing but empty arrays, strings or literals holds the GIL for its
whole parse (up to a few hundred ms here, mostly garbage collection). Only a
process pool would bound that, at the cost of a second interpreter per worker
(memory, start-up on a cold instance) and of pickling; bodies shaped like bulk
updates give the GIL up many times over.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Bodies a single PATCH may carry (MAX_BODY_BYTES' default) parse in a
# millisecond or two and go straight to a thread.
LARGE_BODY_BYTES = 64 * 1024
LARGE_WORK_SWITCH_INTERVAL_S = 0.0005

_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
_switch_lock = threading.Lock()
_switch_users = 0
_saved_interval = 0.0


def _gate(loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(1)
    return gate


def _fast_switching() -> None:
    global _switch_users, _saved_interval
    with _switch_lock:
        if _switch_users == 0:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_interval, LARGE_WORK_SWITCH_INTERVAL_S))
        _switch_users += 1


def _restore_switching() -> None:
    global _switch_users
    with _switch_lock:
        _switch_users -= 1
        if _switch_users == 0:
            sys.setswitchinterval(_saved_interval)


async def run_cpu_bound(size: int, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a worker thread, as :func:`asyncio.to_thread` runs it;
    ``size`` (the body's bytes) decides whether the bounds above apply."""
    if size < LARGE_BODY_BYTES:
        return await asyncio.to_thread(work, *args)
    loop = asyncio.get_running_loop()
    gate = _gate(loop)
    await gate.acquire()
    try:
        _fast_switching()
        try:
            call = functools.partial(contextvars.copy_context().run, work, *args)
            running = loop.run_in_executor(None, call)
        except BaseException:
            _restore_switching()
            raise
    except BaseException:
        gate.release()
        raise

    def finished(future: asyncio.Future[T]) -> None:
        # When the thread is done, not when the caller stops waiting: a
        # cancelled request must not let a second step start beside its own.
        _restore_switching()
        gate.release()
        if not future.cancelled():
            future.exception()  # retrieved, so an abandoned failure is not logged

    running.add_done_callback(finished)
    return await asyncio.shield(running)
