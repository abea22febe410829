"""Bulk jobs on Durable Functions: the request and a job's ids and tokens
(``jobs``), the typed job (``job``), the start and status use cases
(``service``) and the Durable client they use (``instances``), the pure plan of
batches (``plan``), the orchestrator (``orchestration``) and its activities
(``activities``), the application check of a request that only validates
(``checks``), and a finished job's result, written once and read a page at a
time (``results``).

May import: ``shared.process``, ``shared.payment``, ``shared.upstream``, ``shared.http``.
"""
