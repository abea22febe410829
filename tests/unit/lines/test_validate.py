"""Validate only: every check a PATCH makes before it would send the update, the
application check always made, and nothing ever written."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from shared.functions.lines import handle_validate
from shared.http.messages import CoreRequest
from tests.support.fakes import (
    ETAG,
    FakeBusinessCentral,
    answer_each,
    bc_line,
    exact,
    payment_path,
    slug,
)

CUSTOMER = "9c6f4d21-4e5f-4071-9c23-3d4e5f607182"


def validate(body: dict[str, Any], **headers: str) -> CoreRequest:
    return CoreRequest(
        "POST",
        payment_path(),
        {"content-type": "application/json", "if-match": ETAG, **headers},
        json.dumps(body).encode(),
    )


async def test_a_valid_update_is_answered_with_what_a_patch_would_send(
    bc: FakeBusinessCentral,
) -> None:
    response = await handle_validate(validate({"comment": "checked", "description": "d"}))
    assert response.status == 200
    assert json.loads(response.body) == {
        "valid": True,
        "changes": {"comment": "checked", "description": "d"},
        "applicationCheck": {"status": "not-needed"},
    }
    assert bc.requests == []


async def test_the_patchs_refusals_come_before_anything_is_read(bc: FakeBusinessCentral) -> None:
    response = await handle_validate(validate({"amount": "1.234", "customerId": CUSTOMER}))
    assert (response.status, slug(response)) == (422, "validation-failed")
    missing = await handle_validate(validate({"comment": "x"}, **{"if-match": ""}))
    assert (missing.status, slug(missing)) == (428, "precondition-required")
    assert bc.requests == []


async def test_an_amount_is_held_to_the_lines_currency_and_nothing_is_written(
    bc: FakeBusinessCentral,
) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        assert request.method in ("GET", "POST")  # reads only (POST: a $batch of GETs)
        if request.url.path.endswith("$batch"):
            record = {"currencyCode": "JPY", "currency": {"amountRoundingPrecision": 1}}
            return answer_each(lambda op: {"status": 200, "body": {"value": [record]}})(request)
        return exact(200, bc_line(customerId=CUSTOMER, amount=Decimal(10)))

    bc.responder = respond
    response = await handle_validate(validate({"amount": "12.50"}))
    assert (response.status, slug(response)) == (422, "validation-failed")
    assert "JPY" in json.loads(response.body)["errors"][0]["message"]
    held = await handle_validate(validate({"amount": "12"}))
    assert held.status == 200
    assert json.loads(held.body)["applicationCheck"] == {"status": "passed", "currencyCode": "JPY"}
    assert held.headers["x-application-check"] == "passed"
    assert {request.method for request in bc.requests} <= {"GET", "POST"}
