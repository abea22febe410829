"""Unit-level rules behind truthful answers: how stored values compare, how
lengths are counted, how problems are negotiated and bounded, and that the
per-process objects neither break nor outlive their event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import weakref
from decimal import Decimal
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from hypothesis import given, settings
from hypothesis import strategies as st

from scripts.problem_page import PAGE, SOURCE, render
from shared.functions.lines import handle_payment
from shared.http.messages import CoreRequest, problem_media_type
from shared.lines import single as service
from shared.payment.fields import utf16_length
from shared.payment.models import validate_update
from shared.payment.settlement import holds_values
from shared.process.problems import FieldError, Problem, capped_errors
from shared.process.settings import Settings, SettingsError
from shared.upstream import runtime as runtime_module
from shared.upstream.identity import TokenProvider
from tests.support.fakes import (
    BASE_ENV,
    ETAG,
    FakeBusinessCentral,
    comment_patch,
    payment_path,
    settings_with,
)

# --- comparing what was sent with what Business Central stores ------------------


@pytest.mark.parametrize(
    ("sent", "stored", "decimals", "holds"),
    [
        (Decimal("10.125"), Decimal("10.13"), 2, True),  # BC rounds half away from zero
        (Decimal("-10.125"), Decimal("-10.13"), 2, True),
        (Decimal("10.124"), Decimal("10.12"), 2, True),
        (Decimal("10.125"), Decimal("10.12"), 2, False),
        (Decimal("2000.5"), Decimal("2000.50"), 2, True),
        (Decimal(7), Decimal("7.00"), 2, True),
        (Decimal("1.5"), Decimal("2"), 0, True),
    ],
)
def test_amounts_compare_after_business_centrals_rounding(
    sent: Decimal, stored: Decimal, decimals: int, holds: bool
) -> None:
    line = {"amount": stored}
    assert holds_values(line, {"amount": sent}, amount_decimals=decimals) is holds


def test_code_fields_compare_upper_case_and_text_as_stored() -> None:
    line = {"documentNumber": "INV-7", "description": "Mixed Case", "customerId": "ABC"}
    assert holds_values(line, {"documentNumber": "inv-7"})
    assert not holds_values(line, {"description": "mixed case"})
    assert holds_values(
        {"customerId": "3f2b5c1e-0a4d-4b8e-9c6f-2d1e7a9b0c3d"},
        {"customerId": "3F2B5C1E-0A4D-4B8E-9C6F-2D1E7A9B0C3D"},
    )


# --- lengths as Business Central counts them --------------------------------------


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_length("abc") == 3
    assert utf16_length("\U0001f600") == 2
    assert utf16_length("é\u20ac") == 2  # BMP characters count once
    assert utf16_length("a\ud800b") == 3  # a lone surrogate (a str can hold one) is one unit


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=())))  # lone surrogates too
def test_utf16_length_is_code_points_plus_one_per_astral_character(text: str) -> None:
    assert utf16_length(text) == len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("description", 100),
        ("documentNumber", 20),
        ("comment", 250),
        ("externalDocumentNumber", 35),
    ],
)
def test_text_limits_are_in_utf16_units(field: str, limit: int) -> None:
    fits = "\U0001f600" * (limit // 2)  # fewer code points than the limit either way
    too_long = "\U0001f600" * (limit // 2 + 1)
    assert len(too_long) <= limit < utf16_length(too_long)
    assert isinstance(validate_update("v2.0", {field: fits}, amount_decimals=2), dict)
    errors = validate_update("v2.0", {field: too_long}, amount_decimals=2)
    assert isinstance(errors, list)
    assert errors[0].code == "too_long"
    assert f"got {utf16_length(too_long)}" in errors[0].message


# --- problems: media type and size ---------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("", "application/problem+json"),
        ("application/json", "application/json"),
        ("application/json;q=0", "application/problem+json"),
        ("application/json; q=0.0, */*", "application/problem+json"),
        ("application/json, application/problem+json", "application/problem+json"),
        ("application/problem+json;q=0.5, application/json", "application/json"),
        ("application/json;q=0.4, application/problem+json;q=0.9", "application/problem+json"),
        ("application/*", "application/problem+json"),
        ("text/html, application/json;q=0.9", "application/json"),
        ("application/jsonp", "application/problem+json"),  # not a substring match
        ("Application/JSON", "application/json"),
        ("application/json;q=bogus", "application/problem+json"),
    ],
)
def test_problem_media_type_follows_accept_with_q_values(accept: str, media: str) -> None:
    assert problem_media_type(accept) == media


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


# --- settings -----------------------------------------------------------------------------


def test_budget_must_leave_room_for_an_attempt_beside_the_reserve() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {**BASE_ENV, "SYNC_BUDGET_S": "9", "READ_BACK_RESERVE_S": "5", "MIN_ATTEMPT_S": "5"}
        )
    assert caught.value.names == ["SYNC_BUDGET_S"]
    assert (
        Settings.from_env(
            {**BASE_ENV, "SYNC_BUDGET_S": "10", "READ_BACK_RESERVE_S": "5", "MIN_ATTEMPT_S": "5"}
        ).sync_budget_s
        == 10
    )


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env({"BC_TENANT_ID": "contoso.onmicrosoft.com"})
    assert (settings.read_back_reserve_s, settings.min_attempt_s) == (5.0, 5.0)
    assert settings.problems_url == "http://127.0.0.1:7071/api/problems"


def test_problem_types_point_at_this_deployment() -> None:
    hosted = settings_with(WEBSITE_HOSTNAME="payments-proxy.azurewebsites.net")
    assert hosted.problems_url == "https://payments-proxy.azurewebsites.net/api/problems"
    local = settings_with(WEBSITE_HOSTNAME="localhost:7071")
    assert local.problems_url == "http://localhost:7071/api/problems"
    docs = settings_with(PROBLEM_DOCS_URL="https://docs.contoso.example/problems")
    assert docs.problems_url == "https://docs.contoso.example/problems"
    with pytest.raises(SettingsError) as caught:
        settings_with(WEBSITE_HOSTNAME="evil.example/path?x")
    assert caught.value.names == ["WEBSITE_HOSTNAME"]


def test_problems_page_is_generated_from_the_docs() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(SOURCE.read_text(encoding="utf-8")), (
        "run: python -m scripts.problem_page"
    )


# --- the catch-all ----------------------------------------------------------------------------


async def test_an_unexpected_exception_is_an_internal_error_problem(
    bc: FakeBusinessCentral, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("secret-internal-detail")

    monkeypatch.setattr(service, "read_line", broken)
    request = CoreRequest("GET", payment_path(), {"x-request-id": "bug-1"})
    with caplog.at_level(logging.ERROR):
        response = await handle_payment(request)
    assert response.status == 500
    assert response.headers["x-request-id"] == "bug-1"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert b"internal-error" in response.body
    assert b"secret-internal-detail" not in response.body
    assert b"Traceback" not in response.body
    logged = [r for r in caplog.records if r.exc_info and "bug-1" in r.getMessage()]
    assert logged, "the traceback is logged with the request id"


async def test_an_exception_after_the_patch_was_sent_is_an_unknown_outcome(
    bc: FakeBusinessCentral, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.upstream import patch

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug while reading the answer")

    monkeypatch.setattr(patch, "normalize_line", broken)
    response = await handle_payment(comment_patch())
    assert response.status == 504
    assert b"upstream-timeout" in response.body
    assert len(bc.requests) == 1  # sent once, never again on a guess


# --- tokens and per-loop objects --------------------------------------------------------


class ClosingCredential:
    """Like azure-identity's: get_token fails once the credential is closed."""

    def __init__(self, name: str, delay_s: float) -> None:
        self.name = name
        self.delay_s = delay_s
        self.closed = False
        self.calls = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.closed:
            raise RuntimeError("Session is closed")
        return AccessToken(f"{self.name}-{self.calls}", int(time.time() + 3600))

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> ClosingCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


