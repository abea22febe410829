"""Response models of the lookups that help apply a payment: customers, open
sales invoices and the invoices suggested for a line. Documented, not
validated: Business Central's records pass through, every ``@odata.*``
removed, with a ``title`` for pickers; properties it adds pass through too."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.payment.fields import Guid

_NEXT_LINK = Field(
    default=None,
    description="Absolute URL of the next page; absent on the last page.",
    json_schema_extra={"format": "uri"},
)


class Customer(BaseModel):
    """A customer of the company, as Business Central describes it."""

    model_config = ConfigDict(title="Customer", extra="allow")

    id: Guid = Field(description="Id of the customer: the value of customerId.")
    number: str = Field(description="Number of the customer: the value of customerNumber.")
    displayName: str = Field(description="Name of the customer.")
    currencyCode: str = Field(
        description="Currency of the customer's payments: the local currency by its code."
    )
    blocked: str = Field(
        description='" ", Ship, Invoice or All; only All stops a payment to this customer.'
    )
    balanceDue: Decimal | None = Field(
        default=None, description="What the customer owes (API v2.0 only), exact digits."
    )
    title: str = Field(description="Number and name, such as '10000 · Adatum Corporation'.")


class CustomerList(BaseModel):
    model_config = ConfigDict(title="CustomerList")

    value: list[Customer] = Field(description="The customers of this page.")
    nextLink: str | None = _NEXT_LINK


class SalesInvoice(BaseModel):
    """An open (posted, not fully paid) sales invoice, as Business Central describes it."""

    model_config = ConfigDict(title="OpenSalesInvoice", extra="allow")

    id: Guid = Field(description="Id of the invoice: the value of appliesToInvoiceId.")
    number: str = Field(description="Number of the invoice: the value of appliesToInvoiceNumber.")
    externalDocumentNumber: str = Field(description="The customer's reference for it.")
    invoiceDate: str = Field(json_schema_extra={"format": "date"})
    dueDate: str = Field(json_schema_extra={"format": "date"})
    customerId: Guid
    customerNumber: str
    customerName: str
    currencyCode: str = Field(description="Currency of the invoice: the local one by its code.")
    totalAmountIncludingTax: Decimal = Field(description="The invoice's total, exact digits.")
    remainingAmount: Decimal = Field(description="What is left to pay, exact digits.")
    status: str = Field(description="Open for every invoice these lookups list.")
    title: str = Field(
        description="Number, invoice date and remaining amount with its currency, such as "
        "'103001 · 2026-01-05 · 2000.5 USD'."
    )


class SalesInvoiceList(BaseModel):
    model_config = ConfigDict(title="OpenSalesInvoiceList")

    value: list[SalesInvoice] = Field(description="The open invoices of this page.")
    nextLink: str | None = _NEXT_LINK


class Reason(BaseModel):
    model_config = ConfigDict(title="SuggestionReason")

    code: str = Field(
        description="same-customer-amount, invoice-number-in-text, "
        "external-document-number-in-text, amount-equal, amount-within-tolerance or "
        "same-customer."
    )
    message: str = Field(description="The reason in words.")


class SuggestedInvoice(SalesInvoice):
    """An open invoice the line may pay, with why."""

    model_config = ConfigDict(title="SuggestedInvoice", extra="allow")

    score: int = Field(description="The sum of the reasons' weights: higher is likelier.")
    reasons: list[Reason] = Field(description="Why this invoice, strongest first.")


class SuggestionList(BaseModel):
    model_config = ConfigDict(title="SuggestedInvoices")

    paymentId: Guid = Field(description="The payment line.")
    amount: Decimal | None = Field(default=None, description="The line's amount.")
    currencyCode: str | None = Field(
        default=None, description="The currency of the line's customer, when it has one."
    )
    tolerance: Decimal = Field(
        description="How far a remaining amount may be from the payment to count as close."
    )
    value: list[SuggestedInvoice] = Field(description="The invoices, best first.")


def lookup_models() -> dict[str, type[BaseModel]]:
    return {"customers": CustomerList, "invoices": SalesInvoiceList, "suggestions": SuggestionList}
