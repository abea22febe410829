"""Business Central's error envelope and the problem catalogue."""

from __future__ import annotations

import json
from decimal import Decimal

from shared.process.problems import PROBLEM_TYPES, FieldError, Problem, capped_errors
from shared.upstream.errors import parse_upstream_error, problem_from_upstream
from tests.support.fakes import ETAG

CONTRACT_SLUGS = {
    "malformed-json": 400,
    "invalid-path-parameter": 400,
    "invalid-if-match": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not-found": 404,
    "payload-too-large": 413,
    "unsupported-media-type": 415,
    "validation-failed": 422,
    "upstream-rejected": 422,
    "etag-mismatch": 412,
    "precondition-required": 428,
    "upstream-throttled": 429,
    "upstream-auth-failed": 502,
    "identity-unavailable": 502,
    "upstream-error": 502,
    "upstream-unavailable": 503,
    "upstream-timeout": 504,
    "proxy-misconfigured": 500,
    "invalid-query-parameter": 400,
    "internal-error": 500,
    "outcome-unknown": 409,
    "idempotency-key-reused": 422,
    # The application check of an update that names a customer or an invoice.
    "customer-not-found": 422,
    "customer-blocked": 422,
    "invoice-not-found": 422,
    "invoice-not-posted": 422,
    "invoice-fully-paid": 422,
    "invoice-customer-mismatch": 422,
    "invoice-currency-mismatch": 422,
}


def test_catalogue_matches_the_contract() -> None:
    assert {slug: t.status for slug, t in PROBLEM_TYPES.items()} == CONTRACT_SLUGS


def test_correlation_id_is_split_off_the_message() -> None:
    body = json.dumps(
        {
            "error": {
                "code": "Request_EntityChanged",
                "message": "Another user has already changed the record.  CorrelationId:  "
                "a1b2c3d4-e5f6-4718-9a0b-c1d2e3f4a5b6.",
            }
        }
    ).encode()
    error = parse_upstream_error(409, body)
    assert error is not None
    assert error.message == "Another user has already changed the record."
    assert error.correlation_id == "a1b2c3d4-e5f6-4718-9a0b-c1d2e3f4a5b6"


def test_non_envelope_bodies_are_not_parsed() -> None:
    for body in (b"", b"<html/>", b"[]", b'{"error": "x"}', b'{"error": {"code": 5}}'):
        assert parse_upstream_error(500, body) is None


def test_invalid_token_without_if_match_is_a_rejection() -> None:
    body = json.dumps({"error": {"code": "BadRequest_InvalidToken", "message": "x"}}).encode()
    assert problem_from_upstream(400, body, if_match_sent=False).slug == "upstream-rejected"
    assert problem_from_upstream(400, body, if_match_sent=True).slug == "etag-mismatch"


def test_problem_json_shape() -> None:
    problem = Problem("forbidden", "No.", retry_after=None)
    body = problem.as_json("https://docs.example/problems.md", "rid")
    assert body == {
        "type": "https://docs.example/problems.md#forbidden",
        "title": PROBLEM_TYPES["forbidden"].title,
        "status": 403,
        "detail": "No.",
        "requestId": "rid",
    }


def test_errors_are_capped_with_a_count_of_the_rest() -> None:
    errors = tuple(FieldError(f"p{i}", "unknown_field", "x") for i in range(250))
    shown = capped_errors(errors)
    assert len(shown) == 101
    assert shown[-1]["code"] == "too_many_errors"
    assert "150 more" in shown[-1]["message"]
    assert capped_errors(errors[:100]) == [e.as_json() for e in errors[:100]]


def test_outcome_unknown_problem_carries_the_current_line() -> None:
    problem = Problem("outcome-unknown", "d", current={"amount": Decimal("1.10"), "etag": ETAG})
    body = problem.as_json("https://x.test/api/problems", "r1")
    assert body["status"] == 409
    assert body["current"]["etag"] == ETAG
