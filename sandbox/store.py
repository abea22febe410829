"""The emulator's in-memory Business Central data and its business rules.

The rules follow the AL source of the API pages ("Customer Payments", Gen.
Journal Line) as summarized in the project's Business Central notes: field
lengths per version counted in UTF-16 code units as BC counts them, Code
fields upper-cased, customer and invoice lookups, amount rounding, ETags that
change on every write.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox import seed

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CENT = Decimal("0.01")
# BC's Decimal holds at most about 18 significant digits before rounding.
MAX_AMOUNT = Decimal(10) ** 15
INT32_MAX = 2**31 - 1

# ETags look like BC's: W/"<base64 of 'len;rowversion;00;'>". Seed records get
# small row versions; writes take ever larger ones, never reused after a reset,
# so an ETag from before a reset can never match a record after it.
_ETAG_RE = re.compile(r'^(W/)?"([A-Za-z0-9+/]+={0,2})"$')
_ROWVERSION_RE = re.compile(r"^'(\d+);(\d+);00;'$")
_ROWVERSION_BASE = 120_000_000_000_000_000_000

_SEED_MODIFIED = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)


class BcError(Exception):
    """An error Business Central would answer with its JSON envelope."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def dialog(message: str) -> BcError:
    return BcError(400, "Application_DialogException", message)


def format_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def make_etag(rowversion: int) -> str:
    digits = str(_ROWVERSION_BASE + rowversion)
    raw = f"'{len(digits)};{digits};00;'".encode()
    return 'W/"' + base64.b64encode(raw).decode() + '"'


class InvalidEtag(ValueError):
    """The If-Match value is not an ETag this server could have issued."""


