"""Every route the proxy serves, described once.

``shared.api.openapi`` (OpenAPI 3.1 at ``/api/openapi.json``) and the custom
connector generator (``scripts.connector``, Swagger 2.0) are both produced
from this table, so the two descriptions cannot drift apart. Field rules are
not restated here: parameters that filter by a payment property take that
property's schema from the payment models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.bulk.jobs import MAX_CLIENT_REF
from shared.lines.lists import DEFAULT_TOP, LINE_FILTERS, MAX_TOP
from shared.payment.fields import (
    API_VERSIONS,
    GUID_PATTERN,
    LINE_MODELS,
    PATCH_MODELS,
    ApiVersion,
    Guid,
)

Location = Literal["path", "query", "header"]
Visibility = Literal["important", "advanced", "internal"]
Auth = Literal["caller", "anonymous"]
# What a 200 carries: a model per kind (and API version), see response_model.
ResponseKind = Literal[
    "line",
    "lines",
    "companies",
    "journals",
    "validation",
    "health",
    "problems",
    "bulkAccepted",
    "bulkStatus",
    "bulkResult",
]
VERSION = "{apiVersion}"

# Statuses a route can answer with a problem (see docs/problems.md).
READ_PROBLEMS = (400, 401, 403, 404, 429, 500, 502, 503, 504)
WRITE_PROBLEMS = (*READ_PROBLEMS, 409, 412, 413, 415, 422, 428)
VALIDATE_PROBLEMS = (400, 401, 403, 404, 413, 415, 422, 428, 500)

# Marks a response property that may be null (Swagger 2.0's spelling; the
# OpenAPI 3.1 document turns it into a "null" type, see shared.api.openapi).
NULLABLE = "x-nullable"

IF_MATCH_PATTERN = r'^(\*|(W/)?"[\x21\x23-\x7e]*")$'


@dataclass(frozen=True)
class Lookup:
    """Where a connector dropdown gets its values: a list operation, the
    parameters passed on to it, and which properties are value and title."""

    operation_id: str
    parameters: tuple[str, ...] = ()
    value_path: str = "id"
    title_path: str = "displayName"
    # (the list's parameter, the caller's parameter that feeds it): a filter the
    # maker fills in beside the dropdown to reach values beyond the first page.
    filters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Parameter:
    name: str
    location: Location
    label: str
    description: str
    schema: dict[str, Any]
    required: bool = False
    visibility: Visibility | None = None
    lookup: Lookup | None = None
    # Only in the connector (OpenAPI 3.1 ignores an Accept header parameter).
    connector_only: bool = False
    # Makers read this instead of the description, where they need other words.
    connector_description: str | None = None
    # Optional when the deployment sets IF_MATCH_DEFAULT (OpenAPI only: the
    # connector always asks for the ETag).
    defaulted_by_setting: bool = False


@dataclass(frozen=True)
class Operation:
    """One method on one path (under ``/api``); ``{apiVersion}`` in the path
    means one operation per API version in OpenAPI."""

    operation_id: str
    method: Literal["GET", "PATCH", "POST"]
    path: str
    summary: str
    description: str
    parameters: tuple[Parameter, ...]
    response: ResponseKind
    response_description: str
    problems: tuple[int, ...]
    body: Literal["patch", "bulk"] | None = None
    auth: Auth = "caller"
    visibility: Visibility | None = None
    in_connector: bool = True
    pageable: bool = False
    etag_header: bool = False
    # The status of a success (a bulk start is accepted: 202).
    success_status: int = 200
    # Asynchronous work: what the 200 that polling Location ends with carries,
    # which is what a connector action outputs (the 202 carries ``response``).
    result: ResponseKind | None = None
    result_description: str = ""
    # Answers 202 with Location and Retry-After (and ``response``) while the work runs.
    running_answer: bool = False

    @property
    def versioned(self) -> bool:
        return VERSION in self.path

    def path_for(self, version: ApiVersion | None) -> str:
        return self.path.replace(VERSION, version) if version else self.path


# --- response models (documented, not validated: Business Central's data passes through) --


class Company(BaseModel):
    """A company the proxy may touch."""

    model_config = ConfigDict(title="Company")

    id: Guid = Field(description="Id of the company.")
    name: str = Field(description="Name of the company.")
    displayName: str = Field(description="Display name of the company.")


class CompanyList(BaseModel):
    model_config = ConfigDict(title="CompanyList")

    value: list[Company] = Field(description="The companies.")


class Journal(BaseModel):
    """A customer payment journal (batch)."""

    model_config = ConfigDict(title="CustomerPaymentJournal", extra="allow")

    id: Guid = Field(description="Id of the journal.")
    code: str = Field(description="Code of the journal.")
    displayName: str = Field(description="Display name of the journal.")


class JournalList(BaseModel):
    model_config = ConfigDict(title="CustomerPaymentJournalList")

    value: list[Journal] = Field(description="The customer payment journals.")


def _version_suffix(version: ApiVersion) -> str:
    return f"V{version[1]}"  # v2.0 -> V2


def _line_list(version: ApiVersion) -> type[BaseModel]:
    line: type[BaseModel] = create_model(
        f"PaymentLineListItem{_version_suffix(version)}",
        __base__=LINE_MODELS[version],
        title=(
            str,
            Field(
                description="Document number, customer number and amount, such as "
                "'G00001 · C00010 · 1234.56': how a picker names the line."
            ),
        ),
    )
    model: type[BaseModel] = create_model(
        f"PaymentLineList{_version_suffix(version)}",
        __config__=ConfigDict(title=f"CustomerPaymentList{_version_suffix(version)}"),
        value=(list[line], Field(description="The payment lines of this page.")),
        nextLink=(
            str | None,
            Field(
                default=None,
                description="Absolute URL of the next page; absent on the last page.",
                json_schema_extra={"format": "uri"},
            ),
        ),
    )
    return model


def _validation(version: ApiVersion) -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        f"ValidationResult{_version_suffix(version)}",
        __config__=ConfigDict(title=f"CustomerPaymentValidation{_version_suffix(version)}"),
        valid=(bool, Field(description="Always true: an invalid update is a problem instead.")),
        changes=(
            PATCH_MODELS[version],
            Field(description="The properties exactly as a PATCH would send them."),
        ),
    )
    return model


def response_model(kind: ResponseKind, version: ApiVersion | None) -> type[BaseModel] | None:
    """The model of an operation's 200 body (None for the untyped ones)."""
    if kind == "companies":
        return CompanyList
    if kind == "journals":
        return JournalList
    assert version is not None or kind in ("health", "problems", "bulkStatus", "bulkResult")
    if kind == "line" and version:
        return LINE_MODELS[version]
    if kind == "lines" and version:
        return LINE_LISTS[version]
    if kind == "validation" and version:
        return VALIDATIONS[version]
    if kind == "bulkAccepted":
        return BulkJobAccepted
    if kind == "bulkStatus":
        return BulkJobStatus
    if kind == "bulkResult":
        return BulkJobResult
    return None


