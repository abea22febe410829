"""The HTTP edge: the core's request and response values (``messages``), the one
admission every route's request passes (``admit``: route, caller, query, ids,
scope), header and body parsing (``parsing``), the If-Match rule
(``preconditions``), caller checks (``callers``), and
the handler frame that renders every problem (``handling``).

May import: ``shared.process``, ``shared.payment``.
"""
