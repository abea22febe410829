"""The API described and served about itself: the route table (``routes``, with
its shapes in ``spec`` and its parameters in ``parameters``), the response
models (``schemas``; the lookups' in ``lookup_schemas``) and property labels
(``labels``), the OpenAPI document (``openapi``), the problems page
(``problem_page``), and the routes for those, health and unknown paths
(``handlers``).

May import: ``shared.process``, ``shared.payment``,
``shared.http``, ``shared.lines``, ``shared.bulk``.
"""
