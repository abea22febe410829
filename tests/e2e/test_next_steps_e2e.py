"""Answers that tell a caller what to do next, end to end: an ETag copied out
of JSON text, a path outside the route prefix, a bulk body that is a bare
array, and a bulk item's stale ETag."""

from __future__ import annotations

import httpx
import pytest

from funchost.durable import DurableStandIn
from tests.support.bulk_jobs import finished, journal_url, start, stored
from tests.support.proxy import Proxy, bc_requests, problem

pytestmark = pytest.mark.e2e


def as_json_text(etag: str) -> str:
    """The ETag as a JSON body writes it: W/\\"...\\" inside the string's quotes."""
    return '"' + etag.replace('"', '\\"') + '"'


def test_an_if_match_copied_out_of_json_text_is_named_as_such(proxy: Proxy) -> None:
    etag = proxy.get().headers["etag"]
    quoted = as_json_text(etag)  # "W/\"...\"", the JSON string as it is written
    backslashed = quoted[1:-1]  # W/\"...\", its inside with the backslashes kept
    validate_url = proxy.payment_url() + "/validate"
    for sent, says in ((backslashed, "keeps the backslashes"), (quoted, "as a JSON string")):
        for answer in (
            proxy.patch({"comment": "x"}, if_match=sent),
            proxy.http.post(
                validate_url,
                content=b'{"comment": "x"}',
                headers={"Content-Type": "application/json", "If-Match": sent},
            ),
        ):
            body = problem(answer, 400, "invalid-if-match")
            assert says in body["detail"]
            assert 'exactly as the ETag header of a GET shows it, such as W/"' in body["detail"]
    assert bc_requests(proxy.sandbox, "PATCH") == []
    # Sent as the header shows it, the same ETag works.
    assert proxy.patch({"comment": "x"}, if_match=etag).status_code == 200


def test_a_bulk_if_match_escaped_twice_is_named_with_the_same_rule(proxy: Proxy) -> None:
    etag = proxy.get().headers["etag"]
    ids = [proxy.line(line=n)["payment"] for n in range(3)]
    updates = [
        {"id": ids[0], "ifMatch": as_json_text(etag)[1:-1], "changes": {"comment": "a"}},
        {"id": ids[1], "ifMatch": as_json_text(etag), "changes": {"comment": "b"}},
        {"id": ids[2], "ifMatch": f'W/"{etag}"', "changes": {"comment": "c"}},
    ]
    body = problem(start(proxy, updates), 422, "validation-failed")
    messages = [(e["field"], e["code"], e["message"]) for e in body["errors"]]
    assert [m[:2] for m in messages] == [
        (f"updates[{n}].ifMatch", "invalid_if_match") for n in range(3)
    ]
    assert "ifMatch keeps the backslashes" in messages[0][2]
    assert "ifMatch is the ETag as a JSON string" in messages[1][2]
    assert "ifMatch has the weak prefix twice" in messages[2][2]
    assert all("as a read's JSON shows the line's \"etag\"" in m[2] for m in messages)


def test_a_bare_array_sent_to_the_bulk_route_is_told_the_wrapper(proxy: Proxy) -> None:
    answer = proxy.http.post(
        journal_url(proxy),
        content=b'[{"id": "%s", "ifMatch": "*", "changes": {"comment": "a"}}]'
        % proxy.line()["payment"].encode(),
        headers={"Content-Type": "application/json"},
    )
    body = problem(answer, 400, "malformed-json")
    assert body["detail"] == (
        "The body must be a JSON object, but it is an array; "
        'send the updates as {"updates": [...]}.'
    )
    # A single PATCH's array is still just not an object.
    single = problem(proxy.patch(b"[]"), 400, "malformed-json")
    assert "updates" not in single["detail"]


def test_a_bulk_items_stale_etag_says_to_retry_with_if_match_the_bulk_way(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    line = proxy.line()["payment"]
    stale = stored(proxy, line)["@odata.etag"]
    assert proxy.patch({"comment": "changed meanwhile"}).status_code == 200
    result = finished(
        proxy, durable, start(proxy, [{"id": line, "ifMatch": stale, "changes": {"comment": "x"}}])
    )
    item = result["items"][0]
    assert (item["outcome"], item["status"]) == ("failed", 412)
    assert "retry with that ETag in ifMatch" in item["problem"]["detail"]
    assert "If-Match" not in item["problem"]["detail"]
    # A single PATCH's 412 still names the header.
    single = problem(proxy.patch({"comment": "y"}, if_match=stale), 412, "etag-mismatch")
    assert "in If-Match" in single["detail"]


def test_a_path_outside_api_is_the_hosts_and_its_root_says_where_the_api_is(proxy: Proxy) -> None:
    host = proxy.server.url
    outside = httpx.get(f"{host}/v2.0/companies", timeout=10)
    # The Functions host answers it, not the proxy: an empty 404, locally and in Azure.
    assert (outside.status_code, outside.content) == (404, b"")
    # Inside /api, an unknown path is the proxy's problem, which names the routes.
    inside = problem(proxy.http.get(f"{proxy.url}/v2.0/company"), 404, "not-found")
    assert "/api/openapi.json" in inside["detail"]
    root = httpx.get(f"{host}/", timeout=10)
    assert root.status_code == 200
    assert "under <code>/api/</code>" in root.text
    assert "/api/{apiVersion}/companies" in root.text
    assert bc_requests(proxy.sandbox) == []