# --- bulk jobs (validated by shared.bulk.jobs, with the very PATCH models) ---------


def _bulk_request(version: ApiVersion) -> type[BaseModel]:
    item: type[BaseModel] = create_model(
        f"BulkPaymentUpdate{_version_suffix(version)}",
        __config__=ConfigDict(title=f"BulkPaymentUpdate{_version_suffix(version)}", extra="forbid"),
        id=(Guid, Field(description="Id of the payment line.")),
        ifMatch=(
            str,
            Field(
                description='The line\'s ETag (W/"..."), or * to overwrite; required unless '
                "the deployment sets IF_MATCH_DEFAULT.",
                pattern=IF_MATCH_PATTERN,
                max_length=1024,
            ),
        ),
        changes=(
            PATCH_MODELS[version],
            Field(description="What a PATCH of this line would send, under the same rules."),
        ),
        clientRef=(
            str | None,
            Field(
                default=None,
                max_length=MAX_CLIENT_REF,
                description="Your reference for this update (a row number), echoed back.",
            ),
        ),
    )
    request: type[BaseModel] = create_model(
        f"BulkPaymentUpdates{_version_suffix(version)}",
        __config__=ConfigDict(
            title=f"BulkPaymentUpdates{_version_suffix(version)}", extra="forbid"
        ),
        updates=(
            list[item],
            Field(min_length=1, description="1 to BULK_MAX_ITEMS updates, each line once."),
        ),
    )
    return request


