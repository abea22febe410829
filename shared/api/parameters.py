"""The route table's parameters, each written once and used by every operation
that takes it, and the dropdowns (lookups) that fill them in a connector. Field
rules are not restated here: a parameter that filters by a payment property
takes that property's schema from the payment models.
"""

from __future__ import annotations

from shared.api.labels import property_label
from shared.api.spec import IF_MATCH_PATTERN, Lookup, Parameter
from shared.bulk.results import MAX_PAGE
from shared.http.preconditions import MAX_IF_MATCH
from shared.lines.lists import DEFAULT_TOP, MAX_TOP
from shared.lines.suggestions import DEFAULT_SUGGESTIONS, DEFAULT_TOLERANCE, MAX_SUGGESTIONS
from shared.process.guids import GUID_PATTERN

_GUID = {"type": "string", "format": "uuid", "pattern": GUID_PATTERN}

COMPANIES_LOOKUP = Lookup("listCompanies", value_path="id", title_path="displayName")
JOURNALS_LOOKUP = Lookup("listCustomerPaymentJournals", ("companyId",), title_path="code")
LINES_LOOKUP = Lookup(
    "findCustomerPayments",
    ("companyId", "journalId"),
    title_path="title",
    filters=(("documentNumber", "lineDocumentNumber"),),
)

CUSTOMERS_LOOKUP = Lookup("listCustomers", ("companyId",), title_path="title")
CUSTOMER_NUMBERS_LOOKUP = Lookup(
    "listCustomers", ("companyId",), value_path="number", title_path="title"
)
# The invoice dropdowns list the open invoices of the customer chosen above them.
_CHOSEN_CUSTOMER = (("customerId", "customerId"), ("customerNumber", "customerNumber"))
INVOICES_LOOKUP = Lookup(
    "listOpenSalesInvoices", ("companyId",), title_path="title", body_filters=_CHOSEN_CUSTOMER
)
INVOICE_NUMBERS_LOOKUP = Lookup(
    "listOpenSalesInvoices",
    ("companyId",),
    value_path="number",
    title_path="title",
    body_filters=_CHOSEN_CUSTOMER,
)
# The customer and invoice of an update, picked from lookups (connector only).
BODY_LOOKUPS = (
    ("customerId", CUSTOMERS_LOOKUP),
    ("customerNumber", CUSTOMER_NUMBERS_LOOKUP),
    ("appliesToInvoiceId", INVOICES_LOOKUP),
    ("appliesToInvoiceNumber", INVOICE_NUMBERS_LOOKUP),
)

COMPANY_ID = Parameter(
    "companyId",
    "path",
    "Company",
    "Business Central company id",
    _GUID,
    required=True,
    lookup=COMPANIES_LOOKUP,
)
JOURNAL_ID = Parameter(
    "journalId",
    "path",
    "Journal",
    "Customer payment journal id",
    _GUID,
    required=True,
    lookup=JOURNALS_LOOKUP,
)
PAYMENT_ID = Parameter(
    "paymentId",
    "path",
    "Payment Line",
    "Payment line id",
    _GUID,
    required=True,
    lookup=LINES_LOOKUP,
)
# Feeds the Payment Line dropdown only: the proxy reads no query on a line's routes.
LINE_DOCUMENT_NUMBER = Parameter(
    "lineDocumentNumber",
    "query",
    "Find Line by Document Number",
    "Only for the Payment Line dropdown: it then lists the lines with exactly this "
    "document number, so a line beyond the first 100 can be picked. Not used by the update.",
    {"$property": "documentNumber"},
    connector_only=True,
)
ACCEPT = Parameter(
    "Accept",
    "header",
    "Accept",
    "Problems come back as plain JSON, which flows can parse.",
    {"type": "string", "default": "application/json", "enum": ["application/json"]},
    required=True,
    visibility="internal",
    connector_only=True,
)
ACCEPT_LANGUAGE = Parameter(
    "Accept-Language",
    "header",
    "Language",
    "Language of Business Central's messages, such as en-US.",
    {"type": "string"},
    visibility="advanced",
)
REQUEST_ID = Parameter(
    "x-request-id",
    "header",
    "Request ID",
    "Your id for this request, echoed in the answer and in every problem when it is at "
    "most 128 characters of A-Z a-z 0-9 . _ : - (otherwise the proxy makes one).",
    {"type": "string"},
    visibility="advanced",
)
IF_MATCH = Parameter(
    "If-Match",
    "header",
    "ETag",
    'The line\'s ETag from a GET (W/"..."), or * to overwrite.',
    {"type": "string", "pattern": IF_MATCH_PATTERN, "maxLength": MAX_IF_MATCH},
    required=True,
    connector_description=(
        "The line's ETag: the etag output of reading or finding the line, such as "
        'W/"JzE5OzEyMzQ7MDA7Jw==". Or * to overwrite whatever is there now, which may '
        "lose someone else's change."
    ),
    defaulted_by_setting=True,
)


def _paging(noun: str, default: int, most: int) -> tuple[Parameter, Parameter]:
    """The ``top`` and ``skip`` of a route that answers a page at a time."""
    top = Parameter(
        "top",
        "query",
        "Page Size",
        f"{noun} per page, 1 to {most} (default {default}).",
        {"type": "integer", "minimum": 1, "maximum": most, "default": default},
        visibility="advanced",
    )
    skip = Parameter(
        "skip",
        "query",
        "Skip",
        f"{noun} to skip before the page starts (0 or more).",
        {"type": "integer", "minimum": 0, "default": 0},
        visibility="advanced",
    )
    return top, skip


