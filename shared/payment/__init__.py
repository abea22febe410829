"""The payment line: its field rules and types (``fields``), the per-version
models and update validation built from them (``models``), the read-only
properties of a line sent back as it was read (``echoes``), the settlement rule
that decides what an answer or a read-back proves (``settlement``), an amount as
its currency stores it (``amounts``), the application check's rule
(``application``), the ranking of invoices a line may pay (``matching``), and
where a line and the records it names live in Business Central (``refs``).

May import: ``shared.process``.
"""
