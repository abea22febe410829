"""The orchestrators and activities an app registers, as the Durable extension
finds them among the app's indexed functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"


@dataclass(frozen=True)
class OrchestratorFunction:
    name: str
    handle: Callable[[func.OrchestrationContext], str] = field(repr=False)


@dataclass(frozen=True)
class ActivityFunction:
    name: str
    input_arg: str
    user_function: Callable[..., Any] = field(repr=False)


def _trigger_type(function: Any) -> str:
    trigger = function.get_trigger()
    return str(getattr(trigger, "type", "")) if trigger is not None else ""


def durable_functions(
    indexed: Iterable[Any],
) -> tuple[dict[str, OrchestratorFunction], dict[str, ActivityFunction]]:
    """The orchestrators and activities among an app's indexed functions, by name.

    The name is the trigger's ``orchestration``/``activity`` setting when given,
    else the function name, as the extension registers them.
    """
    orchestrators: dict[str, OrchestratorFunction] = {}
    activities: dict[str, ActivityFunction] = {}
    for function in indexed:
        kind = _trigger_type(function)
        trigger = function.get_trigger()
        if kind == ORCHESTRATION_TRIGGER:
            name = str(getattr(trigger, "orchestration", None) or function.get_function_name())
            orchestrators[name] = OrchestratorFunction(name, function.get_user_function())
        elif kind == ACTIVITY_TRIGGER:
            name = str(getattr(trigger, "activity", None) or function.get_function_name())
            activities[name] = ActivityFunction(
                name, str(trigger.name), function.get_user_function()
            )
    return orchestrators, activities
