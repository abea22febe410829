"""The payment use cases end to end inside the process: every route check,
header rule and problem, with Business Central faked by httpx.MockTransport."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.functions.lines import handle_payment
from shared.http.messages import CoreRequest, CoreResponse
from shared.process.settings import reset_settings
from tests.support.fakes import (
    COMPANY,
    ETAG,
    JOURNAL,
    NEW_ETAG,
    PAYMENT,
    TENANT,
    CountingCredential,
    FakeBusinessCentral,
    Reconfigure,
    bc_error,
    bc_line,
    payment_path,
)

JSON = {"content-type": "application/json"}


def patch_request(
    body: bytes | dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    path: dict[str, str] | None = None,
) -> CoreRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return CoreRequest(
        "PATCH",
        path or payment_path(),
        {**JSON, "if-match": ETAG, **(headers or {})},
        raw,
    )


def problem(response: CoreResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = json.loads(response.body)
    assert body["status"] == response.status
    assert body["requestId"] == response.headers["x-request-id"]
    return body


def slug(response: CoreResponse) -> str:
    return str(problem(response)["type"]).rsplit("#", 1)[1]


# --- success ----------------------------------------------------------------


async def test_patch_forwards_exactly_what_was_sent(bc: FakeBusinessCentral) -> None:
    raw = b'{"amount": 1234.50, "description": "Paid by transfer", "postingDate": "2026-11-30"}'
    response = await handle_payment(
        patch_request(
            raw,
            headers={
                "accept-language": "da-DK",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "x-request-id": "flow-run-42",
                "authorization": "Bearer caller-token-must-not-travel",
            },
        )
    )
    assert response.status == 200
    sent = bc.last
    assert sent.method == "PATCH"
    assert str(sent.url) == (
        f"https://bc.example.test/v2.0/{TENANT}/production/api/v2.0/companies({COMPANY})"
        f"/customerPaymentJournals({JOURNAL})/customerPayments({PAYMENT})"
    )
    assert (
        sent.content
        == b'{"amount":1234.50,"description":"Paid by transfer","postingDate":"2026-11-30"}'
    )
    assert sent.headers["if-match"] == ETAG
    assert sent.headers["authorization"] == "Bearer token-1"
    assert sent.headers["accept-language"] == "da-DK"
    assert sent.headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c")
    assert sent.headers["x-ms-client-request-id"] == "flow-run-42"
    assert sent.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "flow-run-42"


async def test_success_is_normalized_with_etag(bc: FakeBusinessCentral) -> None:
    response = await handle_payment(patch_request({"amount": 2000.5}))
    body = json.loads(response.body, parse_float=Decimal)
    assert response.headers["ETag"] == NEW_ETAG
    assert response.headers["Content-Type"].startswith("application/json")
    assert body["etag"] == NEW_ETAG
    assert not [key for key in body if key.startswith("@odata")]
    assert body["journalDisplayName"] == "CASH"


async def test_amount_digits_from_business_central_survive(bc: FakeBusinessCentral) -> None:
    raw = b'{"@odata.etag": "W/\\"x\\"", "id": "a", "amount": 999999999999.99, "future": 0.10}'
    bc.responder = lambda request: httpx.Response(200, content=raw)
    response = await handle_payment(patch_request({"amount": "999999999999.99"}))
    assert b'"amount":999999999999.99' in response.body
    assert b'"future":0.10' in response.body
    assert bc.last.content == b'{"amount":999999999999.99}'


@pytest.mark.parametrize(
    ("sent", "forwarded"),
    [
        (b"0.30", b"0.30"),
        (b'"0.1"', b"0.1"),
        (b"123456789012.3", b"123456789012.3"),
        (b"-0.07", b"-0.07"),
        (b"1.5e2", b"150"),
        (b'"2000.50"', b"2000.50"),
    ],
)
async def test_amounts_are_forwarded_as_the_same_exact_decimal(
    bc: FakeBusinessCentral, sent: bytes, forwarded: bytes
) -> None:
    response = await handle_payment(patch_request(b'{"amount": ' + sent + b"}"))
    assert response.status == 200
    assert bc.last.content == b'{"amount":' + forwarded + b"}"


async def test_float_artefacts_survive_byte_for_byte(
    bc: FakeBusinessCentral, reconfigure: Reconfigure
) -> None:
    # With 20 fraction digits allowed, values a float would mangle pass unchanged.
    await reconfigure(AMOUNT_DECIMALS="20")
    for literal in (
        b"0.30000000000000004",
        b"0.1",
        b"123456789012.34567890123",
        b"0.12345678901234567",
    ):
        response = await handle_payment(patch_request(b'{"amount":' + literal + b"}"))
        assert response.status == 200, response.body
        assert bc.last.content == b'{"amount":' + literal + b"}"


async def test_get_reads_without_body_or_if_match(bc: FakeBusinessCentral) -> None:
    response = await handle_payment(CoreRequest("GET", payment_path(), {}, b"ignored"))
    assert response.status == 200
    assert bc.last.method == "GET"
    assert "if-match" not in bc.last.headers
    assert bc.last.content == b""
    assert response.headers["ETag"] == NEW_ETAG


@pytest.mark.parametrize("version", ["v1.0", "v2.0"])
async def test_misspelled_v1_journal_set_is_an_alias(bc: FakeBusinessCentral, version: str) -> None:
    response = await handle_payment(
        patch_request({"comment": "x"}, path=payment_path(version, "customerPaymentsJournals"))
    )
    assert response.status == 200
    assert f"/api/{version}/" in str(bc.last.url)
    assert "/customerPaymentJournals(" in str(bc.last.url)


async def test_upper_case_ids_are_accepted(bc: FakeBusinessCentral) -> None:
    path = {**payment_path(), "companyId": COMPANY.upper()}
    response = await handle_payment(patch_request({"comment": "x"}, path=path))
    assert response.status == 200
    assert f"companies({COMPANY})" in str(bc.last.url)


async def test_star_if_match_is_forwarded(bc: FakeBusinessCentral) -> None:
    response = await handle_payment(patch_request({"comment": "x"}, headers={"if-match": "*"}))
    assert response.status == 200
    assert bc.last.headers["if-match"] == "*"


async def test_merge_patch_and_charset_content_types(bc: FakeBusinessCentral) -> None:
    for content_type in ("application/merge-patch+json", "Application/JSON; charset=UTF-8"):
        response = await handle_payment(
            patch_request({"comment": "x"}, headers={"content-type": content_type})
        )
        assert response.status == 200


# --- problems before any upstream call ---------------------------------------


@pytest.mark.parametrize(
    ("path_change", "status", "expected"),
    [
        ({"apiVersion": "v3.0"}, 404, "not-found"),
        ({"apiVersion": "beta"}, 404, "not-found"),
        ({"journalSet": "generalJournals"}, 404, "not-found"),
        ({"companyId": "not-a-guid"}, 400, "invalid-path-parameter"),
        ({"journalId": "{" + JOURNAL + "}"}, 400, "invalid-path-parameter"),
        ({"paymentId": PAYMENT + ")/../x"}, 400, "invalid-path-parameter"),
        ({"paymentId": "'" + PAYMENT + "'"}, 400, "invalid-path-parameter"),
    ],
)
async def test_route_problems(
    bc: FakeBusinessCentral, path_change: dict[str, str], status: int, expected: str
) -> None:
    response = await handle_payment(
        patch_request({"comment": "x"}, path={**payment_path(), **path_change})
    )
    assert (response.status, slug(response)) == (status, expected)
    assert bc.requests == []


async def test_invalid_path_parameter_names_each_parameter(bc: FakeBusinessCentral) -> None:
    path = {**payment_path(), "companyId": "x", "paymentId": "y"}
    body = problem(await handle_payment(patch_request({"comment": "x"}, path=path)))
    assert "companyId" in body["detail"]
    assert "paymentId" in body["detail"]
    assert "journalId" not in body["detail"]


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        ({"content-type": "text/plain"}, 415, "unsupported-media-type"),
        ({"content-type": ""}, 415, "unsupported-media-type"),
        ({"content-type": "application/json; charset=latin-1"}, 415, "unsupported-media-type"),
        ({"content-type": "application/jsonx"}, 415, "unsupported-media-type"),
        ({"if-match": ""}, 428, "precondition-required"),
        ({"if-match": "abc"}, 400, "invalid-if-match"),
        ({"if-match": 'W/"a", W/"b"'}, 400, "invalid-if-match"),
        ({"if-match": '"a\r\nx: y"'}, 400, "invalid-if-match"),
        ({"if-match": 'W/"' + "a" * 2000 + '"'}, 400, "invalid-if-match"),
    ],
)
async def test_header_problems(
    bc: FakeBusinessCentral, headers: dict[str, str], status: int, expected: str
) -> None:
    response = await handle_payment(patch_request({"comment": "x"}, headers=headers))
    assert (response.status, slug(response)) == (status, expected)
    assert bc.requests == []


async def test_missing_if_match_says_how_to_get_one(bc: FakeBusinessCentral) -> None:
    request = patch_request({"comment": "x"})
    headers = {k: v for k, v in request.headers.items() if k != "if-match"}
    body = problem(
        await handle_payment(CoreRequest("PATCH", payment_path(), headers, request.body))
    )
    assert body["status"] == 428
    assert "GET" in body["detail"]
    assert "*" in body["detail"]
    assert bc.requests == []


async def test_if_match_default_star_is_opt_in(
    bc: FakeBusinessCentral, reconfigure: Reconfigure
) -> None:
    await reconfigure(IF_MATCH_DEFAULT="*")
    request = patch_request({"comment": "x"})
    headers = {k: v for k, v in request.headers.items() if k != "if-match"}
    response = await handle_payment(CoreRequest("PATCH", payment_path(), headers, request.body))
    assert response.status == 200
    assert bc.last.headers["if-match"] == "*"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'"text"',
        b"42",
        b"null",
        b'{"amount": 1, "amount": 2}',
        b'{"amount": NaN}',
        b'{"amount": Infinity}',
        b'{"amount": -Infinity}',
        b'{"comment": "\xff"}',
        b'\xef\xbb\xbf{"comment": "x"}',
        b'{"comment": "x"',
        b"[" * 50000,
        b'{"comment": "\\ud800"}',
    ],
)
async def test_malformed_json(bc: FakeBusinessCentral, raw: bytes) -> None:
    response = await handle_payment(patch_request(raw))
    assert (response.status, slug(response)) == (400, "malformed-json")
    assert bc.requests == []


async def test_body_limit_is_checked_before_parsing(bc: FakeBusinessCentral) -> None:
    # Not even JSON: the size alone decides.
    response = await handle_payment(patch_request(b"x" * 65537))
    assert (response.status, slug(response)) == (413, "payload-too-large")
    declared = patch_request({"comment": "x"}, headers={"content-length": "999999"})
    assert slug(await handle_payment(declared)) == "payload-too-large"
    assert bc.requests == []


async def test_body_at_the_limit_is_parsed(bc: FakeBusinessCentral) -> None:
    raw = b'{"comment": "x"}'
    raw = raw + b" " * (65536 - len(raw))
    assert (await handle_payment(patch_request(raw))).status == 200


async def test_validation_reports_every_problem_at_once(bc: FakeBusinessCentral) -> None:
    response = await handle_payment(
        # Another line's id: a line's own id, sent back as read, would be taken.
        patch_request({"ammount": 5, "amount": 1.234, "id": COMPANY, "description": "x" * 101})
    )
    body = problem(response)
    assert (response.status, slug(response)) == (422, "validation-failed")
    assert body["detail"] == "4 properties are invalid"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("ammount", "unknown_field"),
        ("amount", "too_many_decimals"),
        ("id", "read_only"),
        ("description", "too_long"),
    ]
    assert body["errors"][0]["message"] == 'unknown field "ammount"; did you mean "amount"?'
    assert bc.requests == []


async def test_empty_object_is_a_validation_problem(bc: FakeBusinessCentral) -> None:
    response = await handle_payment(patch_request({}))
    assert (response.status, slug(response)) == (422, "validation-failed")
    assert bc.requests == []


async def test_problem_as_plain_json_when_asked(bc: FakeBusinessCentral) -> None:
    response = await handle_payment(patch_request({}, headers={"accept": "application/json"}))
    assert response.headers["Content-Type"].startswith("application/json")
    both = await handle_payment(
        patch_request({}, headers={"accept": "application/json, application/problem+json"})
    )
    assert both.headers["Content-Type"].startswith("application/problem+json")


async def test_request_id_is_made_when_unreasonable(bc: FakeBusinessCentral) -> None:
    response = await handle_payment(patch_request({}, headers={"x-request-id": "bad id\r\n" * 3}))
    request_id = response.headers["x-request-id"]
    assert "\n" not in request_id
    assert len(request_id) == 36
    adopted = await handle_payment(patch_request({}, headers={"x-ms-client-request-id": "abc:1"}))
    assert adopted.headers["x-request-id"] == "abc:1"


async def test_untrusted_headers_are_not_forwarded(bc: FakeBusinessCentral) -> None:
    await handle_payment(
        patch_request(
            {"comment": "x"},
            headers={
                "accept-language": "da\r\nx-evil: 1",
                "traceparent": "garbage",
                "cookie": "a=b",
            },
        )
    )
    sent = bc.last.headers
    assert "accept-language" not in sent
    assert "traceparent" not in sent
    assert "cookie" not in sent


async def test_missing_tenant_is_proxy_misconfigured(
    bc: FakeBusinessCentral, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BC_TENANT_ID")
    monkeypatch.setenv("AMOUNT_DECIMALS", "secret-looking-value")
    reset_settings()
    response = await handle_payment(patch_request({"comment": "x"}))
    body = problem(response)
    assert (response.status, slug(response)) == (500, "proxy-misconfigured")
    assert "BC_TENANT_ID" in body["detail"]
    assert "AMOUNT_DECIMALS" in body["detail"]
    assert "secret-looking-value" not in response.body.decode()
    assert bc.requests == []


# --- Business Central's answers ------------------------------------------------


@pytest.mark.parametrize(
    ("upstream", "status", "expected"),
    [
        (
            bc_error(409, "Request_EntityChanged", "Another user has already changed the record."),
            412,
            "etag-mismatch",
        ),
        (bc_error(412, "Request_EntityChanged", "Precondition failed."), 412, "etag-mismatch"),
        (
            bc_error(
                400, "BadRequest_InvalidToken", "Could not validate the client concurrency token."
            ),
            412,
            "etag-mismatch",
        ),
        (
            bc_error(401, "Authentication_InvalidCredentials", "The credentials are invalid."),
            502,
            "upstream-auth-failed",
        ),
        (bc_error(403, "Authorization_Failed", "No permission."), 502, "upstream-auth-failed"),
        (bc_error(404, "BadRequest_NotFound", "The resource was not found."), 404, "not-found"),
        (bc_error(400, "Internal_RecordNotFound", "The record does not exist."), 404, "not-found"),
        (bc_error(400, "Application_StringExceededLength", "Too long."), 422, "upstream-rejected"),
        (bc_error(400, "BadRequest", "Bad."), 422, "upstream-rejected"),
        (bc_error(500, "Internal_ServerError", "Oops."), 502, "upstream-error"),
        (httpx.Response(400, text="not json"), 502, "upstream-error"),
    ],
)
async def test_upstream_answers_map_to_problems(
    bc: FakeBusinessCentral, upstream: httpx.Response, status: int, expected: str
) -> None:
    bc.responder = lambda request: upstream
    response = await handle_payment(patch_request({"comment": "x"}))
    assert (response.status, slug(response)) == (status, expected)


async def test_unreadable_success_is_checked_by_reading_the_line(bc: FakeBusinessCentral) -> None:
    # BC said 2xx but its body is unreadable, and so is the line read back:
    # the change may well be in, so the only honest answer is "unknown".
    bc.responder = lambda request: httpx.Response(200, text="{broken")
    patched = await handle_payment(patch_request({"comment": "x"}))
    assert (patched.status, slug(patched)) == (504, "upstream-timeout")
    assert [r.method for r in bc.requests] == ["PATCH", "GET"]
    read = await handle_payment(CoreRequest("GET", payment_path(), {}))
    assert (read.status, slug(read)) == (502, "upstream-error")


async def test_unreadable_success_with_the_values_in_place_is_200(bc: FakeBusinessCentral) -> None:
    answers = iter(
        [httpx.Response(200, text="{broken"), httpx.Response(200, json=bc_line(comment="x"))]
    )
    bc.responder = lambda request: next(answers)
    response = await handle_payment(patch_request({"comment": "x"}))
    assert response.status == 200
    assert json.loads(response.body)["comment"] == "x"


async def test_gateway_errors_end_by_outcome(bc: FakeBusinessCentral) -> None:
    # A 502 from a gateway on a PATCH leaves the outcome unknown; on a GET it is
    # simply an upstream error. Both are retried until the budget ends.
    bc.responder = lambda request: httpx.Response(502, text="<html>Bad gateway</html>")
    patched = await handle_payment(patch_request({"comment": "x"}))
    assert (patched.status, slug(patched)) == (504, "upstream-timeout")
    attempts = len(bc.requests)
    assert attempts > 1
    read = await handle_payment(CoreRequest("GET", payment_path(), {}))
    assert (read.status, slug(read)) == (502, "upstream-error")
    assert len(bc.requests) > attempts + 1


class LostThenRefused:
    """The first PATCH is lost at a gateway (504); each GET answers the next of
    ``reads`` (the last one from then on); every later PATCH gets ``refusal``."""

    def __init__(self, refusal: httpx.Response, *reads: httpx.Response) -> None:
        self.refusal = refusal
        self.reads = list(reads)
        self.patches = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]
        self.patches += 1
        if self.patches == 1:
            return httpx.Response(504, text="<html>Gateway Timeout</html>")
        return self.refusal


def line_read(etag: str = ETAG, **changes: Any) -> httpx.Response:
    return httpx.Response(200, json={**bc_line(**changes), "@odata.etag": etag})


REFUSALS = [
    bc_error(409, "Internal_EntityWithSameKeyExists", "The record already exists."),
    bc_error(409, "Request_EntityChanged", "Another user has already changed the record."),
    bc_error(412, "Request_EntityChanged", "Precondition failed."),
    bc_error(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token."),
    bc_error(400, "Application_FieldValidationException", "Refused."),
    bc_error(401, "Authentication_InvalidCredentials", "The credentials are invalid."),
    bc_error(403, "Authorization_Failed", "No permission."),
    bc_error(404, "BadRequest_NotFound", "Not found."),
    bc_error(500, "Internal_ServerError", "Oops."),
    httpx.Response(409, text="not json"),
    httpx.Response(400, text=""),
]


@pytest.mark.parametrize("if_match", [ETAG, "*"])
@pytest.mark.parametrize("refusal", REFUSALS)
async def test_a_refused_resend_after_a_loss_proves_nothing(
    bc: FakeBusinessCentral, refusal: httpx.Response, if_match: str
) -> None:
    """The first attempt is lost and, with an ETag, a read shows it absent so
    far; the resend is refused. Whatever the refusal, the lost attempt may
    still land: the answer is the line as it is now, never the refusal."""
    bc.responder = LostThenRefused(refusal, line_read(comment="before"))
    response = await handle_payment(patch_request({"comment": "x"}, headers={"if-match": if_match}))
    assert (response.status, slug(response)) == (409, "outcome-unknown")
    assert problem(response)["current"]["etag"] == ETAG
    assert problem(response)["current"]["comment"] == "before"
    assert [r.method for r in bc.requests][-1] == "GET"


@pytest.mark.parametrize("if_match", [ETAG, "*"])
async def test_a_refused_resend_whose_line_cannot_be_read_is_504(
    bc: FakeBusinessCentral, if_match: str
) -> None:
    refusal = bc_error(409, "Internal_EntityWithSameKeyExists", "The record already exists.")
    # With an ETag the first read shows the line unchanged; every read after fails.
    reads = [line_read()] if if_match != "*" else []
    bc.responder = LostThenRefused(refusal, *reads, bc_error(500, "Internal_ServerError", "Oops."))
    response = await handle_payment(patch_request({"comment": "x"}, headers={"if-match": if_match}))
    assert (response.status, slug(response)) == (504, "upstream-timeout")


async def test_changed_since_after_a_loss_is_judged_on_the_line_read(
    bc: FakeBusinessCentral,
) -> None:
    """With a specific ETag, a resend refused as "changed since" is read by the
    read-before-resend rule: a new ETag with other values proves the update is
    not there (412); with the values sent, it may be this update (409)."""
    changed = bc_error(409, "Request_EntityChanged", "Another user has already changed the record.")
    bc.responder = LostThenRefused(changed, line_read(), line_read(NEW_ETAG, comment="theirs"))
    response = await handle_payment(patch_request({"comment": "x"}))
    assert (response.status, slug(response)) == (412, "etag-mismatch")
    assert "does not hold your update" in problem(response)["detail"]

    bc.requests.clear()
    bc.responder = LostThenRefused(changed, line_read(), line_read(NEW_ETAG, comment="x"))
    response = await handle_payment(patch_request({"comment": "x"}))
    assert (response.status, slug(response)) == (409, "outcome-unknown")
    assert problem(response)["current"]["etag"] == NEW_ETAG


async def test_upstream_details_are_reported(bc: FakeBusinessCentral) -> None:
    bc.responder = lambda request: bc_error(
        400,
        "Application_DialogException",
        "The customer values do not match to a specific Customer.",
    )
    body = problem(await handle_payment(patch_request({"customerNumber": "20000"})))
    assert body["upstream"] == {
        "status": 400,
        "code": "Application_DialogException",
        "message": "The customer values do not match to a specific Customer.",
        "correlationId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    }


async def test_auth_failure_tells_the_operator_what_to_register(bc: FakeBusinessCentral) -> None:
    bc.responder = lambda request: bc_error(401, "Authentication_InvalidCredentials", "No.")
    body = problem(await handle_payment(patch_request({"comment": "x"})))
    assert "Microsoft Entra Applications" in body["detail"]
    assert "client id" in body["detail"]


async def test_echoed_token_is_redacted(bc: FakeBusinessCentral) -> None:
    bc.responder = lambda request: bc_error(
        400,
        "BadRequest",
        f"Header was {request.headers['authorization']} and eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
    )
    response = await handle_payment(patch_request({"comment": "x"}))
    assert b"token-1" not in response.body
    assert b"eyJhbGciOi" not in response.body


async def test_get_of_missing_line_is_not_found(bc: FakeBusinessCentral) -> None:
    bc.responder = lambda request: bc_error(404, "BadRequest_NotFound", "Not found.")
    response = await handle_payment(CoreRequest("GET", payment_path(), {}))
    assert (response.status, slug(response)) == (404, "not-found")


async def test_identity_failure_is_identity_unavailable(
    bc: FakeBusinessCentral, credential: CountingCredential
) -> None:
    credential.fail = True
    response = await handle_payment(patch_request({"comment": "x"}))
    assert (response.status, slug(response)) == (502, "identity-unavailable")
    assert bc.requests == []


async def test_connection_refused_is_unavailable(bc: FakeBusinessCentral) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    bc.responder = refuse
    response = await handle_payment(patch_request({"comment": "x"}))
    assert (response.status, slug(response)) == (503, "upstream-unavailable")
    assert "Retry-After" in response.headers


async def test_read_timeout_on_patch_is_an_unknown_outcome(bc: FakeBusinessCentral) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    bc.responder = slow
    body = problem(await handle_payment(patch_request({"comment": "x"})))
    assert body["status"] == 504
    assert "GET the payment line" in body["detail"]


async def test_tokens_are_reused_across_requests(
    bc: FakeBusinessCentral, credential: CountingCredential
) -> None:
    for _ in range(5):
        await handle_payment(patch_request({"comment": "x"}))
    assert credential.calls == 1
    assert {r.headers["authorization"] for r in bc.requests} == {"Bearer token-1"}


async def test_a_body_cut_off_in_transit_is_never_acted_on(bc: FakeBusinessCentral) -> None:
    # Complete JSON, but shorter than announced: the rest never arrived.
    response = await handle_payment(
        patch_request(b'{"comment": "x"}', headers={"content-length": "40"})
    )
    assert (response.status, slug(response)) == (400, "malformed-json")
    assert "cut off" in problem(response)["detail"]
    assert bc.requests == []


async def test_identity_secret_echoed_upstream_is_redacted(
    bc: FakeBusinessCentral, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "s3cr3t-identity-header-value")
    bc.responder = lambda request: bc_error(400, "BadRequest", "saw s3cr3t-identity-header-value")
    response = await handle_payment(patch_request({"comment": "x"}))
    assert b"s3cr3t-identity-header-value" not in response.body
    assert problem(response)["upstream"]["message"] == "saw <redacted>"
