"""A local stand-in for the Azure Functions host: its HTTP layer (``http``) and
the CORS in front of it (``cors``).

Development and tests only, never deployed: in Azure the real host serves the
app. Business Central and its identity endpoint are emulated separately, in
``sandbox``.
"""
