"""A local Business Central for development and tests: the emulated API
(``bc`` over ``store``, with ``payments``, ``fields``, ``odata`` and
``batch``), its managed-identity endpoint (``identity``), the admin API
(``admin``), fault rules, throttling and the request log, served as one
Starlette app (``app``); ``serving`` runs an ASGI app on a loopback port.

It imports only its own modules and third-party packages (Starlette,
uvicorn): never ``shared``, ``function_app`` or ``funchost``, so the proxy is
tested against code it shares nothing with. Never deployed (see .funcignore).
"""