BULK_REQUESTS: dict[ApiVersion, type[BaseModel]] = {v: _bulk_request(v) for v in API_VERSIONS}


class BulkJobAccepted(BaseModel):
    """A bulk job was started (or found again by its Idempotency-Key)."""

    model_config = ConfigDict(title="BulkJobAccepted")

    jobId: str = Field(description="Id of the job.")
    status: Literal["Running", "Completed", "CompletedWithErrors", "Failed"] = Field(
        description="Running for a new job; a job found again by its Idempotency-Key "
        "shows its real status (its results are at statusUrl)."
    )
    statusUrl: str = Field(
        description="Where to poll, token included (also the Location header); no key needed.",
        json_schema_extra={"format": "uri"},
    )
    total: int = Field(description="How many updates the job holds.")


class BulkItemResult(BaseModel):
    """What became of one update: what the same PATCH would have answered alone."""

    model_config = ConfigDict(title="BulkItemResult")

    id: Guid
    clientRef: str | None = Field(
        default=None,
        description="Your reference, as sent; null when the update had none.",
        json_schema_extra={NULLABLE: True},
    )
    outcome: Literal["updated", "failed", "unknown"] = Field(
        description="updated: a 200; failed: the change is not in Business Central; "
        "unknown: a 504 or a 409 outcome-unknown (GET the line, or see problem.current)."
    )
    status: int = Field(description="The HTTP status the same update would get alone.")
    etag: str | None = Field(default=None, description="The line's new ETag, when updated.")
    line: dict[str, Any] | None = Field(default=None, description="The line, when updated.")
    problem: dict[str, Any] | None = Field(
        default=None, description="The problem a single PATCH would get, when not updated."
    )


class BulkCounts(BaseModel):
    """How many updates ended each way."""

    model_config = ConfigDict(title="BulkCounts")

    updated: int = Field(description="Updates Business Central made.")
    failed: int = Field(description="Updates that are not in Business Central.")
    unknown: int = Field(description="Updates whose outcome is not known: check those lines.")


class BulkJobStatus(BaseModel):
    """A bulk job: its progress while it runs (202), every item's result when done (200)."""

    model_config = ConfigDict(title="BulkJobStatus")

    jobId: str
    status: Literal["Running", "Completed", "CompletedWithErrors", "Failed"]
    total: int
    done: int | None = Field(default=None, description="Updates settled so far (while running).")
    counts: BulkCounts | None = Field(
        default=None, description="How many ended each way (when done)."
    )
    items: list[BulkItemResult] | None = Field(
        default=None, description="One per update, in request order (when done)."
    )


class BulkJobResult(BaseModel):
    """What a bulk start ends with once its Location answers 200: every item's
    result, or with validateOnly=true only that every update is valid."""

    model_config = ConfigDict(title="BulkJobResult")

    jobId: str | None = Field(default=None, description="Id of the job (not with validateOnly).")
    status: Literal["Completed", "CompletedWithErrors", "Failed"] | None = Field(
        default=None,
        description="Completed: every update made; CompletedWithErrors: some failed or are "
        "unknown; Failed: the job could not run (not with validateOnly).",
    )
    total: int = Field(description="How many updates the job holds.")
    counts: BulkCounts | None = Field(default=None, description="How many ended each way.")
    items: list[BulkItemResult] | None = Field(
        default=None, description="One per update, in request order."
    )
    valid: bool | None = Field(
        default=None, description="validateOnly=true only: every update passed; nothing started."
    )


LINE_LISTS = {v: _line_list(v) for v in API_VERSIONS}
VALIDATIONS = {v: _validation(v) for v in API_VERSIONS}


