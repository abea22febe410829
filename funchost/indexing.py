"""The functions an app registers, indexed the way the Python worker indexes them;
shared by the local host (:mod:`funchost.http`) and the Durable stand-in."""

from __future__ import annotations

from typing import Any

import azure.functions as func


def indexed_functions(function_app: func.FunctionRegister) -> list[Any]:
    """The app's functions (``get_functions()``), leaving the app indexable again."""
    # get_functions() records the names it has seen and refuses to run twice on
    # one app (it would report every name as a duplicate); indexing must leave
    # the app as it found it so that the worker or a test can index it too.
    seen = function_app.functions_bindings
    function_app.functions_bindings = None
    try:
        return list(function_app.get_functions())
    finally:
        function_app.functions_bindings = seen
