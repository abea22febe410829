"""Business Central: the client and its concurrency slots (``client``), the
managed identity's tokens (``identity``), retries and budgets (``retries``),
what each status proves (``statuses``),
error mapping (``errors``), lines read and confirmed (``entities``),
``$batch`` (``batch``), several reads in one request (``reads``), the
application check's reads (``application``), the ``$filter`` text the proxy
writes (``odata``) and the per-process runtime.

May import: ``shared.process``, ``shared.payment``.
"""
