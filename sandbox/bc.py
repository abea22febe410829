"""The emulated Business Central API: URL routing, OData shapes, If-Match
rules and $batch, on top of the data and rules in :mod:`sandbox.store`.

$batch follows what is known of BC: operations run one after another, each
with its own If-Match, ETag and error; at most 100 of them; ``Isolation:
snapshot`` makes the batch one transaction. How a failing operation affects
the rest is reported two ways, so the caller picks one (``stop_on_error``):
carry on, or stop there unless ``Prefer: odata.continue-on-error`` was sent
(the operations after it get no response at all and are not run).

Everything here is synchronous and never awaits, so each request (and each
whole $batch) runs as one atomic step on the event loop.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from sandbox import store
from sandbox.store import BcError, Clock, Company, Data, Journal, Payment

MAX_BATCH_OPERATIONS = 100
ODATA_CONTENT_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true"
MISSING_IF_MATCH = (
    "Could not validate the client concurrency token required by the service. "
    "Please provide a valid token in the client request."
)
ENTITY_CHANGED = "Another user has already changed the record."
_SEGMENT_RE = re.compile(r"^([A-Za-z$]+)(?:\((.*)\))?$")
_SYSTEM_VERSION = "27.0.38460.41017"
# Business Central online's default maximum page size for API pages: longer
# answers end with @odata.nextLink (tests may lower it on the instance).
MAX_PAGE_SIZE = 20000
_FILTER_CLAUSE_RE = re.compile(
    r"\s*([A-Za-z][A-Za-z0-9]*)\s+eq\s+('(?:[^']|'')*'|-?[0-9]+(?:\.[0-9]+)?|true|false)\s*"
)
_FILTER_AND_RE = re.compile(r"and(?=\s)")
_COUNT_RE = re.compile(r"^[0-9]{1,10}$")


@dataclass
class BcResult:
    """One answer: status, JSON body (or None) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # How many $batch operations ran (the per-operation latency is paid for these).
    operations: int = 0


def error_body(code: str, message: str) -> dict[str, Any]:
    """BC's error envelope; every message ends with its correlation id."""
    return {"error": {"code": code, "message": f"{message}  CorrelationId:  {uuid.uuid4()}."}}


def error_result(err: BcError) -> BcResult:
    return BcResult(err.status, error_body(err.code, err.message), dict(err.headers))


def not_found(message: str, code: str = "BadRequest_NotFound") -> BcError:
    return BcError(404, code, message)


@dataclass
class Call:
    """One request to the API root ``.../api/{version}/``."""

    method: str
    version: str
    path: str
    headers: dict[str, str]
    load_body: Callable[[], Any]
    context_base: str
    # The raw (percent-encoded) query string: OData options for collections.
    query: str = ""

    @property
    def if_match(self) -> str | None:
        return self.headers.get("if-match")


@dataclass
class _Route:
    entity_set: str
    key: str | None


def _parse_path(path: str) -> list[_Route]:
    routes = []
    for segment in path.strip("/").split("/"):
        match = _SEGMENT_RE.match(segment)
        if not match:
            raise not_found(f"No HTTP resource was found that matches the request URI '{path}'.")
        key = match.group(2)
        if key is not None:
            key = key.strip()
            if key.lower().startswith("id="):
                key = key[3:]
            if not store.valid_guid(key):
                raise BcError(400, "BadRequest", "Bad Request - Error in query syntax.")
            key = key.lower()
        routes.append(_Route(match.group(1), key))
    return routes


