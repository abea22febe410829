"""Bulk jobs on Durable Functions: the request read and checked (``request``), a
job's id, digest and status token (``identity``), the typed job (``job``), the
start and status use cases (``service``) and the Durable client they use
(``durable_client``), the pure plan of
batches (``plan``), the orchestrator (``orchestration``) and its activities
(``activities``), the application check of a request that only validates
(``checks``), and a finished job's result, written once and read a page at a
time (``results``).

May import: ``shared.process``, ``shared.payment``, ``shared.upstream``, ``shared.http``.
"""
