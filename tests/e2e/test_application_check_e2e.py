"""The application check, end to end: each of its problems in validate-only
and the PATCH, what it costs in Business Central requests (counted from the
sandbox's request log), a check that could not be made, and amounts in a
currency whose precision is not the local one."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.process.jsonio import dumps_exact
from tests.support.proxy import PATCH_RULE, Proxy, bc_requests, slug_of, stored_line

pytestmark = pytest.mark.e2e

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


def seed(proxy: Proxy) -> dict[str, Any]:
    return dict(proxy.sandbox.seed["companies"][0])


def invoice_id(proxy: Proxy, number: str) -> str:
    return str(next(i["id"] for i in seed(proxy)["invoices"] if i["number"] == number))


def validate(proxy: Proxy, body: dict[str, Any], line: int = 0) -> httpx.Response:
    return proxy.http.post(
        proxy.payment_url(line=line) + "/validate",
        content=dumps_exact(body),
        headers={"If-Match": "*", "Content-Type": "application/json"},
    )


def patch(proxy: Proxy, body: dict[str, Any], line: int = 0) -> httpx.Response:
    return proxy.patch(body, url=proxy.payment_url(line=line))


def kinds(proxy: Proxy) -> list[str]:
    """What reached Business Central: PATCH, GET, or the reads of a $batch."""
    out = []
    for request in bc_requests(proxy.sandbox):
        if request["path"].endswith("/$batch"):
            methods = {op["method"] for op in request["body"]["requests"]}
            out.append("batch of " + "/".join(sorted(methods)))
        else:
            out.append(request["method"])
    return out


# (update, line) -> the problem's slug and the property its error names.
CASES = [
    ({"appliesToInvoiceId": str(uuid.UUID(int=7))}, 0, "invoice-not-found", "appliesToInvoiceId"),
    ({"appliesToInvoiceNumber": "999999"}, 0, "invoice-not-found", "appliesToInvoiceNumber"),
    ({"appliesToInvoiceNumber": "1001"}, 2, "invoice-not-posted", "appliesToInvoiceNumber"),
    ({"appliesToInvoiceNumber": "103004"}, 0, "invoice-fully-paid", "appliesToInvoiceNumber"),
    # The line pays customer 10000; 103002 is customer 20000's.
    (
        {"appliesToInvoiceNumber": "103002"},
        0,
        "invoice-customer-mismatch",
        "appliesToInvoiceNumber",
    ),
    (
        {"customerNumber": "30000", "appliesToInvoiceNumber": "103001"},
        1,
        "invoice-customer-mismatch",
        "appliesToInvoiceNumber",
    ),
    # 103011 is in yen; customer 10000 pays in the local currency.
    (
        {"appliesToInvoiceNumber": "103011"},
        0,
        "invoice-currency-mismatch",
        "appliesToInvoiceNumber",
    ),
    ({"customerNumber": "70000"}, 2, "customer-blocked", "customerNumber"),
    # No customer sent: the line would pay the invoice's blocked customer.
    (
        {"customerId": EMPTY_GUID, "appliesToInvoiceNumber": "103007"},
        2,
        "customer-blocked",
        "appliesToInvoiceNumber",
    ),
    ({"customerNumber": "99999"}, 2, "customer-not-found", "customerNumber"),
]


@pytest.mark.parametrize(("body", "line", "slug", "field"), CASES)
def test_each_problem_in_validate_only_and_the_patch_alike(
    proxy: Proxy, body: dict[str, Any], line: int, slug: str, field: str
) -> None:
    before = stored_line(proxy.sandbox, line=line)
    checked = validate(proxy, body, line)
    assert (checked.status_code, slug_of(checked)) == (422, slug), checked.text
    assert checked.json()["errors"][0]["field"] == field
    patched = patch(proxy, body, line)
    assert (patched.status_code, slug_of(patched)) == (422, slug), patched.text
    for key in ("type", "title", "status", "detail", "errors"):
        assert checked.json()[key] == patched.json()[key]
    # One read each, and nothing written.
    assert kinds(proxy) == ["batch of GET", "batch of GET"]
    assert stored_line(proxy.sandbox, line=line) == before


def test_a_fitting_invoice_passes_and_the_answer_says_so(proxy: Proxy) -> None:
    body = {"appliesToInvoiceId": invoice_id(proxy, "103009")}
    checked = validate(proxy, body)
    assert checked.status_code == 200, checked.text
    assert checked.json()["applicationCheck"] == {"status": "passed", "currencyCode": "USD"}
    updated = patch(proxy, body)
    assert updated.status_code == 200, updated.text
    assert updated.headers["x-application-check"] == "passed"
    assert updated.json()["appliesToInvoiceNumber"] == "103009"
    # The PATCH cost one read more than an unchecked one, no more.
    assert kinds(proxy) == ["batch of GET", "batch of GET", "PATCH"]


def test_a_customer_blocked_for_invoices_only_can_be_paid(proxy: Proxy) -> None:
    updated = patch(proxy, {"customerNumber": "80000"}, line=2)
    assert updated.status_code == 200, updated.text
    assert updated.headers["x-application-check"] == "passed"


def test_an_update_touching_neither_costs_no_extra_request(proxy: Proxy) -> None:
    updated = patch(proxy, {"amount": Decimal("10.5"), "description": "plain"})
    assert updated.status_code == 200, updated.text
    assert "x-application-check" not in updated.headers
    assert kinds(proxy) == ["PATCH"]


def test_the_check_reads_the_invoice_with_its_customer_and_currency_in_one_request(
    proxy: Proxy,
) -> None:
    patch(proxy, {"appliesToInvoiceNumber": "103009"})
    [read] = [r for r in bc_requests(proxy.sandbox) if r["path"].endswith("/$batch")]
    urls = sorted(op["url"] for op in read["body"]["requests"])
    # The line (whose customer must pay the invoice), and the invoice.
    assert len(urls) == 2
    assert "/customerPayments?$filter=id" in urls[0]
    assert "/salesInvoices?" in urls[1]
    assert "customer%2Ccurrency" in urls[1]


def test_a_check_that_cannot_be_made_is_named_and_the_update_goes_ahead(proxy: Proxy) -> None:
    proxy.sandbox.add_faults(
        {
            "method": "POST",
            "path": "$batch",
            "times": 2,
            "status": 500,
            "code": "Internal_ServerError",
        }
    )
    body = {"appliesToInvoiceNumber": "103009"}
    checked = validate(proxy, body)
    assert checked.status_code == 200, checked.text
    check = checked.json()["applicationCheck"]
    assert check["status"] == "not-made"
    assert "could not be read" in check["reason"]
    updated = patch(proxy, body)
    assert updated.status_code == 200, updated.text
    assert updated.headers["x-application-check"].startswith("not-made; reason=")
    assert stored_line(proxy.sandbox)["appliesToInvoiceNumber"] == "103009"


def test_a_check_not_made_is_named_on_a_problem_too(proxy: Proxy) -> None:
    proxy.sandbox.add_faults(
        {
            "method": "POST",
            "path": "$batch",
            "times": 1,
            "status": 500,
            "code": "Internal_ServerError",
        }
    )
    # The check cannot read; Business Central then refuses the paid invoice itself.
    refused = patch(proxy, {"appliesToInvoiceNumber": "103004"})
    assert (refused.status_code, slug_of(refused)) == (422, "upstream-rejected")
    assert refused.headers["x-application-check"].startswith("not-made")


# --- amounts in another currency ---------------------------------------------------------


@pytest.fixture
def yen_line(proxy: Proxy) -> int:
    """The seed's third line, moved to customer 60000, whose payments are in yen."""
    response = httpx.patch(
        proxy.sandbox.payment_url(line=2),
        json={"customerNumber": "60000"},
        headers={**proxy.sandbox.auth_headers(), "If-Match": "*"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    proxy.sandbox.clear_requests()
    return 2


def test_more_decimals_than_the_currency_allows_is_refused_plainly_when_known(
    proxy: Proxy, yen_line: int
) -> None:
    body = {"customerNumber": "60000", "amount": Decimal("1000.5")}
    for answer in (validate(proxy, body, yen_line), patch(proxy, body, yen_line)):
        assert (answer.status_code, slug_of(answer)) == (422, "validation-failed"), answer.text
        [error] = answer.json()["errors"]
        assert (error["field"], error["code"]) == ("amount", "too_many_decimals")
        assert "JPY" in error["message"]
        assert "whole units" in error["message"]
        assert "1001" in error["message"]
    assert "PATCH" not in kinds(proxy)
    # Whole yen pass.
    assert patch(proxy, {"customerNumber": "60000", "amount": 1000}, yen_line).status_code == 200


def test_validate_only_knows_the_currency_of_an_amount_alone(proxy: Proxy, yen_line: int) -> None:
    answer = validate(proxy, {"amount": Decimal("1000.5")}, yen_line)
    assert (answer.status_code, slug_of(answer)) == (422, "validation-failed")
    fine = validate(proxy, {"amount": 1000}, yen_line)
    assert fine.json()["applicationCheck"] == {"status": "passed", "currencyCode": "JPY"}


def test_a_rounded_amount_after_a_lost_answer_is_held(proxy: Proxy, yen_line: int) -> None:
    """An amount alone is not checked (no read); Business Central rounds 1000.5
    to 1001 on a yen line; its answer lost, the read-back holds the update."""
    line = stored_line(proxy.sandbox, line=yen_line)
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "after"})
    answer = proxy.patch(
        {"amount": Decimal("1000.5")},
        if_match=str(line["@odata.etag"]),
        url=proxy.payment_url(line=yen_line),
    )
    # Before: 412 "does not hold your update". Now: the proxy cannot tell its own
    # write from someone else's, and says so with the line as it is.
    assert (answer.status_code, slug_of(answer)) == (409, "outcome-unknown"), answer.text
    assert answer.json(parse_float=Decimal)["current"]["amount"] == 1001


def test_a_rounded_amount_in_an_unreadable_success_is_the_update(
    proxy: Proxy, yen_line: int
) -> None:
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "corruptBody": True})
    answer = proxy.patch({"amount": Decimal("1000.5")}, url=proxy.payment_url(line=yen_line))
    assert answer.status_code == 200, answer.text
    assert answer.json(parse_float=Decimal)["amount"] == 1001


def test_a_known_currency_settles_exactly(proxy: Proxy, yen_line: int) -> None:
    """With the currency known from the check, a lost answer is judged at its
    precision: whole yen sent, whole yen held."""
    line = stored_line(proxy.sandbox, line=yen_line)
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "after"})
    answer = proxy.patch(
        {"customerNumber": "60000", "amount": 2000},
        if_match=str(line["@odata.etag"]),
        url=proxy.payment_url(line=yen_line),
    )
    assert (answer.status_code, slug_of(answer)) == (409, "outcome-unknown"), answer.text
    assert answer.json(parse_float=Decimal)["current"]["amount"] == 2000
