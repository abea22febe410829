"""Customer and open-invoice lookups over real sockets: local host ->
function_app -> the sandbox. Filters, paging, exact decimals, and what reached
Business Central (read back from the sandbox's request log)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared.api.lookup_schemas import lookup_models
from tests.support.proxy import Configure, Proxy, bc_requests, slug_of

pytestmark = pytest.mark.e2e


def company(proxy: Proxy, index: int = 0) -> dict[str, Any]:
    return dict(proxy.sandbox.seed["companies"][index])


def customers_url(proxy: Proxy, version: str = "v2.0", index: int = 0) -> str:
    return f"{proxy.url}/{version}/companies/{company(proxy, index)['id']}/customers"


def invoices_url(proxy: Proxy, version: str = "v2.0", index: int = 0) -> str:
    return f"{proxy.url}/{version}/companies/{company(proxy, index)['id']}/openSalesInvoices"


def body_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json(parse_float=Decimal)
    assert not [k for item in body["value"] for k in item if k.startswith("@odata")]
    # The answer is what the OpenAPI document says it is.
    kind = "customers" if response.url.path.endswith("/customers") else "invoices"
    lookup_models()[kind].model_validate(body)
    return body


def numbers(response: httpx.Response) -> list[str]:
    return [item["number"] for item in body_of(response)["value"]]


def upstream_filters(proxy: Proxy, entity_set: str) -> list[str]:
    return [
        parse_qs(r["query"]).get("$filter", [""])[0]
        for r in bc_requests(proxy.sandbox, "GET")
        if r["path"].endswith("/" + entity_set)
    ]


def customer_id(proxy: Proxy, number: str) -> str:
    return str(next(c["id"] for c in company(proxy)["customers"] if c["number"] == number))


# --- customers ----------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v2.0", "v1.0"])
def test_customers_are_listed_with_their_currency_blocked_state_and_a_title(
    proxy: Proxy, version: str
) -> None:
    items = body_of(proxy.http.get(customers_url(proxy, version)))["value"]
    by_number = {c["number"]: c for c in items}
    assert list(by_number) == [c["number"] for c in company(proxy)["customers"]]
    assert by_number["60000"]["currencyCode"] == "JPY"
    assert by_number["70000"]["blocked"] == "All"
    assert by_number["10000"]["title"] == "10000 · Adatum Corporation"
    assert ("balanceDue" in by_number["10000"]) == (version == "v2.0")


def test_a_customer_is_found_by_number_as_stored_or_by_part_of_the_name(proxy: Proxy) -> None:
    url = customers_url(proxy)
    assert numbers(proxy.http.get(url, params={"number": "10000"})) == ["10000"]
    assert numbers(proxy.http.get(url, params={"name": "Trad"})) == ["60000", "80000"]
    assert numbers(proxy.http.get(url, params={"name": "O'Brien"})) == []
    assert numbers(proxy.http.get(url, params={"name": "Trad", "number": "60000"})) == ["60000"]
    assert upstream_filters(proxy, "customers") == [
        "number eq '10000'",
        "contains(displayName,'Trad')",
        "contains(displayName,'O''Brien')",
        "number eq '60000' and contains(displayName,'Trad')",
    ]


def test_a_customer_number_compares_as_business_central_stores_it(proxy: Proxy) -> None:
    assert numbers(proxy.http.get(customers_url(proxy), params={"number": "c00010"})) == []
    assert upstream_filters(proxy, "customers") == ["number eq 'C00010'"]


def test_an_empty_filter_counts_as_not_given(proxy: Proxy) -> None:
    everything = numbers(proxy.http.get(customers_url(proxy)))
    assert numbers(proxy.http.get(customers_url(proxy), params={"number": "", "name": ""})) == (
        everything
    )


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"number": "X" * 21}, "number"),
        ({"name": "a\tb"}, "name"),
        ({"$filter": "number eq '1'"}, "$filter"),
        ({"top": "1001"}, "top"),
    ],
)
def test_bad_customer_queries_are_named_and_never_sent(
    proxy: Proxy, params: dict[str, str], named: str
) -> None:
    response = proxy.http.get(customers_url(proxy), params=params)
    assert response.status_code == 400
    assert slug_of(response) == "invalid-query-parameter"
    assert named in response.json()["detail"]
    assert bc_requests(proxy.sandbox) == []


def test_customers_page_by_next_link(proxy: Proxy) -> None:
    everything = numbers(proxy.http.get(customers_url(proxy)))
    seen: list[str] = []
    url: str | None = customers_url(proxy) + "?top=4"
    pages = 0
    while url:
        body = body_of(proxy.http.get(url))
        seen += [c["number"] for c in body["value"]]
        url = body.get("nextLink")
        pages += 1
    assert seen == everything
    assert pages == -(-len(everything) // 4)


def test_a_company_outside_the_allow_list_is_forbidden_before_business_central(
    proxy: Proxy, configure: Configure
) -> None:
    configure(ALLOWED_COMPANY_IDS=company(proxy, 1)["id"])
    for url in (customers_url(proxy), invoices_url(proxy)):
        response = proxy.http.get(url)
        assert response.status_code == 403
    assert bc_requests(proxy.sandbox) == []


# --- open invoices -------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v2.0", "v1.0"])
def test_only_open_invoices_are_listed_with_exact_remaining_amounts(
    proxy: Proxy, version: str
) -> None:
    items = body_of(proxy.http.get(invoices_url(proxy, version)))["value"]
    by_number = {i["number"]: i for i in items}
    assert "103004" not in by_number  # paid
    assert "1001" not in by_number  # draft
    assert by_number["103009"]["remainingAmount"] == Decimal("500")
    assert by_number["103010"]["remainingAmount"] == Decimal("1250.125")
    assert by_number["103006"]["currencyCode"] == "JPY"
    assert by_number["103001"]["title"] == "103001 · 2026-01-05 · 2000.5 USD"
    assert by_number["103010"]["title"] == "103010 · 2026-01-15 · 1250.125 KWD"
    assert upstream_filters(proxy, "salesInvoices") == ["status eq 'Open'"]


def test_open_invoices_of_one_customer_by_id_or_number(proxy: Proxy) -> None:
    url = invoices_url(proxy)
    adatum = customer_id(proxy, "10000")
    assert numbers(proxy.http.get(url, params={"customerId": adatum.upper()})) == [
        "103001",
        "103009",
        "103011",
    ]
    assert numbers(proxy.http.get(url, params={"customerNumber": "20000"})) == ["103002", "103008"]
    assert numbers(proxy.http.get(url, params={"number": "103005"})) == ["103005"]
    assert upstream_filters(proxy, "salesInvoices") == [
        f"status eq 'Open' and customerId eq {adatum}",
        "status eq 'Open' and customerNumber eq '20000'",
        "status eq 'Open' and number eq '103005'",
    ]


def test_open_invoices_by_remaining_amount_exactly(proxy: Proxy) -> None:
    url = invoices_url(proxy)
    # Two customers owe exactly 2000.50; 103009's total is 1500.00 but 500.00 remains.
    assert numbers(proxy.http.get(url, params={"remainingAmount": "2000.5"})) == [
        "103001",
        "103008",
    ]
    assert numbers(proxy.http.get(url, params={"remainingAmount": "500.00"})) == [
        "103007",
        "103009",
    ]
    assert numbers(proxy.http.get(url, params={"remainingAmount": "1250.125"})) == ["103010"]
    both = {"minRemainingAmount": "99.99", "maxRemainingAmount": "300"}
    assert numbers(proxy.http.get(url, params=both)) == ["103005", "103012"]
    # Business Central narrows by total (remaining is never more); the proxy by remaining.
    assert upstream_filters(proxy, "salesInvoices")[0] == (
        "status eq 'Open' and totalAmountIncludingTax ge 2000.5"
    )


def test_amount_filters_page_without_losing_an_invoice(proxy: Proxy) -> None:
    url: str | None = invoices_url(proxy) + "?maxRemainingAmount=2000.5&top=2"
    seen: list[str] = []
    while url:
        body = body_of(proxy.http.get(url))
        assert len(body["value"]) <= 2
        seen += [i["number"] for i in body["value"]]
        url = body.get("nextLink")
        if url:
            assert parse_qs(urlsplit(url).query)["maxRemainingAmount"] == ["2000.5"]
    # Amounts compare in each invoice's own currency (1250.125 KWD is in range).
    assert seen == [
        "103001",
        "103002",
        "103003",
        "103005",
        "103007",
        "103008",
        "103009",
        "103010",
        "103012",
    ]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"customerId": "not-a-guid"}, "customerId"),
        ({"remainingAmount": "12.3.4"}, "remainingAmount"),
        ({"minRemainingAmount": "1e999999999999"}, "minRemainingAmount"),
        ({"number": "1" * 21}, "number"),
        ({"status": "Paid"}, "status"),
    ],
)
def test_bad_invoice_queries_are_named_and_never_sent(
    proxy: Proxy, params: dict[str, str], named: str
) -> None:
    response = proxy.http.get(invoices_url(proxy), params=params)
    assert response.status_code == 400, response.text
    assert named in response.json()["detail"]
    assert bc_requests(proxy.sandbox) == []


def test_each_lookup_costs_one_business_central_request(proxy: Proxy) -> None:
    proxy.http.get(customers_url(proxy), params={"name": "a"})
    proxy.http.get(invoices_url(proxy), params={"remainingAmount": "2000.5"})
    assert len(bc_requests(proxy.sandbox)) == 2
