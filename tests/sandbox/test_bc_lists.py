"""The emulator's collection queries: $filter (comparisons and text functions,
"and", "or" on one property, quoted literals), $top, $skip and server-driven
paging with @odata.nextLink."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.filters import parse_filter as _parse_filter
from shared.lines.lists import odata_filter
from shared.payment.models import stored_form
from tests.support.sandbox import RunningSandbox
from tests.support.sandbox_answers import bc_error, exact


def lines_url(sandbox: RunningSandbox, version: str = "v2.0") -> str:
    return sandbox.payment_url(version).rsplit("(", 1)[0]


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in exact(response)["value"]]


def seeded(sandbox: RunningSandbox) -> list[str]:
    return [p["id"] for p in sandbox.seed["companies"][0]["journals"][0]["payments"]]


def test_eq_filters_joined_by_and(sandbox: RunningSandbox, client: httpx.Client) -> None:
    line = exact(client.get(sandbox.payment_url(line=1)))
    url = lines_url(sandbox)
    one = f"documentNumber eq '{line['documentNumber']}'"
    assert ids(client.get(url, params={"$filter": one})) == [line["id"]]
    both = f"{one} and customerNumber eq '{line['customerNumber']}'"
    assert ids(client.get(url, params={"$filter": both})) == [line["id"]]
    other = f"{one} and lineNumber eq {line['lineNumber'] + 1}"
    assert ids(client.get(url, params={"$filter": other})) == []
    assert ids(client.get(url, params={"$filter": f"lineNumber eq {line['lineNumber']}"})) == [
        line["id"]
    ]


def test_doubled_quotes_are_one_quote(sandbox: RunningSandbox, client: httpx.Client) -> None:
    patched = client.patch(
        sandbox.payment_url(), json={"documentNumber": "O'BRIEN"}, headers={"If-Match": "*"}
    )
    assert patched.status_code == 200
    url = lines_url(sandbox)
    found = ids(client.get(url, params={"$filter": "documentNumber eq 'O''BRIEN'"}))
    assert found == [seeded(sandbox)[0]]
    # Quoted, an "or" is just text in the literal: nothing widens.
    literal = "documentNumber eq 'X'' or 1 eq 1 or documentNumber eq ''G00001'"
    assert ids(client.get(url, params={"$filter": literal})) == []


@pytest.mark.parametrize(
    "expression",
    [
        "documentNumber eq 'X' or 1 eq 1",
        "documentNumber eq 'unterminated",
        # Business Central cannot filter one field or another.
        "documentNumber eq 'G00001' or customerNumber eq '20000'",
        "substringof('G', documentNumber)",
        "documentNumber eq 'A' and",
        "(documentNumber eq 'A'",
    ],
)
def test_what_it_cannot_parse_is_refused_not_widened(
    sandbox: RunningSandbox, client: httpx.Client, expression: str
) -> None:
    bc_error(client.get(lines_url(sandbox), params={"$filter": expression}), 400, "BadRequest")


def test_text_functions_ne_and_or_on_one_property(
    sandbox: RunningSandbox, client: httpx.Client
) -> None:
    url = lines_url(sandbox)
    everything = seeded(sandbox)

    def found(expression: str) -> list[str]:
        return ids(client.get(url, params={"$filter": expression}))

    assert found("contains(documentNumber, '0002')") == everything[1:2]
    assert found("startswith(description,'Payment')") == everything[:1]
    # Text compares as Business Central compares it: case matters.
    assert found("contains(description, 'payment')") == []
    assert found("documentNumber ne 'G00001'") == everything[1:]
    assert found("documentNumber eq 'G00001' or documentNumber eq 'G00003'") == [
        everything[0],
        everything[2],
    ]
    two = "(lineNumber eq 10000 or lineNumber eq 20000) and amount gt 1500"
    assert found(two) == everything[:1]
    assert found(f"id eq {everything[1].upper()}") == everything[1:2]


def test_unknown_property_in_a_filter(sandbox: RunningSandbox, client: httpx.Client) -> None:
    response = client.get(lines_url(sandbox), params={"$filter": "nope eq 'x'"})
    assert "nope" in bc_error(response, 400, "BadRequest")


def test_top_and_skip(sandbox: RunningSandbox, client: httpx.Client) -> None:
    url = lines_url(sandbox)
    everything = seeded(sandbox)
    assert ids(client.get(url, params={"$top": "2"})) == everything[:2]
    assert ids(client.get(url, params={"$skip": "1"})) == everything[1:]
    assert ids(client.get(url, params={"$skip": "1", "$top": "1"})) == everything[1:2]
    assert ids(client.get(url, params={"$top": "0"})) == []
    for bad in ({"$top": "-1"}, {"$skip": "x"}):
        bc_error(client.get(url, params=bad), 400, "BadRequest")


@pytest.fixture
def page_of_two(sandbox: RunningSandbox) -> Iterator[None]:
    emulator = sandbox.app.state.sandbox.bc
    emulator.page_size = 2
    yield
    emulator.page_size = 20000


def test_long_answers_end_with_a_next_link(
    sandbox: RunningSandbox, client: httpx.Client, page_of_two: None
) -> None:
    first = exact(client.get(lines_url(sandbox)))
    assert len(first["value"]) == 2
    link = first["@odata.nextLink"]
    assert link.startswith(lines_url(sandbox) + "?")
    second = exact(client.get(link))
    assert "@odata.nextLink" not in second
    assert [x["id"] for x in first["value"] + second["value"]] == seeded(sandbox)
    # $top is honoured across pages, and the filter is kept.
    capped = exact(client.get(lines_url(sandbox), params={"$top": "3"}))
    rest = exact(client.get(capped["@odata.nextLink"]))
    assert len(rest["value"]) == 1
    filtered = client.get(
        lines_url(sandbox), params={"$filter": "postingDate eq '2026-01-15'", "$top": "3"}
    )
    assert "%24filter" in exact(filtered)["@odata.nextLink"]


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(["documentNumber", "customerNumber", "appliesToInvoiceNumber"]),
        st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=20),
        min_size=1,
    )
)
def test_any_filter_the_proxy_builds_is_one_literal_per_property(values: dict[str, str]) -> None:
    # Whatever a caller sends (quotes, "or", parentheses), the emulator reads
    # back exactly the clauses the proxy meant: no value adds a condition.
    groups = _parse_filter(odata_filter(values))
    assert all(len(group) == 1 and group[0].op == "eq" for group in groups)
    assert [group[0].name for group in groups] == list(values)
    for [condition], value in zip(groups, values.values(), strict=True):
        assert condition.text == stored_form(condition.name, value)
