"""The response models the API documents, per API version: companies, journals
and pages of lines, validate-only's answer, the bulk request (built from the very
PATCH models) and a bulk job's answers. Documented, not validated: Business
Central's data passes through."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.api.lookup_schemas import lookup_models
from shared.api.spec import IF_MATCH_PATTERN, NULLABLE, ResponseKind
from shared.bulk.request import MAX_CLIENT_REF
from shared.http.preconditions import MAX_IF_MATCH
from shared.payment.fields import API_VERSIONS, ApiVersion, Guid
from shared.payment.models import LINE_MODELS, PATCH_MODELS


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


class ApplicationCheck(BaseModel):
    """The application check of an update that names a customer or an invoice."""

    model_config = ConfigDict(title="ApplicationCheck")

    status: Literal["passed", "failed", "not-made", "not-needed"] = Field(
        description="passed; failed (the problem says why); not-made (Business Central could "
        "not be read: the update went ahead unchecked); not-needed (nothing to check)."
    )
    reason: str | None = Field(default=None, description="Why the check was not made.")
    currencyCode: str | None = Field(
        default=None, description="The line's currency after the update, when the check knows it."
    )


class BulkChecks(BaseModel):
    """validateOnly: how many updates the application check read for."""

    model_config = ConfigDict(title="BulkApplicationChecks")

    checked: int = Field(description="Updates that name a customer or an invoice.")
    notMade: list[dict[str, Any]] = Field(
        description="Those whose check could not be made (index, status, reason)."
    )


def _validation(version: ApiVersion) -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        f"ValidationResult{_version_suffix(version)}",
        __config__=ConfigDict(title=f"CustomerPaymentValidation{_version_suffix(version)}"),
        valid=(bool, Field(description="Always true: an invalid update is a problem instead.")),
        changes=(
            PATCH_MODELS[version],
            Field(description="The properties exactly as a PATCH would send them."),
        ),
        applicationCheck=(
            ApplicationCheck,
            Field(description="What the application check did (not-needed: nothing to check)."),
        ),
    )
    return model


def response_model(kind: ResponseKind, version: ApiVersion | None) -> type[BaseModel] | None:
    """The model of an operation's 200 body (None for the untyped ones)."""
    if kind == "companies":
        return CompanyList
    if kind == "journals":
        return JournalList
    assert version is not None or kind in (
        "health",
        "problems",
        "bulkStatus",
        "bulkResult",
        "customers",
        "invoices",
        "suggestions",
    )
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
    return lookup_models().get(kind)


def bulk_request_model(version: ApiVersion) -> type[BaseModel]:
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
                max_length=MAX_IF_MATCH,
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
    applicationCheck: ApplicationCheck | None = Field(
        default=None,
        description="For an update that names a customer or an invoice: what its check did.",
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
        default=None,
        description="One per update, in request order, a page at a time (when done).",
    )
    nextLink: str | None = Field(
        default=None,
        description="Absolute URL of the next page of results; absent on the last page.",
        json_schema_extra={"format": "uri"},
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
        default=None, description="One per update, in request order (the first page)."
    )
    nextLink: str | None = Field(
        default=None,
        description="Absolute URL of the next page of results; absent on the last page.",
        json_schema_extra={"format": "uri"},
    )
    valid: bool | None = Field(
        default=None, description="validateOnly=true only: every update passed; nothing started."
    )
    applicationCheck: BulkChecks | None = Field(
        default=None,
        description="validateOnly=true only: the updates checked against Business Central.",
    )


LINE_LISTS = {v: _line_list(v) for v in API_VERSIONS}


VALIDATIONS = {v: _validation(v) for v in API_VERSIONS}
