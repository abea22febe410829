"""The application check: does an update that names a customer or an invoice
fit what Business Central holds? One rule for validate-only, the PATCH and
bulk items.

Pure: what to read for an update (:func:`needs`), and the verdict on what
was read (:func:`judge`). Reading is ``shared.upstream.application``'s job.
A record arrives as a dict (Business Central's JSON, the invoice with its
``customer`` and ``currency`` expanded, the customer with its ``currency``),
``None`` when the read worked and found nothing, or a :class:`Problem` when
the read failed: then the check is *not made*, and says so, never *passed*.

Business Central's rules behind each finding are in docs/business-central.md:
only a posted invoice with something left to pay can be applied to; the
line then pays that invoice's customer; a customer blocked with ``All`` takes
no payment (``Invoice`` and ``Ship`` do not stop one); a line's currency is
its customer's, and an application between two currencies is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from shared.payment.amounts import round_to
from shared.payment.models import stored_form
from shared.payment.settlement import EMPTY_GUID
from shared.process.problems import FieldError, Problem

CUSTOMER_PROPERTIES = ("customerId", "customerNumber")
INVOICE_PROPERTIES = ("appliesToInvoiceId", "appliesToInvoiceNumber")
# Invoices a payment can be applied to: posted, and Business Central calls them open.
_NOT_POSTED = frozenset({"Draft", "In Review", " ", ""})

Status = Literal["passed", "failed", "not-made"]
Record = dict[str, Any] | None | Problem


def touches(changes: Mapping[str, Any]) -> bool:
    """Whether an update names a customer or an invoice: only then is it checked."""
    return any(name in changes for name in (*CUSTOMER_PROPERTIES, *INVOICE_PROPERTIES))


def _named(value: Any) -> str | None:
    """A value that names a record; None for the empty GUID or "" (clearing)."""
    if not isinstance(value, str) or value in ("", EMPTY_GUID) or value.lower() == EMPTY_GUID:
        return None
    return value


@dataclass(frozen=True)
class Needs:
    """What one update's check reads: the invoice and the customer it names
    (by id, or else by number, in the form Business Central stores it), and
    whether the line itself (its customer and invoice now) is needed."""

    invoice_id: str | None = None
    invoice_number: str | None = None
    customer_id: str | None = None
    customer_number: str | None = None
    line: bool = False


def needs(changes: Mapping[str, Any]) -> Needs | None:
    """What to read to check ``changes``; None when it names no customer and no invoice."""
    if not touches(changes):
        return None
    invoice_id = _named(changes.get("appliesToInvoiceId"))
    invoice_number = None if invoice_id else _named(changes.get("appliesToInvoiceNumber"))
    customer_id = _named(changes.get("customerId"))
    customer_number = None if customer_id else _named(changes.get("customerNumber"))
    names_invoice = invoice_id is not None or invoice_number is not None
    names_customer = customer_id is not None or customer_number is not None
    touches_customer = any(name in changes for name in CUSTOMER_PROPERTIES)
    touches_invoice = any(name in changes for name in INVOICE_PROPERTIES)
    return Needs(
        invoice_id=invoice_id.lower() if invoice_id else None,
        invoice_number=stored_form("appliesToInvoiceNumber", invoice_number)
        if invoice_number
        else None,
        customer_id=customer_id.lower() if customer_id else None,
        customer_number=stored_form("customerNumber", customer_number) if customer_number else None,
        # The line's customer decides whose invoice it may pay (unless the update
        # sets the customer, even to none); its invoice decides the currency of a
        # line whose customer changes (unless the update sets the invoice).
        line=(names_invoice and not touches_customer) or (names_customer and not touches_invoice),
    )


@dataclass(frozen=True)
class Verdict:
    """The check's answer for one update. ``problem`` is set when it failed;
    ``reason`` says why it was not made. ``currency`` and ``precision`` are the
    line's currency and its rounding step after the update, when known."""

    status: Status
    problem: Problem | None = None
    reason: str | None = None
    currency: str | None = None
    precision: Decimal | None = None

    @property
    def made(self) -> bool:
        return self.status != "not-made"

    def as_json(self) -> dict[str, Any]:
        """How an answer names the check (the header's value, and a bulk item's)."""
        data: dict[str, Any] = {"status": self.status}
        if self.reason is not None:
            data["reason"] = self.reason
        if self.currency is not None:
            data["currencyCode"] = self.currency
        return data


