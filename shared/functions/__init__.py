"""The Azure Functions bindings: the only package that imports ``azure.functions``
and ``azure.durable_functions``.

Each capability has a Blueprint factory here (:mod:`.lines`, :mod:`.bulk`,
:mod:`.api`), called by ``function_app.py``; every route comes from
:mod:`shared.process.paths`, and every route's use case runs in the one request
frame (:mod:`.frame`: admission, problem mapping, the telemetry record), which
hands it the admitted request, the settings and the Business Central client;
:mod:`.convert` turns the host's request and response objects into the core's. A
factory builds a fresh Blueprint on each call, so that a reloaded
``function_app`` (another ``CALLER_AUTH``) registers anew.

May import: ``shared.process``, ``shared.http``, ``shared.upstream``, ``shared.lines``,
``shared.bulk``, ``shared.api``.
"""