class BusinessCentral:
    """The API over a :class:`Data` that the owner may swap (reset, rollback)."""

    def __init__(self, get_data: Callable[[], Data], set_data: Callable[[Data], None]) -> None:
        self._get_data = get_data
        self._set_data = set_data
        self.clock = Clock()
        self.page_size = MAX_PAGE_SIZE

    @property
    def data(self) -> Data:
        return self._get_data()

    # --- entry points ----------------------------------------------------------

    def handle(self, call: Call) -> BcResult:
        try:
            return self._dispatch(call)
        except BcError as err:
            return error_result(err)

    def batch(self, call: Call, *, snapshot: bool, stop_on_error: bool = False) -> BcResult:
        """JSON $batch; with ``snapshot`` the whole batch is one transaction.

        With ``stop_on_error`` the first failing operation ends the batch
        unless the request prefers ``odata.continue-on-error``.
        """
        try:
            requests = self._batch_requests(call)
        except BcError as err:
            return error_result(err)
        stop = stop_on_error and not continue_on_error(call.headers.get("prefer", ""))
        saved = self.data.snapshot() if snapshot else None
        responses: list[dict[str, Any]] = []
        failed: dict[str, Any] | None = None
        for index, raw in enumerate(requests):
            response = self._batch_one(call, raw, _operation_id(raw, index))
            responses.append(response)
            if response["status"] >= 400 and (saved is not None or stop):
                failed = response
                break
        ran = len(responses)
        if saved is not None and failed is not None:
            self._set_data(saved)
            # Nothing of a failed transaction took effect: every other
            # operation is reported as failed because of the one that failed
            # (when stopping, those after it get no response at all).
            answered = requests[:ran] if stop else requests
            responses = [
                failed if raw_id == failed["id"] else _dependency_failed(raw_id, failed["id"])
                for raw_id in (_operation_id(raw, index) for index, raw in enumerate(answered))
            ]
        return BcResult(200, {"responses": responses}, operations=ran)

    # --- $batch ------------------------------------------------------------------

    def _batch_requests(self, call: Call) -> list[dict[str, Any]]:
        body = call.load_body()
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
            raise BcError(400, "BadRequest", "Invalid Request Body")
        if len(requests) > MAX_BATCH_OPERATIONS:
            raise BcError(
                400,
                "BadRequest",
                f"A maximum number of '{MAX_BATCH_OPERATIONS}' query operations and change "
                "sets are allowed in a batch message.",
            )
        return requests

    def _batch_one(self, call: Call, raw: dict[str, Any], request_id: str) -> dict[str, Any]:
        method = raw.get("method")
        url = raw.get("url")
        headers = raw.get("headers") or {}
        if not isinstance(method, str) or not isinstance(url, str) or not isinstance(headers, dict):
            result = error_result(BcError(400, "BadRequest", "Invalid batch operation."))
        else:
            path = _batch_path(url, call.version)
            if path is None:
                result = error_result(
                    not_found(f"No HTTP resource was found that matches the request URI '{url}'.")
                )
            else:
                inner = Call(
                    method=method.upper(),
                    version=path[0],
                    path=path[1],
                    headers={str(k).lower(): str(v) for k, v in headers.items()},
                    load_body=lambda: _batch_body(raw),
                    context_base=call.context_base.replace(
                        f"/api/{call.version}/", f"/api/{path[0]}/"
                    ),
                )
                result = self.handle(inner)
        response_headers = {"odata-version": "4.0", **result.headers}
        if result.body is not None:
            response_headers["content-type"] = ODATA_CONTENT_TYPE
        response: dict[str, Any] = {
            "id": request_id,
            "status": result.status,
            "headers": response_headers,
        }
        if result.body is not None:
            response["body"] = result.body
        return response

    # --- routing -----------------------------------------------------------------

    def _dispatch(self, call: Call) -> BcResult:
        routes = _parse_path(call.path)
        first = routes[0]
        if first.entity_set == "$batch":
            raise BcError(400, "BadRequest", "A $batch request cannot be nested.")
        if first.entity_set != "companies" or len(routes) > 3:
            raise not_found(
                f"No HTTP resource was found that matches the request URI '{call.path}'."
            )
        if first.key is None:
            if len(routes) > 1:
                raise BcError(400, "BadRequest", "Bad Request - Error in query syntax.")
            self._allow(call, "companies", {"GET"})
            companies = list(self.data.companies.values())
            return self._collection(
                call, "companies", [(c.rowversion, self._company_json(c, call)) for c in companies]
            )
        company = self.data.companies.get(first.key)
        if company is None:
            raise not_found(
                f"Cannot process the request because the company with id '{first.key}' "
                "does not exist.",
                code="Internal_CompanyNotFound",
            )
        prefix = f"companies({company.id})"
        if len(routes) == 1:
            self._allow(call, "companies", {"GET"})
            return self._entity(
                call, "companies", company.rowversion, self._company_json(company, call)
            )
        second = routes[1]
        if second.entity_set == "customerPaymentJournals":
            return self._journals(call, company, routes[1:], prefix)
        if len(routes) > 2:
            raise not_found(
                f"No HTTP resource was found that matches the request URI '{call.path}'."
            )
        if second.entity_set == "customerPayments":
            return self._company_payments(call, company, second.key, prefix)
        if second.entity_set == "customers":
            return self._customers(call, company, second.key, prefix)
        if second.entity_set == "salesInvoices":
            return self._invoices(call, company, second.key, prefix)
        raise not_found(f"No HTTP resource was found that matches the request URI '{call.path}'.")

    def _allow(self, call: Call, entity_set: str, methods: set[str]) -> None:
        if call.method not in methods:
            raise BcError(
                405,
                "BadRequest_MethodNotAllowed",
                f"'{call.method}' requests for '{entity_set}' are not allowed within "
                "Dynamics 365 Business Central OData web services.",
            )

    def _journals(
        self, call: Call, company: Company, routes: list[_Route], prefix: str
    ) -> BcResult:
        journal_route = routes[0]
        if journal_route.key is None:
            if len(routes) > 1:
                raise BcError(400, "BadRequest", "Bad Request - Error in query syntax.")
            self._allow(call, "customerPaymentJournals", {"GET"})
            return self._collection(
                call,
                f"{prefix}/customerPaymentJournals",
                [(j.rowversion, _journal_json(j)) for j in company.journals.values()],
            )
        journal = company.journals.get(journal_route.key)
        if journal is None:
            raise not_found(
                "The customerPaymentJournal does not exist. Identification fields and values: "
                f"Id='{journal_route.key}'"
            )
        prefix = f"{prefix}/customerPaymentJournals({journal.id})"
        if len(routes) == 1:
            self._allow(call, "customerPaymentJournals", {"GET"})
            return self._entity(
                call,
                f"companies({company.id})/customerPaymentJournals",
                journal.rowversion,
                _journal_json(journal),
            )
        if routes[1].entity_set != "customerPayments":
            raise not_found(
                f"No HTTP resource was found that matches the request URI '{call.path}'."
            )
        payment_id = routes[1].key
        if payment_id is None:
            self._allow(call, "customerPayments", {"GET", "POST"})
            if call.method == "POST":
                return self._create_payment(call, company, journal, f"{prefix}/customerPayments")
            lines = sorted(journal.payments.values(), key=lambda p: p.line_number)
            return self._collection(
                call,
                f"{prefix}/customerPayments",
                [(p.rowversion, store.payment_json(p, journal, call.version)) for p in lines],
            )
        return self._payment(call, company, journal, payment_id, f"{prefix}/customerPayments")

    def _company_payments(
        self, call: Call, company: Company, payment_id: str | None, prefix: str
    ) -> BcResult:
        if payment_id is None:
            self._allow(call, "customerPayments", {"GET"})
            rows = sorted(
                ((j, p) for j in company.journals.values() for p in j.payments.values()),
                key=lambda jp: (jp[0].code, jp[1].line_number),
            )
            return self._collection(
                call,
                f"{prefix}/customerPayments",
                [(p.rowversion, store.payment_json(p, j, call.version)) for j, p in rows],
            )
        if call.version != "v2.0":
            raise not_found(
                f"No HTTP resource was found that matches the request URI '{call.path}'."
            )
        found = company.find_payment(payment_id)
        if found is None:
            raise _payment_not_found(payment_id)
        return self._payment(call, company, found[0], payment_id, f"{prefix}/customerPayments")

    def _customers(
        self, call: Call, company: Company, customer_id: str | None, prefix: str
    ) -> BcResult:
        self._allow(call, "customers", {"GET"})
        if customer_id is None:
            return self._collection(
                call,
                f"{prefix}/customers",
                [(c.rowversion, _customer_json(c)) for c in company.customers.values()],
            )
        customer = company.customers.get(customer_id)
        if customer is None:
            raise not_found(
                f"The customer does not exist. Identification fields and values: Id='{customer_id}'"
            )
        return self._entity(
            call, f"{prefix}/customers", customer.rowversion, _customer_json(customer)
        )

    def _invoices(
        self, call: Call, company: Company, invoice_id: str | None, prefix: str
    ) -> BcResult:
        self._allow(call, "salesInvoices", {"GET"})
        if invoice_id is None:
            return self._collection(
                call,
                f"{prefix}/salesInvoices",
                [(i.rowversion, _invoice_json(i, company)) for i in company.invoices.values()],
            )
        invoice = company.invoices.get(invoice_id)
        if invoice is None:
            raise not_found(
                "The salesInvoice does not exist. Identification fields and values: "
                f"Id='{invoice_id}'"
            )
        return self._entity(
            call, f"{prefix}/salesInvoices", invoice.rowversion, _invoice_json(invoice, company)
        )

    # --- customerPayments ----------------------------------------------------------

    def _payment(
        self, call: Call, company: Company, journal: Journal, payment_id: str, context: str
    ) -> BcResult:
        self._allow(call, "customerPayments", {"GET", "PATCH", "DELETE"})
        changes: dict[str, Any] = {}
        if call.method == "PATCH":
            # OData binds the body to the entity type before the record is read.
            changes = store.check_payment_body(_json_body(call), call.version)
        payment = journal.payments.get(payment_id)
        if payment is None:
            raise _payment_not_found(payment_id)
        if call.method == "GET":
            return self._entity(
                call,
                context,
                payment.rowversion,
                store.payment_json(payment, journal, call.version),
            )
        _check_if_match(call, payment)
        if call.method == "DELETE":
            del journal.payments[payment.id]
            return BcResult(204)
        store.apply_payment_changes(company, journal, payment, changes, self.clock)
        updated = journal.payments[payment.id]
        return self._entity(
            call, context, updated.rowversion, store.payment_json(updated, journal, call.version)
        )

    def _create_payment(
        self, call: Call, company: Company, journal: Journal, context: str
    ) -> BcResult:
        changes = store.check_payment_body(_json_body(call), call.version)
        blank = store.new_payment(journal, self.clock)
        if "lineNumber" not in changes:
            changes["lineNumber"] = blank.line_number
        # Insert then modify, all or nothing like one BC transaction.
        saved = dict(journal.payments)
        journal.payments[blank.id] = blank
        try:
            store.apply_payment_changes(company, journal, blank, changes, self.clock)
        except BcError:
            journal.payments.clear()
            journal.payments.update(saved)
            raise
        created = journal.payments[blank.id]
        result = self._entity(
            call, context, created.rowversion, store.payment_json(created, journal, call.version)
        )
        result.status = 201
        location = call.context_base.split("$metadata#")[0] + f"{context}({created.id})"
        result.headers["location"] = location
        return result

    # --- OData shapes ----------------------------------------------------------------

    def _entity(self, call: Call, context: str, rowversion: int, body: dict[str, Any]) -> BcResult:
        etag = store.make_etag(rowversion)
        return BcResult(
            200,
            {
                "@odata.context": f"{call.context_base}{context}/$entity",
                "@odata.etag": etag,
                **body,
            },
            {"etag": etag},
        )

    def _collection(
        self, call: Call, context: str, rows: list[tuple[int, dict[str, Any]]]
    ) -> BcResult:
        """A collection with the OData options BC applies: ``$filter`` (``eq``
        joined by ``and``), then ``$skip`` and ``$top``, then server-driven
        paging with ``@odata.nextLink``."""
        options = _query_options(call.query)
        clauses = _parse_filter(options.get("$filter", ""))
        skip = _count_option(options, "$skip")
        top = _count_option(options, "$top")
        entities = [{"@odata.etag": store.make_etag(rv), **row} for rv, row in rows]
        for name, literal in clauses:
            if entities and name not in entities[0]:
                raise BcError(
                    400, "BadRequest", f"Could not find a property named '{name}' on the type."
                )
            entities = [e for e in entities if _matches(e.get(name), literal)]
        entities = entities[skip or 0 :]
        if top is not None:
            entities = entities[:top]
        body: dict[str, Any] = {"@odata.context": f"{call.context_base}{context}"}
        if len(entities) > self.page_size:
            entities = entities[: self.page_size]
            following = dict(options)
            following["$skip"] = str((skip or 0) + self.page_size)
            if top is not None:
                following["$top"] = str(top - self.page_size)
            root = call.context_base.split("$metadata#")[0]
            body["@odata.nextLink"] = f"{root}{context}?" + urlencode(following, quote_via=quote)
        body["value"] = entities
        return BcResult(200, body)

    def _company_json(self, company: Company, call: Call) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": company.id,
            "systemVersion": _SYSTEM_VERSION,
            "name": company.name,
            "displayName": company.display_name,
            "businessProfileId": "",
        }
        if call.version == "v2.0":
            body["systemCreatedAt"] = "2025-11-03T08:00:00Z"
            body["systemCreatedBy"] = store.EMPTY_GUID
            body["systemModifiedAt"] = "2026-01-15T09:30:00Z"
            body["systemModifiedBy"] = store.EMPTY_GUID
        return body


