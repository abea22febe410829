"""One payment line at a time: read and update it (``single``), check an update
without making it (``validate``), send a PATCH and earn its answer
(``outcomes``), and the lists that find a line (``lists``).

May import: ``shared.process``, ``shared.payment``, ``shared.upstream``, ``shared.http``.
"""
