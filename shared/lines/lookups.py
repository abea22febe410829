"""Lookups that help apply a payment: a company's customers (by number or part
of the name) and its open sales invoices (posted, something left to pay; by
customer, number or remaining amount), one page at a time, for dropdowns and
flows that must not hold a Business Central connection.

As for the line lists, the caller never writes OData: each query parameter
is checked with the rule of the payment property it stands for, and the
``$filter`` is written here (see ``shared.upstream.odata``). Business Central
cannot filter on an invoice's remaining amount (its API page works it out
for each record), so the proxy filters amounts itself, on the open invoices
Business Central sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from shared.http.admit import Admitted
from shared.http.messages import CoreResponse, json_response
from shared.http.parsing import whole_number_parameter
from shared.lines.lists import DEFAULT_TOP, MAX_TOP, PAGING, fetch_page, page_path
from shared.payment.fields import ApiVersion
from shared.payment.models import validate_update
from shared.payment.refs import CompanySetRef
from shared.process import paths
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.upstream import odata
from shared.upstream.client import BusinessCentralClient
from shared.upstream.entities import normalize_entity

# Query parameter -> the payment property whose rule checks its value.
CUSTOMER_FILTERS = {"number": "customerNumber", "name": "description"}
INVOICE_FILTERS = {
    "customerId": "customerId",
    "customerNumber": "customerNumber",
    "number": "appliesToInvoiceNumber",
}
AMOUNT_FILTERS = ("remainingAmount", "minRemainingAmount", "maxRemainingAmount")
# The query parameters each lookup takes.
CUSTOMER_QUERY = (*CUSTOMER_FILTERS, *PAGING)
INVOICE_QUERY = (*INVOICE_FILTERS, *AMOUNT_FILTERS, *PAGING)
# Decimals an amount filter may have: enough for any currency's precision.
AMOUNT_FILTER_DECIMALS = 6
# Open invoices read from Business Central for one page filtered by amount.
AMOUNT_SCAN = 1000


async def customers(
    admitted: Admitted, settings: Settings, bc: BusinessCentralClient
) -> CoreResponse:
    """A company's customers, by number (exact) or part of the name."""
    version, company = admitted.version, admitted.company_id
    assert company is not None
    values = query_values(version, admitted.request.query, CUSTOMER_FILTERS)
    clauses = []
    if "number" in values:
        clauses.append(f"number eq {odata.code_literal('customerNumber', values['number'])}")
    if "name" in values:
        clauses.append(f"contains(displayName,{odata.text_literal(values['name'])})")
    return await _page(
        settings, bc, admitted, company, "customers", paths.CUSTOMERS,
        filter_text=odata.all_of(*clauses), params=values, title=customer_title,
    )  # fmt: skip


async def open_invoices(
    admitted: Admitted, settings: Settings, bc: BusinessCentralClient
) -> CoreResponse:
    """A company's open sales invoices, by customer, number or remaining amount."""
    version, company = admitted.version, admitted.company_id
    assert company is not None
    values = query_values(version, admitted.request.query, INVOICE_FILTERS)
    amounts = amount_values(version, admitted.request.query)
    clauses = [odata.OPEN_INVOICES]
    if "customerId" in values:
        clauses.append(f"customerId eq {odata.guid_literal(values['customerId'])}")
    if "customerNumber" in values:
        literal = odata.code_literal("customerNumber", values["customerNumber"])
        clauses.append(f"customerNumber eq {literal}")
    if "number" in values:
        literal = odata.code_literal("appliesToInvoiceNumber", values["number"])
        clauses.append(f"number eq {literal}")
    low = amounts.get("remainingAmount", amounts.get("minRemainingAmount"))
    if low is not None and low > 0:
        # What remains is never more than the total: a filter Business Central can apply.
        clauses.append(f"totalAmountIncludingTax ge {odata.decimal_literal(low)}")
    keep = remaining_within(amounts) if amounts else None
    params = {**values, **{name: format(value, "f") for name, value in amounts.items()}}
    return await _page(
        settings, bc, admitted, company, "salesInvoices", paths.OPEN_INVOICES,
        filter_text=odata.all_of(*clauses), params=params, title=invoice_title, keep=keep,
    )  # fmt: skip


def query_values(
    version: ApiVersion, query: Mapping[str, str], rules: Mapping[str, str]
) -> dict[str, str]:
    """The filters asked for (an empty value counts as not given: a connector
    sends one for a dropdown nothing was chosen in), each checked with the rule
    of its payment property."""
    found: dict[str, str] = {}
    for name, prop in rules.items():
        value = query.get(name)
        if value:
            checked = _checked(version, name, prop, value)
            assert isinstance(checked, str)
            found[name] = checked
    return found


