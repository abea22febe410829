"""The API described and served about itself: the route table (``routes``, with
its shapes in ``spec``), response schemas and labels, the OpenAPI document, the
problems page, and the routes for those, health and unknown paths (``handlers``).

May import: ``shared.process``, ``shared.payment``, ``shared.upstream``,
``shared.http``, ``shared.lines``, ``shared.bulk``.
"""
