"""A bulk request is read up front with the very PATCH rules: every item
checked, every problem reported at once; and its Idempotency-Key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.bulk.request import idempotency_key_of, parse_bulk_request
from shared.http.parsing import prepare_update
from shared.payment.refs import PaymentRef
from shared.process.jsonio import dumps_exact
from shared.process.problems import Problem
from shared.upstream.batch import Operation
from tests.support.bulk import IDS, JSON, body, update
from tests.support.fakes import COMPANY, ETAG, JOURNAL, settings_with


def problem_of(raw: bytes, version: str = "v2.0", **settings: str) -> Problem:
    with pytest.raises(Problem) as caught:
        parse_bulk_request(settings_with(**settings), version, JSON, raw)  # type: ignore[arg-type]
    return caught.value


def fields(problem: Problem) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in problem.errors]


def test_valid_items_keep_order_and_exact_values() -> None:
    raw = body([update(0, clientRef="row 17"), update(1, ifMatch="*", changes={"comment": "x"})])
    items = parse_bulk_request(settings_with(), "v2.0", JSON, raw)
    assert [i.index for i in items] == [0, 1]
    assert items[0] == Operation(0, IDS[0], ETAG, {"amount": Decimal("10.5")}, "row 17")
    assert items[1].if_match == "*"
    assert items[1].client_ref is None


def test_every_problem_of_every_item_is_reported_with_its_path() -> None:
    raw = body(
        [
            update(0, changes={"amount": "1.234", "ammount": 5}),
            update(1, ifMatch=None),
            update(2, ifMatch="not-a-tag"),
            update(3, id="nope"),
            update(4, changes={}),
            update(5, clientRef="x" * 101),
            "not an object",
            update(7, extra=1),
        ]
    )
    problem = problem_of(raw)
    assert problem.slug == "validation-failed"
    assert fields(problem) == [
        ("updates[0].changes.amount", "too_many_decimals"),
        ("updates[0].changes.ammount", "unknown_field"),
        ("updates[1].ifMatch", "required"),
        ("updates[2].ifMatch", "invalid_if_match"),
        ("updates[3].id", "invalid_guid"),
        ("updates[4].changes", "empty"),
        ("updates[5].clientRef", "invalid_client_ref"),
        ("updates[6]", "wrong_type"),
        ("updates[7].extra", "unknown_field"),
    ]
    assert 'did you mean "amount"' in problem.errors[1].message


def test_items_get_exactly_the_single_patch_verdict() -> None:
    """The same changes, alone as a PATCH body, fail with the same codes."""
    changes = {"amount": "1e-3", "customerNumber": "", "postingDate": "2026-02-30", "id": "x"}
    with pytest.raises(Problem) as single:
        prepare_update(
            settings_with(),
            PaymentRef("v2.0", COMPANY, JOURNAL, IDS[0]),
            {**JSON, "if-match": "*"},
            dumps_exact(changes),
        )
    bulk = problem_of(body([update(0, changes=changes)]))
    assert [(f"updates[0].changes.{e.field}", e.code) for e in single.value.errors] == fields(bulk)


def test_version_rules_apply_per_route_version() -> None:
    assert fields(problem_of(body([update(0, changes={"contactId": "c"})]))) == [
        ("updates[0].changes.contactId", "unknown_field")
    ]
    items = parse_bulk_request(
        settings_with(), "v1.0", JSON, body([update(0, changes={"contactId": "c"})])
    )
    assert items[0].changes == {"contactId": "c"}


def test_duplicate_ids_compare_case_insensitively_and_name_the_later_item() -> None:
    raw = body([update(0), update(1), update(0, id=IDS[0].upper())])
    assert fields(problem_of(raw)) == [("updates[2].id", "duplicate_id")]
    # Also when the earlier item is invalid for another reason.
    raw = body([update(0, ifMatch="bad"), update(0, changes={"comment": "x"})])
    assert fields(problem_of(raw)) == [
        ("updates[0].ifMatch", "invalid_if_match"),
        ("updates[1].id", "duplicate_id"),
    ]


def test_count_limits() -> None:
    assert fields(problem_of(body([]))) == [("updates", "required")]
    assert fields(problem_of(b'{"items": []}')) == [
        ("updates", "required"),
        ("items", "unknown_field"),
    ]
    too_many = problem_of(body([update(n) for n in range(4)]), BULK_MAX_ITEMS="3")
    assert fields(too_many) == [("updates", "too_many_items")]
    assert parse_bulk_request(
        settings_with(BULK_MAX_ITEMS="3"), "v2.0", JSON, body([update(n) for n in range(3)])
    )


def test_checking_stops_once_the_cap_is_reached_and_says_where() -> None:
    raw = body([update(n, id="bad") for n in range(150)])
    problem = problem_of(raw)
    assert problem.detail == "more than 100 problems in the bulk update; nothing was started"
    errors = problem.as_json("https://x.test/api/problems", "r1")["errors"]
    assert len(errors) == 101
    assert [e["field"] for e in errors[:100]] == [f"updates[{n}].id" for n in range(100)]
    assert errors[-1]["code"] == "too_many_errors"
    assert "checking stopped before updates[101] of 150" in errors[-1]["message"]


def test_under_the_cap_every_problem_is_counted() -> None:
    raw = body([update(n, id="bad") for n in range(100)])
    problem = problem_of(raw)
    assert problem.detail == "100 problems in the bulk update; nothing was started"
    assert len(problem.as_json("https://x.test/api/problems", "r1")["errors"]) == 100


def test_body_limit_is_checked_before_parsing() -> None:
    raw = body([update(n) for n in range(40)])
    assert problem_of(raw, BULK_MAX_BODY_BYTES=str(len(raw) - 1)).slug == "payload-too-large"
    assert parse_bulk_request(settings_with(BULK_MAX_BODY_BYTES=str(len(raw))), "v2.0", JSON, raw)
    with pytest.raises(Problem) as caught:
        parse_bulk_request(settings_with(), "v2.0", {"content-type": "text/plain"}, raw)
    assert caught.value.slug == "unsupported-media-type"
    assert problem_of(b'{"updates": [1,}').slug == "malformed-json"


def test_if_match_default_fills_a_missing_if_match() -> None:
    items = parse_bulk_request(
        settings_with(IF_MATCH_DEFAULT="*"), "v2.0", JSON, body([update(0, ifMatch=None)])
    )
    assert items[0].if_match == "*"


def test_idempotency_key_syntax() -> None:
    assert idempotency_key_of({}) is None
    assert idempotency_key_of({"idempotency-key": "statement 2026-11-30 #4"}) == (
        "statement 2026-11-30 #4"
    )
    for bad in ("", "x" * 256, "caf\u00e9", "tab\there"):
        with pytest.raises(Problem) as caught:
            idempotency_key_of({"idempotency-key": bad})
        assert caught.value.errors[0].field == "Idempotency-Key"


def test_an_item_may_be_a_line_sent_back_with_its_etag_standing_for_if_match() -> None:
    read = {"id": IDS[0], "journalId": JOURNAL, "etag": ETAG, "journalDisplayName": "CASH"}
    raw = body(
        [
            {"id": IDS[0], "changes": {**read, "amount": Decimal("1.5")}},
            {"id": IDS[1], "ifMatch": None, "changes": {**read, "id": IDS[1], "comment": "x"}},
        ]
    )
    items = parse_bulk_request(settings_with(), "v2.0", JSON, raw, JOURNAL)
    assert items[0] == Operation(0, IDS[0], ETAG, {"amount": Decimal("1.5")})
    assert (items[1].if_match, items[1].changes) == (ETAG, {"comment": "x"})
    # The same body validated where the journal is not known: journalId cannot be checked.
    assert fields(problem_of(raw)) == [
        ("updates[0].changes.journalId", "read_only"),
        ("updates[1].changes.journalId", "read_only"),
    ]


def test_an_items_etag_beside_another_if_match_is_refused_the_bulk_way() -> None:
    changes = {"etag": ETAG, "comment": "x"}
    problem = problem_of(body([update(0, ifMatch="*", changes=changes)]))
    assert fields(problem) == [("updates[0].changes.etag", "read_only")]
    assert "but ifMatch is * (any version)" in problem.errors[0].message
    # Without ifMatch, no etag and no default, the item still needs one.
    missing = problem_of(body([update(0, ifMatch=None, changes={"comment": "x"})]))
    assert fields(missing) == [("updates[0].ifMatch", "required")]
