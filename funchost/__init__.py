"""A local stand-in for the Azure Functions host: its HTTP layer (``http``),
the CORS in front of it (``cors``) and the Durable Functions extension
(``durable``).

Development and tests only, never deployed: in Azure the real host serves the
app. Business Central and its identity endpoint are emulated separately, in
``sandbox``.
"""
