"""Business Central: the client and its concurrency slots (``client``), the
managed identity's tokens (``identity``), the rules of an attempt (``attempts``:
what each status proves, the waits, whether another attempt fits the budget, the
attempt's log line), error mapping (``errors``), lines read and confirmed
(``entities``), one PATCH and the answer it earns (``patch``), ``$batch``
(``batch``), several reads in one request (``reads``), the application check's
reads (``application``), the ``$filter`` text the proxy writes (``odata``) and
the per-process runtime (``runtime``).

May import: ``shared.process``, ``shared.payment``.
"""
