"""Caller identity, allow-lists, settings that guard them, secrets in logs,
and inputs that once crashed the proxy, at unit level (MockTransport)."""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.functions.decorators.http import HttpTrigger

import function_app
from shared.functions.lines import handle_payment
from shared.http.admit import bad_guids
from shared.http.callers import caller_ids, caller_roles, principal_claims
from shared.http.messages import CoreRequest, CoreResponse
from shared.payment.models import validate_update
from shared.process import logsafety
from shared.process.jsonio import JsonBodyError, loads_exact
from shared.process.problems import Problem
from shared.process.settings import SettingsError, reset_settings, startup_check
from tests.support.fakes import (
    BASE_ENV,
    COMPANY,
    JOURNAL,
    CountingCredential,
    FakeBusinessCentral,
    Reconfigure,
    comment_patch,
    payment_path,
    settings_with,
)
from tests.support.functions import functions, trigger
from tests.support.principals import (
    APP_ID,
    OBJECT_ID,
    OTHER_ID,
    V1_APP,
    V2_APP,
    app_principal,
    encode,
)


def get_request(headers: dict[str, str] | None = None, **path: str) -> CoreRequest:
    return CoreRequest("GET", {**payment_path(), **path}, headers or {})


def slug(response: CoreResponse) -> str:
    return str(json.loads(response.body)["type"]).rsplit("#", 1)[1]


# --- the principal header ------------------------------------------------------------


def test_v1_client_credentials_principal() -> None:
    claims = principal_claims(V1_APP)
    assert claims is not None
    assert caller_ids(claims) == {APP_ID, OBJECT_ID}
    assert caller_roles(claims) == {"Payments.Write"}


def test_v2_principal_uses_azp_and_role_typ() -> None:
    claims = principal_claims(V2_APP)
    assert claims is not None
    assert caller_ids(claims) == {APP_ID}  # compared lower-case
    assert caller_roles(claims) == {"Payments.Write"}


def test_custom_role_typ_is_honoured() -> None:
    header = encode(
        {
            "auth_typ": "aad",
            "role_typ": "groups-as-roles",
            "claims": [{"typ": "groups-as-roles", "val": "Payments.Write"}],
        }
    )
    claims = principal_claims(header)
    assert claims is not None
    assert caller_roles(claims) == {"Payments.Write"}


def test_claims_that_only_look_like_ids_do_not_count() -> None:
    claims = principal_claims(
        app_principal(
            ("sub", APP_ID),
            ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier", APP_ID),
            ("name", APP_ID),
            ("scp", "Payments.Write"),
        )
    )
    assert claims is not None
    assert caller_ids(claims) == set()
    assert caller_roles(claims) == set()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "é" * 10,
        "not base64!",
        V1_APP[:-2],  # broken padding
        V1_APP + ", " + V1_APP,  # two principal headers joined by the host
        base64.b64encode(b"\xff\xfe\x00garbage").decode(),
        encode([1, 2, 3]),
        encode({"auth_typ": "aad"}),
        encode({"auth_typ": "aad", "claims": {"typ": "appid", "val": APP_ID}}),
        encode({"claims": [{"typ": "appid", "val": APP_ID}]}),  # no provider
        app_principal(("appid", APP_ID), auth_typ="github"),
        app_principal(("appid", APP_ID), auth_typ="customOIDC"),
        encode({"auth_typ": ["aad"], "claims": []}),
        base64.b64encode(
            b'{"auth_typ": "aad", "claims": ' + b"[" * 3000 + b"]" * 3000 + b"}"
        ).decode(),
        base64.b64encode(b'{"auth_typ": "aad", "claims": [], "n": 1' + b"0" * 5000 + b"}").decode(),
        "A" * 20000,
    ],
)
def test_unreadable_or_foreign_principals_are_none(header: str | None) -> None:
    assert principal_claims(header) is None


def test_malformed_claims_are_skipped_not_fatal() -> None:
    header = encode(
        {
            "auth_typ": "AAD",
            "claims": [
                5,
                None,
                {"typ": "appid"},
                {"typ": "appid", "val": [APP_ID]},
                {"typ": 7, "val": APP_ID},
                {"typ": "roles", "val": {"x": 1}},
                {"typ": "appid", "val": APP_ID},
            ],
        }
    )
    claims = principal_claims(header)
    assert claims == [("appid", APP_ID)]


