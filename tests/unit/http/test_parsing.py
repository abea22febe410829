"""Request parsing: headers and body checked before use, in the order a PATCH
checks them, and the paging parameters of a list."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.http.parsing import (
    check_body_size,
    check_content_type,
    forward_headers,
    parse_body,
    prepare_update,
    whole_number_parameter,
)
from shared.payment.refs import PaymentRef
from shared.process.problems import Problem
from tests.support.fakes import COMPANY, ETAG, JOURNAL, PAYMENT, settings_with

REF = PaymentRef("v2.0", COMPANY, JOURNAL, PAYMENT)
JSON = {"content-type": "application/json"}


def slug_of(call: object, *args: object) -> str:
    with pytest.raises(Problem) as raised:
        call(*args)  # type: ignore[operator]
    return raised.value.slug


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "Application/JSON; charset=utf-8",
        'application/json; charset="UTF8"',
        "application/merge-patch+json",
    ],
)
def test_json_in_utf_8_is_taken(value: str) -> None:
    check_content_type({"content-type": value})


@pytest.mark.parametrize(
    "value", ["", "text/plain", "application/json; charset=latin-1", "application/jsonx"]
)
def test_anything_else_is_unsupported(value: str) -> None:
    assert slug_of(check_content_type, {"content-type": value}) == "unsupported-media-type"


def test_the_size_is_checked_declared_and_actual_before_anything_parses() -> None:
    check_body_size({"content-length": "4"}, b"{  }", 4)
    assert slug_of(check_body_size, {}, b"x" * 5, 4) == "payload-too-large"
    assert slug_of(check_body_size, {"content-length": "9"}, b"{}", 4) == "payload-too-large"
    # Cut off in transit: shorter than it said, even if it is valid JSON.
    assert slug_of(check_body_size, {"content-length": "3"}, b"{}", 64) == "malformed-json"


def test_the_body_is_one_json_object() -> None:
    assert parse_body(b'{"amount": 1.10}') == {"amount": Decimal("1.10")}  # exact, as sent
    with pytest.raises(Problem) as array:
        parse_body(b"[]", array_hint='send {"updates": [...]}')
    assert array.value.detail.endswith('it is an array; send {"updates": [...]}.')
    with pytest.raises(Problem) as text:
        parse_body(b'"x"', array_hint="only for arrays")
    assert text.value.detail == "The body must be a JSON object, but it is a string."
    assert slug_of(parse_body, b"{") == "malformed-json"


def test_a_patch_is_checked_in_order_and_forwarded_exactly() -> None:
    settings = settings_with()
    headers = {**JSON, "if-match": ETAG}
    assert prepare_update(settings, REF, headers, b'{"comment": "x"}') == (ETAG, {"comment": "x"})
    # Each check answers before the next runs.
    too_big = b'{"comment": "' + b"x" * settings.max_body_bytes + b'"}'
    assert slug_of(prepare_update, settings, REF, {}, too_big) == "payload-too-large"
    assert slug_of(prepare_update, settings, REF, {}, b"{}") == "unsupported-media-type"
    bad_tag = {**JSON, "if-match": "x"}
    assert slug_of(prepare_update, settings, REF, bad_tag, b"[") == "invalid-if-match"
    assert slug_of(prepare_update, settings, REF, headers, b"[") == "malformed-json"
    # No version named, invalid body: the version is what is missing first.
    assert slug_of(prepare_update, settings, REF, JSON, b'{"x": 1}') == "precondition-required"
    assert slug_of(prepare_update, settings, REF, headers, b'{"x": 1}') == "validation-failed"


def test_without_if_match_the_deployments_default_is_sent() -> None:
    settings = settings_with(IF_MATCH_DEFAULT="*")
    assert prepare_update(settings, REF, JSON, b'{"comment": "x"}') == ("*", {"comment": "x"})


def test_paging_parameters_are_whole_numbers_within_their_bounds() -> None:
    assert whole_number_parameter({}, "top", 100, 1, 1000) == 100
    assert whole_number_parameter({"top": "1000"}, "top", 100, 1, 1000) == 1000
    rule = "The query parameter top must be a whole number from 1 to 1000."
    for bad in ("0", "1001", "-1", "1.5", " 5", "5\n", "\uff11"):  # the last: a fullwidth 1
        with pytest.raises(Problem) as raised:
            whole_number_parameter({"top": bad}, "top", 100, 1, 1000)
        assert raised.value.detail == rule
    with pytest.raises(Problem) as skip:
        whole_number_parameter({"skip": "-1"}, "skip", 0, 0)
    assert skip.value.detail == "The query parameter skip must be a whole number 0 or more."


def test_only_well_formed_headers_travel_upstream() -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    forward = forward_headers(
        {"accept-language": "da-DK, en;q=0.8", "traceparent": traceparent}, "r1", "*"
    )
    assert (forward.request_id, forward.if_match) == ("r1", "*")
    assert (forward.accept_language, forward.traceparent) == ("da-DK, en;q=0.8", traceparent)
    hostile = forward_headers({"accept-language": "da\r\nX: y", "traceparent": "00-x"}, "r2", None)
    assert (hostile.accept_language, hostile.traceparent) == (None, None)
