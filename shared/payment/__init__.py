"""The payment line: its field rules and types (``fields``), the per-version
models and update validation built from them (``models``), and the settlement
rule that decides what an answer or a read-back proves (``settlement``).

May import: ``shared.process``.
"""
