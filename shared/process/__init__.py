"""The process: what every other package uses. Settings, read and checked once;
the URL space (every route template); exact JSON; the problem vocabulary;
telemetry records; log safety.

May import: nothing else in ``shared``.
"""
