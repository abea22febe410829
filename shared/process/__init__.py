"""The process: what every other package uses. Settings, read and checked once
(``settings``); the URL space, every route template (``paths``); the GUID pattern
(``guids``); exact JSON (``jsonio``); the problem vocabulary (``problems``);
telemetry records (``telemetry``); log safety (``logsafety``); CPU-bound work on
a large body kept from stalling the event loop (``cpuwork``).

May import: nothing else in ``shared``.
"""
