"""Who may call: the principal App Service Authentication injects, read claim by claim,
and the caller checks every admitted route makes before anything is sent."""

from __future__ import annotations

import base64
import json

import pytest

from shared.functions.lines import handle_payment
from shared.http.callers import caller_ids, caller_roles, principal_claims
from shared.process.settings import reset_settings
from tests.support.fakes import (
    COMPANY,
    JOURNAL,
    CountingCredential,
    FakeBusinessCentral,
    Reconfigure,
    comment_patch,
    get_request,
    slug,
)
from tests.support.principals import (
    APP_ID,
    OBJECT_ID,
    OTHER_ID,
    V1_APP,
    V2_APP,
    app_principal,
    encode,
)


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
