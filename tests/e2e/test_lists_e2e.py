"""Lists, lookups and validate-only over real sockets: local host ->
function_app -> real ManagedIdentityCredential + httpx -> the sandbox. What
reached Business Central is read back from the sandbox's request log."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.lists import found, lines_url, upstream_filters
from tests.support.proxy import Configure, Proxy, bc_requests, problem, stored_line

pytestmark = pytest.mark.e2e


def companies_url(proxy: Proxy, version: str = "v2.0") -> str:
    return f"{proxy.url}/{version}/companies"


def journals_url(proxy: Proxy, company: int = 0) -> str:
    company_id = proxy.sandbox.seed["companies"][company]["id"]
    return f"{companies_url(proxy)}/{company_id}/customerPaymentJournals"


def add_lines(proxy: Proxy, count: int, company: int = 0) -> list[str]:
    """New lines straight in the emulator (POST, as Business Central allows)."""
    url = proxy.sandbox.payment_url(company=company).rsplit("(", 1)[0]
    customer = proxy.sandbox.seed["companies"][company]["customers"][0]["number"]
    ids = []
    for n in range(count):
        response = httpx.post(
            url,
            json={"customerNumber": customer, "documentNumber": f"X{n:05}", "amount": n + 1},
            headers=proxy.sandbox.auth_headers(),
            timeout=10,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


# --- companies and journals ---------------------------------------------------------


def test_companies_are_listed_with_id_name_and_display_name(proxy: Proxy) -> None:
    items = found(proxy.http.get(companies_url(proxy)))
    assert [c["id"] for c in items] == [c["id"] for c in proxy.sandbox.seed["companies"]]
    assert all(set(c) == {"id", "name", "displayName"} for c in items)
    assert [c["name"] for c in items] == [c["name"] for c in proxy.sandbox.seed["companies"]]


def test_companies_outside_the_allow_list_are_not_listed(
    proxy: Proxy, configure: Configure
) -> None:
    second = proxy.sandbox.seed["companies"][1]["id"]
    configure(ALLOWED_COMPANY_IDS=second.upper())
    assert [c["id"] for c in found(proxy.http.get(companies_url(proxy, "v1.0")))] == [second]


def test_journals_of_a_company_are_listed(proxy: Proxy) -> None:
    items = found(proxy.http.get(journals_url(proxy)))
    seeded = proxy.sandbox.seed["companies"][0]["journals"]
    assert [(j["id"], j["code"]) for j in items] == [(j["id"], j["code"]) for j in seeded]
    assert all("displayName" in j for j in items)


def test_journal_allow_list_filters_and_company_allow_list_forbids(
    proxy: Proxy, configure: Configure
) -> None:
    company = proxy.sandbox.seed["companies"][0]
    journal = company["journals"][0]["id"]
    configure(ALLOWED_JOURNAL_IDS=journal)
    assert [j["id"] for j in found(proxy.http.get(journals_url(proxy)))] == [journal]
    configure(ALLOWED_COMPANY_IDS=proxy.sandbox.seed["companies"][1]["id"])
    proxy.sandbox.reset()
    problem(proxy.http.get(journals_url(proxy)), 403, "forbidden")
    problem(proxy.http.get(lines_url(proxy)), 403, "forbidden")
    assert bc_requests(proxy.sandbox) == []


def test_unknown_company_is_not_found_and_bad_ids_never_go_upstream(proxy: Proxy) -> None:
    unknown = journals_url(proxy).replace(
        proxy.sandbox.seed["companies"][0]["id"], "00000000-0000-0000-0000-0000000000aa"
    )
    body = problem(proxy.http.get(unknown), 404, "not-found")
    assert body["upstream"]["code"] == "Internal_CompanyNotFound"
    proxy.sandbox.reset()
    bad = lines_url(proxy).replace(proxy.line()["journal"], "journal'%20or%201")
    assert "journalId" in problem(proxy.http.get(bad), 400, "invalid-path-parameter")["detail"]
    assert bc_requests(proxy.sandbox) == []


# --- lines: filters ------------------------------------------------------------------


def test_lines_are_normalized_with_their_etags(proxy: Proxy) -> None:
    items = found(proxy.http.get(lines_url(proxy)))
    seeded = proxy.sandbox.seed["companies"][0]["journals"][0]["payments"]
    assert [line["id"] for line in items] == [p["id"] for p in seeded]
    for n, line in enumerate(items):
        stored = stored_line(proxy.sandbox, line=n)
        assert line["etag"] == stored["@odata.etag"]
        assert line["amount"] == stored["amount"]
    assert "nextLink" not in proxy.http.get(lines_url(proxy)).json()


def test_document_number_filter_is_exact_and_compares_as_stored(proxy: Proxy) -> None:
    target = stored_line(proxy.sandbox, line=1)
    number = target["documentNumber"]
    for sent in (number, number.lower()):
        items = found(proxy.http.get(lines_url(proxy), params={"documentNumber": sent}))
        assert [line["id"] for line in items] == [target["id"]]
    # A prefix is not a match: eq, never contains or startswith.
    assert found(proxy.http.get(lines_url(proxy), params={"documentNumber": number[:-1]})) == []
    assert upstream_filters(proxy)[0] == f"documentNumber eq '{number}'"


def test_filters_combine_with_and(proxy: Proxy) -> None:
    target = stored_line(proxy.sandbox, line=1)
    both = {
        "documentNumber": target["documentNumber"],
        "customerNumber": target["customerNumber"],
        "externalDocumentNumber": target["externalDocumentNumber"],
        "appliesToInvoiceNumber": target["appliesToInvoiceNumber"],
    }
    assert [x["id"] for x in found(proxy.http.get(lines_url(proxy), params=both))] == [target["id"]]
    wrong_customer = {**both, "customerNumber": stored_line(proxy.sandbox)["customerNumber"]}
    assert found(proxy.http.get(lines_url(proxy), params=wrong_customer)) == []
    assert " and " in upstream_filters(proxy)[0]


def test_a_quote_in_a_value_is_doubled_and_finds_the_line(proxy: Proxy) -> None:
    etag = proxy.get().headers["etag"]
    assert proxy.patch({"documentNumber": "O'Brien-7"}, if_match=etag).status_code == 200
    since = len(bc_requests(proxy.sandbox, "GET"))
    items = found(proxy.http.get(lines_url(proxy), params={"documentNumber": "O'Brien-7"}))
    assert [(x["id"], x["documentNumber"]) for x in items] == [
        (proxy.line()["payment"], "O'BRIEN-7")
    ]
    assert upstream_filters(proxy, since) == ["documentNumber eq 'O''BRIEN-7'"]


@pytest.mark.parametrize(
    "attack",
    [
        "X' or 1 eq 1",
        "' or lineNumber gt 0",
        "G00001' or 'a' eq 'a",
        "x') or (true",
    ],
)
def test_an_injection_attempt_does_not_widen_the_result(proxy: Proxy, attack: str) -> None:
    items = found(proxy.http.get(lines_url(proxy), params={"documentNumber": attack}))
    assert items == []
    literal = attack.upper().replace("'", "''")
    assert upstream_filters(proxy) == [f"documentNumber eq '{literal}'"]


# --- lines: paging ----------------------------------------------------------------------


def follow(proxy: Proxy, url: str, **params: str) -> tuple[list[str], list[str]]:
    """Every line id over all pages, and every nextLink followed."""
    ids: list[str] = []
    links: list[str] = []
    response = proxy.http.get(url, params=params)
    while True:
        body = response.json()
        assert response.status_code == 200, response.text
        ids += [line["id"] for line in body["value"]]
        link = body.get("nextLink")
        if link is None:
            return ids, links
        links.append(link)
        assert len(links) < 50
        response = proxy.http.get(link)


def test_top_skip_and_next_link_page_through_every_line(proxy: Proxy) -> None:
    seeded = [p["id"] for p in proxy.sandbox.seed["companies"][0]["journals"][0]["payments"]]
    everything = seeded + add_lines(proxy, 5)
    ids, links = follow(proxy, lines_url(proxy), top="3")
    assert ids == everything
    assert len(links) == 2
    assert all(link.startswith(f"{proxy.url}/v2.0/companies/") for link in links)
    assert parse_qs(urlsplit(links[-1]).query) == {"top": ["3"], "skip": ["6"]}
    skipped = found(proxy.http.get(lines_url(proxy), params={"top": "2", "skip": "7"}))
    assert [x["id"] for x in skipped] == everything[7:]
    assert found(proxy.http.get(lines_url(proxy), params={"skip": "100"})) == []
    upstream = [parse_qs(q) for q in (r["query"] for r in bc_requests(proxy.sandbox, "GET"))]
    assert {"$top": ["4"]} in upstream  # one more than asked: is there a next page?


def test_next_link_keeps_the_filters(proxy: Proxy) -> None:
    add_lines(proxy, 3)
    customer = proxy.sandbox.seed["companies"][0]["customers"][0]["number"]
    mine = [
        x["id"]
        for x in found(proxy.http.get(lines_url(proxy), params={"customerNumber": customer}))
    ]
    ids, links = follow(proxy, lines_url(proxy), customerNumber=customer, top="1")
    assert ids == mine
    assert len(mine) >= 4
    assert all(parse_qs(urlsplit(link).query)["customerNumber"] == [customer] for link in links)


def test_next_link_is_never_built_from_the_host_header(proxy: Proxy) -> None:
    response = proxy.http.get(
        lines_url(proxy), params={"top": "1"}, headers={"Host": "attacker.example"}
    )
    assert response.json()["nextLink"].startswith(f"{proxy.url}/")


@pytest.fixture
def small_upstream_pages(proxy: Proxy) -> Iterator[None]:
    emulator = proxy.sandbox.app.state.sandbox.bc
    emulator.page_size = 2
    yield
    emulator.page_size = 20000


def test_business_centrals_own_paging_is_followed_page_by_page(
    proxy: Proxy, small_upstream_pages: None
) -> None:
    everything = [
        p["id"] for p in proxy.sandbox.seed["companies"][0]["journals"][0]["payments"]
    ] + add_lines(proxy, 3)
    first = proxy.http.get(lines_url(proxy), params={"top": "5"}).json()
    assert len(first["value"]) == 2  # Business Central's page, not more
    ids, _ = follow(proxy, lines_url(proxy), top="5")
    assert ids == everything


# --- lines: invalid queries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"$filter": "documentNumber eq 'G00001'"}, "$filter"),
        ({"$top": "1"}, "$top"),
        ({"documentnumber": "G00001"}, "documentnumber"),
        ({"amount": "1"}, "amount"),
        ({"top": "0"}, "top"),
        ({"top": "1001"}, "top"),
        ({"top": "ten"}, "top"),
        ({"skip": "-1"}, "skip"),
        ({"skip": "1.5"}, "skip"),
        ({"documentNumber": "D" * 21}, "documentNumber"),
        ({"externalDocumentNumber": "E" * 36}, "externalDocumentNumber"),
        ({"customerNumber": ""}, "customerNumber"),
        ({"appliesToInvoiceNumber": "a\nb"}, "appliesToInvoiceNumber"),
    ],
)
def test_invalid_query_parameters_are_named_and_never_sent(
    proxy: Proxy, params: dict[str, str], named: str
) -> None:
    body = problem(proxy.http.get(lines_url(proxy), params=params), 400, "invalid-query-parameter")
    assert named in body["detail"]
    assert bc_requests(proxy.sandbox) == []


def test_the_function_key_parameter_is_accepted_on_every_list(proxy: Proxy) -> None:
    for url in (companies_url(proxy), journals_url(proxy), lines_url(proxy)):
        assert proxy.http.get(url, params={"code": "not-checked-locally"}).status_code == 200
    for url in (companies_url(proxy), journals_url(proxy)):
        body = problem(proxy.http.get(url, params={"top": "1"}), 400, "invalid-query-parameter")
        assert '"top"' in body["detail"]


def test_lists_answer_problems_as_plain_json_when_asked(proxy: Proxy) -> None:
    response = proxy.http.get(
        lines_url(proxy), params={"top": "0"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")


# --- validate only -------------------------------------------------------------------


def validate(proxy: Proxy, body: Any, **headers: str) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    content = body if isinstance(body, bytes) else _json(body)
    return proxy.http.post(proxy.payment_url() + "/validate", content=content, headers=sent)


def _json(value: Any) -> bytes:
    from shared.process.jsonio import dumps_exact

    return dumps_exact(value)


def test_validate_answers_the_changes_and_nothing_reaches_business_central(
    proxy: Proxy, configure: Configure
) -> None:
    # Neither an amount nor a customer or invoice: nothing to check against
    # Business Central (an amount is held to the line's currency, read below).
    configure(MAX_BODY_BYTES="65536")  # a fresh runtime: no token cached yet
    before = stored_line(proxy.sandbox)
    proxy.sandbox.reset()
    response = validate(
        proxy, b'{"comment": "12.30", "documentNumber": "o\'brien"}', **{"If-Match": 'W/"x"'}
    )
    assert response.status_code == 200, response.text
    assert response.json(parse_float=Decimal) == {
        "valid": True,
        "changes": {"comment": "12.30", "documentNumber": "o'brien"},
        "applicationCheck": {"status": "not-needed"},
    }
    assert proxy.sandbox.requests() == []
    assert proxy.sandbox.token_requests() == 0
    assert stored_line(proxy.sandbox) == before
    # The same counters see a real read: they would have caught a call.
    assert proxy.get().status_code == 200
    assert proxy.sandbox.token_requests() == 1
    assert len(bc_requests(proxy.sandbox)) == 1


def test_validate_holds_an_amount_to_the_lines_currency_and_writes_nothing(
    proxy: Proxy,
) -> None:
    before = stored_line(proxy.sandbox)
    response = validate(proxy, b'{"amount": "12.30"}', **{"If-Match": 'W/"x"'})
    assert response.status_code == 200, response.text
    assert response.json(parse_float=Decimal) == {
        "valid": True,
        "changes": {"amount": Decimal("12.30")},
        "applicationCheck": {"status": "passed", "currencyCode": "USD"},
    }
    assert response.headers["x-application-check"] == "passed"
    # Reads only: the line, then its invoice with its currency.
    sent = bc_requests(proxy.sandbox)
    assert [r["method"] for r in sent] == ["GET", "POST"]
    assert all(op["method"] == "GET" for op in sent[1]["body"]["requests"])
    assert stored_line(proxy.sandbox) == before


def test_validate_gives_the_same_problem_as_the_patch(proxy: Proxy) -> None:
    cases: list[tuple[Any, dict[str, str]]] = [
        ({"ammount": 5, "description": "x" * 101}, {"If-Match": "*"}),
        ({"amount": 1}, {}),
        ({"amount": 1}, {"If-Match": "nope"}),
        (b"[1]", {"If-Match": "*"}),
        ({"amount": 1}, {"If-Match": "*", "Content-Type": "text/plain"}),
    ]
    for body, headers in cases:
        checked = validate(proxy, body, **headers)
        patched = proxy.patch(body, if_match=None, headers=headers)
        assert checked.status_code == patched.status_code >= 400
        mine, theirs = checked.json(), patched.json()
        for key in ("type", "title", "status", "detail", "errors"):
            assert mine.get(key) == theirs.get(key)
    assert bc_requests(proxy.sandbox) == []


def test_validate_checks_route_and_allow_lists(proxy: Proxy, configure: Configure) -> None:
    bad = proxy.payment_url().replace(proxy.line()["payment"], "nope") + "/validate"
    response = proxy.http.post(bad, json={"amount": 1}, headers={"If-Match": "*"})
    problem(response, 400, "invalid-path-parameter")
    configure(ALLOWED_JOURNAL_IDS="00000000-0000-0000-0000-0000000000bb")
    problem(validate(proxy, {"amount": 1}, **{"If-Match": "*"}), 403, "forbidden")
    v1 = proxy.payment_url("v1.0") + "/validate"
    assert (
        proxy.http.post(v1, json={"contactId": "C"}, headers={"If-Match": "*"}).status_code == 403
    )
    assert bc_requests(proxy.sandbox) == []


def test_the_served_openapi_document_is_valid_3_1_and_lists_every_route(proxy: Proxy) -> None:
    from openapi_spec_validator import validate as validate_spec
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    document = proxy.http.get(f"{proxy.url}/openapi.json").json()
    validate_spec(document, cls=OpenAPIV31SpecValidator)
    ids = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert {"findCustomerPaymentsV20", "validateCustomerPaymentV10", "listCompaniesV20"} <= ids


def test_the_v1_journal_alias_works_and_other_sets_do_not(proxy: Proxy) -> None:
    alias = lines_url(proxy, version="v1.0").replace(
        "customerPaymentJournals", "customerPaymentsJournals"
    )
    assert len(found(proxy.http.get(alias))) == 3
    assert all("contactId" in line for line in found(proxy.http.get(alias)))
    # (customers is a route of its own now, the customer lookup.)
    other = journals_url(proxy).replace("customerPaymentJournals", "vendorPaymentJournals")
    problem(proxy.http.get(other), 404, "not-found")
    assert all("/customerPaymentJournals(" in r["path"] for r in bc_requests(proxy.sandbox))


def test_lists_are_retried_like_a_read_and_a_bad_answer_is_a_problem(proxy: Proxy) -> None:
    proxy.sandbox.add_faults(
        {"method": "GET", "path": "customerPayments", "times": 1, "status": 429, "retryAfter": 0}
    )
    assert len(found(proxy.http.get(lines_url(proxy)))) == 3
    assert len(bc_requests(proxy.sandbox, "GET")) == 2
    proxy.sandbox.add_faults(
        {
            "method": "GET",
            "path": "/companies",
            "times": 1,
            "status": 200,
            "rawBody": '{"value": 5}',
        }
    )
    problem(proxy.http.get(companies_url(proxy)), 502, "upstream-error")
