"""The emulated Business Central API: URL routing, the entities' JSON and the
If-Match rules, on top of the data in :mod:`sandbox.store` and the payment
line's rules in :mod:`sandbox.payments`; OData shapes and query options are in
:mod:`sandbox.odata`, ``$batch`` in :mod:`sandbox.batch`.

Everything here is synchronous and never awaits, so each request (and each
whole $batch) runs as one atomic step on the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox import ledger, payments, store
from sandbox.batch import run_batch
from sandbox.calls import BcResult, Call, error_result, not_found
from sandbox.odata import MAX_PAGE_SIZE, collection, entity
from sandbox.store import BcError, Clock, Company, Data, Journal, Payment

MISSING_IF_MATCH = (
    "Could not validate the client concurrency token required by the service. "
    "Please provide a valid token in the client request."
)
ENTITY_CHANGED = "Another user has already changed the record."
_SEGMENT_RE = re.compile(r"^([A-Za-z$]+)(?:\((.*)\))?$")
_SYSTEM_VERSION = "27.0.38460.41017"


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
        self.page_size = MAX_PAGE_SIZE  # tests may lower it

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
        return run_batch(
            call,
            self.handle,
            snapshot=self.data.snapshot if snapshot else None,
            restore=self._set_data,
            stop_on_error=stop_on_error,
        )

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
            return collection(
                call,
                "companies",
                [(c.rowversion, self._company_json(c, call)) for c in companies],
                self.page_size,
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
            return entity(call, "companies", company.rowversion, self._company_json(company, call))
        second = routes[1]
        if second.entity_set == "customerPaymentJournals":
            return self._journals(call, company, routes[1:], prefix)
        if len(routes) > 2:
            raise not_found(
                f"No HTTP resource was found that matches the request URI '{call.path}'."
            )
        if second.entity_set == "customerPayments":
            return self._company_payments(call, company, second.key, prefix)
        if second.entity_set in ("customers", "salesInvoices", "currencies"):
            return ledger.serve(call, company, second.entity_set, second.key, self.page_size)
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
            return collection(
                call,
                f"{prefix}/customerPaymentJournals",
                [(j.rowversion, _journal_json(j)) for j in company.journals.values()],
                self.page_size,
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
            return entity(
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
            return collection(
                call,
                f"{prefix}/customerPayments",
                [(p.rowversion, payments.payment_json(p, journal, call.version)) for p in lines],
                self.page_size,
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
            return collection(
                call,
                f"{prefix}/customerPayments",
                [(p.rowversion, payments.payment_json(p, j, call.version)) for j, p in rows],
                self.page_size,
            )
        if call.version != "v2.0":
            raise not_found(
                f"No HTTP resource was found that matches the request URI '{call.path}'."
            )
        found = company.find_payment(payment_id)
        if found is None:
            raise _payment_not_found(payment_id)
        return self._payment(call, company, found[0], payment_id, f"{prefix}/customerPayments")

    # --- customerPayments ----------------------------------------------------------

    def _payment(
        self, call: Call, company: Company, journal: Journal, payment_id: str, context: str
    ) -> BcResult:
        self._allow(call, "customerPayments", {"GET", "PATCH", "DELETE"})
        changes: dict[str, Any] = {}
        if call.method == "PATCH":
            # OData binds the body to the entity type before the record is read.
            changes = payments.check_payment_body(_json_body(call), call.version)
        payment = journal.payments.get(payment_id)
        if payment is None:
            raise _payment_not_found(payment_id)
        if call.method == "GET":
            return entity(
                call,
                context,
                payment.rowversion,
                payments.payment_json(payment, journal, call.version),
            )
        _check_if_match(call, payment)
        if call.method == "DELETE":
            del journal.payments[payment.id]
            return BcResult(204)
        payments.apply_payment_changes(company, journal, payment, changes, self.clock)
        updated = journal.payments[payment.id]
        return entity(
            call, context, updated.rowversion, payments.payment_json(updated, journal, call.version)
        )

    def _create_payment(
        self, call: Call, company: Company, journal: Journal, context: str
    ) -> BcResult:
        changes = payments.check_payment_body(_json_body(call), call.version)
        blank = payments.new_payment(journal, self.clock)
        if "lineNumber" not in changes:
            changes["lineNumber"] = blank.line_number
        # Insert then modify, all or nothing like one BC transaction.
        saved = dict(journal.payments)
        journal.payments[blank.id] = blank
        try:
            payments.apply_payment_changes(company, journal, blank, changes, self.clock)
        except BcError:
            journal.payments.clear()
            journal.payments.update(saved)
            raise
        created = journal.payments[blank.id]
        result = entity(
            call, context, created.rowversion, payments.payment_json(created, journal, call.version)
        )
        result.status = 201
        location = call.context_base.split("$metadata#")[0] + f"{context}({created.id})"
        result.headers["location"] = location
        return result

    # --- entities' JSON ----------------------------------------------------------------

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


def _journal_json(journal: Journal) -> dict[str, Any]:
    return {
        "id": journal.id,
        "code": journal.code,
        "displayName": journal.display_name,
        "lastModifiedDateTime": store.format_datetime(journal.modified),
        "balancingAccountId": store.EMPTY_GUID,
        "balancingAccountNumber": "",
    }