def not_made(reason: str) -> Verdict:
    return Verdict("not-made", reason=reason)


# Findings, in the order one is reported when several apply; each its own problem type.
_ORDER = (
    "customer-not-found",
    "invoice-not-found",
    "invoice-not-posted",
    "invoice-fully-paid",
    "invoice-customer-mismatch",
    "invoice-currency-mismatch",
    "customer-blocked",
)


@dataclass(frozen=True)
class _Finding:
    slug: str
    field: str
    message: str


def judge(
    changes: Mapping[str, Any],
    wanted: Needs,
    *,
    invoice: Record = None,
    customer: Record = None,
    line: Record = None,
    local_precision: Decimal,
) -> Verdict:
    """The verdict on ``changes`` from the records read for ``wanted``."""
    failed = [
        (what, record)
        for what, record in (("invoice", invoice), ("customer", customer), ("line", line))
        if isinstance(record, Problem)
    ]
    if failed:
        what, problem = failed[0]
        assert isinstance(problem, Problem)
        return not_made(f"the {what} could not be read ({problem.slug})")
    assert not isinstance(invoice, Problem)
    assert not isinstance(customer, Problem)
    assert not isinstance(line, Problem)
    findings: list[_Finding] = []
    invoice_field = "appliesToInvoiceId" if wanted.invoice_id else "appliesToInvoiceNumber"
    customer_field = "customerId" if wanted.customer_id else "customerNumber"
    names_invoice = wanted.invoice_id is not None or wanted.invoice_number is not None
    names_customer = wanted.customer_id is not None or wanted.customer_number is not None

    if names_customer and customer is None:
        named = wanted.customer_id or wanted.customer_number
        findings.append(
            _Finding("customer-not-found", customer_field, f"No customer {named} exists.")
        )
    payer: dict[str, Any] | None = customer if names_customer else None
    if names_invoice:
        if invoice is None:
            named = wanted.invoice_id or wanted.invoice_number
            findings.append(
                _Finding("invoice-not-found", invoice_field, f"No sales invoice {named} exists.")
            )
        else:
            findings += _invoice_findings(invoice, invoice_field, wanted, customer, line)
            if payer is None:
                # Applying makes the line pay the invoice's customer.
                expanded = invoice.get("customer")
                payer = expanded if isinstance(expanded, dict) else None
    if payer is not None and str(payer.get("blocked", "")).strip() == "All":
        findings.append(
            _Finding(
                "customer-blocked",
                customer_field if names_customer else invoice_field,
                f"Customer {payer.get('number')} is blocked for all transactions (blocked: "
                "All): Business Central takes no payment for it.",
            )
        )
    if findings:
        return Verdict("failed", problem=_problem(findings))
    currency, precision = _line_currency(changes, invoice, payer, line, local_precision)
    return amount_fits(Verdict("passed", currency=currency, precision=precision), changes)


def amount_fits(verdict: Verdict, changes: Mapping[str, Any]) -> Verdict:
    """``verdict``, failed when the amount sent has more decimals than the line's
    currency (found by the check) allows: Business Central would round it."""
    amount = changes.get("amount")
    if (
        verdict.status != "passed"
        or verdict.precision is None
        or verdict.currency is None
        or not isinstance(amount, Decimal)
    ):
        return verdict
    rounded = round_to(amount, verdict.precision)
    if rounded == amount:
        return verdict
    return Verdict(
        "failed", problem=_precision_problem(amount, rounded, verdict.currency, verdict.precision)
    )


