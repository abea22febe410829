"""The proxy's URL space under ``/api``: every route template, written once.

The Functions routes take ``{journalSet}``, so that both of Business Central's
spellings of the journal set reach the proxy (the request check refuses any
other); the OpenAPI document and the links the proxy builds name the first.
"""

from __future__ import annotations

API_PREFIX = "/api"
JOURNAL_SETS = ("customerPaymentJournals", "customerPaymentsJournals")

COMPANIES = "{apiVersion}/companies"
JOURNALS = COMPANIES + "/{companyId}/{journalSet}"
LINES = JOURNALS + "/{journalId}/customerPayments"
PAYMENT = LINES + "/{paymentId}"
VALIDATE = PAYMENT + "/validate"
SUGGESTIONS = PAYMENT + "/suggestedInvoices"
CUSTOMERS = COMPANIES + "/{companyId}/customers"
OPEN_INVOICES = COMPANIES + "/{companyId}/openSalesInvoices"
BULK_START = JOURNALS + "/{journalId}/bulkPaymentUpdates"
BULK_JOBS = "bulkPaymentUpdates"
BULK_STATUS = BULK_JOBS + "/{jobId}"
OPENAPI = "openapi.json"
PROBLEMS = "problems"
HEALTH = "health"
EVERYTHING_ELSE = "{*path}"


def documented(route: str) -> str:
    """A route as the OpenAPI document and the proxy's own links show it."""
    return "/" + route.replace("{journalSet}", JOURNAL_SETS[0])
