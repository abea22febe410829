"""Every route the proxy serves, described once.

``shared.api.openapi`` (OpenAPI 3.1 at ``/api/openapi.json``) and the custom
connector generator (``scripts.connector``, Swagger 2.0) are both produced
from this table, so the two descriptions cannot drift apart. Its parameters
are written once, in ``parameters``.
"""

from __future__ import annotations

from pydantic import BaseModel

from shared.api.parameters import (
    ACCEPT,
    BODY_LOOKUPS,
    COMMON_HEADERS,
    COMPANY_ID,
    CUSTOMER_NAME,
    CUSTOMER_NUMBER,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    INVOICE_CUSTOMER_ID,
    INVOICE_CUSTOMER_NUMBER,
    INVOICE_NUMBER,
    ITEMS_SKIP,
    ITEMS_TOP,
    JOB_ID,
    JOB_TOKEN,
    JOURNAL_ID,
    LINE_DOCUMENT_NUMBER,
    MAX_REMAINING_AMOUNT,
    MIN_REMAINING_AMOUNT,
    PAGE_SKIP,
    PAGE_TOP,
    PAYMENT_ID,
    REMAINING_AMOUNT,
    SKIP,
    SUGGESTION_TOP,
    TOLERANCE,
    TOP,
    VALIDATE_ONLY,
    filter_parameter,
)
from shared.api.schemas import bulk_request_model
from shared.api.spec import READ_PROBLEMS, VALIDATE_PROBLEMS, WRITE_PROBLEMS, Operation
from shared.bulk.results import MAX_PAGE
from shared.lines.lists import LINE_FILTERS
from shared.payment.fields import API_VERSIONS, ApiVersion
from shared.process import paths
from shared.process.paths import documented

