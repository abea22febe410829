"""Business Central's errors: its error body read (the correlation id split off the
message, secrets redacted), and each answer mapped to the proxy's problem."""

from __future__ import annotations

import json

import pytest

from shared.upstream.errors import (
    AUTH_FAILED_DETAIL,
    NotSent,
    identity_problem,
    no_time,
    parse_upstream_error,
    problem_from_upstream,
)

CORRELATION = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def error(code: str, message: str | None = "It went wrong.") -> bytes:
    body: dict[str, object] = {"code": code}
    if message is not None:
        body["message"] = f"{message}  CorrelationId:  {CORRELATION}."
    return json.dumps({"error": body}).encode()


def test_the_correlation_id_is_split_off_the_message() -> None:
    found = parse_upstream_error(400, error("BadRequest", "The field is wrong."))
    assert found is not None
    assert (found.status, found.code, found.message) == (400, "BadRequest", "The field is wrong.")
    assert found.correlation_id == CORRELATION
    bare = parse_upstream_error(400, error("BadRequest", None))
    assert bare is not None
    assert (bare.message, bare.correlation_id) == (None, None)


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>Bad gateway</html>", b'{"error": "busy"}', b'{"error": {"message": "x"}}', b"[]"],
)
def test_a_body_that_is_not_business_centrals_error_is_none(body: bytes) -> None:
    assert parse_upstream_error(502, body) is None


def test_a_token_in_an_upstream_message_is_redacted() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl"
    found = parse_upstream_error(401, error("Authentication_InvalidCredentials", f"Bad {jwt}"))
    assert found is not None
    assert found.message is not None
    assert jwt not in found.message


@pytest.mark.parametrize(
    ("status", "code", "if_match_sent", "slug"),
    [
        (412, "Request_EntityChanged", True, "etag-mismatch"),
        (409, "Request_EntityChanged", True, "etag-mismatch"),
        (400, "BadRequest_InvalidToken", True, "etag-mismatch"),
        (400, "BadRequest_InvalidToken", False, "upstream-rejected"),
        (401, "Authentication_InvalidCredentials", False, "upstream-auth-failed"),
        (403, "Authorization_Forbidden", False, "upstream-auth-failed"),
        (404, "BadRequest_NotFound", False, "not-found"),
        (400, "Internal_RecordNotFound", True, "not-found"),
        (400, "Application_FieldValidationException", True, "upstream-rejected"),
        (429, "Application_TooManyRequests", False, "upstream-throttled"),
        (503, "Internal_TenantUnavailable", False, "upstream-unavailable"),
        (504, "Internal_Timeout", True, "upstream-timeout"),
        (408, "Internal_Timeout", False, "upstream-timeout"),
        (500, "Internal_ServerError", True, "upstream-error"),
    ],
)
def test_each_answer_becomes_the_proxys_problem(
    status: int, code: str, if_match_sent: bool, slug: str
) -> None:
    problem = problem_from_upstream(status, error(code), if_match_sent=if_match_sent)
    assert problem.slug == slug
    assert problem.upstream is not None
    assert (problem.upstream.status, problem.upstream.code) == (status, code)


def test_a_timeout_says_what_the_caller_may_assume() -> None:
    read = problem_from_upstream(504, b"", if_match_sent=False)
    write = problem_from_upstream(504, b"", if_match_sent=True)
    assert "Nothing was changed" in read.detail
    assert read.detail != write.detail


def test_an_answer_without_business_centrals_body_says_so() -> None:
    problem = problem_from_upstream(502, b"<html>gateway</html>", if_match_sent=False)
    assert problem.slug == "upstream-error"
    assert problem.detail.endswith("with a body that is not its error format")
    assert problem.upstream is not None
    assert problem.upstream.code is None


def test_the_identitys_refusal_says_how_to_register_it() -> None:
    problem = problem_from_upstream(401, error("Unauthorized"), if_match_sent=False)
    assert problem.detail == AUTH_FAILED_DETAIL.format(status=401)


def test_an_attempt_that_never_left_is_not_sent() -> None:
    waited = no_time("queued past the budget")
    assert isinstance(waited, NotSent)
    assert (waited.problem.slug, waited.reason) == ("upstream-throttled", "queued past the budget")
    assert identity_problem().slug == "identity-unavailable"
