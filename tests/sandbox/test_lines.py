"""POST /_sandbox/lines: valid journal lines in bulk, for benchmarks and bulk tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.support.sandbox_answers import exact


def _journal_lines(sandbox, client, company: int = 0, journal: int = 0) -> list[dict[str, Any]]:
    c = sandbox.seed["companies"][company]
    j = c["journals"][journal]
    url = f"{sandbox.api_url()}/companies({c['id']})/customerPaymentJournals({j['id']})"
    return list(exact(client.get(f"{url}/customerPayments"))["value"])


def test_lines_are_added_in_order_after_the_seeded_ones(sandbox, client):
    ids = sandbox.add_lines(50)
    assert len(set(ids)) == 50
    lines = _journal_lines(sandbox, client)
    seeded = [p["id"] for p in sandbox.seed["companies"][0]["journals"][0]["payments"]]
    # The journal list is ordered by line number: seed first, then the new ones.
    assert [line["id"] for line in lines] == seeded + ids


def test_every_added_line_is_valid(sandbox, client):
    ids = set(sandbox.add_lines(25, company=1))
    company = sandbox.seed["companies"][1]
    customers = {c["id"]: c["number"] for c in company["customers"]}
    # Every customer a line can pay in the local currency, and no other.
    payable = {
        c["id"]
        for c in company["customers"]
        if c["blocked"] != "All" and c["currencyCode"] == company["localCurrency"]
    }
    lines = _journal_lines(sandbox, client, company=1)
    added = [line for line in lines if line["id"] in ids]
    assert len(added) == 25
    numbers = [line["documentNumber"] for line in lines]
    assert len(set(numbers)) == len(numbers)  # distinct, seeded ones included
    assert len({line["lineNumber"] for line in lines}) == len(lines)
    for line in added:
        assert customers[line["customerId"]] == line["customerNumber"]
        assert line["amount"] > 0
        assert Decimal(line["amount"]) == Decimal(line["amount"]).quantize(Decimal("0.01"))
        dt.date.fromisoformat(line["postingDate"])
        assert len(line["documentNumber"]) <= 20
    assert {line["customerId"] for line in added} == payable


def test_added_lines_can_be_patched_with_their_etag(sandbox, client):
    [line_id] = sandbox.add_lines(1)
    url = sandbox.line_url(line_id)
    etag = client.get(url).headers["etag"]
    patched = client.patch(
        url,
        content=b'{"amount": 12.50}',
        headers={"If-Match": etag, "Content-Type": "application/json"},
    )
    assert patched.status_code == 200, patched.text
    assert exact(patched)["amount"] == Decimal("12.5")
    stale = client.patch(url, json={"amount": 1}, headers={"If-Match": etag})
    assert stale.status_code == 409


def test_document_numbers_skip_ones_already_in_the_journal(sandbox, client):
    # Make the last line's number the next one the series would produce.
    last = sandbox.payment_url(line=2)
    first = sandbox.payment_url(line=0)
    renumbered = client.patch(first, json={"documentNumber": "G00004"}, headers={"If-Match": "*"})
    assert renumbered.status_code == 200
    assert client.get(last).json()["documentNumber"] == "G00003"
    sandbox.add_lines(3)
    numbers = [line["documentNumber"] for line in _journal_lines(sandbox, client)]
    assert len(set(numbers)) == len(numbers)
    assert numbers[-3:] == ["G00005", "G00006", "G00007"]


def test_five_thousand_lines_in_one_call(sandbox, client):
    ids = sandbox.add_lines(5000)
    assert len(set(ids)) == 5000
    lines = _journal_lines(sandbox, client)
    assert len(lines) == 5003
    assert len({line["documentNumber"] for line in lines}) == 5003


def test_a_batch_can_update_added_lines(sandbox, client):
    ids = sandbox.add_lines(100)
    ops = [
        sandbox.patch_operation(str(n), line_id, {"comment": f"bulk {n}"})
        for n, line_id in enumerate(ids)
    ]
    answers = client.post(f"{sandbox.api_url()}/$batch", json={"requests": ops}).json()
    assert [a["status"] for a in answers["responses"]] == [200] * 100
    assert client.get(sandbox.line_url(ids[-1])).json()["comment"] == "bulk 99"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"count": 0}, 400),
        ({"count": 10_001}, 400),
        ({"count": "5"}, 400),
        ({"count": 5, "colour": "red"}, 400),
        ({"count": 5, "companyId": "00000000-0000-0000-0000-000000000000"}, 404),
        ({"count": 5, "journalId": "00000000-0000-0000-0000-000000000000"}, 404),
    ],
)
def test_bad_requests_add_nothing(sandbox, client, http, body, status):
    company = sandbox.seed["companies"][0]
    full = {"companyId": company["id"], "journalId": company["journals"][0]["id"], **body}
    response = http.post(f"{sandbox.url}/_sandbox/lines", json=full)
    assert response.status_code == status
    assert "error" in response.json()
    assert len(_journal_lines(sandbox, client)) == 3
