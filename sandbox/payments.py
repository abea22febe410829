"""The ``customerPayment`` entity (a Gen. Journal Line on the "Customer
Payments" API page): its properties per API version, its JSON, and the rules
that bind a body to it and write it, following the AL source as summarized in
the project's Business Central notes."""

from __future__ import annotations

import copy
import re
import uuid
from decimal import Decimal
from typing import Any

from sandbox.fields import convert, normalize_amount, round_amount
from sandbox.store import (
    EMPTY_GUID,
    BcError,
    Clock,
    Company,
    Customer,
    Invoice,
    Journal,
    Payment,
    dialog,
    format_datetime,
)

# name -> (kind, max length); kinds as in sandbox.fields.
_EDITABLE: dict[str, tuple[str, int]] = {
    "lineNumber": ("int", 0),
    "customerId": ("guid", 0),
    "customerNumber": ("code", 20),
    "contactId": ("text", 250),
    "postingDate": ("date", 0),
    "documentNumber": ("code", 20),
    "externalDocumentNumber": ("code", 35),
    "amount": ("decimal", 0),
    "appliesToInvoiceId": ("guid", 0),
    "appliesToInvoiceNumber": ("code", 20),
    "description": ("text", 100),
    "comment": ("text", 250),
}
_V1_ONLY = {"contactId", "dimensions"}
_V2_ONLY = {"journalId"}
_READ_ONLY = {"id", "journalId", "journalDisplayName", "lastModifiedDateTime", "dimensions"}


def payment_properties(version: str) -> set[str]:
    names = set(_EDITABLE) | _READ_ONLY
    excluded = _V2_ONLY if version == "v1.0" else _V1_ONLY
    return names - excluded


def payment_json(payment: Payment, journal: Journal, version: str) -> dict[str, Any]:
    """The entity as that API version shows it (without @odata annotations)."""
    body: dict[str, Any] = {"id": payment.id}
    if version == "v2.0":
        body["journalId"] = journal.id
    body["journalDisplayName"] = journal.code
    body["lineNumber"] = payment.line_number
    body["customerId"] = payment.customer_id
    body["customerNumber"] = payment.customer_number
    if version == "v1.0":
        body["contactId"] = payment.contact_id
    body["postingDate"] = payment.posting_date
    body["documentNumber"] = payment.document_number
    body["externalDocumentNumber"] = payment.external_document_number
    body["amount"] = normalize_amount(payment.amount)
    body["appliesToInvoiceId"] = payment.applies_to_invoice_id
    body["appliesToInvoiceNumber"] = payment.applies_to_invoice_number
    body["description"] = payment.description
    body["comment"] = payment.comment
    if version == "v1.0":
        body["dimensions"] = []
    body["lastModifiedDateTime"] = format_datetime(payment.modified)
    return body


def check_payment_body(body: Any, version: str) -> dict[str, Any]:
    """OData model binding: an object of known properties of the right types.

    Returns the converted values of the properties the body sets. Annotations
    such as ``@odata.etag`` are ignored, like BC does (the ETag counts only in
    If-Match).
    """
    if not isinstance(body, dict):
        raise BcError(400, "BadRequest", "Invalid Request Body")
    known = payment_properties(version)
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith("@") or "@odata." in name:
            continue
        if name not in known:
            raise BcError(
                400,
                "BadRequest",
                f"The property '{name}' does not exist on type 'Microsoft.NAV.customerPayment'. "
                "Make sure to only use property names that are defined by the type.",
            )
        if name in _READ_ONLY:
            changes[name] = value
            continue
        kind, max_length = _EDITABLE[name]
        changes[name] = convert(name, kind, max_length, value)
    return changes