# Bulk jobs are validated by shared.bulk.request, with the very PATCH models.
BULK_REQUESTS: dict[ApiVersion, type[BaseModel]] = {v: bulk_request_model(v) for v in API_VERSIONS}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "getCustomerPayment",
        "GET",
        documented(paths.PAYMENT),
        "Read one customer payment line",
        "Reads a payment line with its current ETag, the value to send as ETag "
        "(If-Match) when updating it.",
        (COMPANY_ID, JOURNAL_ID, PAYMENT_ID, LINE_DOCUMENT_NUMBER, *COMMON_HEADERS),
        "line",
        "The payment line, with its current ETag",
        READ_PROBLEMS,
        visibility="important",
        etag_header=True,
    ),
    Operation(
        "updateCustomerPayment",
        "PATCH",
        documented(paths.PAYMENT),
        "Update properties of one customer payment line",
        "Changes only the properties sent, after checking each against Business "
        "Central's rules. Needs the line's ETag, so that no one else's change is lost.",
        (COMPANY_ID, JOURNAL_ID, PAYMENT_ID, LINE_DOCUMENT_NUMBER, IF_MATCH, *COMMON_HEADERS),
        "line",
        "The payment line, with its current ETag",
        WRITE_PROBLEMS,
        body="patch",
        visibility="important",
        etag_header=True,
        body_lookups=BODY_LOOKUPS,
    ),
    Operation(
        "validateCustomerPayment",
        "POST",
        documented(paths.VALIDATE),
        "Check an update of a payment line without making it",
        "Runs every check the update makes before it would call Business Central, "
        "and calls nothing: the answer lists the changes as they would be sent.",
        (COMPANY_ID, JOURNAL_ID, PAYMENT_ID, LINE_DOCUMENT_NUMBER, IF_MATCH, *COMMON_HEADERS),
        "validation",
        "The update is valid",
        VALIDATE_PROBLEMS,
        body="patch",
        visibility="advanced",
        body_lookups=BODY_LOOKUPS,
    ),
    Operation(
        "listCompanies",
        "GET",
        documented(paths.COMPANIES),
        "List companies",
        "The Business Central companies this proxy may touch.",
        COMMON_HEADERS,
        "companies",
        "The companies",
        READ_PROBLEMS,
        visibility="internal",
    ),
    Operation(
        "listCustomerPaymentJournals",
        "GET",
        documented(paths.JOURNALS),
        "List customer payment journals",
        "The customer payment journals of one company that this proxy may touch.",
        (COMPANY_ID, *COMMON_HEADERS),
        "journals",
        "The journals",
        READ_PROBLEMS,
        visibility="internal",
    ),
    Operation(
        "findCustomerPayments",
        "GET",
        documented(paths.LINES),
        "Find payment lines",
        "Lists the payment lines of a journal, each with its ETag, optionally only "
        "those that match a document number, customer number or invoice number "
        "exactly; one page at a time.",
        (
            COMPANY_ID,
            JOURNAL_ID,
            *(filter_parameter(name) for name in LINE_FILTERS),
            TOP,
            SKIP,
            *COMMON_HEADERS,
        ),
        "lines",
        "One page of payment lines",
        READ_PROBLEMS,
        visibility="important",
        pageable=True,
    ),
    Operation(
        "listCustomers",
        "GET",
        documented(paths.CUSTOMERS),
        "Find customers",
        "The customers of a company, each with its currency and blocked state: all of "
        "them, the one with a number, or those whose name contains a text; one page at a time.",
        (COMPANY_ID, CUSTOMER_NUMBER, CUSTOMER_NAME, PAGE_TOP, PAGE_SKIP, *COMMON_HEADERS),
        "customers",
        "One page of customers",
        READ_PROBLEMS,
        pageable=True,
    ),
    Operation(
        "listOpenSalesInvoices",
        "GET",
        documented(paths.OPEN_INVOICES),
        "Find open sales invoices",
        "The posted sales invoices of a company that still have an amount to pay, with that "
        "remaining amount in exact digits: of one customer, with one number, or with a "
        "remaining amount; one page at a time.",
        (
            COMPANY_ID,
            INVOICE_CUSTOMER_ID,
            INVOICE_CUSTOMER_NUMBER,
            INVOICE_NUMBER,
            REMAINING_AMOUNT,
            MIN_REMAINING_AMOUNT,
            MAX_REMAINING_AMOUNT,
            PAGE_TOP,
            PAGE_SKIP,
            *COMMON_HEADERS,
        ),
        "invoices",
        "One page of open invoices",
        READ_PROBLEMS,
        pageable=True,
    ),
    Operation(
        "suggestInvoices",
        "GET",
        documented(paths.SUGGESTIONS),
        "Suggest invoices for a payment line",
        "The open invoices this payment line most likely pays, best first, each with its "
        "reasons: the same customer and amount, its number or external document number in "
        "the line's texts, an amount within the tolerance.",
        (
            COMPANY_ID,
            JOURNAL_ID,
            PAYMENT_ID,
            LINE_DOCUMENT_NUMBER,
            TOLERANCE,
            SUGGESTION_TOP,
            *COMMON_HEADERS,
        ),
        "suggestions",
        "The suggested invoices, best first",
        READ_PROBLEMS,
        visibility="important",
    ),
    Operation(
        "startBulkPaymentUpdate",
        "POST",
        documented(paths.BULK_START),
        "Start a bulk payment update",
        "Checks every update first (nothing starts unless all pass), then runs them in "
        "Business Central $batch requests. Answers 202 with Location: poll it (no key "
        "needed) until it answers 200 with every update's result, in request order.",
        (COMPANY_ID, JOURNAL_ID, IDEMPOTENCY_KEY, VALIDATE_ONLY, *COMMON_HEADERS),
        "bulkAccepted",
        "The job was started, or found again by its Idempotency-Key",
        WRITE_PROBLEMS,
        body="bulk",
        visibility="important",
        success_status=202,
        result="bulkResult",
        result_description="The job is done: every update's result, in request order "
        "(with validateOnly=true at once: valid and total, nothing started)",
    ),
    Operation(
        "getBulkPaymentUpdateStatus",
        "GET",
        documented(paths.BULK_STATUS),
        "Get a bulk payment update's status",
        "202 with the progress while the job runs (poll again after Retry-After), 200 with "
        f"the updates' results when it is done, up to {MAX_PAGE} a page (nextLink "
        "leads to the next; the counts are always the whole job's). The token in the URL "
        "is the credential; an unknown job and a wrong token get the same 404.",
        (JOB_ID, JOB_TOKEN, ITEMS_TOP, ITEMS_SKIP, ACCEPT),
        "bulkStatus",
        "The job is done: the updates' results, a page at a time",
        (400, 404, 500, 502),
        auth="anonymous",
        visibility="advanced",
        running_answer=True,
    ),
    Operation(
        "problems",
        "GET",
        documented(paths.PROBLEMS),
        "Explain every problem the proxy answers with",
        "An HTML page with one section per problem slug: the target of every problem type URI.",
        (),
        "problems",
        "The page",
        (),
        auth="anonymous",
        in_connector=False,
    ),
    Operation(
        "health",
        "GET",
        documented(paths.HEALTH),
        "Liveness; makes no upstream call",
        "Answers as long as the app runs; never calls Business Central.",
        (),
        "health",
        "Alive",
        (),
        auth="anonymous",
        in_connector=False,
    ),
)


def operation(operation_id: str) -> Operation:
    return next(op for op in OPERATIONS if op.operation_id == operation_id)
