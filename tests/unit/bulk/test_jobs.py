"""A bulk request is validated up front with the very PATCH rules; a job's
identities (instance id, body hash, status token)."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.bulk.jobs import (
    JOB_ID_RE,
    body_hash,
    idempotency_key_of,
    job_id_for,
    parse_bulk_request,
    status_token_for,
    token_hash,
    token_is_for,
    token_matches,
)
from shared.http.parsing import prepare_update
from shared.payment.refs import PaymentRef
from shared.process.jsonio import dumps_exact
from shared.process.problems import Problem
from shared.upstream.batch import Operation
from tests.unit.conftest import COMPANY, ETAG, JOURNAL, settings_with

JSON = {"content-type": "application/json"}
IDS = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(1, 2001)]


def body(updates: Any, **extra: Any) -> bytes:
    return dumps_exact({"updates": updates, **extra})


def update(n: int = 0, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": IDS[n], "ifMatch": ETAG, "changes": {"amount": Decimal("10.5")}}
    item.update(fields)
    return {k: v for k, v in item.items() if v is not None}


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


SECRET = b"a-deployment-secret-of-at-least-32-chars"


def test_job_ids_are_scoped_to_caller_company_journal_and_key() -> None:
    first = job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "k1")
    assert JOB_ID_RE.match(first)
    assert job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "k1") == first
    others = {
        job_id_for(SECRET, "entra:someone-else", COMPANY, JOURNAL, "k1"),
        job_id_for(SECRET, "function-key", JOURNAL, JOURNAL, "k1"),
        job_id_for(SECRET, "function-key", COMPANY, COMPANY, "k1"),
        job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "k2"),
    }
    assert first not in others
    assert len(others) == 4
    # Without a key every start is its own job.
    assert job_id_for(SECRET, "function-key", COMPANY, JOURNAL, None) != job_id_for(
        SECRET, "function-key", COMPANY, JOURNAL, None
    )


def test_a_job_id_cannot_be_computed_without_the_secret() -> None:
    job_id = job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "statement-2026-11-30")
    # Neither the plain digest of its inputs (however they are joined) ...
    for label in ("bulk", "bulk-job-id"):
        for separator in ("\x1f", "|", ""):
            inputs = (label, "function-key", COMPANY, JOURNAL, "statement-2026-11-30")
            material = separator.join(inputs)
            assert hashlib.sha256(material.encode()).hexdigest()[:32] != job_id
    # ... nor the same inputs under another deployment's secret.
    other = job_id_for(b"x" * 32, "function-key", COMPANY, JOURNAL, "statement-2026-11-30")
    assert JOB_ID_RE.match(other)
    assert other != job_id


def test_status_tokens_come_from_the_id_and_the_secret() -> None:
    job_id = job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "k1")
    token = status_token_for(SECRET, job_id)
    assert status_token_for(SECRET, job_id) == token  # a racing start hands out the same
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 256 bits, URL-safe, unpadded
    assert token not in (job_id, status_token_for(b"x" * 32, job_id))
    assert status_token_for(SECRET, "0" * 32) != token
    assert token_is_for(SECRET, job_id, token)
    assert not token_is_for(SECRET, job_id, token[:-1])
    assert not token_is_for(SECRET, "0" * 32, token)
    assert not token_is_for(b"x" * 32, job_id, token)
    assert not token_is_for(SECRET, job_id, token + "\udc80")  # a lone surrogate is just wrong


def test_body_hash_tells_different_updates_apart() -> None:
    def items(*updates: dict[str, Any]) -> list[str]:
        parsed = parse_bulk_request(settings_with(), "v2.0", JSON, body(list(updates)))
        return [item.as_text() for item in parsed]

    same = body_hash("v2.0", items(update(0), update(1)))
    assert body_hash("v2.0", items(update(0), update(1))) == same
    assert body_hash("v2.0", items(update(0, id=IDS[0].upper()), update(1))) == same
    assert body_hash("v2.0", items(update(1), update(0))) != same
    assert body_hash("v1.0", items(update(0), update(1))) != same
    assert body_hash("v2.0", items(update(0, ifMatch="*"), update(1))) != same
    assert body_hash("v2.0", items(update(0, clientRef="a"), update(1))) != same
    assert body_hash("v2.0", items(update(0, changes={"amount": "10.6"}), update(1))) != same
    spelt = update(0, changes={"amount": "10.5"})
    assert body_hash("v2.0", items(spelt, update(1))) == same


@given(st.text(max_size=80), st.text(max_size=80))
def test_token_comparison_is_exact(given_token: str, expected: str) -> None:
    assert token_matches(given_token, token_hash(expected)) == (given_token == expected)
    assert token_hash(expected) != expected


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
