"""A line sent back as it was read, end to end: what a flow does after "get"
-> "update" (the whole object, one property changed) is taken, nothing the
proxy itself answered with reaches Business Central, and no echo can change
anything unseen or name another version than the one read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from funchost.durable import DurableStandIn
from shared.process.jsonio import dumps_exact, loads_exact
from tests.support.bulk_jobs import finished, start
from tests.support.proxy import Configure, Proxy, batches_of, bc_requests, problem, stored_line

pytestmark = pytest.mark.e2e

READ_ONLY_ECHOES = ("id", "journalId", "journalDisplayName", "lastModifiedDateTime", "etag")


def read(proxy: Proxy, url: str | None = None) -> tuple[dict[str, Any], str]:
    response = proxy.get(url)
    assert response.status_code == 200, response.text
    line: dict[str, Any] = loads_exact(response.content)
    return line, response.headers["etag"]


def validate(proxy: Proxy, body: Any, if_match: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if if_match is not None:
        headers["If-Match"] = if_match
    return proxy.http.post(
        proxy.payment_url() + "/validate", content=dumps_exact(body), headers=headers
    )


def test_a_line_sent_back_with_its_etag_header_updates_only_what_changed(proxy: Proxy) -> None:
    line, etag = read(proxy)
    assert set(READ_ONLY_ECHOES) <= set(line)
    sent = {**line, "comment": "paid in full"}
    response = proxy.patch(sent, if_match=etag)
    assert response.status_code == 200, response.text
    assert stored_line(proxy.sandbox)["comment"] == "paid in full"
    forwarded = bc_requests(proxy.sandbox, "PATCH")
    assert len(forwarded) == 1
    # Only the editable properties went, read-only ones never.
    assert not set(READ_ONLY_ECHOES) & set(forwarded[0]["body"])
    assert forwarded[0]["body"]["comment"] == "paid in full"
    assert forwarded[0]["headers"]["if-match"] == etag


def test_without_if_match_the_bodys_etag_is_the_precondition(proxy: Proxy) -> None:
    line, etag = read(proxy)
    response = proxy.patch({**line, "amount": Decimal("77.70")}, if_match=None)
    assert response.status_code == 200, response.text
    assert bc_requests(proxy.sandbox, "PATCH")[0]["headers"]["if-match"] == etag
    # Sent back again, the old read is stale: Business Central refuses it, nothing changes.
    before = stored_line(proxy.sandbox)
    problem(proxy.patch({**line, "amount": Decimal("1.00")}, if_match=None), 412, "etag-mismatch")
    assert stored_line(proxy.sandbox) == before


def test_the_bodys_etag_wins_over_the_if_match_default(proxy: Proxy, configure: Configure) -> None:
    configure(IF_MATCH_DEFAULT="*")
    line, etag = read(proxy)
    assert proxy.patch({"comment": "someone else"}).status_code == 200
    problem(proxy.patch({**line, "comment": "mine"}, if_match=None), 412, "etag-mismatch")
    assert stored_line(proxy.sandbox)["comment"] == "someone else"
    assert bc_requests(proxy.sandbox, "PATCH")[-1]["headers"]["if-match"] == etag


@pytest.mark.parametrize(
    ("change", "if_match", "field", "says"),
    [
        ({"etag": 'W/"JzE5OzEn"'}, "header", "etag", "another version than If-Match"),
        ({}, "*", "etag", "If-Match is * (any"),
        ({"etag": "JzE5OzEn"}, None, "etag", "must be the line's ETag as a read shows it"),
        ({"id": "0f0f0f0f-0000-4000-8000-000000000000"}, "header", "id", "not the id of the line"),
        (
            {"journalId": "0f0f0f0f-0000-4000-8000-000000000000"},
            "header",
            "journalId",
            "not the id of the journal",
        ),
    ],
)
def test_an_echo_that_could_change_or_misname_something_is_refused_by_name(
    proxy: Proxy, change: dict[str, Any], if_match: str | None, field: str, says: str
) -> None:
    line, etag = read(proxy)
    sent = {**line, "comment": "x", **change}
    for answer in (
        proxy.patch(sent, if_match=etag if if_match == "header" else if_match),
        validate(proxy, sent, etag if if_match == "header" else if_match),
    ):
        body = problem(answer, 422, "validation-failed")
        assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, "read_only")]
        assert says in body["errors"][0]["message"]
    assert bc_requests(proxy.sandbox, "PATCH") == []


def test_read_only_values_alone_are_refused_as_before(proxy: Proxy) -> None:
    """Without the etag of a read, a read-only property is an attempt to change it."""
    line, etag = read(proxy)
    body = problem(
        proxy.patch({"journalDisplayName": "BANK", "comment": "x"}, if_match=etag),
        422,
        "validation-failed",
    )
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("journalDisplayName", "read_only")
    ]
    assert 'beside its "etag"' in body["errors"][0]["message"]
    # With nothing but echoes there is nothing to update.
    only = problem(
        proxy.patch({"id": line["id"], "etag": etag}, if_match=None), 422, "validation-failed"
    )
    assert [(e["field"], e["code"]) for e in only["errors"]] == [("", "empty")]
    assert bc_requests(proxy.sandbox, "PATCH") == []


def test_validate_takes_a_line_sent_back_and_lists_only_what_would_be_sent(proxy: Proxy) -> None:
    line, _ = read(proxy)
    answer = validate(proxy, {**line, "comment": "checked"}, None)
    assert answer.status_code == 200, answer.text
    changes = loads_exact(answer.content)["changes"]
    assert not set(READ_ONLY_ECHOES) & set(changes)
    assert changes["comment"] == "checked"
    assert bc_requests(proxy.sandbox, "PATCH") == []


def test_a_listed_line_sent_back_keeps_its_title_out_of_business_central(proxy: Proxy) -> None:
    ids = proxy.line()
    listed = proxy.http.get(
        f"{proxy.url}/v2.0/companies/{ids['company']}/customerPaymentJournals/{ids['journal']}"
        "/customerPayments",
        params={"top": "1"},
    )
    item = loads_exact(listed.content)["value"][0]
    assert "title" in item
    response = proxy.patch({**item, "description": "from the list"}, if_match=None)
    assert response.status_code == 200, response.text
    assert "title" not in bc_requests(proxy.sandbox, "PATCH")[0]["body"]


def test_bulk_items_may_be_lines_sent_back_as_read(proxy: Proxy, durable: DurableStandIn) -> None:
    first, _ = read(proxy, proxy.payment_url(line=0))
    second, second_etag = read(proxy, proxy.payment_url(line=1))
    updates = [
        # No ifMatch: the line's own etag names the version.
        {"id": first["id"], "changes": {**first, "comment": "bulk one"}},
        {"id": second["id"], "ifMatch": second_etag, "changes": {**second, "comment": "bulk two"}},
    ]
    checked = start(proxy, updates, query="?validateOnly=true")
    # A line sent back whole names its customer and invoice, so both items are checked.
    assert (checked.status_code, checked.json()) == (
        200,
        {"valid": True, "total": 2, "applicationCheck": {"checked": 2, "notMade": []}},
    )
    result = finished(proxy, durable, start(proxy, updates))
    assert [i["outcome"] for i in result["items"]] == ["updated", "updated"]
    operations = [op for b in batches_of(proxy.sandbox, "PATCH") for op in b["body"]["requests"]]
    assert [op["headers"]["If-Match"] for op in operations] == [first["etag"], second_etag]
    for op in operations:
        assert not set(READ_ONLY_ECHOES) & set(op["body"])


def test_bulk_echoes_are_judged_like_a_single_patch(proxy: Proxy) -> None:
    line, etag = read(proxy)
    other = proxy.line(line=1)["payment"]
    updates = [
        {"id": other, "ifMatch": etag, "changes": {**line, "comment": "x"}},
        {"id": line["id"], "ifMatch": "*", "changes": {**line, "comment": "y"}},
    ]
    answer = start(proxy, updates)
    body = problem(answer, 422, "validation-failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("updates[0].changes.id", "read_only"),
        ("updates[1].changes.etag", "read_only"),
    ]
    assert "ifMatch is * (any" in body["errors"][1]["message"]
    assert batches_of(proxy.sandbox, "PATCH") == []