# --- caller checks in the request flow --------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "header", "status"),
    [
        ({"CALLER_AUTH": "entra", "ALLOWED_CALLERS": APP_ID}, None, 401),
        (
            {"CALLER_AUTH": "entra", "ALLOWED_CALLERS": APP_ID},
            app_principal(("appid", APP_ID), auth_typ="google"),
            401,
        ),
        ({"ALLOWED_CALLERS": APP_ID}, None, 401),
        ({"ALLOWED_CALLERS": APP_ID}, app_principal(("appid", OTHER_ID)), 403),
        ({"ALLOWED_CALLERS": APP_ID}, app_principal(("sub", APP_ID)), 403),
        ({"REQUIRED_CALLER_ROLE": "Payments.Write"}, app_principal(("appid", APP_ID)), 403),
        (
            {"REQUIRED_CALLER_ROLE": "Payments.Write"},
            app_principal(("roles", "payments.write")),  # roles are case-sensitive
            403,
        ),
        (
            {"REQUIRED_CALLER_ROLE": "Payments.Write"},
            app_principal(("scp", "Payments.Write")),  # a delegated scope is not an app role
            403,
        ),
        (
            {"ALLOWED_CALLERS": f"{OTHER_ID},{APP_ID}", "REQUIRED_CALLER_ROLE": "Payments.Write"},
            app_principal(("appid", APP_ID), ("roles", "Payments.Read")),
            403,
        ),
        ({"ALLOWED_COMPANY_IDS": OTHER_ID}, None, 403),
        ({"ALLOWED_JOURNAL_IDS": OTHER_ID}, None, 403),
        ({"ALLOWED_COMPANY_IDS": COMPANY, "ALLOWED_JOURNAL_IDS": OTHER_ID}, None, 403),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PATCH"])
async def test_refused_callers_cost_no_token_and_no_upstream_call(
    reconfigure: Reconfigure,
    bc: FakeBusinessCentral,
    credential: CountingCredential,
    settings: dict[str, str],
    header: str | None,
    status: int,
    method: str,
) -> None:
    await reconfigure(**settings)
    headers = {} if header is None else {"x-ms-client-principal": header}
    request = get_request(headers) if method == "GET" else comment_patch(headers)
    response = await handle_payment(request)
    assert response.status == status
    assert slug(response) == ("unauthenticated" if status == 401 else "forbidden")
    assert bc.requests == []
    assert credential.calls == 0


@pytest.mark.parametrize("method", ["GET", "PATCH"])
@pytest.mark.parametrize("header", [None, V1_APP])
async def test_entra_mode_without_caller_list_or_role_refuses_everything(
    bc: FakeBusinessCentral,
    credential: CountingCredential,
    monkeypatch: pytest.MonkeyPatch,
    header: str | None,
    method: str,
) -> None:
    # Closed by default: a valid Entra token of any app in the tenant is not enough.
    monkeypatch.setenv("CALLER_AUTH", "entra")
    reset_settings()
    headers = {} if header is None else {"x-ms-client-principal": header}
    request = get_request(headers) if method == "GET" else comment_patch(headers)
    response = await handle_payment(request)
    assert (response.status, slug(response)) == (500, "proxy-misconfigured")
    detail = json.loads(response.body)["detail"]
    assert "ALLOWED_CALLERS" in detail
    assert "REQUIRED_CALLER_ROLE" in detail
    assert bc.requests == []
    assert credential.calls == 0


def test_entra_mode_needs_a_caller_list_or_a_role_at_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        names = startup_check({**BASE_ENV, "CALLER_AUTH": "entra"})
    assert names == ["ALLOWED_CALLERS", "REQUIRED_CALLER_ROLE"]
    assert "REQUIRED_CALLER_ROLE" in caplog.text
    # Either one alone closes the door; key mode needs neither.
    assert startup_check({**BASE_ENV, "CALLER_AUTH": "entra", "ALLOWED_CALLERS": APP_ID}) == []
    assert startup_check({**BASE_ENV, "CALLER_AUTH": "entra", "REQUIRED_CALLER_ROLE": "R"}) == []
    assert startup_check(BASE_ENV) == []
    # A list that is given but broken is reported as itself, not as missing.
    broken = {**BASE_ENV, "CALLER_AUTH": "entra", "ALLOWED_CALLERS": "not-a-guid"}
    assert startup_check(broken) == ["ALLOWED_CALLERS"]


@pytest.mark.parametrize("header", [V1_APP, V2_APP])
async def test_allowed_callers_get_through(
    reconfigure: Reconfigure, bc: FakeBusinessCentral, header: str
) -> None:
    await reconfigure(
        CALLER_AUTH="entra",
        ALLOWED_CALLERS=f"{OTHER_ID}, {APP_ID.upper()}",
        REQUIRED_CALLER_ROLE="Payments.Write",
        ALLOWED_COMPANY_IDS=COMPANY.upper(),
        ALLOWED_JOURNAL_IDS=JOURNAL,
    )
    response = await handle_payment(comment_patch({"x-ms-client-principal": header}))
    assert response.status == 200
    assert len(bc.requests) == 1
    # The principal is App Service's business; it never travels upstream.
    assert "x-ms-client-principal" not in bc.last.headers


async def test_object_id_alone_can_be_the_allowed_caller(
    reconfigure: Reconfigure, bc: FakeBusinessCentral
) -> None:
    await reconfigure(ALLOWED_CALLERS=OBJECT_ID)
    response = await handle_payment(get_request({"x-ms-client-principal": V1_APP}))
    assert response.status == 200


async def test_key_mode_without_caller_settings_ignores_principals(
    bc: FakeBusinessCentral,
) -> None:
    forged = app_principal(("appid", OTHER_ID))
    assert (await handle_payment(get_request({"x-ms-client-principal": forged}))).status == 200
    assert (await handle_payment(get_request({"x-ms-client-principal": "garbage"}))).status == 200


# --- path ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "company",
    [
        COMPANY + "\n",
        COMPANY + "\r\n",
        "\n" + COMPANY,
        COMPANY + "\x00",
        COMPANY.replace("6", "\uff16"),  # fullwidth digit six
        COMPANY.replace("a", "\u0430"),  # Cyrillic small a
        COMPANY.replace("-", "\u2010"),  # Unicode hyphen
        f"{{{COMPANY}}}",
        f"{COMPANY})/customerPayments(x",
        f"{COMPANY}/../{COMPANY}",
    ],
)
async def test_look_alike_path_ids_are_invalid(
    bc: FakeBusinessCentral, credential: CountingCredential, company: str
) -> None:
    with pytest.raises(Problem) as raised:
        bad_guids({**payment_path(), "companyId": company}, ("companyId", "journalId"))
    assert raised.value.slug == "invalid-path-parameter"
    response = await handle_payment(get_request(companyId=company))
    assert (response.status, slug(response)) == (400, "invalid-path-parameter")
    assert bc.requests == []
    assert credential.calls == 0