async def test_a_concurrent_401_does_not_close_a_credential_in_use() -> None:
    made: list[ClosingCredential] = []

    def factory() -> ClosingCredential:
        made.append(ClosingCredential(f"c{len(made)}", delay_s=0.05))
        return made[-1]

    clock = [0.0]
    tokens = TokenProvider(factory, "scope", clock=lambda: time.time() + clock[0])
    first = await tokens.get_token()
    clock[0] = 7200  # the cached token is now due for refresh
    refreshing = asyncio.ensure_future(tokens.get_token())
    await asyncio.sleep(0.01)  # the refresh is in flight on the first credential
    await tokens.invalidate(first)  # another request's 401 for the old token
    refreshed = await refreshing
    assert refreshed.startswith("c0-")  # the in-flight fetch finished on its credential
    assert refreshed != first
    await asyncio.sleep(0.1)
    assert made[0].closed  # closed once it was no longer in use
    clock[0] = 0
    again = await tokens.get_token()
    assert again.startswith("c1-")  # the refused token's generation is not cached
    await tokens.aclose()


def test_a_runtime_is_closed_and_released_with_its_loop(env: dict[str, str]) -> None:
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def use() -> runtime_module.Runtime:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return runtime_module.get_runtime()

    runtime = asyncio.run(use())
    gc.collect()
    assert runtime.http.is_closed
    assert loops[0]() is None, "the finished loop is not kept alive by its runtime"
    assert runtime not in runtime_module._runtimes.values()
