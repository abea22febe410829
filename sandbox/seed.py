"""Deterministic seed data for the Business Central emulator.

Every id is a fixed GUID (uuid5 of a readable name), so tests, docs and the
local run can refer to the same records on every start and after every reset.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

TENANT_ID = "7d1c3a5e-4b2f-4e8a-9c61-2f0a8b3d5e71"
ENVIRONMENT = "sandbox"
BC_RESOURCE = "https://api.businesscentral.dynamics.com"
BC_SCOPE = f"{BC_RESOURCE}/.default"

# The app's system-assigned identity (used when no client_id is asked for)
# and one user-assigned identity the identity endpoint also knows.
SYSTEM_ASSIGNED_CLIENT_ID = "0e5b9f3c-6a1d-4c7e-8b2a-3d4f5a6b7c81"
USER_ASSIGNED_CLIENT_ID = "3a9e2c7d-1f4b-4d6a-a5c8-9b0e1f2a3b92"


_NAMESPACE = uuid.UUID("6b0f7c1e-2d9a-4f35-8e4c-1a2b3c4d5e6f")


def _guid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


@dataclass(frozen=True)
class SeedCurrency:
    id: str
    code: str
    name: str
    symbol: str
    # Business Central's text form ("2:2") and the rounding step (0.01).
    decimal_places: str
    rounding_precision: Decimal


@dataclass(frozen=True)
class SeedCustomer:
    id: str
    number: str
    name: str
    email: str
    # "" is the company's local currency.
    currency_code: str = ""
    # " ", "Ship", "Invoice" or "All": what may not be posted for the customer.
    blocked: str = " "


@dataclass(frozen=True)
class SeedInvoice:
    id: str
    number: str
    customer_number: str
    amount_including_tax: Decimal
    invoice_date: str
    due_date: str
    # "Open"/"Paid" are posted invoices; "Draft" ones cannot be applied to.
    status: str
    # What is left to pay (an open invoice may be partly paid).
    remaining: Decimal
    currency_code: str = ""
    external_document_number: str = ""

    @property
    def posted(self) -> bool:
        return self.status != "Draft"


@dataclass(frozen=True)
class SeedPayment:
    id: str
    line_number: int
    customer_number: str
    posting_date: str
    document_number: str
    amount: Decimal
    applies_to_invoice_number: str = ""
    external_document_number: str = ""
    description: str = ""
    comment: str = ""


@dataclass(frozen=True)
class SeedJournal:
    id: str
    code: str
    display_name: str
    payments: tuple[SeedPayment, ...]


@dataclass(frozen=True)
class SeedCompany:
    id: str
    name: str
    display_name: str
    # The local currency's code: documents in it show this code.
    local_currency: str
    currencies: tuple[SeedCurrency, ...]
    customers: tuple[SeedCustomer, ...]
    invoices: tuple[SeedInvoice, ...]
    journals: tuple[SeedJournal, ...]


def _currencies(prefix: str) -> tuple[SeedCurrency, ...]:
    rows = [
        ("EUR", "Euro", "€", "2:2", "0.01"),
        # Whole units: a yen amount has no decimals.
        ("JPY", "Japanese yen", "¥", "0:0", "1"),
        # Three decimals.
        ("KWD", "Kuwaiti dinar", "KD", "3:3", "0.001"),
    ]
    return tuple(
        SeedCurrency(_guid(f"{prefix}:currency:{code}"), code, name, symbol, places, Decimal(step))
        for code, name, symbol, places, step in rows
    )


def _customers(prefix: str) -> tuple[SeedCustomer, ...]:
    rows = [
        ("10000", "Adatum Corporation", "robert.townes@contoso.com", "", " "),
        ("20000", "Trey Research", "helen.ray@contoso.com", "", " "),
        ("30000", "School of Fine Art", "meagan.bond@contoso.com", "", " "),
        ("40000", "Alpine Ski House", "ian.deberry@contoso.com", "", " "),
        ("50000", "Relecloud", "jesse.homer@contoso.com", "", " "),
        ("60000", "Tokyo Trading KK", "aiko.sato@contoso.com", "JPY", " "),
        # Blocked for everything: no payment may be posted for it.
        ("70000", "Fabrikam Holdings", "dana.birkby@contoso.com", "", "All"),
        # Blocked for invoices only: payments still go through.
        ("80000", "Northwind Traders", "nancy.davolio@contoso.com", "", "Invoice"),
        ("90000", "Gulf Imports WLL", "omar.haddad@contoso.com", "KWD", " "),
    ]
    return tuple(
        SeedCustomer(_guid(f"{prefix}:customer:{number}"), number, name, email, currency, blocked)
        for number, name, email, currency, blocked in rows
    )


def _invoices(prefix: str) -> tuple[SeedInvoice, ...]:
    # number, customer, total, remaining, invoice date, due date, status, currency, external no.
    rows = [
        ("103001", "10000", "2000.50", "2000.50", "2026-01-05", "2026-02-04", "Open", "", ""),
        (
            "103002",
            "20000",
            "1250.00",
            "1250.00",
            "2026-01-06",
            "2026-02-05",
            "Open",
            "",
            "PO-TR-7781",
        ),
        ("103003", "30000", "845.25", "845.25", "2026-01-07", "2026-02-06", "Open", "", ""),
        ("103004", "10000", "3120.80", "0", "2026-01-08", "2026-02-07", "Paid", "", ""),
        ("103005", "40000", "99.99", "99.99", "2026-01-09", "2026-02-08", "Open", "", ""),
        ("1001", "50000", "410.00", "410.00", "2026-01-10", "2026-02-09", "Draft", "", ""),
        ("103006", "60000", "125000", "125000", "2026-01-11", "2026-02-10", "Open", "JPY", ""),
        ("103007", "70000", "500.00", "500.00", "2026-01-12", "2026-02-11", "Open", "", ""),
        # The same amount as 103001, for another customer.
        ("103008", "20000", "2000.50", "2000.50", "2026-01-13", "2026-02-12", "Open", "", ""),
        # Partly paid: 1000.00 of 1500.00 received.
        ("103009", "10000", "1500.00", "500.00", "2026-01-14", "2026-02-13", "Open", "", ""),
        ("103010", "90000", "1250.125", "1250.125", "2026-01-15", "2026-02-14", "Open", "KWD", ""),
        # In yen, for a customer whose payments are in the local currency.
        ("103011", "10000", "50000", "50000", "2026-01-16", "2026-02-15", "Open", "JPY", ""),
        ("103012", "80000", "300.00", "300.00", "2026-01-17", "2026-02-16", "Open", "", ""),
    ]
    return tuple(
        SeedInvoice(
            _guid(f"{prefix}:invoice:{number}"),
            number,
            customer,
            Decimal(total),
            invoice_date,
            due_date,
            status,
            Decimal(remaining),
            currency,
            external,
        )
        for (
            number,
            customer,
            total,
            remaining,
            invoice_date,
            due_date,
            status,
            currency,
            external,
        ) in rows
    )


def _payments(prefix: str, journal: str, doc_prefix: str) -> tuple[SeedPayment, ...]:
    rows = [
        (10000, "10000", "G00001", "2000.5", "103001", "", "Payment for invoice 103001", ""),
        (20000, "20000", "G00002", "1250", "103002", "TR-REM-0042", "Trey Research remittance", ""),
        (30000, "30000", "G00003", "-845.25", "", "", "Refund to School of Fine Art", "credit"),
    ]
    return tuple(
        SeedPayment(
            id=_guid(f"{prefix}:{journal}:payment:{line}"),
            line_number=line,
            customer_number=customer,
            posting_date="2026-01-15",
            document_number=doc.replace("G", doc_prefix, 1),
            amount=Decimal(amount),
            applies_to_invoice_number=invoice,
            external_document_number=external,
            description=description,
            comment=comment,
        )
        for line, customer, doc, amount, invoice, external, description, comment in rows
    )


def _company(
    key: str, name: str, local_currency: str, journals: list[tuple[str, str, str, int]]
) -> SeedCompany:
    return SeedCompany(
        id=_guid(f"company:{key}"),
        name=name,
        display_name=name,
        local_currency=local_currency,
        currencies=_currencies(key),
        customers=_customers(key),
        invoices=_invoices(key),
        journals=tuple(
            SeedJournal(
                id=_guid(f"{key}:journal:{code}"),
                code=code,
                display_name=display,
                payments=_payments(key, code, doc_prefix)[:count],
            )
            for code, display, doc_prefix, count in journals
        ),
    )


COMPANIES: tuple[SeedCompany, ...] = (
    _company(
        "usa",
        "CRONUS USA, Inc.",
        "USD",
        [("CASH", "Cash receipts", "G", 3), ("GENERAL", "General payments", "P", 2)],
    ),
    _company("intl", "CRONUS International Ltd.", "GBP", [("GENERAL", "General", "G", 3)]),
)


def seed_summary() -> dict[str, Any]:
    """The seed as the admin API describes it (ids to use in tests and curl)."""
    companies = []
    for company in COMPANIES:
        numbers = {c.number: c.id for c in company.customers}
        invoice_ids = {i.number: i.id for i in company.invoices}
        companies.append(
            {
                "id": company.id,
                "name": company.name,
                "journals": [
                    {
                        "id": journal.id,
                        "code": journal.code,
                        "payments": [
                            {
                                "id": p.id,
                                "lineNumber": p.line_number,
                                "customerId": numbers[p.customer_number],
                                "customerNumber": p.customer_number,
                                "amount": p.amount,
                                "appliesToInvoiceId": invoice_ids.get(p.applies_to_invoice_number),
                            }
                            for p in journal.payments
                        ],
                    }
                    for journal in company.journals
                ],
                "localCurrency": company.local_currency,
                "currencies": [
                    {"id": c.id, "code": c.code, "amountRoundingPrecision": c.rounding_precision}
                    for c in company.currencies
                ],
                "customers": [
                    {
                        "id": c.id,
                        "number": c.number,
                        "currencyCode": c.currency_code or company.local_currency,
                        "blocked": c.blocked,
                    }
                    for c in company.customers
                ],
                "invoices": [
                    {
                        "id": i.id,
                        "number": i.number,
                        "customerId": numbers[i.customer_number],
                        "status": i.status,
                        "posted": i.posted,
                        "remainingAmount": i.remaining,
                        "currencyCode": i.currency_code or company.local_currency,
                    }
                    for i in company.invoices
                ],
            }
        )
    return {
        "tenant": TENANT_ID,
        "environment": ENVIRONMENT,
        "identity": {
            "systemAssignedClientId": SYSTEM_ASSIGNED_CLIENT_ID,
            "userAssignedClientId": USER_ASSIGNED_CLIENT_ID,
        },
        "companies": companies,
    }