TOP, SKIP = _paging("Lines", DEFAULT_TOP, MAX_TOP)


def filter_parameter(name: str) -> Parameter:
    """An exact-match filter; its schema is taken from the property of the same name."""
    return Parameter(
        name,
        "query",
        property_label(name),
        f"Only lines whose {name} is exactly this (compared as Business Central stores it).",
        {"$property": name},
        visibility="important" if name == "documentNumber" else None,
    )


# The lookups' pages: the same size as a journal's, and skipping told in its own words.
PAGE_TOP = _paging("Items", DEFAULT_TOP, MAX_TOP)[0]
PAGE_SKIP = Parameter(
    "skip",
    "query",
    "Skip",
    "Items to pass over before the page starts (0 or more); follow nextLink instead.",
    {"type": "integer", "minimum": 0, "default": 0},
    visibility="advanced",
)
CUSTOMER_NUMBER = Parameter(
    "number",
    "query",
    "Customer Number",
    "Only the customer with exactly this number (compared as Business Central stores it).",
    {"$property": "customerNumber"},
    visibility="important",
)
CUSTOMER_NAME = Parameter(
    "name",
    "query",
    "Name Contains",
    "Only customers whose name contains this text, compared as Business Central compares "
    "text: capitals count.",
    {"$property": "description"},
    visibility="important",
)
INVOICE_CUSTOMER_ID = Parameter(
    "customerId",
    "query",
    "Customer",
    "Only the open invoices of this customer (its id).",
    {"$property": "customerId"},
    visibility="important",
    lookup=CUSTOMERS_LOOKUP,
)
INVOICE_CUSTOMER_NUMBER = Parameter(
    "customerNumber",
    "query",
    "Customer Number",
    "Only the open invoices of the customer with this number.",
    {"$property": "customerNumber"},
    visibility="advanced",
)
INVOICE_NUMBER = Parameter(
    "number",
    "query",
    "Invoice Number",
    "Only the open invoice with exactly this number.",
    {"$property": "appliesToInvoiceNumber"},
)
REMAINING_AMOUNT = Parameter(
    "remainingAmount",
    "query",
    "Remaining Amount",
    "Only open invoices with exactly this much left to pay, in the invoice's currency "
    "(an exact decimal, such as 2000.50).",
    {"$property": "amount"},
)
MIN_REMAINING_AMOUNT = Parameter(
    "minRemainingAmount",
    "query",
    "Remaining Amount At Least",
    "Only open invoices with at least this much left to pay (exact decimal).",
    {"$property": "amount"},
    visibility="advanced",
)
MAX_REMAINING_AMOUNT = Parameter(
    "maxRemainingAmount",
    "query",
    "Remaining Amount At Most",
    "Only open invoices with at most this much left to pay (exact decimal).",
    {"$property": "amount"},
    visibility="advanced",
)
TOLERANCE = Parameter(
    "tolerance",
    "query",
    "Amount Tolerance",
    "How far an invoice's remaining amount may be from the payment and still count as "
    f"close, in the same currency (exact decimal, default {DEFAULT_TOLERANCE}).",
    {"$property": "amount"},
    visibility="advanced",
)
SUGGESTION_TOP = Parameter(
    "top",
    "query",
    "Number of Suggestions",
    f"At most this many invoices, 1 to {MAX_SUGGESTIONS} (default {DEFAULT_SUGGESTIONS}).",
    {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_SUGGESTIONS,
        "default": DEFAULT_SUGGESTIONS,
    },
    visibility="advanced",
)
IDEMPOTENCY_KEY = Parameter(
    "Idempotency-Key",
    "header",
    "Idempotency Key",
    "1 to 255 printable ASCII characters: the same key and updates return the job already "
    "started instead of a second one; the same key with other updates is refused (422).",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    visibility="advanced",
    connector_description=(
        "Something unique to this run, such as the bank statement's number: if the action is "
        "retried, it finds the job it started instead of starting a second one. 1 to 255 "
        "printable ASCII characters; the same key with other updates is refused (422)."
    ),
)
VALIDATE_ONLY = Parameter(
    "validateOnly",
    "query",
    "Validate Only",
    "true: check every update, start nothing (200 with the count).",
    {"type": "boolean", "default": False},
    visibility="advanced",
)
JOB_ID = Parameter(
    "jobId",
    "path",
    "Job ID",
    "The job's id (from the start answer).",
    {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    required=True,
)
JOB_TOKEN = Parameter(
    "token",
    "query",
    "Status Token",
    "The job's token, as in the Location of the start answer.",
    {"type": "string", "minLength": 1},
    required=True,
    connector_description=(
        "The token at the end of the start's Status URL, after token=, such as "
        "last(split(body('Start_a_bulk_payment_update')?['statusUrl'], 'token=')). "
        "It is the job's only credential: keep it out of logs and messages."
    ),
)

# A finished bulk job's results.
ITEMS_TOP, ITEMS_SKIP = _paging("Results", MAX_PAGE, MAX_PAGE)

COMMON_HEADERS = (ACCEPT, ACCEPT_LANGUAGE, REQUEST_ID)
