"""A local stand-in for the Durable Functions extension (development and tests only).

The app never imports this package; in Azure the real extension does its work.
:mod:`.standin` is what the local host uses (client binding, webhook API);
:mod:`.engine` drives instances on one event loop, with :mod:`.replay` for
orchestrator episodes, :mod:`.activities` for activity runs, :mod:`.model`
for what it records, :mod:`.functions` for the app's durable functions,
:mod:`.protocol` for the wire format and :mod:`.clock` for time.

It may import ``funchost.asgi`` and ``funchost.indexing``, never
``funchost.http`` (which builds on it), ``sandbox`` or ``shared``.
"""

from funchost.durable.clock import Clock, VirtualClock, WallClock
from funchost.durable.model import (
    DurableStandInError,
    InstanceAlreadyExistsError,
    InstanceView,
    NonDeterministicOrchestrationError,
    RuntimeStatus,
    UnknownFunctionError,
)
from funchost.durable.protocol import EventType
from funchost.durable.standin import WEBHOOK_PATH, DurableStandIn

__all__ = [
    "WEBHOOK_PATH",
    "Clock",
    "DurableStandIn",
    "DurableStandInError",
    "EventType",
    "InstanceAlreadyExistsError",
    "InstanceView",
    "NonDeterministicOrchestrationError",
    "RuntimeStatus",
    "UnknownFunctionError",
    "VirtualClock",
    "WallClock",
]
