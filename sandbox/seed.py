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
class SeedCustomer:
    id: str
    number: str
    name: str
    email: str


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
    customers: tuple[SeedCustomer, ...]
    invoices: tuple[SeedInvoice, ...]
    journals: tuple[SeedJournal, ...]


def _customers(prefix: str) -> tuple[SeedCustomer, ...]:
    rows = [
        ("10000", "Adatum Corporation", "robert.townes@contoso.com"),
        ("20000", "Trey Research", "helen.ray@contoso.com"),
        ("30000", "School of Fine Art", "meagan.bond@contoso.com"),
        ("40000", "Alpine Ski House", "ian.deberry@contoso.com"),
        ("50000", "Relecloud", "jesse.homer@contoso.com"),
    ]
    return tuple(
        SeedCustomer(_guid(f"{prefix}:customer:{number}"), number, name, email)
        for number, name, email in rows
    )


def _invoices(prefix: str) -> tuple[SeedInvoice, ...]:
    rows = [
        ("103001", "10000", "2000.50", "2026-01-05", "2026-02-04", "Open"),
        ("103002", "20000", "1250.00", "2026-01-06", "2026-02-05", "Open"),
        ("103003", "30000", "845.25", "2026-01-07", "2026-02-06", "Open"),
        ("103004", "10000", "3120.80", "2026-01-08", "2026-02-07", "Paid"),
        ("103005", "40000", "99.99", "2026-01-09", "2026-02-08", "Open"),
        ("1001", "50000", "410.00", "2026-01-10", "2026-02-09", "Draft"),
    ]
    return tuple(
        SeedInvoice(
            _guid(f"{prefix}:invoice:{number}"),
            number,
            customer,
            Decimal(amount),
            invoice_date,
            due_date,
            status,
        )
        for number, customer, amount, invoice_date, due_date, status in rows
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


def _company(key: str, name: str, journals: list[tuple[str, str, str, int]]) -> SeedCompany:
    return SeedCompany(
        id=_guid(f"company:{key}"),
        name=name,
        display_name=name,
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
        [("CASH", "Cash receipts", "G", 3), ("GENERAL", "General payments", "P", 2)],
    ),
    _company("intl", "CRONUS International Ltd.", [("GENERAL", "General", "G", 3)]),
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
                "customers": [{"id": c.id, "number": c.number} for c in company.customers],
                "invoices": [
                    {
                        "id": i.id,
                        "number": i.number,
                        "customerId": numbers[i.customer_number],
                        "status": i.status,
                        "posted": i.posted,
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
