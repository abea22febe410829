"""Business Central accepts only live tokens this sandbox issued for it."""

from __future__ import annotations

import base64
import json
import secrets
import time

import httpx
import jwt
import pytest

from sandbox.seed import BC_RESOURCE, TENANT_ID
from tests.support.sandbox import RunningSandbox, start_sandbox
from tests.support.sandbox_answers import bc_error


def _get(
    http: httpx.Client, sandbox: RunningSandbox, token: str | None, scheme: str = "Bearer"
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return http.get(f"{sandbox.api_url()}/companies", headers=headers)


def _identity_token(http, sandbox, resource: str) -> str:
    response = http.get(
        sandbox.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": sandbox.identity_header},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_a_valid_token_is_accepted(http, sandbox):
    assert _get(http, sandbox, sandbox.token()).status_code == 200


def test_missing_token_is_rejected_with_a_challenge(http, sandbox):
    response = _get(http, sandbox, None)
    bc_error(response, 401, "Authentication_InvalidCredentials")
    assert response.headers["www-authenticate"].startswith("Bearer ")


def test_other_schemes_are_rejected(http, sandbox):
    bc_error(
        _get(http, sandbox, sandbox.token(), scheme="Basic"),
        401,
        "Authentication_InvalidCredentials",
    )


def test_forged_token_is_rejected(http, sandbox):
    claims = jwt.decode(sandbox.token(), options={"verify_signature": False})
    forged = jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256")
    bc_error(_get(http, sandbox, forged), 401, "Authentication_InvalidCredentials")


def test_tampered_claims_are_rejected(http, sandbox):
    header, payload, signature = sandbox.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] += 86400
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    bc_error(
        _get(http, sandbox, f"{header}.{tampered}.{signature}"),
        401,
        "Authentication_InvalidCredentials",
    )


def test_unsigned_token_is_rejected(http, sandbox):
    claims = jwt.decode(sandbox.token(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, "", algorithm="none")
    bc_error(_get(http, sandbox, unsigned), 401, "Authentication_InvalidCredentials")


def test_expired_token_is_rejected(http, sandbox):
    sandbox.set_token_lifetime(-60)
    expired = sandbox.token()
    claims = jwt.decode(expired, options={"verify_signature": False})
    assert claims["exp"] < time.time()
    bc_error(_get(http, sandbox, expired), 401, "Authentication_InvalidCredentials")


def test_token_for_another_audience_is_rejected(http, sandbox):
    graph = _identity_token(http, sandbox, "https://graph.microsoft.com")
    assert (
        jwt.decode(graph, options={"verify_signature": False})["aud"]
        == "https://graph.microsoft.com"
    )
    bc_error(_get(http, sandbox, graph), 401, "Authentication_InvalidCredentials")
    assert _get(http, sandbox, _identity_token(http, sandbox, BC_RESOURCE)).status_code == 200


def test_token_of_another_sandbox_is_rejected(http, sandbox):
    with start_sandbox() as other:
        foreign = other.token()
        assert _get(http, other, foreign).status_code == 200
    bc_error(_get(http, sandbox, foreign), 401, "Authentication_InvalidCredentials")


def test_token_claims_name_the_issuer_audience_and_tenant(http, sandbox):
    claims = jwt.decode(sandbox.token(), options={"verify_signature": False})
    assert claims["iss"] == sandbox.identity_endpoint
    assert claims["aud"] == BC_RESOURCE
    assert claims["tid"] == TENANT_ID
    assert claims["exp"] > time.time() + 3000


@pytest.mark.parametrize("path", ["$batch", "companies"])
def test_every_endpoint_needs_the_token(http, sandbox, path):
    response = http.post(f"{sandbox.api_url()}/{path}", json={"requests": []})
    bc_error(response, 401, "Authentication_InvalidCredentials")