def _query_options(query: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    except ValueError:
        raise BcError(400, "BadRequest", "Bad Request - Error in query syntax.") from None
    return dict(pairs)


def _count_option(options: dict[str, str], name: str) -> int | None:
    raw = options.get(name)
    if raw is None:
        return None
    if not _COUNT_RE.match(raw.strip()):
        raise BcError(400, "BadRequest", f"Invalid value '{raw}' for {name} query option found.")
    return int(raw.strip())


def _parse_filter(text: str) -> list[tuple[str, str]]:
    """``name eq literal`` clauses joined by ``and``; anything else is refused
    as BC refuses syntax it cannot parse (never silently widened)."""
    clauses: list[tuple[str, str]] = []
    position = 0
    if not text.strip():
        return clauses
    while True:
        match = _FILTER_CLAUSE_RE.match(text, position)
        if match is None:
            raise BcError(400, "BadRequest", "Invalid filter expression.")
        clauses.append((match.group(1), match.group(2)))
        position = match.end()
        if position == len(text):
            return clauses
        joiner = _FILTER_AND_RE.match(text, position)
        if joiner is None:
            raise BcError(400, "BadRequest", "Invalid filter expression.")
        position = joiner.end()


def _matches(value: Any, literal: str) -> bool:
    if literal.startswith("'"):
        return isinstance(value, str) and value == literal[1:-1].replace("''", "'")
    if literal in ("true", "false"):
        return value is (literal == "true")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return False
    return Decimal(value) == Decimal(literal)


def _check_if_match(call: Call, payment: Payment) -> None:
    if_match = call.if_match
    if if_match is None or not if_match.strip():
        raise BcError(400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
    try:
        rowversion = store.parse_if_match(if_match)
    except store.InvalidEtag:
        raise BcError(400, "BadRequest_InvalidToken", MISSING_IF_MATCH) from None
    if rowversion is not None and rowversion != payment.rowversion:
        raise BcError(409, "Request_EntityChanged", ENTITY_CHANGED)


def _json_body(call: Call) -> Any:
    return call.load_body()


def _payment_not_found(payment_id: str) -> BcError:
    return not_found(
        f"The customerPayment does not exist. Identification fields and values: Id='{payment_id}'"
    )


def _dependency_failed(request_id: str, failed_id: str) -> dict[str, Any]:
    return {
        "id": request_id,
        "status": 424,
        "headers": {"content-type": ODATA_CONTENT_TYPE, "odata-version": "4.0"},
        "body": error_body(
            "BadRequest",
            f"The batch was rolled back because operation '{failed_id}' failed.",
        ),
    }


def continue_on_error(prefer: str) -> bool:
    """Whether a Prefer header asks for continue-on-error (OData 4.0 and 4.01 spellings)."""
    for preference in prefer.split(","):
        name, _, value = preference.partition("=")
        if name.strip().lower() in ("odata.continue-on-error", "continue-on-error"):
            return value.strip().strip('"').lower() in ("", "true")
    return False


def _operation_id(raw: dict[str, Any], index: int) -> str:
    return str(raw.get("id", index + 1))


def _batch_path(url: str, default_version: str) -> tuple[str, str] | None:
    """(api version, path under the api root) of an inner request's url."""
    match = re.search(r"/api/(v1\.0|v2\.0)/(.*)$", url)
    if match:
        return match.group(1), match.group(2).split("?")[0]
    if url.startswith(("http://", "https://", "/")):
        return None
    return default_version, url.split("?")[0]


def _batch_body(raw: dict[str, Any]) -> Any:
    if "body" not in raw or raw["body"] is None:
        raise BcError(400, "BadRequest", "Invalid Request Body")
    return raw["body"]


def _journal_json(journal: Journal) -> dict[str, Any]:
    return {
        "id": journal.id,
        "code": journal.code,
        "displayName": journal.display_name,
        "lastModifiedDateTime": store.format_datetime(journal.modified),
        "balancingAccountId": store.EMPTY_GUID,
        "balancingAccountNumber": "",
    }


def _customer_json(customer: store.Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "number": customer.number,
        "displayName": customer.name,
        "type": "Company",
        "email": customer.email,
        "currencyCode": "",
        "blocked": " ",
        "lastModifiedDateTime": store.format_datetime(customer.modified),
    }


def _invoice_json(invoice: store.Invoice, company: Company) -> dict[str, Any]:
    customer = company.customers[invoice.customer_id]
    return {
        "id": invoice.id,
        "number": invoice.number,
        "externalDocumentNumber": "",
        "invoiceDate": invoice.invoice_date,
        "postingDate": invoice.invoice_date,
        "dueDate": invoice.due_date,
        "customerId": customer.id,
        "customerNumber": customer.number,
        "customerName": customer.name,
        "currencyCode": "USD",
        "totalAmountIncludingTax": invoice.amount_including_tax,
        "status": invoice.status,
        "lastModifiedDateTime": store.format_datetime(invoice.modified),
    }
