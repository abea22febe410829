"""The HTTP edge: the core's request and response values (``messages``), the one
admission every route's request passes (``admit``: route, caller, query, ids,
scope), header and body parsing (``parsing``), the If-Match rule
(``preconditions``) and caller checks (``callers``). The request frame
that runs every route with them is ``shared.functions.frame``.

May import: ``shared.process``, ``shared.payment``.
"""
