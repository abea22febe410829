"""The route table's parameters: the query parameters each operation documents are
exactly the ones its route takes, and a filter takes its label and its rule from the
payment property it stands for."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api.labels import property_label
from shared.api.parameters import IF_MATCH, filter_parameter
from shared.api.routes import operation
from shared.functions import bulk, lines
from shared.http.preconditions import MAX_IF_MATCH

ROUTES: dict[str, Any] = {  # each a CallerRoute or a PublicRoute
    "listCompanies": lines.handle_companies,
    "listCustomerPaymentJournals": lines.handle_journals,
    "findCustomerPayments": lines.handle_lines,
    "listCustomers": lines.handle_customers,
    "listOpenSalesInvoices": lines.handle_open_invoices,
    "suggestInvoices": lines.handle_suggestions,
    "startBulkPaymentUpdate": bulk.handle_bulk_start,
    "getBulkPaymentUpdateStatus": bulk.handle_bulk_status,
}


@pytest.mark.parametrize("operation_id", sorted(ROUTES))
def test_an_operation_documents_exactly_the_query_its_route_takes(operation_id: str) -> None:
    documented = {p.name for p in operation(operation_id).parameters if p.location == "query"}
    taken = ROUTES[operation_id].query
    assert taken is not None
    assert documented == set(taken)


@pytest.mark.parametrize("name", ["documentNumber", "customerNumber", "appliesToInvoiceNumber"])
def test_a_filter_is_labelled_and_ruled_by_its_property(name: str) -> None:
    parameter = filter_parameter(name)
    assert (parameter.name, parameter.location) == (name, "query")
    assert parameter.label == property_label(name)
    assert parameter.schema == {"$property": name}


def test_if_match_is_documented_with_the_proxys_own_limit() -> None:
    assert IF_MATCH.schema["maxLength"] == MAX_IF_MATCH
