"""The emulated customerPayments entity behaves like Business Central's."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.bc import MISSING_IF_MATCH
from tests.support.sandbox import RunningSandbox
from tests.support.sandbox_answers import bc_error, exact

V2_PROPERTIES = {
    "id",
    "journalId",
    "journalDisplayName",
    "lineNumber",
    "customerId",
    "customerNumber",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
    "amount",
    "appliesToInvoiceId",
    "appliesToInvoiceNumber",
    "description",
    "comment",
    "lastModifiedDateTime",
}


def _read(client: httpx.Client, url: str) -> tuple[dict[str, Any], str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return exact(response), response.headers["etag"]


def _patch(client: httpx.Client, url: str, body: dict[str, Any] | str, if_match: str | None = "*"):
    headers = {"Content-Type": "application/json"}
    if if_match is not None:
        headers["If-Match"] = if_match
    if isinstance(body, str):
        return client.patch(url, content=body, headers=headers)
    return client.patch(url, json=body, headers=headers)


def _customer(sandbox: RunningSandbox, number: str, company: int = 0) -> str:
    customers = sandbox.seed["companies"][company]["customers"]
    return str(next(c["id"] for c in customers if c["number"] == number))


def _invoice(sandbox: RunningSandbox, number: str, company: int = 0) -> dict[str, Any]:
    invoices = sandbox.seed["companies"][company]["invoices"]
    return dict(next(i for i in invoices if i["number"] == number))


# --- shapes per version ----------------------------------------------------------------


def test_v2_line_has_v2_properties_context_and_matching_etags(sandbox, client):
    body, etag = _read(client, sandbox.payment_url("v2.0"))
    assert set(body) == V2_PROPERTIES | {"@odata.context", "@odata.etag"}
    assert body["@odata.etag"] == etag
    assert etag.startswith('W/"')
    assert body["@odata.context"].endswith("/customerPayments/$entity")
    assert "/api/v2.0/$metadata#companies(" in body["@odata.context"]
    assert body["journalDisplayName"] == "CASH"
    assert body["amount"] == Decimal("2000.5")


def test_v1_line_has_contact_id_and_dimensions_but_no_journal_id(sandbox, client):
    body, _ = _read(client, sandbox.payment_url("v1.0"))
    assert "journalId" not in body
    assert body["contactId"] == ""
    assert body["dimensions"] == []
    assert "/api/v1.0/$metadata#" in body["@odata.context"]


def test_journal_list_is_ordered_by_line_number_with_etags(sandbox, client):
    company = sandbox.seed["companies"][0]
    journal = company["journals"][0]
    url = (
        f"{sandbox.api_url()}/companies({company['id']})/customerPaymentJournals({journal['id']})"
        "/customerPayments"
    )
    response = client.get(url)
    assert response.status_code == 200
    lines = response.json()["value"]
    assert [line["lineNumber"] for line in lines] == [10000, 20000, 30000]
    assert all(line["@odata.etag"].startswith('W/"') for line in lines)
    assert [line["id"] for line in lines] == [p["id"] for p in journal["payments"]]


def test_companies_journals_customers_and_invoices_are_listed(sandbox, client):
    companies = client.get(f"{sandbox.api_url()}/companies").json()["value"]
    assert [c["id"] for c in companies] == [c["id"] for c in sandbox.seed["companies"]]
    company = sandbox.seed["companies"][1]
    base = f"{sandbox.api_url()}/companies({company['id']})"
    assert client.get(base).json()["name"] == company["name"]
    journals = client.get(f"{base}/customerPaymentJournals").json()["value"]
    assert [j["code"] for j in journals] == [j["code"] for j in company["journals"]]
    customers = client.get(f"{base}/customers").json()["value"]
    assert {c["number"] for c in customers} >= {"10000", "20000"}
    invoices = exact(client.get(f"{base}/salesInvoices"))["value"]
    first = next(i for i in invoices if i["number"] == "103001")
    assert first["totalAmountIncludingTax"] == Decimal("2000.50")
    assert first["customerNumber"] == "10000"


# --- ETags and If-Match --------------------------------------------------------------


def test_every_write_gives_a_new_etag_and_last_modified(sandbox, client):
    url = sandbox.payment_url()
    before, etag0 = _read(client, url)
    first = _patch(client, url, {"comment": "one"}, etag0)
    assert first.status_code == 200, first.text
    etag1 = first.headers["etag"]
    assert first.json()["@odata.etag"] == etag1 != etag0
    second = _patch(client, url, {"comment": "one"}, etag1)
    assert second.status_code == 200
    etag2 = second.headers["etag"]
    assert len({etag0, etag1, etag2}) == 3
    times = [
        before["lastModifiedDateTime"],
        first.json()["lastModifiedDateTime"],
        second.json()["lastModifiedDateTime"],
    ]
    assert times == sorted(times)
    assert len(set(times)) == 3
    assert _read(client, url)[1] == etag2


def test_missing_if_match_is_invalid_token(sandbox, client):
    url = sandbox.payment_url()
    message = bc_error(_patch(client, url, {"comment": "x"}, None), 400, "BadRequest_InvalidToken")
    assert message.startswith(MISSING_IF_MATCH)
    assert _read(client, url)[0]["comment"] == ""


def test_etag_in_the_body_is_not_honoured(sandbox, client):
    url = sandbox.payment_url()
    _, etag = _read(client, url)
    response = _patch(client, url, {"@odata.etag": etag, "comment": "x"}, None)
    bc_error(response, 400, "BadRequest_InvalidToken")


@pytest.mark.parametrize(
    "if_match",
    [
        "abc",
        'W/"not base64!"',
        '"' + base64.b64encode(b"hello").decode() + '"',
        'W/"JzIwOzEyMjU1NzUwNjQ3MjkxMTQ0Mjg5MTswMDsn", W/"x"',
    ],
)
def test_garbage_if_match_is_invalid_token(sandbox, client, if_match):
    bc_error(
        _patch(client, sandbox.payment_url(), {"comment": "x"}, if_match),
        400,
        "BadRequest_InvalidToken",
    )


def test_stale_etag_is_entity_changed(sandbox, client):
    url = sandbox.payment_url()
    _, old = _read(client, url)
    assert _patch(client, url, {"comment": "first"}, old).status_code == 200
    message = bc_error(
        _patch(client, url, {"comment": "second"}, old), 409, "Request_EntityChanged"
    )
    assert message.startswith("Another user has already changed the record.")
    assert _read(client, url)[0]["comment"] == "first"


def test_etag_of_another_line_is_stale(sandbox, client):
    _, other = _read(client, sandbox.payment_url(line=1))
    response = _patch(client, sandbox.payment_url(line=0), {"comment": "x"}, other)
    bc_error(response, 409, "Request_EntityChanged")


def test_star_and_the_strong_form_of_the_current_etag_are_accepted(sandbox, client):
    url = sandbox.payment_url()
    assert _patch(client, url, {"comment": "star"}, "*").status_code == 200
    _, etag = _read(client, url)
    response = _patch(client, url, {"comment": "strong"}, etag.removeprefix("W/"))
    assert response.status_code == 200, response.text


# --- field rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "field", "limit"),
    [
        ("v2.0", "description", 100),
        ("v1.0", "description", 100),
        ("v2.0", "comment", 250),
        ("v2.0", "documentNumber", 20),
        ("v2.0", "externalDocumentNumber", 35),
        ("v1.0", "externalDocumentNumber", 35),
        ("v2.0", "appliesToInvoiceNumber", 20),
        ("v1.0", "contactId", 250),
    ],
)
def test_string_lengths_follow_the_al_source(sandbox, client, version, field, limit):
    url = sandbox.payment_url(version)
    too_long = _patch(client, url, {field: "A" * (limit + 1)})
    message = bc_error(too_long, 400, "Application_StringExceededLength")
    assert f"must be less than or equal to {limit}" in message
    if field != "appliesToInvoiceNumber":  # an exact-length number must also exist
        fits = _patch(client, url, {field: "A" * limit})
        assert fits.status_code == 200, fits.text
        assert fits.json()[field] == "A" * limit


def test_customer_number_longer_than_20_is_refused(sandbox, client):
    response = _patch(client, sandbox.payment_url(), {"customerNumber": "1" * 21})
    bc_error(response, 400, "Application_StringExceededLength")


# Every Text and Code field, with the length BC gives it (in UTF-16 code units).
_TEXT_AND_CODE = [
    ("v2.0", "description", 100),
    ("v2.0", "comment", 250),
    ("v2.0", "documentNumber", 20),
    ("v2.0", "externalDocumentNumber", 35),
    ("v2.0", "customerNumber", 20),
    ("v2.0", "appliesToInvoiceNumber", 20),
    ("v1.0", "contactId", 250),
]


@pytest.mark.parametrize(("version", "field", "limit"), _TEXT_AND_CODE)
def test_a_character_outside_the_bmp_counts_two(sandbox, client, version, field, limit):
    url = sandbox.payment_url(version)
    before, etag = _read(client, url)
    # limit // 2 + 1 emoji are limit + 1 or limit + 2 code units, though only
    # about half as many code points as the limit.
    emoji = "\U0001f600" * (limit // 2 + 1)
    message = bc_error(_patch(client, url, {field: emoji}), 400, "Application_StringExceededLength")
    assert f"The length of the string is {2 * (limit // 2 + 1)}," in message
    assert f"must be less than or equal to {limit}" in message
    assert _read(client, url) == (before, etag)


@pytest.mark.parametrize(
    ("field", "limit"), [("description", 100), ("documentNumber", 20), ("comment", 250)]
)
def test_text_that_fits_in_utf16_code_units_is_stored_as_sent(sandbox, client, field, limit):
    # One emoji (2 units) and limit - 2 BMP characters: exactly the limit.
    value = "\U0001f600" + "\u00e9" * (limit - 2)
    response = _patch(client, sandbox.payment_url(), {field: value})
    assert response.status_code == 200, response.text
    stored = value.upper() if field == "documentNumber" else value
    assert response.json()[field] == stored
    assert _read(client, sandbox.payment_url())[0][field] == stored


def test_hundred_emoji_do_not_fit_a_hundred_character_description(sandbox, client):
    response = _patch(client, sandbox.payment_url(), {"description": "\U0001f4b6" * 100})
    message = bc_error(response, 400, "Application_StringExceededLength")
    assert "The length of the string is 200," in message


def test_upper_casing_a_code_never_makes_it_longer(sandbox, client):
    # Python's upper() turns "ß" into "SS"; BC (.NET) keeps one character for one.
    response = _patch(client, sandbox.payment_url(), {"documentNumber": "ß" * 20})
    assert response.status_code == 200, response.text
    assert response.json()["documentNumber"] == "ß" * 20
    assert (
        _patch(client, sandbox.payment_url(), {"documentNumber": "straße"}).json()["documentNumber"]
        == "STRAßE"
    )


@pytest.mark.parametrize(
    ("version", "name"),
    [("v2.0", "ammount"), ("v2.0", "contactId"), ("v1.0", "journalId"), ("v2.0", "Amount")],
)
def test_unknown_property_is_bad_request(sandbox, client, version, name):
    response = _patch(client, sandbox.payment_url(version), {name: 1})
    message = bc_error(response, 400, "BadRequest")
    assert f"'{name}' does not exist" in message


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("id", "11111111-2222-3333-4444-555555555555", "BadRequest_InvalidOperation"),
        ("lastModifiedDateTime", "2030-01-01T00:00:00Z", "BadRequest_InvalidOperation"),
        ("journalId", "11111111-2222-3333-4444-555555555555", "Application_DialogException"),
        ("journalDisplayName", "OTHER", "Application_DialogException"),
    ],
)
def test_read_only_properties_cannot_change(sandbox, client, name, value, code):
    url = sandbox.payment_url()
    before, etag = _read(client, url)
    bc_error(_patch(client, url, {name: value, "comment": "x"}), 400, code)
    after, etag_after = _read(client, url)
    assert (after, etag_after) == (before, etag)


def test_code_fields_are_stored_upper_case(sandbox, client):
    response = _patch(
        client,
        sandbox.payment_url(),
        {"documentNumber": "g-77", "externalDocumentNumber": "ref-abc", "description": "keep me"},
    )
    body = response.json()
    assert (body["documentNumber"], body["externalDocumentNumber"]) == ("G-77", "REF-ABC")
    assert body["description"] == "keep me"


# AL's Code type: upper case, without leading or trailing spaces, its length
# counted without them (the reference's own examples: ' 2 ' holds '2', length 1).
@pytest.mark.parametrize(
    ("sent", "stored"),
    [(" g00099 ", "G00099"), (" 2 ", "2"), ("   ", ""), ("a  b ", "A  B"), ("ABC", "ABC")],
)
def test_code_fields_are_stored_without_leading_or_trailing_spaces(sandbox, client, sent, stored):
    url = sandbox.payment_url()
    response = _patch(client, url, {"documentNumber": sent, "externalDocumentNumber": sent})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["documentNumber"], body["externalDocumentNumber"]) == (stored, stored)
    assert _read(client, url)[0]["documentNumber"] == stored


def test_a_code_length_is_counted_without_its_surrounding_spaces(sandbox, client):
    url = sandbox.payment_url()
    fits = _patch(client, url, {"documentNumber": "  " + "a" * 20 + " "})
    assert fits.status_code == 200, fits.text
    assert fits.json()["documentNumber"] == "A" * 20
    too_long = _patch(client, url, {"documentNumber": " " + "a" * 21 + " "})
    message = bc_error(too_long, 400, "Application_StringExceededLength")
    assert "The length of the string is 21," in message
    # Text fields keep their spaces, and they count.
    spaced = _patch(client, url, {"description": " keep  me "})
    assert spaced.json()["description"] == " keep  me "
    bc_error(
        _patch(client, url, {"description": "a" * 100 + " "}),
        400,
        "Application_StringExceededLength",
    )


def test_a_padded_customer_or_invoice_number_finds_its_record(sandbox, client):
    url = sandbox.payment_url()
    by_number = _patch(client, url, {"customerNumber": " 40000  "})
    assert by_number.status_code == 200, by_number.text
    assert by_number.json()["customerId"] == _customer(sandbox, "40000")
    invoice = sandbox.seed["companies"][0]["invoices"][0]
    applied = _patch(client, url, {"appliesToInvoiceNumber": f" {invoice['number'].lower()} "})
    assert applied.status_code == 200, applied.text
    assert applied.json()["appliesToInvoiceId"] == invoice["id"]


def test_customer_number_alone_sets_customer_id_and_vice_versa(sandbox, client):
    url = sandbox.payment_url()
    by_number = _patch(client, url, {"customerNumber": "40000"}).json()
    assert by_number["customerId"] == _customer(sandbox, "40000")
    by_id = _patch(client, url, {"customerId": _customer(sandbox, "30000").upper()}).json()
    assert (by_id["customerNumber"], by_id["customerId"]) == ("30000", _customer(sandbox, "30000"))


def test_customer_values_must_agree_and_exist(sandbox, client):
    url = sandbox.payment_url()
    mismatch = _patch(
        client, url, {"customerNumber": "20000", "customerId": _customer(sandbox, "30000")}
    )
    assert "The customer values do not match to a specific Customer." in bc_error(
        mismatch, 400, "Application_DialogException"
    )
    unknown = _patch(client, url, {"customerNumber": "99999"})
    bc_error(unknown, 400, "Application_DialogException")
    # A customer of the other company is not a customer of this one.
    foreign = _patch(client, url, {"customerId": _customer(sandbox, "10000", company=1)})
    bc_error(foreign, 400, "Application_DialogException")
    agree = _patch(
        client, url, {"customerNumber": "20000", "customerId": _customer(sandbox, "20000")}
    )
    assert agree.status_code == 200


def test_applies_to_invoice_id_fills_number_and_customer(sandbox, client):
    invoice = _invoice(sandbox, "103003")
    body = _patch(client, sandbox.payment_url(), {"appliesToInvoiceId": invoice["id"]}).json()
    assert body["appliesToInvoiceNumber"] == "103003"
    assert body["customerId"] == invoice["customerId"]
    assert body["customerNumber"] == "30000"


def test_applies_to_invoice_number_fills_id(sandbox, client):
    invoice = _invoice(sandbox, "103005")
    body = _patch(client, sandbox.payment_url(), {"appliesToInvoiceNumber": "103005"}).json()
    assert body["appliesToInvoiceId"] == invoice["id"]
    assert body["customerNumber"] == "40000"


@pytest.mark.parametrize("which", ["draft", "unknown", "other-company"])
def test_applies_to_invoice_must_be_a_posted_invoice_of_the_company(sandbox, client, which):
    invoice_id = {
        "draft": _invoice(sandbox, "1001")["id"],
        "unknown": "12345678-1234-1234-1234-123456789abc",
        "other-company": _invoice(sandbox, "103001", company=1)["id"],
    }[which]
    url = sandbox.payment_url()
    before, _ = _read(client, url)
    response = _patch(client, url, {"appliesToInvoiceId": invoice_id})
    assert bc_error(response, 400, "Application_DialogException")
    assert _read(client, url)[0] == before


def test_invoice_of_another_customer_than_the_one_sent_is_refused(sandbox, client):
    response = _patch(
        client,
        sandbox.payment_url(),
        {"appliesToInvoiceNumber": "103002", "customerNumber": "30000"},
    )
    bc_error(response, 400, "Application_DialogException")


@pytest.mark.parametrize("value", ["not-a-guid", "{11111111-2222-3333-4444-555555555555}", "1234"])
def test_invalid_guid(sandbox, client, value):
    bc_error(
        _patch(client, sandbox.payment_url(), {"customerId": value}), 400, "Application_InvalidGUID"
    )


@pytest.mark.parametrize("value", ["2026-02-30", "27/11/2026", "2026-1-5", "yesterday"])
def test_bad_date(sandbox, client, value):
    response = _patch(client, sandbox.payment_url(), {"postingDate": value})
    bc_error(response, 400, "Application_EvaluateException")


def test_valid_date_is_stored(sandbox, client):
    body = _patch(client, sandbox.payment_url(), {"postingDate": "2028-02-29"}).json()
    assert body["postingDate"] == "2028-02-29"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"amount": "12.5"}', "BadRequest"),
        ('{"amount": true}', "BadRequest"),
        ('{"amount": NaN}', "BadRequest"),
        ('{"amount": 1, "amount": 2}', "BadRequest"),
        ('{"lineNumber": 1.5}', "BadRequest"),
        ('{"amount": 1e16}', "Application_EvaluateException"),
        ('{"amount": null}', "BadRequest"),
        ("[1]", "BadRequest"),
        ("{not json", "BadRequest"),
    ],
)
def test_malformed_values(sandbox, client, body, code):
    bc_error(_patch(client, sandbox.payment_url(), body), 400, code)


# --- amounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("0.125", "0.13"),
        ("-0.125", "-0.13"),
        ("2.675", "2.68"),  # 2.67 if it went through a binary float
        ("1.005", "1.01"),
        ("-2000", "-2000"),
        ("2000.50", "2000.5"),
        ("12345678901.23", "12345678901.23"),
        ("0.1", "0.1"),
        ("-0.001", "0"),
        ("100.00", "100"),
    ],
)
def test_amounts_are_rounded_half_away_from_zero_and_keep_their_sign(sandbox, client, sent, stored):
    url = sandbox.payment_url()
    response = _patch(client, url, f'{{"amount": {sent}}}')
    assert response.status_code == 200, response.text
    assert f'"amount":{stored},' in response.text
    again = client.get(url)
    assert f'"amount":{stored},' in again.text


# --- not found, methods, create and delete ------------------------------------------------


def test_unknown_tenant_environment_company_journal_and_line_are_404(sandbox, client):
    company = sandbox.seed["companies"][0]
    journal = company["journals"][0]
    unknown = "0badc0de-0000-4000-8000-000000000000"
    api = sandbox.api_url()
    bc_error(
        client.get(api.replace(sandbox.tenant, unknown) + "/companies"), 404, "BadRequest_NotFound"
    )
    bc_error(
        client.get(api.replace(f"/{sandbox.environment}/", "/production/") + "/companies"),
        404,
        "BadRequest_NotFound",
    )
    bc_error(client.get(f"{api}/companies({unknown})"), 404, "Internal_CompanyNotFound")
    company_url = f"{api}/companies({company['id']})"
    bc_error(
        client.get(f"{company_url}/customerPaymentJournals({unknown})/customerPayments"),
        404,
        "BadRequest_NotFound",
    )
    line_url = f"{company_url}/customerPaymentJournals({journal['id']})/customerPayments({unknown})"
    bc_error(client.get(line_url), 404, "BadRequest_NotFound")
    bc_error(_patch(client, line_url, {"comment": "x"}), 404, "BadRequest_NotFound")
    bc_error(client.get(f"{company_url}/customerPaymentsJournals"), 404, "BadRequest_NotFound")
    bc_error(client.get(sandbox.api_url("v3.0") + "/companies"), 404, "BadRequest_NotFound")


def test_line_of_another_journal_is_not_found_in_this_one(sandbox, client):
    url = sandbox.payment_url(journal=0, line=0)
    other_journal = sandbox.seed["companies"][0]["journals"][1]["id"]
    wrong = url.replace(sandbox.seed["companies"][0]["journals"][0]["id"], other_journal)
    bc_error(client.get(wrong), 404, "BadRequest_NotFound")


def test_non_guid_key_is_bad_request(sandbox, client):
    bc_error(client.get(f"{sandbox.api_url()}/companies(abc)"), 400, "BadRequest")


def test_put_is_not_allowed(sandbox, client):
    response = client.put(sandbox.payment_url(), json={"amount": 1}, headers={"If-Match": "*"})
    bc_error(response, 405, "BadRequest_MethodNotAllowed")


def test_post_creates_a_line_and_delete_removes_it(sandbox, client):
    company = sandbox.seed["companies"][0]
    journal = company["journals"][0]
    lines_url = (
        f"{sandbox.api_url()}/companies({company['id']})/customerPaymentJournals({journal['id']})"
        "/customerPayments"
    )
    created = client.post(lines_url, json={"customerNumber": "50000", "amount": 75.5})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["lineNumber"] == 40000
    assert body["documentNumber"] == "G00004"
    assert body["customerId"] == _customer(sandbox, "50000")
    assert created.headers["location"].endswith(f"customerPayments({body['id']})")
    line_url = f"{lines_url}({body['id']})"
    bc_error(client.delete(line_url), 400, "BadRequest_InvalidToken")
    deleted = client.delete(line_url, headers={"If-Match": created.headers["etag"]})
    assert deleted.status_code == 204
    bc_error(client.get(line_url), 404, "BadRequest_NotFound")


def test_failed_post_leaves_the_journal_unchanged(sandbox, client):
    company = sandbox.seed["companies"][0]
    journal = company["journals"][0]
    lines_url = (
        f"{sandbox.api_url()}/companies({company['id']})/customerPaymentJournals({journal['id']})"
        "/customerPayments"
    )
    bc_error(
        client.post(lines_url, json={"customerNumber": "77777"}), 400, "Application_DialogException"
    )
    assert len(client.get(lines_url).json()["value"]) == 3


def test_line_number_renumbers_but_must_stay_unique(sandbox, client):
    url = sandbox.payment_url()
    assert _patch(client, url, {"lineNumber": 15000}).json()["lineNumber"] == 15000
    bc_error(_patch(client, url, {"lineNumber": 20000}), 400, "Internal_EntityWithSameKeyExists")


def test_v2_top_level_line_address_reads_and_writes_the_same_line(sandbox, client):
    company = sandbox.seed["companies"][0]
    line = company["journals"][0]["payments"][2]
    url = f"{sandbox.api_url()}/companies({company['id']})/customerPayments({line['id']})"
    body, etag = _read(client, url)
    assert body["amount"] == Decimal("-845.25")
    assert _patch(client, url, {"comment": "top"}, etag).status_code == 200
    assert _read(client, sandbox.payment_url(line=2))[0]["comment"] == "top"
    listing = client.get(f"{sandbox.api_url()}/companies({company['id']})/customerPayments")
    assert len(listing.json()["value"]) == sum(len(j["payments"]) for j in company["journals"])
    v1 = url.replace("/api/v2.0/", "/api/v1.0/")
    bc_error(client.get(v1), 404, "BadRequest_NotFound")
