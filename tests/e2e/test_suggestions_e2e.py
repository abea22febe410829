"""Suggested invoices for a payment line, end to end: the ranking on the
seeded cases, the reasons, the tolerance, and the two Business Central
requests a suggestion costs at most."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.api.lookup_schemas import SuggestionList
from tests.support.proxy import Proxy, bc_requests, slug_of

pytestmark = pytest.mark.e2e


def suggestions_url(proxy: Proxy, line: int = 0, version: str = "v2.0") -> str:
    return proxy.payment_url(version, line=line) + "/suggestedInvoices"


def suggested(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json(parse_float=Decimal)
    SuggestionList.model_validate(body)  # the answer is what the OpenAPI document says
    items: list[dict[str, Any]] = body["value"]
    return items


def codes(item: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in item["reasons"]]


def new_line(proxy: Proxy, body: dict[str, Any]) -> str:
    """A line straight in the emulator; its proxy URL."""
    url = proxy.sandbox.payment_url().rsplit("(", 1)[0]
    response = httpx.post(url, json=body, headers=proxy.sandbox.auth_headers(), timeout=10)
    assert response.status_code == 201, response.text
    return proxy.payment_url().rsplit("/", 1)[0] + "/" + str(response.json()["id"])


@pytest.mark.parametrize("version", ["v2.0", "v1.0"])
def test_same_customer_and_amount_with_the_number_in_the_text_ranks_first(
    proxy: Proxy, version: str
) -> None:
    # Line 1 of the seed: customer 10000, 2000.50, "Payment for invoice 103001".
    items = suggested(proxy.http.get(suggestions_url(proxy, version=version)))
    assert [i["number"] for i in items] == ["103001", "103008", "103009", "103011"]
    first, second = items[0], items[1]
    assert codes(first) == ["same-customer-amount", "invoice-number-in-text"]
    assert "description" in first["reasons"][1]["message"]
    assert first["score"] > second["score"]
    # The other customer's invoice of the same amount: equal amount only.
    assert codes(second) == ["amount-equal"]
    assert second["customerNumber"] == "20000"
    assert second["remainingAmount"] == Decimal("2000.5")
    assert first["title"] == "103001 · 2026-01-05 · 2000.5 USD"
    # The yen invoice of the same customer is not compared by amount.
    assert codes(items[3]) == ["same-customer"]


def test_an_external_document_number_in_the_description_finds_the_invoice(proxy: Proxy) -> None:
    url = new_line(proxy, {"amount": 1250, "description": "Remittance po-tr-7781 thanks"})
    items = suggested(proxy.http.get(url + "/suggestedInvoices"))
    assert items[0]["number"] == "103002"
    assert codes(items[0]) == ["external-document-number-in-text", "amount-equal"]


def test_the_tolerance_is_stated_and_applied(proxy: Proxy) -> None:
    url = new_line(proxy, {"customerNumber": "10000", "amount": 2000, "description": "bank"})
    default = proxy.http.get(url + "/suggestedInvoices")
    assert default.json(parse_float=Decimal)["tolerance"] == 1
    items = suggested(default)
    assert [i["number"] for i in items][:2] == ["103001", "103008"]
    assert codes(items[0]) == ["amount-within-tolerance", "same-customer"]
    assert codes(items[1]) == ["amount-within-tolerance"]
    strict = suggested(proxy.http.get(url + "/suggestedInvoices", params={"tolerance": "0"}))
    assert all("amount-within-tolerance" not in codes(i) for i in strict)
    assert "103008" not in [i["number"] for i in strict]


def test_a_suggestion_costs_at_most_two_business_central_requests(proxy: Proxy) -> None:
    suggested(proxy.http.get(suggestions_url(proxy), params={"top": "2"}))
    sent = bc_requests(proxy.sandbox)
    assert len(sent) == 2
    assert sent[0]["method"] == "GET"
    assert sent[1]["path"].endswith("/$batch")


def test_top_limits_the_suggestions(proxy: Proxy) -> None:
    assert len(suggested(proxy.http.get(suggestions_url(proxy), params={"top": "1"}))) == 1


@pytest.mark.parametrize("params", [{"tolerance": "-1"}, {"tolerance": "x"}, {"top": "21"}])
def test_bad_suggestion_queries_are_refused_before_business_central(
    proxy: Proxy, params: dict[str, str]
) -> None:
    response = proxy.http.get(suggestions_url(proxy), params=params)
    assert response.status_code == 400
    assert slug_of(response) == "invalid-query-parameter"
    assert bc_requests(proxy.sandbox) == []


def test_an_unknown_line_is_not_found(proxy: Proxy) -> None:
    url = proxy.payment_url().rsplit("/", 1)[0] + "/12345678-1234-1234-1234-123456789abc"
    response = proxy.http.get(url + "/suggestedInvoices")
    assert response.status_code == 404
    assert slug_of(response) == "not-found"