def amount_values(version: ApiVersion, query: Mapping[str, str]) -> dict[str, Decimal]:
    found = {name: decimal_value(version, query, name) for name in AMOUNT_FILTERS}
    return {name: value for name, value in found.items() if value is not None}


def decimal_value(version: ApiVersion, query: Mapping[str, str], name: str) -> Decimal | None:
    """An exact decimal query parameter, checked with the amount's rule; None if absent."""
    value = query.get(name)
    if not value:
        return None
    checked = _checked(version, name, "amount", value)
    assert isinstance(checked, Decimal)
    return checked


def _checked(version: ApiVersion, name: str, prop: str, value: str) -> Any:
    checked = validate_update(version, {prop: value}, amount_decimals=AMOUNT_FILTER_DECIMALS)
    if isinstance(checked, list):
        message = checked[0].message.replace(prop, name, 1)
        raise Problem("invalid-query-parameter", f"The query parameter {message}.")
    return checked[prop]


def remaining_within(amounts: Mapping[str, Decimal]) -> Callable[[Mapping[str, Any]], bool]:
    """Whether an invoice's remaining amount is the one asked for, or within the bounds."""

    def keep(invoice: Mapping[str, Any]) -> bool:
        remaining = invoice.get("remainingAmount")
        if isinstance(remaining, bool) or not isinstance(remaining, int | Decimal):
            return False
        value = Decimal(remaining)
        exact = amounts.get("remainingAmount")
        low, high = amounts.get("minRemainingAmount"), amounts.get("maxRemainingAmount")
        return (
            (exact is None or value == exact)
            and (low is None or value >= low)
            and (high is None or value <= high)
        )

    return keep


def customer_title(customer: Mapping[str, Any]) -> str:
    """How a picker names a customer: number and name."""
    return _joined(customer.get("number"), customer.get("displayName"))


def invoice_title(invoice: Mapping[str, Any]) -> str:
    """How a picker names an invoice: number, invoice date, and the remaining
    amount with Business Central's digits and its currency."""
    remaining = invoice.get("remainingAmount")
    amount = format(remaining, "f") if isinstance(remaining, Decimal) else remaining
    money = _joined(amount, invoice.get("currencyCode"), separator=" ")
    return _joined(invoice.get("number"), invoice.get("invoiceDate"), money)


def _joined(*parts: Any, separator: str = " · ") -> str:
    return separator.join(str(part) for part in parts if part not in (None, ""))


def page_of(
    items: Sequence[dict[str, Any]], top: int, keep: Callable[[Mapping[str, Any]], bool] | None
) -> tuple[list[dict[str, Any]], int]:
    """Up to ``top`` of ``items`` that ``keep`` lets through, and how many items
    were passed over to find them (where the next page starts)."""
    page: list[dict[str, Any]] = []
    consumed = 0
    for item in items:
        if len(page) == top:
            break
        consumed += 1
        if keep is None or keep(item):
            page.append(item)
    return page, consumed


async def _page(
    settings: Settings,
    bc: BusinessCentralClient,
    admitted: Admitted,
    company: str,
    entity_set: Any,
    route: str,
    *,
    filter_text: str,
    params: Mapping[str, str],
    title: Callable[[Mapping[str, Any]], str],
    keep: Callable[[Mapping[str, Any]], bool] | None = None,
) -> CoreResponse:
    top = whole_number_parameter(admitted.request.query, "top", DEFAULT_TOP, 1, MAX_TOP)
    skip = whole_number_parameter(admitted.request.query, "skip", 0, 0)
    # One more than asked for says whether another page exists; a filter the
    # proxy applies itself reads further.
    wanted = max(top + 1, AMOUNT_SCAN + 1) if keep is not None else top + 1
    options: list[tuple[str, str]] = [("$top", str(wanted))]
    if filter_text:
        options.insert(0, ("$filter", filter_text))
    if skip:
        options.append(("$skip", str(skip)))
    version = admitted.version
    ref = CompanySetRef(version, company, entity_set, tuple(options))
    items, more = await fetch_page(settings, bc, bc.company_set_url(ref), admitted)
    # The last item asked for only says whether there are more.
    scanned = items[: wanted - 1]
    more = more or len(items) > len(scanned)
    page, consumed = page_of(scanned, top, keep)
    entities = [normalize_entity(item)[0] for item in page]
    body: dict[str, Any] = {"value": [{**entity, "title": title(entity)} for entity in entities]}
    if consumed and (more or consumed < len(scanned)):
        link = page_path(route, version, {"companyId": company}, params, top, skip + consumed)
        body["nextLink"] = settings.public_base_url + link
    return json_response(200, body, admitted.request_id)
