"""The emulator's customers, sales invoices and currencies, and what Business
Central does when a payment line is applied to an invoice: the customer it
fills in, the currency the line takes, the rounding of its amount, and the
invoices and customers it refuses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.sandbox import RunningSandbox
from tests.support.sandbox_answers import bc_error, exact


def company_url(sandbox: RunningSandbox, version: str = "v2.0", company: int = 0) -> str:
    return f"{sandbox.api_url(version)}/companies({sandbox.seed['companies'][company]['id']})"


def values(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = exact(response)["value"]
    return items


def seeded(sandbox: RunningSandbox, kind: str, key: str, value: str) -> dict[str, Any]:
    return dict(next(x for x in sandbox.seed["companies"][0][kind] if x[key] == value))


def patch(
    client: httpx.Client, url: str, body: dict[str, Any], if_match: str = "*"
) -> httpx.Response:
    return client.patch(url, json=body, headers={"If-Match": if_match})


# --- the entities ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["v2.0", "v1.0"])
def test_customers_show_currency_blocked_state_and_balance_where_the_version_has_it(
    sandbox: RunningSandbox, client: httpx.Client, version: str
) -> None:
    customers = {
        c["number"]: c for c in values(client.get(f"{company_url(sandbox, version)}/customers"))
    }
    assert customers["60000"]["currencyCode"] == "JPY"
    # The local currency is shown by its code, never as an empty one.
    assert customers["10000"]["currencyCode"] == "USD"
    assert customers["10000"]["currencyId"] == "00000000-0000-0000-0000-000000000000"
    assert (customers["70000"]["blocked"], customers["80000"]["blocked"]) == ("All", "Invoice")
    assert customers["10000"]["blocked"] == " "
    if version == "v2.0":
        # 2000.50 + 500.00 open, 50000 yen (as the amounts are), nothing of the paid one.
        assert customers["10000"]["balanceDue"] == Decimal("52500.5")
        assert "address" not in customers["10000"]
    else:
        assert "balanceDue" not in customers["10000"]
        assert isinstance(customers["10000"]["address"], dict)


@pytest.mark.parametrize("version", ["v2.0", "v1.0"])
def test_invoices_show_exact_remaining_amounts_status_and_currency(
    sandbox: RunningSandbox, client: httpx.Client, version: str
) -> None:
    invoices = {
        i["number"]: i for i in values(client.get(f"{company_url(sandbox, version)}/salesInvoices"))
    }
    assert invoices["103009"]["remainingAmount"] == Decimal("500")
    assert invoices["103009"]["totalAmountIncludingTax"] == Decimal("1500")
    assert invoices["103010"]["remainingAmount"] == Decimal("1250.125")
    assert invoices["103004"]["status"] == "Paid"
    assert invoices["103004"]["remainingAmount"] == 0
    assert invoices["1001"]["status"] == "Draft"
    assert invoices["103006"]["currencyCode"] == "JPY"
    assert invoices["103001"]["currencyCode"] == "USD"
    assert invoices["103002"]["externalDocumentNumber"] == "PO-TR-7781"
    assert ("contactId" in invoices["103001"]) == (version == "v1.0")


def test_currencies_have_their_rounding_precision_and_the_local_one_has_no_row(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    for version in ("v2.0", "v1.0"):
        found = values(client.get(f"{company_url(sandbox, version)}/currencies"))
        by_code = {c["code"]: c for c in found}
        assert set(by_code) == {"EUR", "JPY", "KWD"}
        assert by_code["JPY"]["amountRoundingPrecision"] == 1
        assert by_code["JPY"]["amountDecimalPlaces"] == "0:0"
        assert by_code["KWD"]["amountRoundingPrecision"] == Decimal("0.001")


def test_filters_the_proxy_builds(sandbox: RunningSandbox, client: httpx.Client) -> None:
    base = company_url(sandbox)

    def numbers(entity_set: str, expression: str) -> list[str]:
        found = values(client.get(f"{base}/{entity_set}", params={"$filter": expression}))
        return [x["number"] for x in found]

    adatum = seeded(sandbox, "customers", "number", "10000")["id"]
    assert numbers("customers", "number eq '10000'") == ["10000"]
    assert numbers("customers", "contains(displayName,'Trad')") == ["60000", "80000"]
    assert numbers("customers", "contains(displayName,'trad')") == []
    assert numbers("customers", "startswith(displayName,'Tr')") == ["20000"]
    assert numbers("salesInvoices", f"status eq 'Open' and customerId eq {adatum}") == [
        "103001",
        "103009",
        "103011",
    ]
    assert numbers("salesInvoices", "status eq 'Open' and customerNumber eq '20000'") == [
        "103002",
        "103008",
    ]
    assert numbers("salesInvoices", "number eq '103004' or number eq '103005'") == [
        "103004",
        "103005",
    ]
    ranged = "totalAmountIncludingTax ge 2000 and totalAmountIncludingTax le 2000.5"
    assert numbers("salesInvoices", ranged) == ["103001", "103008"]
    assert numbers("salesInvoices", "externalDocumentNumber eq 'PO-TR-7781'") == ["103002"]


@pytest.mark.parametrize(
    ("entity_set", "expression"),
    [
        ("salesInvoices", "remainingAmount gt 0"),
        ("salesInvoices", "currencyCode eq 'JPY'"),
        ("customers", "currencyCode eq 'JPY'"),
    ],
)
def test_what_the_page_calculates_cannot_be_filtered(
    sandbox: RunningSandbox, client: httpx.Client, entity_set: str, expression: str
) -> None:
    response = client.get(f"{company_url(sandbox)}/{entity_set}", params={"$filter": expression})
    assert "calculated" in bc_error(response, 400, "BadRequest")


def test_invoices_expand_their_customer_and_currency(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    base = company_url(sandbox)
    found = values(
        client.get(
            f"{base}/salesInvoices",
            params={
                "$filter": "number eq '103006' or number eq '103001'",
                "$expand": "customer,currency",
            },
        )
    )
    by_number = {i["number"]: i for i in found}
    assert by_number["103006"]["customer"]["number"] == "60000"
    assert by_number["103006"]["currency"]["amountRoundingPrecision"] == 1
    # Local currency: no currency to expand.
    assert by_number["103001"]["currency"] is None
    one = seeded(sandbox, "invoices", "number", "103010")["id"]
    single = exact(client.get(f"{base}/salesInvoices({one})", params={"$expand": "currency"}))
    assert single["currency"]["code"] == "KWD"
    customer = values(
        client.get(
            f"{base}/customers", params={"$filter": "number eq '90000'", "$expand": "currency"}
        )
    )
    assert customer[0]["currency"]["code"] == "KWD"
    bc_error(client.get(f"{base}/salesInvoices", params={"$expand": "lines"}), 400, "BadRequest")


def test_ledger_entities_are_paged_and_read_only(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    base = company_url(sandbox)
    everything = [c["number"] for c in values(client.get(f"{base}/customers"))]
    page = [
        c["number"]
        for c in values(client.get(f"{base}/customers", params={"$top": "2", "$skip": "3"}))
    ]
    assert page == everything[3:5]
    bc_error(
        client.post(f"{base}/customers", json={"displayName": "x"}),
        405,
        "BadRequest_MethodNotAllowed",
    )
    missing = client.get(f"{base}/salesInvoices(12345678-1234-1234-1234-123456789abc)")
    bc_error(missing, 404, "BadRequest_NotFound")


def test_a_batch_of_filtered_reads_keeps_each_query(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    company = sandbox.seed["companies"][0]["id"]
    body = {
        "requests": [
            {
                "id": "a",
                "method": "GET",
                "url": f"companies({company})/salesInvoices"
                "?$filter=number%20eq%20'103006'&$expand=customer",
            },
            {"id": "b", "method": "GET", "url": f"companies({company})/customers?$top=1"},
        ]
    }
    response = client.post(f"{sandbox.api_url()}/$batch", json=body)
    assert response.status_code == 200, response.text
    answers = {r["id"]: r for r in exact(response)["responses"]}
    assert [i["number"] for i in answers["a"]["body"]["value"]] == ["103006"]
    assert answers["a"]["body"]["value"][0]["customer"]["number"] == "60000"
    assert len(answers["b"]["body"]["value"]) == 1


# --- applying a payment line -------------------------------------------------------------


def test_a_line_of_a_yen_customer_is_in_whole_yen(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    url = sandbox.payment_url(line=2)
    moved = patch(client, url, {"customerNumber": "60000"})
    assert moved.status_code == 200, moved.text
    # -845.25 becomes a yen amount: rounded half away from zero to whole units.
    assert exact(moved)["amount"] == -845
    assert exact(patch(client, url, {"amount": 1000.5}))["amount"] == 1001
    assert exact(patch(client, url, {"amount": -1000.5}))["amount"] == -1001
    assert exact(patch(client, url, {"amount": 1000.49}))["amount"] == 1000


def test_a_line_of_a_three_decimal_currency_keeps_three(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    url = sandbox.payment_url(line=2)
    patch(client, url, {"customerNumber": "90000"})
    assert exact(patch(client, url, {"amount": 12.3456}))["amount"] == Decimal("12.346")
    back = patch(client, url, {"customerNumber": "30000"})
    assert exact(back)["amount"] == Decimal("12.35")


def test_a_local_currency_line_rounds_to_cents(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    assert exact(patch(client, sandbox.payment_url(), {"amount": 10.005}))["amount"] == Decimal(
        "10.01"
    )


def test_a_line_without_an_amount_takes_the_invoice_currency(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    url = sandbox.payment_url()
    assert patch(client, url, {"amount": 0}).status_code == 200
    yen_invoice = seeded(sandbox, "invoices", "number", "103011")
    applied = patch(client, url, {"appliesToInvoiceId": yen_invoice["id"]})
    assert applied.status_code == 200, applied.text
    # Now a yen line: its amounts are whole yen.
    assert exact(patch(client, url, {"amount": 99.5}))["amount"] == 100


def test_a_line_with_an_amount_in_another_currency_cannot_be_applied(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    url = sandbox.payment_url()
    before = exact(client.get(url))
    yen_invoice = seeded(sandbox, "invoices", "number", "103011")
    refused = patch(client, url, {"appliesToInvoiceId": yen_invoice["id"]})
    assert "same currency" in bc_error(refused, 400, "Application_DialogException")
    assert exact(client.get(url)) == before


@pytest.mark.parametrize(("number", "words"), [("103004", "closed"), ("1001", "does not match")])
def test_paid_and_draft_invoices_cannot_be_applied(
    sandbox: RunningSandbox, client: httpx.Client, number: str, words: str
) -> None:
    invoice = seeded(sandbox, "invoices", "number", number)
    for body in ({"appliesToInvoiceId": invoice["id"]}, {"appliesToInvoiceNumber": number}):
        response = patch(client, sandbox.payment_url(), body)
        assert words in bc_error(response, 400, "Application_DialogException")


def test_a_customer_blocked_for_everything_cannot_be_paid(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    url = sandbox.payment_url()
    direct = patch(client, url, {"customerNumber": "70000"})
    assert "blocked with type All" in bc_error(direct, 400, "Application_DialogException")
    through_invoice = patch(client, url, {"appliesToInvoiceNumber": "103007"})
    bc_error(through_invoice, 400, "Application_DialogException")
    # Blocked for invoices only: a payment goes through.
    allowed = patch(client, url, {"appliesToInvoiceNumber": "103012"})
    assert exact(allowed)["customerNumber"] == "80000"


def test_applying_fills_the_number_and_the_customer(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    partly_paid = seeded(sandbox, "invoices", "number", "103009")
    body = exact(
        patch(client, sandbox.payment_url(line=1), {"appliesToInvoiceId": partly_paid["id"]})
    )
    assert body["appliesToInvoiceNumber"] == "103009"
    assert body["customerNumber"] == "10000"
