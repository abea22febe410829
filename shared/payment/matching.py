"""Which open invoices a payment line most likely pays, and why.

Pure: the line and the candidate invoices come in, ranked suggestions with
their reasons go out. Each reason has a stable code, a weight and a sentence
for people; an invoice's score is the sum of its reasons' weights, so an
invoice of the same customer whose remaining amount equals the payment
outranks one that only has the same amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# The line's texts where an invoice's number or external document number is looked for.
TEXT_FIELDS = ("description", "documentNumber", "externalDocumentNumber")
# A reference in a text: letters, digits and - / . _ (bank files write "INV-103001").
_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*[A-Za-z0-9]|[A-Za-z0-9]")
MIN_TOKEN = 3
MAX_TOKENS = 20
# The longest number Business Central keeps: an external document number (Code 35).
MAX_TOKEN = 35

WEIGHTS = {
    "same-customer-amount": 100,
    "invoice-number-in-text": 80,
    "external-document-number-in-text": 60,
    "amount-equal": 40,
    "amount-within-tolerance": 20,
    "same-customer": 10,
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Suggestion:
    invoice: dict[str, Any]
    reasons: tuple[Reason, ...]

    @property
    def score(self) -> int:
        return sum(WEIGHTS[reason.code] for reason in self.reasons)


def text_tokens(line: Mapping[str, Any]) -> list[str]:
    """The references found in the line's texts, upper-case (Code fields are
    stored so), each once, at most ``MAX_TOKENS``."""
    found: dict[str, None] = {}
    for name in TEXT_FIELDS:
        value = line.get(name)
        if not isinstance(value, str):
            continue
        for token in _TOKEN_RE.findall(value):
            if MIN_TOKEN <= len(token) <= MAX_TOKEN and any(c.isdigit() for c in token):
                found.setdefault(token.upper(), None)
    return list(found)[:MAX_TOKENS]


def _where(line: Mapping[str, Any], token: str) -> str | None:
    """The first of the line's text fields that holds ``token`` (as a word)."""
    for name in TEXT_FIELDS:
        value = line.get(name)
        if isinstance(value, str) and token in (t.upper() for t in _TOKEN_RE.findall(value)):
            return name
    return None


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def _money(value: Decimal, currency: Any) -> str:
    return f"{format(value, 'f')} {currency}" if currency else format(value, "f")


def reasons_for(
    line: Mapping[str, Any],
    invoice: Mapping[str, Any],
    line_currency: str | None,
    tolerance: Decimal,
) -> tuple[Reason, ...]:
    """Why ``invoice`` may be what ``line`` pays; empty when nothing says so.
    Amounts compare only when the invoice is in the line's currency (or the
    line's currency is not known)."""
    reasons: list[Reason] = []
    customer = str(line.get("customerId") or "").lower()
    same_customer = bool(customer) and str(invoice.get("customerId", "")).lower() == customer
    payment, remaining = _amount(line.get("amount")), _amount(invoice.get("remainingAmount"))
    currency = invoice.get("currencyCode")
    gap: Decimal | None = None
    if (
        payment is not None
        and payment > 0
        and remaining is not None
        and (line_currency is None or currency == line_currency)
    ):
        gap = abs(payment - remaining)
    if same_customer and gap == 0 and remaining is not None:
        reasons.append(
            Reason(
                "same-customer-amount",
                f"Same customer ({invoice.get('customerNumber')}) and the remaining amount "
                f"{_money(remaining, currency)} equals the payment.",
            )
        )
    number = str(invoice.get("number") or "").upper()
    where = _where(line, number) if number else None
    if where is not None:
        reasons.append(
            Reason(
                "invoice-number-in-text",
                f"The invoice number {number} appears in the line's {where}.",
            )
        )
    external = str(invoice.get("externalDocumentNumber") or "").upper()
    where = _where(line, external) if external else None
    if where is not None:
        reasons.append(
            Reason(
                "external-document-number-in-text",
                f"The invoice's external document number {external} appears in the line's {where}.",
            )
        )
    if gap is not None and remaining is not None and payment is not None:
        if gap == 0 and not same_customer:
            reasons.append(
                Reason(
                    "amount-equal",
                    f"The remaining amount {_money(remaining, currency)} equals the payment "
                    f"(customer {invoice.get('customerNumber')}).",
                )
            )
        elif 0 < gap <= tolerance:
            reasons.append(
                Reason(
                    "amount-within-tolerance",
                    f"The remaining amount {_money(remaining, currency)} is within "
                    f"{format(tolerance, 'f')} of the payment {format(payment, 'f')}.",
                )
            )
    if same_customer and gap != 0:
        reasons.append(Reason("same-customer", "An open invoice of the same customer."))
    return tuple(reasons)


def rank(
    line: Mapping[str, Any],
    invoices: Iterable[Mapping[str, Any]],
    line_currency: str | None,
    tolerance: Decimal,
) -> list[Suggestion]:
    """The invoices with at least one reason, best first: by score, then the
    smaller difference to the payment, the earlier due date, the number."""
    payment = _amount(line.get("amount"))
    seen: dict[str, Suggestion] = {}
    for invoice in invoices:
        key = str(invoice.get("id", "")).lower()
        if key in seen:
            continue
        reasons = reasons_for(line, invoice, line_currency, tolerance)
        if reasons:
            seen[key] = Suggestion(dict(invoice), reasons)

    def order(s: Suggestion) -> tuple[int, Decimal, str, str]:
        remaining = _amount(s.invoice.get("remainingAmount"))
        gap = abs(payment - remaining) if payment is not None and remaining is not None else None
        return (
            -s.score,
            gap if gap is not None else Decimal("Infinity"),
            str(s.invoice.get("dueDate", "")),
            str(s.invoice.get("number", "")),
        )

    return sorted(seen.values(), key=order)
