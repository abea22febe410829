"""The function app's functions as Azure indexes them, by name, and their triggers."""

from __future__ import annotations

from types import ModuleType
from typing import Any

# Each app indexed so far, and its index. The app itself is kept: a reloaded
# function_app's new app could otherwise get the id of one already collected.
_seen: dict[int, tuple[Any, dict[str, Any]]] = {}


def functions(module: ModuleType) -> dict[str, Any]:
    # get_functions() may be called once per app: a second call re-validates
    # the already-indexed names and fails, so the index is kept per app object.
    app = module.app
    if id(app) not in _seen:
        _seen[id(app)] = (app, {fn.get_function_name(): fn for fn in app.get_functions()})
    return _seen[id(app)][1]


def trigger(fn: Any) -> Any:
    return fn.get_trigger()