def apply_payment_changes(
    company: Company, journal: Journal, payment: Payment, changes: dict[str, Any], clock: Clock
) -> None:
    """Validate ``changes`` against the data, then write them all or nothing.

    The steps run in the API page's field order: the customer, the amount,
    then the invoice applied to. The line's currency comes from its customer,
    or from the invoice it is applied to, and its amount is rounded to that
    currency's precision.
    """
    _check_read_only(payment, journal, changes)
    new = copy.copy(payment)

    customer_sent = "customerId" in changes or "customerNumber" in changes
    if customer_sent:
        by_id = by_number = None
        if "customerId" in changes:
            by_id = _customer_from_id(company, changes["customerId"])
        if "customerNumber" in changes:
            by_number = _customer_from_number(company, changes["customerNumber"])
        if "customerId" in changes and "customerNumber" in changes and by_id != by_number:
            raise dialog("The customer values do not match to a specific Customer.")
        _set_customer(company, new, by_id if "customerId" in changes else by_number)

    if "amount" in changes:
        new.amount = changes["amount"]
    new.amount = _rounded(company, new)

    if "appliesToInvoiceId" in changes or "appliesToInvoiceNumber" in changes:
        inv_by_id = inv_by_number = None
        if "appliesToInvoiceId" in changes:
            inv_by_id = _invoice_from_id(company, changes["appliesToInvoiceId"])
        if "appliesToInvoiceNumber" in changes:
            inv_by_number = _invoice_from_number(company, changes["appliesToInvoiceNumber"])
        both = "appliesToInvoiceId" in changes and "appliesToInvoiceNumber" in changes
        if both and inv_by_id != inv_by_number:
            raise dialog("The appliesToInvoice values do not match to a specific Invoice.")
        invoice = inv_by_id if "appliesToInvoiceId" in changes else inv_by_number
        if invoice is None:
            new.applies_to_invoice_id = EMPTY_GUID
            new.applies_to_invoice_number = ""
        else:
            _apply_to(company, new, invoice, customer_sent)

    if "lineNumber" in changes and changes["lineNumber"] != payment.line_number:
        line_number = changes["lineNumber"]
        if any(
            p.line_number == line_number and p.id != payment.id for p in journal.payments.values()
        ):
            raise BcError(
                400,
                "Internal_EntityWithSameKeyExists",
                "The record in table Gen. Journal Line already exists. Identification fields "
                f"and values: Journal Batch Name='{journal.code}',Line No.='{line_number}'",
            )
        new.line_number = line_number

    simple = {
        "contactId": "contact_id",
        "postingDate": "posting_date",
        "documentNumber": "document_number",
        "externalDocumentNumber": "external_document_number",
        "description": "description",
        "comment": "comment",
    }
    for name, attribute in simple.items():
        if name in changes:
            setattr(new, attribute, changes[name])

    new.rowversion = clock.next_rowversion()
    new.modified = clock.now()
    journal.payments[payment.id] = new


def _apply_to(company: Company, line: Payment, invoice: Invoice, customer_sent: bool) -> None:
    """Apply ``line`` to ``invoice``: it then pays that invoice's customer, in
    the invoice's currency when the line has no amount yet; a line with an
    amount in another currency is refused (no application between currencies)."""
    invoice_customer = company.customers[invoice.customer_id]
    if customer_sent and line.customer_id not in (EMPTY_GUID, invoice_customer.id):
        raise dialog("The customer values do not match to a specific Customer.")
    line.applies_to_invoice_id = invoice.id
    line.applies_to_invoice_number = invoice.number
    # Applying to an invoice makes the line pay that invoice's customer.
    if line.customer_id != invoice_customer.id:
        _set_customer(company, line, invoice_customer)
    if line.currency_code != invoice.currency_code:
        if line.amount != 0:
            raise dialog("All entries in one application must be in the same currency.")
        line.currency_code = invoice.currency_code


def _rounded(company: Company, line: Payment) -> Decimal:
    return round_amount(line.amount, company.rounding_precision(line.currency_code))


def new_payment(journal: Journal, clock: Clock) -> Payment:
    """A blank line as BC inserts it: next line number and document number."""
    lines = sorted(journal.payments.values(), key=lambda p: p.line_number)
    last = lines[-1] if lines else None
    return Payment(
        id=str(uuid.uuid4()),
        journal_id=journal.id,
        line_number=(last.line_number if last else 0) + 10000,
        customer_id=EMPTY_GUID,
        customer_number="",
        posting_date=clock.now().date().isoformat(),
        document_number=_increment(last.document_number) if last else "G00001",
        amount=Decimal(0),
        rowversion=0,
    )


