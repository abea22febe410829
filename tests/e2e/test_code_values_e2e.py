"""Code values (document, customer and invoice numbers) as Business Central
stores them, end to end: trimmed of leading and trailing spaces and upper
case. A padded value is judged on that form everywhere: its length, a lost
answer's read-back (single PATCH and bulk item), and a list filter."""

from __future__ import annotations

from typing import Any

import pytest

from funchost.durable import DurableStandIn
from tests.support.bulk_jobs import finished, seeded, start, stored
from tests.support.lists import found, lines_url, upstream_filters
from tests.support.proxy import PATCH_RULE, Proxy, bc_requests, slug_of, stored_line

pytestmark = pytest.mark.e2e

PADDED = " g00099 "


def test_a_padded_code_applied_with_its_answer_lost_is_not_called_missing(proxy: Proxy) -> None:
    """Business Central applies " g00099 " as G00099 and the answer is lost: the
    read-back holds the update, so the answer is unknown with the line, never
    412 "does not hold your update"."""
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "after"})
    response = proxy.patch({"documentNumber": PADDED}, if_match=etag)
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown"), response.text
    assert response.json()["current"]["documentNumber"] == "G00099"
    assert stored_line(proxy.sandbox)["documentNumber"] == "G00099"
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    assert sent == [("PATCH", 200), ("GET", 200)]


def test_twenty_characters_and_a_trailing_space_fit_a_twenty_character_code(
    proxy: Proxy,
) -> None:
    value = "g" * 20 + " "
    response = proxy.patch({"documentNumber": value, "externalDocumentNumber": " " + "r" * 35})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["documentNumber"], body["externalDocumentNumber"]) == ("G" * 20, "R" * 35)
    # Forwarded as sent: Business Central does the trimming.
    (patched,) = [r for r in bc_requests(proxy.sandbox) if r["method"] == "PATCH"]
    assert patched["body"]["documentNumber"] == value
    too_long = proxy.patch({"documentNumber": " " + "g" * 21})
    assert (too_long.status_code, slug_of(too_long)) == (422, "validation-failed")
    assert "got 21, leading and trailing spaces not counted" in too_long.text


def test_a_bulk_item_with_a_padded_code_is_never_failed_when_it_was_applied(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    line_id = seeded(proxy, 0)
    etag = stored(proxy, line_id)["@odata.etag"]
    proxy.sandbox.add_faults({"method": "POST", "path": "$batch", "times": 1, "drop": "after"})
    updates: list[dict[str, Any]] = [
        {"id": line_id, "ifMatch": etag, "changes": {"documentNumber": PADDED}}
    ]
    (item,) = finished(proxy, durable, start(proxy, updates))["items"]
    assert (item["outcome"], item["status"]) == ("unknown", 409), item
    assert item["problem"]["current"]["documentNumber"] == "G00099"
    assert stored(proxy, line_id)["documentNumber"] == "G00099"


def test_a_padded_document_number_finds_its_line(proxy: Proxy) -> None:
    assert proxy.patch({"documentNumber": "G00099"}).status_code == 200
    since = len(bc_requests(proxy.sandbox, "GET"))
    items = found(proxy.http.get(lines_url(proxy), params={"documentNumber": PADDED}))
    assert [item["id"] for item in items] == [proxy.line()["payment"]]
    assert upstream_filters(proxy, since) == ["documentNumber eq 'G00099'"]
