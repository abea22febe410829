"""OData ``$filter`` text the proxy writes itself, from values it has checked.

No caller's text ever becomes syntax: a text value is one quoted literal
(single quotes doubled, the only escape inside an OData string), a Code value
is first put in the form Business Central stores it (``stored_form``, the
rule the line lists use), GUIDs and decimals are written from validated
values. ``or`` joins conditions on one property only, as Business Central
requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from shared.payment.models import stored_form
from shared.process.guids import GUID_RE

OPEN_INVOICES = "status eq 'Open'"


def text_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def code_literal(prop: str, value: str) -> str:
    """A value of the payment property ``prop`` (a Code field) as Business
    Central stores it, quoted."""
    return text_literal(stored_form(prop, value))


def guid_literal(value: str) -> str:
    if not GUID_RE.match(value):
        raise ValueError("not a GUID")
    return value.lower()


def decimal_literal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError("not a finite decimal")
    return format(value, "f")


def any_of(name: str, literals: Iterable[str]) -> str:
    """``name eq a or name eq b ...``, in parentheses when there are several."""
    clauses = [f"{name} eq {literal}" for literal in dict.fromkeys(literals)]
    if not clauses:
        raise ValueError("no values")
    return clauses[0] if len(clauses) == 1 else "(" + " or ".join(clauses) + ")"


def all_of(*clauses: str) -> str:
    return " and ".join(clause for clause in clauses if clause)