# --- parameters --------------------------------------------------------------------------

_GUID = {"type": "string", "format": "uuid", "pattern": GUID_PATTERN}

COMPANIES_LOOKUP = Lookup("listCompanies", value_path="id", title_path="displayName")
JOURNALS_LOOKUP = Lookup("listCustomerPaymentJournals", ("companyId",), title_path="code")
LINES_LOOKUP = Lookup(
    "findCustomerPayments",
    ("companyId", "journalId"),
    title_path="title",
    filters=(("documentNumber", "lineDocumentNumber"),),
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
    {"type": "string", "pattern": IF_MATCH_PATTERN, "maxLength": 1024},
    required=True,
    connector_description=(
        "The line's ETag: the etag output of reading or finding the line, such as "
        'W/"JzE5OzEyMzQ7MDA7Jw==". Or * to overwrite whatever is there now, which may '
        "lose someone else's change."
    ),
    defaulted_by_setting=True,
)
TOP = Parameter(
    "top",
    "query",
    "Page Size",
    f"Lines per page, 1 to {MAX_TOP} (default {DEFAULT_TOP}).",
    {"type": "integer", "minimum": 1, "maximum": MAX_TOP, "default": DEFAULT_TOP},
    visibility="advanced",
)
SKIP = Parameter(
    "skip",
    "query",
    "Skip",
    "Lines to skip before the page starts (0 or more).",
    {"type": "integer", "minimum": 0, "default": 0},
    visibility="advanced",
)
_FILTER_LABELS = {
    "documentNumber": "Document Number",
    "externalDocumentNumber": "External Document Number",
    "customerNumber": "Customer Number",
    "appliesToInvoiceNumber": "Applies-to Invoice Number",
}


def filter_parameter(name: str) -> Parameter:
    """An exact-match filter; its schema is taken from the property of the same name."""
    return Parameter(
        name,
        "query",
        _FILTER_LABELS[name],
        f"Only lines whose {name} is exactly this (compared as Business Central stores it).",
        {"$property": name},
        visibility="important" if name == "documentNumber" else None,
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

COMMON_HEADERS = (ACCEPT, ACCEPT_LANGUAGE, REQUEST_ID)
LINE_PATH = "/{apiVersion}/companies/{companyId}/customerPaymentJournals/{journalId}"
PAYMENT_PATH = LINE_PATH + "/customerPayments/{paymentId}"


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "getCustomerPayment",
        "GET",
        PAYMENT_PATH,
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
        PAYMENT_PATH,
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
    ),
    Operation(
        "validateCustomerPayment",
        "POST",
        PAYMENT_PATH + "/validate",
        "Check an update of a payment line without making it",
        "Runs every check the update makes before it would call Business Central, "
        "and calls nothing: the answer lists the changes as they would be sent.",
        (COMPANY_ID, JOURNAL_ID, PAYMENT_ID, LINE_DOCUMENT_NUMBER, IF_MATCH, *COMMON_HEADERS),
        "validation",
        "The update is valid",
        VALIDATE_PROBLEMS,
        body="patch",
        visibility="advanced",
    ),
    Operation(
        "listCompanies",
        "GET",
        "/{apiVersion}/companies",
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
        "/{apiVersion}/companies/{companyId}/customerPaymentJournals",
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
        LINE_PATH + "/customerPayments",
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
        "startBulkPaymentUpdate",
        "POST",
        LINE_PATH + "/bulkPaymentUpdates",
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
        "/bulkPaymentUpdates/{jobId}",
        "Get a bulk payment update's status",
        "202 with the progress while the job runs (poll again after Retry-After), 200 with "
        "every update's result when it is done. The token in the URL is the credential; "
        "an unknown job and a wrong token get the same 404.",
        (JOB_ID, JOB_TOKEN, ACCEPT),
        "bulkStatus",
        "The job is done: every update's result",
        (400, 404, 500, 502),
        auth="anonymous",
        visibility="advanced",
        running_answer=True,
    ),
    Operation(
        "problems",
        "GET",
        "/problems",
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
        "/health",
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
