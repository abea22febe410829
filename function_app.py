"""Azure Functions entry point (Python v2 programming model): wiring only.

Log safety and telemetry are installed before anything else runs, the settings
are checked once, and each capability's Blueprint is registered. Every route,
and everything each function does, lives in ``shared``.
"""

from __future__ import annotations

import os

import azure.durable_functions as df
import azure.functions as func

from shared.functions import api, bulk, lines
from shared.process import logsafety, telemetry
from shared.process.settings import caller_auth_mode, startup_check

# Before anything can log: no token, key or identity secret reaches a log line.
logsafety.install()
# Production log levels; the Application Insights exporter, when configured, starts with
# the first request or job step.
telemetry.install(os.environ)
# A bad setting is reported now, by name, not only at the first request.
STARTUP_SETTINGS_PROBLEMS = startup_check(os.environ)

# With Entra callers, App Service Authentication sits in front and the core
# demands its principal header; a function key would be one secret too many
# for a browser, so the Functions layer is anonymous in that mode only.
PAYMENT_AUTH_LEVEL = (
    func.AuthLevel.ANONYMOUS if caller_auth_mode(os.environ) == "entra" else func.AuthLevel.FUNCTION
)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(lines.blueprint(PAYMENT_AUTH_LEVEL))
app.register_functions(bulk.blueprint(PAYMENT_AUTH_LEVEL))
# Last: its catch-all route answers every path the others do not take.
app.register_functions(api.blueprint())
