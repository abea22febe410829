"""The emulator's in-memory Business Central data: companies, customers,
invoices, journals and their payment lines, the seed they start from, row
versions and ETags that change on every write, and the error Business Central
answers with. The payment line's own rules are in :mod:`sandbox.payments`,
how a JSON value becomes a field in :mod:`sandbox.fields`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from sandbox import seed

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

# ETags look like BC's: W/"<base64 of 'len;rowversion;00;'>". Seed records get
# small row versions; writes take ever larger ones, never reused after a reset,
# so an ETag from before a reset can never match a record after it.
_ETAG_RE = re.compile(r'^(W/)?"([A-Za-z0-9+/]+={0,2})"$')
_ROWVERSION_RE = re.compile(r"^'(\d+);(\d+);00;'$")
_ROWVERSION_BASE = 120_000_000_000_000_000_000

_SEED_MODIFIED = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
# The local currency's amount rounding precision (General Ledger Setup).
LOCAL_PRECISION = Decimal("0.01")


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
class Currency:
    id: str
    code: str
    display_name: str
    symbol: str
    decimal_places: str
    rounding_precision: Decimal
    rowversion: int
    modified: dt.datetime = _SEED_MODIFIED


@dataclass
class Customer:
    id: str
    number: str
    name: str
    email: str
    rowversion: int
    # "" is the local currency, as in the Customer table.
    currency_code: str = ""
    blocked: str = " "
    modified: dt.datetime = _SEED_MODIFIED

    @property
    def blocked_for_payments(self) -> bool:
        # A payment journal line is refused only for "All"; "Invoice" blocks
        # invoices (and lines of no document type), "Ship" only shipments.
        return self.blocked == "All"


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
    remaining: Decimal = Decimal(0)
    currency_code: str = ""
    external_document_number: str = ""
    modified: dt.datetime = _SEED_MODIFIED

    @property
    def posted(self) -> bool:
        return self.status not in ("Draft", "In Review", " ")

    @property
    def open(self) -> bool:
        """Posted with something left to pay: a payment can be applied to it."""
        return self.posted and self.remaining != 0


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
    # The line's currency ("" local), not shown by the API: it comes from the
    # customer, or from the invoice the line is applied to.
    currency_code: str = ""
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
    local_currency: str = "USD"
    currencies: dict[str, Currency] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    journals: dict[str, Journal] = field(default_factory=dict)

    def customer_by_number(self, number: str) -> Customer | None:
        return next((c for c in self.customers.values() if c.number == number), None)

    def invoice_by_number(self, number: str) -> Invoice | None:
        return next((i for i in self.invoices.values() if i.number == number), None)

    def currency_code(self, code: str) -> str:
        """A currency code as the API shows it: the local currency by its code."""
        return code or self.local_currency

    def rounding_precision(self, code: str) -> Decimal:
        """The rounding step of an amount in ``code`` ("" local: hundredths)."""
        currency = self.currencies.get(code)
        return currency.rounding_precision if currency is not None else LOCAL_PRECISION

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
            company = Company(
                sc.id, sc.name, sc.display_name, next(counter), local_currency=sc.local_currency
            )
            for cur in sc.currencies:
                company.currencies[cur.code] = Currency(
                    cur.id,
                    cur.code,
                    cur.name,
                    cur.symbol,
                    cur.decimal_places,
                    cur.rounding_precision,
                    next(counter),
                )
            for c in sc.customers:
                company.customers[c.id] = Customer(
                    c.id,
                    c.number,
                    c.name,
                    c.email,
                    next(counter),
                    currency_code=c.currency_code,
                    blocked=c.blocked,
                )
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
                    remaining=i.remaining,
                    currency_code=i.currency_code,
                    external_document_number=i.external_document_number,
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
                        currency_code=invoice.currency_code if invoice else customer.currency_code,
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


def valid_guid(value: str) -> bool:
    return bool(GUID_RE.match(value))
