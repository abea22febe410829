"""The shapes the route table is written in: an operation (one method on one
path), its parameters and their dropdowns, what its answers carry, and the
problem statuses each kind of route documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.http.preconditions import ENTITY_TAG
from shared.payment.fields import ApiVersion

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
    "customers",
    "invoices",
    "suggestions",
]


VERSION = "{apiVersion}"


# Statuses a route can answer with a problem (see docs/problems.md).
READ_PROBLEMS = (400, 401, 403, 404, 429, 500, 502, 503, 504)


WRITE_PROBLEMS = (*READ_PROBLEMS, 409, 412, 413, 415, 422, 428)


VALIDATE_PROBLEMS = (400, 401, 403, 404, 413, 415, 422, 428, 500)


# Marks a response property that may be null (Swagger 2.0's spelling; the
# OpenAPI 3.1 document turns it into a "null" type, see shared.api.openapi).
NULLABLE = "x-nullable"


# The If-Match rule's entity tag (shared.http.preconditions), or *.
IF_MATCH_PATTERN = rf"^(\*|{ENTITY_TAG})$"


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
    # (the list's parameter, a property of the same body): a dropdown inside a
    # body that narrows by what the maker chose above it (invoices of a customer).
    body_filters: tuple[tuple[str, str], ...] = ()


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
    # Dropdowns on properties of the body (connector only): property -> its lookup.
    body_lookups: tuple[tuple[str, Lookup], ...] = ()

    @property
    def versioned(self) -> bool:
        return VERSION in self.path

    def path_for(self, version: ApiVersion | None) -> str:
        return self.path.replace(VERSION, version) if version else self.path