def add_lines(company: Company, journal: Journal, count: int, clock: Clock) -> list[str]:
    """Append ``count`` valid lines to ``journal`` (for benchmarks); their ids in order.

    Each line pays a real customer of the company that can be paid in the
    local currency (taking them in turn) with its own document number and a
    positive amount. One pass over the journal
    however large ``count`` is, and one timestamp for all: they are written
    together, like one transaction.
    """
    customers = sorted(
        (c for c in company.customers.values() if payable_in_local_currency(c)),
        key=lambda c: c.number,
    )
    if not customers:
        raise dialog(f"The company '{company.name}' has no customers to pay.")
    last = max(journal.payments.values(), key=lambda p: p.line_number, default=None)
    line_number = last.line_number if last else 0
    documents = {p.document_number for p in journal.payments.values()}
    document = last.document_number if last else ""
    if not re.search(r"\d", document) or len(document) >= 20:
        document = "G00000"  # a series of its own when the last number cannot be counted on
    modified = clock.now()
    ids: list[str] = []
    for index in range(count):
        line_number += 10000
        document = _increment(document)
        while document in documents:
            document = _increment(document)
        documents.add(document)
        customer = customers[index % len(customers)]
        payment = Payment(
            id=str(uuid.uuid4()),
            journal_id=journal.id,
            line_number=line_number,
            customer_id=customer.id,
            customer_number=customer.number,
            posting_date=modified.date().isoformat(),
            document_number=document,
            amount=Decimal(100 + index % 900) + Decimal(index % 100) / 100,
            rowversion=clock.next_rowversion(),
            description=f"Generated payment {index + 1}",
            modified=modified,
        )
        journal.payments[payment.id] = payment
        ids.append(payment.id)
    return ids


def payable_in_local_currency(customer: Customer) -> bool:
    """A customer a generated line may pay: not blocked, billed in the local currency."""
    return not customer.blocked_for_payments and not customer.currency_code


def _increment(number: str) -> str:
    """BC's IncStr: add one to the last run of digits, keeping its width."""
    match = re.search(r"(\d+)(?!.*\d)", number)
    if not match:
        return number
    digits = match.group(1)
    bumped = str(int(digits) + 1).zfill(len(digits))
    return number[: match.start(1)] + bumped + number[match.end(1) :]


def _check_read_only(payment: Payment, journal: Journal, changes: dict[str, Any]) -> None:
    # Sending a read-only property with its current value is harmless in BC;
    # a different value is refused.
    if "id" in changes and str(changes["id"]).lower() != payment.id:
        raise BcError(
            400, "BadRequest_InvalidOperation", "The property 'id' is read-only and cannot be set."
        )
    if "lastModifiedDateTime" in changes and changes["lastModifiedDateTime"] != format_datetime(
        payment.modified
    ):
        raise BcError(
            400,
            "BadRequest_InvalidOperation",
            "The property 'lastModifiedDateTime' is read-only and cannot be set.",
        )
    if "journalId" in changes and str(changes["journalId"]).lower() != journal.id:
        raise dialog("The Journal Id cannot be changed.")
    if "journalDisplayName" in changes and changes["journalDisplayName"] != journal.code:
        raise dialog("The Journal Display Name cannot be changed.")
    if "dimensions" in changes:
        raise BcError(
            400,
            "BadRequest_InvalidOperation",
            "The property 'dimensions' cannot be changed together with the line.",
        )


def _set_customer(company: Company, payment: Payment, customer: Customer | None) -> None:
    """The line's account: a customer blocked for everything is refused; the
    line takes the customer's currency and its amount is rounded to it."""
    if customer is not None and customer.blocked_for_payments:
        raise dialog(
            f"You cannot create this type of document when Customer {customer.number} is "
            f"blocked with type {customer.blocked}"
        )
    payment.customer_id = customer.id if customer else EMPTY_GUID
    payment.customer_number = customer.number if customer else ""
    payment.currency_code = customer.currency_code if customer else ""
    payment.amount = _rounded(company, payment)


def _customer_from_id(company: Company, customer_id: str) -> Customer | None:
    if customer_id == EMPTY_GUID:
        return None
    customer = company.customers.get(customer_id)
    if customer is None:
        raise dialog('The "customerId" does not match to a Customer.')
    return customer


def _customer_from_number(company: Company, number: str) -> Customer | None:
    if number == "":
        return None
    customer = company.customer_by_number(number)
    if customer is None:
        raise dialog('The "customerNumber" does not match to a Customer.')
    return customer


def _invoice_from_id(company: Company, invoice_id: str) -> Invoice | None:
    if invoice_id == EMPTY_GUID:
        return None
    invoice = company.invoices.get(invoice_id)
    if invoice is None or not invoice.posted:
        raise dialog('The "appliesToInvoiceId" does not match to an Invoice.')
    return _still_open(invoice)


def _invoice_from_number(company: Company, number: str) -> Invoice | None:
    if number == "":
        return None
    invoice = next((i for i in company.invoices.values() if i.number == number and i.posted), None)
    if invoice is None:
        raise dialog('The "appliesToInvoiceNumber" does not match to an Invoice.')
    return _still_open(invoice)


def _still_open(invoice: Invoice) -> Invoice:
    # Only an open customer ledger entry can be applied to.
    if not invoice.open:
        raise dialog(f"Document number {invoice.number} does not exist or is already closed.")
    return invoice
