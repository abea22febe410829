"""A local stand-in for the Azure Functions host: its HTTP layer (``http``,
with ``routes`` for route templates, ``invocation`` for how a function is
called, ``keys`` for function keys, checked only when given, and ``home`` for
its page at the root), the CORS in front of it (``cors``) and the Durable
Functions extension (``durable``); ``asgi`` and ``indexing`` hold what the HTTP
layer and the Durable stand-in share.

It imports the app it serves only as an object handed to it, and never
``sandbox`` or ``shared``; ``durable`` never imports ``http``. Development and
tests only, never deployed: in Azure the real host serves the app. Business
Central and its identity endpoint are emulated separately, in ``sandbox``.
"""