# --- numbers that used to escape as exceptions -------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": 1e999999999999999999999}',
        b'{"amount": -1E-99999999999999999999}',
        b'{"lineNumber": 5e+99999999999999999999}',
        b'{"x": [1, 2, 1e999999999999999999999]}',
    ],
)
async def test_unrepresentable_exponents_are_malformed_json(
    bc: FakeBusinessCentral, raw: bytes
) -> None:
    with pytest.raises(JsonBodyError):
        loads_exact(raw)
    response = await handle_payment(
        CoreRequest(
            "PATCH", payment_path(), {"content-type": "application/json", "if-match": "*"}, raw
        )
    )
    assert (response.status, slug(response)) == (400, "malformed-json")
    assert bc.requests == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1e999999999999999999999", "out_of_range"),
        ("1e-999999999999999999999", "too_many_decimals"),
        ("12\n", "not_a_number"),
        ("\n12", "not_a_number"),
        ("\uff11\uff12", "not_a_number"),  # fullwidth digits
        ("12 ", "not_a_number"),
    ],
)
def test_hostile_numeric_strings(amount: str, code: str) -> None:
    result = validate_update("v2.0", {"amount": amount}, amount_decimals=2)
    assert isinstance(result, list)
    assert [(e.field, e.code) for e in result] == [("amount", code)]


# --- settings that guard callers ----------------------------------------------------------------


