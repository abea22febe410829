"""The identity endpoint speaks App Service's managed-identity protocol."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity.aio import ManagedIdentityCredential

from sandbox.seed import BC_RESOURCE, BC_SCOPE, SYSTEM_ASSIGNED_CLIENT_ID, USER_ASSIGNED_CLIENT_ID
from tests.support.sandbox import RunningSandbox


def _ask(
    http: httpx.Client, sandbox: RunningSandbox, *, header: str | None = "valid", **params: str
) -> httpx.Response:
    query = {"api-version": "2019-08-01", "resource": BC_RESOURCE, **params}
    headers = {}
    if header is not None:
        headers["X-IDENTITY-HEADER"] = sandbox.identity_header if header == "valid" else header
    return http.get(sandbox.identity_endpoint, params=query, headers=headers)


def test_answer_has_the_app_service_fields(http, sandbox):
    response = _ask(http, sandbox)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert body["token_type"] == "Bearer"
    assert body["resource"] == BC_RESOURCE
    assert body["client_id"] == SYSTEM_ASSIGNED_CLIENT_ID
    assert isinstance(body["expires_on"], str)
    assert abs(int(body["expires_on"]) - (time.time() + 3600)) < 60
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] == int(body["expires_on"])


def test_user_assigned_identity_is_known(http, sandbox):
    response = _ask(http, sandbox, client_id=USER_ASSIGNED_CLIENT_ID)
    assert response.json()["client_id"] == USER_ASSIGNED_CLIENT_ID
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["appid"] == USER_ASSIGNED_CLIENT_ID


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"header": None}, 400),
        ({"header": "wrong"}, 401),
        ({"header": ""}, 401),
        ({"api-version": "2017-09-01"}, 400),
        ({"resource": ""}, 400),
        ({"client_id": "99999999-9999-9999-9999-999999999999"}, 400),
    ],
)
def test_bad_requests_get_no_token(http, sandbox, kwargs, status):
    response = _ask(http, sandbox, **kwargs)
    assert response.status_code == status
    assert "access_token" not in response.json()


def test_lifetime_setting_applies_to_new_tokens(http, sandbox):
    sandbox.set_token_lifetime(120)
    expires_on = int(_ask(http, sandbox).json()["expires_on"])
    assert abs(expires_on - (time.time() + 120)) < 30


def test_token_requests_are_counted_and_reset(http, sandbox):
    assert sandbox.token_requests() == 0
    _ask(http, sandbox)
    _ask(http, sandbox, header="wrong")
    sandbox.token()  # the admin shortcut is not counted
    assert sandbox.token_requests() == 2
    sandbox.reset()
    assert sandbox.token_requests() == 0


def test_fault_rules_apply_to_the_identity_endpoint(http, sandbox):
    sandbox.add_faults(
        {"path": "/msi/token", "status": 503, "code": "Unavailable", "retryAfter": 2}
    )
    failed = _ask(http, sandbox)
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "2"
    assert _ask(http, sandbox).status_code == 200
    assert sandbox.token_requests() == 2


async def test_real_managed_identity_credential_gets_a_working_token(sandbox, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", sandbox.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", sandbox.identity_header)
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    async with ManagedIdentityCredential() as credential:
        first = await credential.get_token(BC_SCOPE)
        second = await credential.get_token(BC_SCOPE)
    assert first.token == second.token
    assert first.expires_on > time.time() + 3000
    # The credential caches: one request reached the endpoint.
    assert sandbox.token_requests() == 1
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            f"{sandbox.api_url()}/companies",
            headers={"Authorization": f"Bearer {first.token}"},
        )
    assert response.status_code == 200
    assert len(response.json()["value"]) == len(sandbox.seed["companies"])


async def test_real_credential_with_a_user_assigned_client_id(sandbox, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", sandbox.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", sandbox.identity_header)
    async with ManagedIdentityCredential(client_id=USER_ASSIGNED_CLIENT_ID) as credential:
        token = await credential.get_token(BC_SCOPE)
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["appid"] == USER_ASSIGNED_CLIENT_ID
    assert sandbox.token_requests() == 1


async def test_real_credential_with_a_wrong_identity_header_fails(sandbox, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", sandbox.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    async with ManagedIdentityCredential() as credential:
        with pytest.raises(ClientAuthenticationError, match="X-IDENTITY-HEADER value is not valid"):
            await credential.get_token(BC_SCOPE)
    assert sandbox.token_requests() >= 1
