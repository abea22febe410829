"""A local stand-in for the Durable Functions extension (development and tests only).

The app never imports this package; in Azure the real extension does its work.
See :mod:`funchost.durable.standin` for what it serves and
:mod:`funchost.durable.engine` for how it drives orchestrations.
"""

from funchost.durable.clock import Clock, VirtualClock, WallClock
from funchost.durable.engine import (
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
