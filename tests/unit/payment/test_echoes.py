"""A line sent back as it was read: each echo judged by its rule, none forwarded."""

from __future__ import annotations

from typing import Any

import pytest

from shared.http.parsing import check_update
from shared.payment.echoes import ECHOED, READ_ALONG, set_aside
from shared.payment.models import READ_ONLY_PROPERTIES
from tests.support.fakes import ETAG, JOURNAL, PAYMENT

ADDRESS = {"id": PAYMENT, "journalId": JOURNAL}
LINE = {
    "id": PAYMENT,
    "journalId": JOURNAL,
    "journalDisplayName": "CASH",
    "amount": 10,
    "comment": "",
    "lastModifiedDateTime": "2026-01-15T09:30:00Z",
    "etag": ETAG,
}


def check(body: dict[str, Any], if_match: str | None = None, version: str = "v2.0") -> Any:
    return check_update(
        version,  # type: ignore[arg-type]
        body,
        address=ADDRESS,
        if_match=if_match,
        amount_decimals=2,
    )


def test_every_read_only_property_of_a_line_is_an_echo() -> None:
    assert READ_ONLY_PROPERTIES | {"etag", "title"} == set(ECHOED)
    assert set(READ_ALONG) == {"journalDisplayName", "lastModifiedDateTime", "dimensions", "title"}


def test_a_line_sent_back_forwards_only_its_editable_properties() -> None:
    checked = check({**LINE, "comment": "paid"}, if_match=ETAG)
    assert checked.errors == []
    assert checked.changes == {"amount": 10, "comment": "paid"}
    assert checked.if_match == ETAG


def test_ids_compare_in_any_case_and_etags_as_entity_tags() -> None:
    strong = ETAG.removeprefix("W/")
    body = {**LINE, "id": PAYMENT.upper(), "journalId": JOURNAL.upper(), "etag": strong}
    checked = check(body, if_match=ETAG)
    assert checked.errors == []
    # The header is what goes: the body's etag only had to agree with it.
    assert checked.if_match == ETAG


def test_without_if_match_the_etag_is_the_precondition() -> None:
    checked = check({**LINE, "amount": 11})
    assert (checked.errors, checked.if_match) == ([], ETAG)
    assert "etag" not in (checked.changes or {})


@pytest.mark.parametrize(
    ("change", "if_match", "field", "says"),
    [
        ({"id": JOURNAL}, ETAG, "id", f"not the id of the line in the address ({PAYMENT})"),
        ({"journalId": PAYMENT}, ETAG, "journalId", "not the id of the journal"),
        ({"id": 5}, ETAG, "id", "not the id of the line"),
        ({}, 'W/"other"', "etag", "another version than If-Match"),
        ({}, "*", "etag", "but If-Match is * (any version)"),
        ({"etag": "*"}, None, "etag", "must be the line's ETag as a read shows it"),
        ({"etag": None}, None, "etag", "must be the line's ETag as a read shows it"),
        ({"etag": 'W/\\"JzE5\\"'}, None, "etag", "must be the line's ETag as a read shows it"),
    ],
)
def test_an_echo_that_is_not_this_line_or_version_is_refused_by_name(
    change: dict[str, Any], if_match: str | None, field: str, says: str
) -> None:
    checked = check({**LINE, **change}, if_match=if_match)
    assert checked.changes is None
    assert [(e.field, e.code) for e in checked.errors] == [(field, "read_only")]
    assert says in checked.errors[0].message


@pytest.mark.parametrize("name", READ_ALONG)
def test_a_read_only_value_without_the_etag_is_an_attempt_to_change_it(name: str) -> None:
    checked = check({"comment": "x", name: "whatever"}, if_match=ETAG)
    assert [(e.field, e.code) for e in checked.errors] == [(name, "read_only")]
    assert 'beside its "etag"' in checked.errors[0].message


def test_v1_lines_carry_dimensions_back_and_never_forward_them() -> None:
    v1 = {k: v for k, v in LINE.items() if k != "journalId"}
    checked = check({**v1, "dimensions": [{"code": "AREA"}], "contactId": "C1"}, version="v1.0")
    assert checked.errors == []
    assert checked.changes == {"amount": 10, "comment": "", "contactId": "C1"}


def test_echoes_alone_are_nothing_to_update_and_errors_keep_the_bodys_order() -> None:
    only = check({"id": PAYMENT, "etag": ETAG})
    assert [(e.field, e.code) for e in only.errors] == [("", "empty")]
    assert '"id", "etag"' in only.errors[0].message
    mixed = check({"ammount": 1, "id": JOURNAL, "comment": "x" * 251, "journalDisplayName": "X"})
    assert [e.field for e in mixed.errors] == ["ammount", "id", "comment", "journalDisplayName"]


def test_odata_and_unknown_properties_are_not_echoes() -> None:
    aside = set_aside({"@odata.etag": ETAG, "amount": 1, "colour": "red"}, ADDRESS)
    assert aside.rest == {"@odata.etag": ETAG, "amount": 1, "colour": "red"}
    assert aside.errors == ()
    checked = check({"@odata.etag": ETAG, "amount": 1}, if_match=ETAG)
    assert [(e.field, e.code) for e in checked.errors] == [("@odata.etag", "read_only")]