def _invoice_findings(
    invoice: dict[str, Any],
    field: str,
    wanted: Needs,
    customer: dict[str, Any] | None,
    line: dict[str, Any] | None,
) -> list[_Finding]:
    number = invoice.get("number")
    status = str(invoice.get("status", ""))
    if status in _NOT_POSTED:
        return [
            _Finding(
                "invoice-not-posted",
                field,
                f"Sales invoice {number} is not posted (status {status.strip() or 'blank'}): "
                "a payment can only be applied to a posted invoice.",
            )
        ]
    found: list[_Finding] = []
    remaining = invoice.get("remainingAmount")
    if status != "Open" or (isinstance(remaining, int | Decimal) and remaining == 0):
        found.append(
            _Finding(
                "invoice-fully-paid",
                field,
                f"Sales invoice {number} has nothing left to pay (status {status}, remaining "
                f"amount {remaining}).",
            )
        )
    owner = str(invoice.get("customerId", "")).lower()
    if customer is not None and str(customer.get("id", "")).lower() != owner:
        payer_number = customer.get("number")
    elif (
        customer is None
        and line is not None
        and _named(line.get("customerId"))
        and (str(line.get("customerId")).lower() != owner)
    ):
        payer_number = line.get("customerNumber")
    else:
        payer_number = None
    if payer_number is not None:
        found.append(
            _Finding(
                "invoice-customer-mismatch",
                field,
                f"Sales invoice {number} belongs to customer {invoice.get('customerNumber')}, "
                f"not to customer {payer_number} that "
                f"{'the update' if customer is not None else 'the line'} names.",
            )
        )
    payer = customer if customer is not None else invoice.get("customer")
    if isinstance(payer, dict) and not found:
        theirs, ours = invoice.get("currencyCode"), payer.get("currencyCode")
        if theirs and ours and theirs != ours:
            found.append(
                _Finding(
                    "invoice-currency-mismatch",
                    field,
                    f"Sales invoice {number} is in {theirs}; the payments of customer "
                    f"{payer.get('number')} are in {ours}. Business Central applies no "
                    "payment to an invoice in another currency.",
                )
            )
    return found


def _line_currency(
    changes: Mapping[str, Any],
    invoice: dict[str, Any] | None,
    payer: dict[str, Any] | None,
    line: dict[str, Any] | None,
    local_precision: Decimal,
) -> tuple[str | None, Decimal | None]:
    """The line's currency after the update and its rounding step, when known:
    the invoice's when the update applies one, else the customer's when the
    line is not applied to an invoice afterwards (an invoice it already pays
    was not read)."""
    if _named(changes.get("appliesToInvoiceId")) or _named(changes.get("appliesToInvoiceNumber")):
        source = invoice
    elif any(name in changes for name in INVOICE_PROPERTIES):
        source = payer  # the update takes the line off its invoice
    elif line is not None and not _named(line.get("appliesToInvoiceId")):
        source = payer
    else:
        source = None
    if source is None or not source.get("currencyCode") or "currency" not in source:
        return None, None
    code, currency = str(source["currencyCode"]), source["currency"]
    if currency is None:
        # No currency record: the local currency (it has no row in currencies).
        return code, local_precision
    step = currency.get("amountRoundingPrecision") if isinstance(currency, dict) else None
    if isinstance(step, int | Decimal) and not isinstance(step, bool) and step > 0:
        return code, Decimal(step)
    return code, None


def _problem(findings: list[_Finding]) -> Problem:
    findings.sort(key=lambda f: _ORDER.index(f.slug))
    first = findings[0]
    errors = tuple(FieldError(f.field, f.slug.replace("-", "_"), f.message) for f in findings)
    return Problem(first.slug, first.message, errors=errors)


def _precision_problem(
    amount: Decimal, rounded: Decimal, currency: str, precision: Decimal
) -> Problem:
    step = "whole units" if precision == 1 else f"steps of {format(precision.normalize(), 'f')}"
    message = (
        f"amount {format(amount, 'f')} has more decimals than {currency} allows ({step}): "
        f"Business Central would store {format(rounded.normalize(), 'f')}"
    )
    return Problem(
        "validation-failed",
        "1 property is invalid",
        errors=(FieldError("amount", "too_many_decimals", message),),
    )