def parse_if_match(value: str) -> int | None:
    """The row version an If-Match names; None for ``*``."""
    value = value.strip()
    if value == "*":
        return None
    match = _ETAG_RE.match(value)
    if not match:
        raise InvalidEtag(value)
    try:
        raw = base64.b64decode(match.group(2), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidEtag(value) from exc
    inner = _ROWVERSION_RE.match(raw)
    if not inner or int(inner.group(1)) != len(inner.group(2)):
        raise InvalidEtag(value)
    return int(inner.group(2)) - _ROWVERSION_BASE


@dataclass
class Customer:
    id: str
    number: str
    name: str
    email: str
    rowversion: int
    modified: dt.datetime = _SEED_MODIFIED


@dataclass
class Invoice:
    id: str
    number: str
    customer_id: str
    amount_including_tax: Decimal
    invoice_date: str
    due_date: str
    status: str
    rowversion: int
    modified: dt.datetime = _SEED_MODIFIED

    @property
    def posted(self) -> bool:
        return self.status != "Draft"


@dataclass
class Payment:
    id: str
    journal_id: str
    line_number: int
    customer_id: str
    customer_number: str
    posting_date: str
    document_number: str
    amount: Decimal
    rowversion: int
    applies_to_invoice_id: str = EMPTY_GUID
    applies_to_invoice_number: str = ""
    external_document_number: str = ""
    description: str = ""
    comment: str = ""
    contact_id: str = ""
    modified: dt.datetime = _SEED_MODIFIED


@dataclass
class Journal:
    id: str
    code: str
    display_name: str
    rowversion: int
    payments: dict[str, Payment] = field(default_factory=dict)
    modified: dt.datetime = _SEED_MODIFIED


@dataclass
class Company:
    id: str
    name: str
    display_name: str
    rowversion: int
    customers: dict[str, Customer] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    journals: dict[str, Journal] = field(default_factory=dict)

    def customer_by_number(self, number: str) -> Customer | None:
        return next((c for c in self.customers.values() if c.number == number), None)

    def invoice_by_number(self, number: str) -> Invoice | None:
        return next((i for i in self.invoices.values() if i.number == number), None)

    def all_payments(self) -> list[Payment]:
        return [p for j in self.journals.values() for p in j.payments.values()]

    def find_payment(self, payment_id: str) -> tuple[Journal, Payment] | None:
        for journal in self.journals.values():
            payment = journal.payments.get(payment_id)
            if payment is not None:
                return journal, payment
        return None


class Data:
    """All companies of the one emulated tenant/environment."""

    def __init__(self, companies: dict[str, Company]) -> None:
        self.companies = companies

    @classmethod
    def from_seed(cls) -> Data:
        counter = iter(range(1, 1_000_000))
        companies: dict[str, Company] = {}
        for sc in seed.COMPANIES:
            company = Company(sc.id, sc.name, sc.display_name, next(counter))
            for c in sc.customers:
                company.customers[c.id] = Customer(c.id, c.number, c.name, c.email, next(counter))
            for i in sc.invoices:
                customer = company.customer_by_number(i.customer_number)
                assert customer is not None
                company.invoices[i.id] = Invoice(
                    i.id,
                    i.number,
                    customer.id,
                    i.amount_including_tax,
                    i.invoice_date,
                    i.due_date,
                    i.status,
                    next(counter),
                )
            for sj in sc.journals:
                journal = Journal(sj.id, sj.code, sj.display_name, next(counter))
                for p in sj.payments:
                    customer = company.customer_by_number(p.customer_number)
                    assert customer is not None
                    invoice = company.invoice_by_number(p.applies_to_invoice_number)
                    journal.payments[p.id] = Payment(
                        id=p.id,
                        journal_id=sj.id,
                        line_number=p.line_number,
                        customer_id=customer.id,
                        customer_number=customer.number,
                        posting_date=p.posting_date,
                        document_number=p.document_number,
                        amount=p.amount,
                        rowversion=next(counter),
                        applies_to_invoice_id=invoice.id if invoice else EMPTY_GUID,
                        applies_to_invoice_number=invoice.number if invoice else "",
                        external_document_number=p.external_document_number,
                        description=p.description,
                        comment=p.comment,
                    )
                company.journals[sj.id] = journal
            companies[sc.id] = company
        return cls(companies)

    def snapshot(self) -> Data:
        return Data(copy.deepcopy(self.companies))


class Clock:
    """Row versions and modification times that only ever move forward."""

    def __init__(self) -> None:
        self._rowversion = 1_000_000
        self._last = _SEED_MODIFIED

    def next_rowversion(self) -> int:
        self._rowversion += 1
        return self._rowversion

    def now(self) -> dt.datetime:
        now = dt.datetime.now(dt.UTC)
        current = now.replace(microsecond=now.microsecond // 1000 * 1000)
        # Two writes in the same millisecond still get distinct timestamps.
        self._last = max(current, self._last + dt.timedelta(milliseconds=1))
        return self._last


# --- the customerPayment entity -------------------------------------------------

# name -> (kind, max length); kinds: int, guid, code, text, date, decimal.
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
_EDM_TYPES = {
    "int": "Edm.Int32",
    "guid": "Edm.Guid",
    "code": "Edm.String",
    "text": "Edm.String",
    "date": "Edm.Date",
    "decimal": "Edm.Decimal",
}


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


def normalize_amount(amount: Decimal) -> Decimal:
    """How BC writes a decimal: no trailing zeros, no exponent, no -0."""
    if amount.is_zero():
        return Decimal(0)
    normalized = amount.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized


def _convert(name: str, kind: str, max_length: int, value: Any) -> Any:
    """OData-level conversion of one JSON value, then the field's length rule."""
    edm = _EDM_TYPES[kind]
    if value is None:
        if kind in ("code", "text"):
            return ""
        raise BcError(
            400,
            "BadRequest",
            f"A null value was found for the property named '{name}', which has the "
            f"expected type '{edm}[Nullable=False]'. The expected type "
            f"'{edm}[Nullable=False]' does not allow null values.",
        )
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _cannot_convert(value, edm)
        if not -(2**31) <= value <= INT32_MAX:
            raise _cannot_convert(value, edm)
        return value
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _cannot_convert(value, edm)
        amount = Decimal(value)
        if abs(amount) >= MAX_AMOUNT:
            raise BcError(
                400,
                "Application_EvaluateException",
                f"The value {value} is outside the permitted range for the field Amount.",
            )
        rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
        return Decimal(0) if rounded.is_zero() else rounded
    if not isinstance(value, str):
        raise _cannot_convert(value, edm)
    if kind == "guid":
        if not GUID_RE.match(value):
            raise BcError(
                400,
                "Application_InvalidGUID",
                f"The value '{value}' of the property '{name}' is not a valid GUID.",
            )
        return value.lower()
    if kind == "date":
        try:
            if not DATE_RE.match(value):
                raise ValueError(value)
            dt.date.fromisoformat(value)
        except ValueError:
            raise BcError(
                400,
                "Application_EvaluateException",
                f'The value "{value}" can\'t be evaluated into type Date.',
            ) from None
        return value
    if kind == "code":
        value = upper_code(value)
    length = utf16_length(value)
    if length > max_length:
        raise BcError(
            400,
            "Application_StringExceededLength",
            f"The length of the string is {length}, but it must be less than or equal "
            f"to {max_length} characters. Value: {value}",
        )
    return value


def utf16_length(value: str) -> int:
    """The length BC (.NET strings) sees: a character outside the BMP counts 2."""
    return len(value.encode("utf-16-le")) // 2


def upper_code(value: str) -> str:
    """Upper-case as .NET does, one character for one ("ß" stays "ß").

    Python's full case mapping can lengthen a string ("ß" -> "SS"), which
    would let a Code value grow past its length after the check.
    """
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in value)


def _cannot_convert(value: Any, edm: str) -> BcError:
    text = value if isinstance(value, str) else repr(value)
    return BcError(
        400,
        "BadRequest",
        f"Cannot convert the literal '{text}' to the expected type '{edm}'.",
    )


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
        changes[name] = _convert(name, kind, max_length, value)
    return changes


def apply_payment_changes(
    company: Company, journal: Journal, payment: Payment, changes: dict[str, Any], clock: Clock
) -> None:
    """Validate ``changes`` against the data, then write them all or nothing."""
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
        _set_customer(new, by_id if "customerId" in changes else by_number)

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
            new.applies_to_invoice_id = invoice.id
            new.applies_to_invoice_number = invoice.number
            invoice_customer = company.customers[invoice.customer_id]
            if customer_sent and new.customer_id not in (EMPTY_GUID, invoice_customer.id):
                raise dialog("The customer values do not match to a specific Customer.")
            # Applying to an invoice makes the line pay that invoice's customer.
            _set_customer(new, invoice_customer)

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
        "amount": "amount",
        "description": "description",
        "comment": "comment",
    }
    for name, attribute in simple.items():
        if name in changes:
            setattr(new, attribute, changes[name])

    new.rowversion = clock.next_rowversion()
    new.modified = clock.now()
    journal.payments[payment.id] = new


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

    Each line pays a real customer of the company (taking them in turn) with
    its own document number and a positive amount. One pass over the journal
    however large ``count`` is, and one timestamp for all: they are written
    together, like one transaction.
    """
    customers = sorted(company.customers.values(), key=lambda c: c.number)
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


def _set_customer(payment: Payment, customer: Customer | None) -> None:
    payment.customer_id = customer.id if customer else EMPTY_GUID
    payment.customer_number = customer.number if customer else ""


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
    return invoice


def _invoice_from_number(company: Company, number: str) -> Invoice | None:
    if number == "":
        return None
    invoice = company.invoice_by_number(number)
    if invoice is None or not invoice.posted:
        raise dialog('The "appliesToInvoiceNumber" does not match to an Invoice.')
    return invoice


def valid_guid(value: str) -> bool:
    return bool(GUID_RE.match(value))
