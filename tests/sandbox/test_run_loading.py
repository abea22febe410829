"""`make run` loads the app and, by module name, the hook that closes its
per-process clients when the host stops."""

from __future__ import annotations

import azure.functions as func

from scripts.run.launch import load_function_app


def test_make_run_loads_the_app_and_its_shutdown_hook() -> None:
    app, callbacks = load_function_app()
    assert isinstance(app, func.FunctionRegister)
    # The hook's module is imported by name, and a missing module is passed
    # over: a renamed one would leave the app's clients open without a word.
    assert [callback.__name__ for callback in callbacks] == ["aclose_runtime"]