def test_hosted_caller_checks_need_app_service_authentication() -> None:
    hosted = {"WEBSITE_SITE_NAME": "func-api-x", "WEBSITE_INSTANCE_ID": "abc"}
    role = {"REQUIRED_CALLER_ROLE": "Payments.Write"}
    for values, name in (
        ({"CALLER_AUTH": "entra", **role}, "CALLER_AUTH"),
        ({"ALLOWED_CALLERS": APP_ID}, "ALLOWED_CALLERS"),
        (role, "REQUIRED_CALLER_ROLE"),
        ({"CALLER_AUTH": "entra", "WEBSITE_AUTH_ENABLED": "False", **role}, "CALLER_AUTH"),
    ):
        with pytest.raises(SettingsError) as raised:
            settings_with(**hosted, **values)
        assert raised.value.names == [name]
    enabled = {"CALLER_AUTH": "entra", "WEBSITE_AUTH_ENABLED": "True", **role}
    assert settings_with(**hosted, **enabled).checks_callers
    assert not settings_with(**hosted).checks_callers  # function keys alone need nothing
    assert settings_with(CALLER_AUTH="entra", **role).checks_callers  # local runs and tests


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AMOUNT_DECIMALS", "\uff12"),  # fullwidth 2
        ("AMOUNT_DECIMALS", "1_0"),
        ("AMOUNT_DECIMALS", "+2"),
        ("MAX_BODY_BYTES", "9" * 5000),
        ("ALLOWED_COMPANY_IDS", COMPANY + "\n,x"),
        ("ALLOWED_CALLERS", f"{APP_ID};{OTHER_ID}"),
        ("REQUIRED_CALLER_ROLE", "Payments Write"),
        ("BC_ENVIRONMENT", "production/../other"),
        ("BC_TENANT_ID", "contoso.com/evil"),
        ("BC_SCOPE", "https://api.businesscentral.dynamics.com/.default\u202e"),
        ("BC_BASE_URL", "http://evil.example"),
        ("BC_BASE_URL", "https://user:pass@api.businesscentral.dynamics.com"),
    ],
)
def test_hostile_setting_values_are_named_never_shown(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_with(**{name: value})
    assert name in raised.value.names
    assert value.strip() not in str(raised.value)


def test_startup_check_logs_names_never_values(caplog: pytest.LogCaptureFixture) -> None:
    secretish = "client-secret-pasted-by-mistake"
    with caplog.at_level(logging.DEBUG):
        names = startup_check({**BASE_ENV, "BC_ENVIRONMENT": secretish, "ALLOWED_CALLERS": "x"})
    assert names == ["BC_ENVIRONMENT", "ALLOWED_CALLERS"]
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "BC_ENVIRONMENT" in record.getMessage()
    assert "ALLOWED_CALLERS" in record.getMessage()
    assert secretish not in caplog.text
    assert startup_check(BASE_ENV) == []


@pytest.fixture
def reimport(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Re-import function_app under a changed environment, then restore it."""
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(function_app)


def test_import_with_bad_settings_logs_an_error_and_still_serves(
    reimport: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in BASE_ENV.items():
        reimport.setenv(name, value)
    reimport.setenv("ALLOWED_JOURNAL_IDS", "journal-secret-value")
    reimport.setenv("CALLER_AUTH", "entra")
    reimport.setenv("REQUIRED_CALLER_ROLE", "Payments.Write")
    with caplog.at_level(logging.ERROR):
        module = importlib.reload(function_app)
    assert module.STARTUP_SETTINGS_PROBLEMS == ["ALLOWED_JOURNAL_IDS"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("ALLOWED_JOURNAL_IDS" in message for message in errors)
    assert "journal-secret-value" not in caplog.text
    # The functions are still registered, payment routes anonymous only because of entra.
    payment = trigger(functions(module)["payment"])
    assert payment.auth_level == func.AuthLevel.ANONYMOUS


def test_key_mode_protects_every_route_but_the_anonymous_ones() -> None:
    found = functions(function_app)
    # bulk_status is guarded by its per-job token instead (flows poll without keys).
    anonymous = {"openapi", "problems", "health", "not_found", "bulk_status"}
    for name, fn in found.items():
        if not isinstance(trigger(fn), HttpTrigger):
            continue  # orchestrator and activities: not reachable over HTTP
        level = trigger(fn).auth_level
        assert level == (func.AuthLevel.ANONYMOUS if name in anonymous else func.AuthLevel.FUNCTION)
    # The anonymous routes never reach Business Central: only "payment" has the route.
    assert trigger(found["not_found"]).route == "{*path}"
    assert os.environ.get("CALLER_AUTH", "key") != "entra"


def test_an_unknown_caller_auth_mode_keeps_function_keys(reimport: pytest.MonkeyPatch) -> None:
    reimport.setenv("CALLER_AUTH", "Entra ")  # normalised: still entra
    assert trigger(functions(importlib.reload(function_app))["payment"]).auth_level == (
        func.AuthLevel.ANONYMOUS
    )
    reimport.setenv("CALLER_AUTH", "anonymous")  # not a mode: the stricter level
    assert trigger(functions(importlib.reload(function_app))["payment"]).auth_level == (
        func.AuthLevel.FUNCTION
    )


# --- secrets in logs ----------------------------------------------------------------------------

JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2FwaS5idXNpbmVzc2NlbnRyYWwifQ"
    ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {JWT}", JWT),
        (f"token={JWT}&x=1", JWT),
        ("Authorization: bearer opaque-token-value_123", "opaque-token-value_123"),
        ("GET /api/x?code=abcDEF123-_==&other=1", "abcDEF123-_=="),
        ("GET /api/bulkPaymentUpdates/0a1b?token=Zx9_-Qw8e7R6&code=k", "Zx9_-Qw8e7R6"),
        ("http://h/api/bulkPaymentUpdates/0a1b?x=1&TOKEN=Zx9_-Qw8e7R6 HTTP/1.1", "Zx9_-Qw8e7R6"),
        ("headers {'x-functions-key': 'k3y-V4lue'}", "k3y-V4lue"),
        ("x-functions-key: k3y-V4lue", "k3y-V4lue"),
    ],
)
def test_scrub_removes_secrets(text: str, secret: str) -> None:
    assert secret not in logsafety.scrub(text)
    assert "<redacted>" in logsafety.scrub(text)


def test_scrub_removes_the_identity_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "s3cr3t-identity-header-value")
    assert logsafety.scrub("bad header s3cr3t-identity-header-value!") == "bad header <redacted>!"
    monkeypatch.setenv("IDENTITY_HEADER", "abc")  # too short to be worth replacing
    assert logsafety.scrub("abc") == "abc"


def test_every_logger_is_scrubbed_once_installed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "s3cr3t-identity-header-value")
    logsafety.install()
    logsafety.install()  # idempotent: one wrapper only
    caplog.set_level(logging.DEBUG)
    names = ("httpcore.http11", "azure.identity.aio", "some.library", "shared.lines.single")
    for name in names:
        # The app quiets some of these to WARNING; a debugging operator may lower them again.
        caplog.set_level(logging.DEBUG, logger=name)
    for name in names:
        logging.getLogger(name).debug(
            "sent %s with %s", f"Bearer {JWT}", "s3cr3t-identity-header-value"
        )
    try:
        raise RuntimeError(f"identity endpoint said: {JWT}")
    except RuntimeError:
        logging.getLogger("azure.identity").warning("failed", exc_info=True)
    assert len(caplog.records) == 5
    for record in caplog.records:
        assert JWT not in record.getMessage()
        assert "s3cr3t-identity-header-value" not in record.getMessage()
    assert JWT not in caplog.text
    assert "identity endpoint said: <redacted>" in caplog.text


def test_unformattable_records_are_left_to_logging(caplog: pytest.LogCaptureFixture) -> None:
    logsafety.install()
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "%d", ("nan",), None)
    assert record.msg == "%d"  # untouched; logging reports the bad format when it emits


def test_azure_telemetry_keeps_query_strings_out() -> None:
    """What the deployment controls of Azure's records of a request URL (see
    docs/security.md): the host strips the query string (status token, key)
    from its request telemetry unless told otherwise, and no platform log that
    keeps it is sent anywhere."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "host.json"), encoding="utf-8") as file:
        host = json.load(file)

    def lowered(node: Any) -> Any:
        # host.json keys are read case-insensitively by the host.
        if isinstance(node, dict):
            return {str(k).lower(): lowered(v) for k, v in node.items()}
        return node

    settings = lowered(host)
    insights = settings["logging"]["applicationinsights"]
    assert insights.get("enablequerystringtracing", False) is False
    assert "telemetrymode" not in settings
    for folder, _, files in os.walk(os.path.join(root, "infra")):
        for name in files:
            if name.endswith(".bicep"):
                with open(os.path.join(folder, name), encoding="utf-8") as file:
                    assert "AppServiceHTTPLogs" not in file.read(), name
