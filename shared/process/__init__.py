"""The process: what every other package uses. Settings, read and checked once;
the URL space (every route template); the GUID pattern (``guids``); exact JSON;
the problem vocabulary; telemetry records; log safety; CPU-bound work on a large
body kept from stalling the event loop (``cpuwork``).

May import: nothing else in ``shared``.
"""
