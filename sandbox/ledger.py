"""A company's customers, sales invoices and currencies as Business Central's
API pages show them, per API version (the project's Business Central notes,
docs/business-central.md, say where each property comes from).

Read-only here: ``GET`` of a collection (with ``$filter``, ``$top``,
``$skip`` and ``$expand``) or of one entity by id. The API pages translate
the local currency, which the tables hold as an empty code, into its code
(``USD``), and they calculate some properties for each record (an invoice's
``remainingAmount`` and ``currencyCode``, a customer's ``currencyCode``):
those cannot be filtered on.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox.calls import BcResult, Call, not_found
from sandbox.fields import normalize_amount
from sandbox.odata import Shape, collection, entity
from sandbox.store import (
    EMPTY_GUID,
    BcError,
    Company,
    Currency,
    Customer,
    Invoice,
    format_datetime,
    make_etag,
)

_CUSTOMER_V2 = (
    "id",
    "number",
    "displayName",
    "type",
    "addressLine1",
    "addressLine2",
    "city",
    "state",
    "country",
    "postalCode",
    "phoneNumber",
    "email",
    "website",
    "salespersonCode",
    "balanceDue",
    "creditLimit",
    "taxLiable",
    "taxAreaId",
    "taxAreaDisplayName",
    "taxRegistrationNumber",
    "currencyId",
    "currencyCode",
    "paymentTermsId",
    "shipmentMethodId",
    "paymentMethodId",
    "blocked",
    "lastModifiedDateTime",
)
# v1.0 has one address object for the address lines, and no balanceDue (its
# financial details are a part of their own).
_ADDRESS_LINES = ("addressLine1", "addressLine2", "city", "state", "country", "postalCode")
_CUSTOMER_V2_ONLY = ("salespersonCode", "balanceDue", "creditLimit")
_CUSTOMER_V1 = tuple(
    "address" if name == _ADDRESS_LINES[0] else name
    for name in _CUSTOMER_V2
    if name == _ADDRESS_LINES[0] or name not in (*_ADDRESS_LINES, *_CUSTOMER_V2_ONLY)
)
_INVOICE_COMMON = (
    "id",
    "number",
    "externalDocumentNumber",
    "invoiceDate",
    "postingDate",
    "dueDate",
    "customerPurchaseOrderReference",
    "customerId",
    "customerNumber",
    "customerName",
    "billToName",
    "billToCustomerId",
    "billToCustomerNumber",
    "currencyId",
    "currencyCode",
    "orderId",
    "orderNumber",
    "pricesIncludeTax",
    "remainingAmount",
    "discountAmount",
    "discountAppliedBeforeTax",
    "totalAmountExcludingTax",
    "totalTaxAmount",
    "totalAmountIncludingTax",
    "status",
    "lastModifiedDateTime",
    "phoneNumber",
    "email",
)
_INVOICE_V1 = (*_INVOICE_COMMON, "contactId")
_CURRENCY = (
    "id",
    "code",
    "displayName",
    "symbol",
    "amountDecimalPlaces",
    "amountRoundingPrecision",
    "lastModifiedDateTime",
)
# Properties the API pages fill in for each record from variables: no field to filter.
_CUSTOMER_CALCULATED = frozenset({"currencyCode", "taxAreaDisplayName", "address"})
_INVOICE_CALCULATED = frozenset({"remainingAmount", "currencyCode"})


def currency_json(currency: Currency) -> dict[str, Any]:
    return {
        "id": currency.id,
        "code": currency.code,
        "displayName": currency.display_name,
        "symbol": currency.symbol,
        "amountDecimalPlaces": currency.decimal_places,
        "amountRoundingPrecision": normalize_amount(currency.rounding_precision),
        "lastModifiedDateTime": format_datetime(currency.modified),
    }


def customer_json(company: Company, customer: Customer, version: str) -> dict[str, Any]:
    currency = company.currencies.get(customer.currency_code)
    body: dict[str, Any] = {
        "id": customer.id,
        "number": customer.number,
        "displayName": customer.name,
        "type": "Company",
    }
    if version == "v2.0":
        body.update(
            addressLine1="",
            addressLine2="",
            city="",
            state="",
            country="",
            postalCode="",
        )
    else:
        body["address"] = {
            "street": "",
            "city": "",
            "state": "",
            "countryLetterCode": "",
            "postalCode": "",
        }
    body.update(phoneNumber="", email=customer.email, website="")
    if version == "v2.0":
        body.update(
            salespersonCode="",
            balanceDue=normalize_amount(_balance_due(company, customer)),
            creditLimit=0,
        )
    body.update(
        taxLiable=False,
        taxAreaId=EMPTY_GUID,
        taxAreaDisplayName="",
        taxRegistrationNumber="",
        currencyId=currency.id if currency else EMPTY_GUID,
        currencyCode=company.currency_code(customer.currency_code),
        paymentTermsId=EMPTY_GUID,
        shipmentMethodId=EMPTY_GUID,
        paymentMethodId=EMPTY_GUID,
        blocked=customer.blocked,
        lastModifiedDateTime=format_datetime(customer.modified),
    )
    return body


def invoice_json(company: Company, invoice: Invoice, version: str) -> dict[str, Any]:
    customer = company.customers[invoice.customer_id]
    currency = company.currencies.get(invoice.currency_code)
    total = normalize_amount(invoice.amount_including_tax)
    body: dict[str, Any] = {
        "id": invoice.id,
        "number": invoice.number,
        "externalDocumentNumber": invoice.external_document_number,
        "invoiceDate": invoice.invoice_date,
        "postingDate": invoice.invoice_date,
        "dueDate": invoice.due_date,
        "customerPurchaseOrderReference": "",
        "customerId": customer.id,
        "customerNumber": customer.number,
        "customerName": customer.name,
        "billToName": customer.name,
        "billToCustomerId": customer.id,
        "billToCustomerNumber": customer.number,
        "currencyId": currency.id if currency else EMPTY_GUID,
        "currencyCode": company.currency_code(invoice.currency_code),
        "orderId": EMPTY_GUID,
        "orderNumber": "",
        "pricesIncludeTax": False,
        # An unposted invoice has all of its amount still to pay.
        "remainingAmount": normalize_amount(
            invoice.remaining if invoice.posted else invoice.amount_including_tax
        ),
        "discountAmount": 0,
        "discountAppliedBeforeTax": True,
        "totalAmountExcludingTax": total,
        "totalTaxAmount": 0,
        "totalAmountIncludingTax": total,
        "status": invoice.status,
        "lastModifiedDateTime": format_datetime(invoice.modified),
        "phoneNumber": "",
        "email": customer.email,
    }
    if version == "v1.0":
        body["contactId"] = ""
    return body


def _balance_due(company: Company, customer: Customer) -> Decimal:
    """What the customer still owes on posted invoices (amounts as they are)."""
    total = Decimal(0)
    for invoice in company.invoices.values():
        if invoice.customer_id == customer.id and invoice.posted:
            total += invoice.remaining
    return total


def _currency_by_code(company: Company) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    def related(body: dict[str, Any]) -> dict[str, Any] | None:
        # The local currency has no row: nothing to expand.
        currency = company.currencies.get(str(body.get("currencyCode", "")))
        if currency is None:
            return None
        return {"@odata.etag": make_etag(currency.rowversion), **currency_json(currency)}

    return related


def customer_shape(company: Company, version: str) -> Shape:
    return Shape(
        "customer",
        _CUSTOMER_V2 if version == "v2.0" else _CUSTOMER_V1,
        _CUSTOMER_CALCULATED,
        {"currency": _currency_by_code(company)},
    )


def invoice_shape(company: Company, version: str) -> Shape:
    def customer(body: dict[str, Any]) -> dict[str, Any] | None:
        found = company.customers.get(str(body.get("customerId", "")))
        if found is None:
            return None
        return {
            "@odata.etag": make_etag(found.rowversion),
            **customer_json(company, found, version),
        }

    return Shape(
        "salesInvoice",
        _INVOICE_COMMON if version == "v2.0" else _INVOICE_V1,
        _INVOICE_CALCULATED,
        {"customer": customer, "currency": _currency_by_code(company)},
    )


def serve(
    call: Call, company: Company, entity_set: str, key: str | None, page_size: int
) -> BcResult:
    """``customers``, ``salesInvoices`` or ``currencies`` of ``company``."""
    if call.method != "GET":
        raise BcError(
            405,
            "BadRequest_MethodNotAllowed",
            f"'{call.method}' requests for '{entity_set}' are not allowed within "
            "Dynamics 365 Business Central OData web services.",
        )
    context = f"companies({company.id})/{entity_set}"
    version = call.version
    if entity_set == "customers":
        shape = customer_shape(company, version)
        records: dict[str, Any] = company.customers
        to_json: Callable[[Any], dict[str, Any]] = lambda c: customer_json(company, c, version)  # noqa: E731
        missing = "The customer does not exist."
    elif entity_set == "salesInvoices":
        shape = invoice_shape(company, version)
        records = company.invoices
        to_json = lambda i: invoice_json(company, i, version)  # noqa: E731
        missing = "The salesInvoice does not exist."
    else:
        shape = Shape("currency", _CURRENCY)
        records = {c.id: c for c in company.currencies.values()}
        to_json = currency_json
        missing = "The currency does not exist."
    if key is None:
        rows = [(r.rowversion, to_json(r)) for r in records.values()]
        return collection(call, context, rows, page_size, shape)
    record = records.get(key)
    if record is None:
        raise not_found(f"{missing} Identification fields and values: Id='{key}'")
    return entity(call, context, record.rowversion, to_json(record), shape)
