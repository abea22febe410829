"""Who may call, and what they may touch.

The caller principal comes from ``X-MS-CLIENT-PRINCIPAL``, which App Service
Authentication injects after validating the caller's Entra token (and strips
from incoming requests). It is only trustworthy behind that platform feature;
the infrastructure enables it whenever these settings are used.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from shared.payment.refs import Scoped
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.process.telemetry import note_caller

# Claim types as App Service Authentication writes them for Entra tokens (after
# its default claim mapping): the calling application is "appid" (v1.0 tokens)
# or "azp" (v2.0); the caller's object id (a service principal for client
# credentials, a user for delegated tokens) is "oid" mapped to the long URI.
_ID_CLAIMS = frozenset(
    {
        "appid",
        "azp",
        "oid",
        "http://schemas.microsoft.com/identity/claims/objectidentifier",
    }
)
# App roles arrive as "roles" claims; the principal's role_typ names the type
# its role claims use (usually the long URI below), so both are honoured.
_ROLE_CLAIMS = frozenset({"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
# auth_typ of the Microsoft Entra provider; another provider's claims (GitHub,
# a custom OpenID Connect issuer) must never count as an Entra app or role.
_ENTRA_AUTH_TYPE = "aad"
# Real principals are a few kilobytes; anything far larger is not one.
_MAX_PRINCIPAL_BYTES = 16384
# The one caller every function key holder is.
KEY_HOLDER = "function-key"


def principal_claims(header: str | None) -> list[tuple[str, str]] | None:
    """The (type, value) claims of an Entra principal header; None if absent or unreadable.

    Role claims are reported with the type "roles", whatever type the
    principal's role_typ gave them.
    """
    if not header or len(header) > _MAX_PRINCIPAL_BYTES:
        return None
    try:
        data: Any = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        return None
    auth_type = data.get("auth_typ")
    if not isinstance(auth_type, str) or auth_type.lower() != _ENTRA_AUTH_TYPE:
        return None
    role_type = data.get("role_typ")
    claims = []
    for claim in data["claims"]:
        if not isinstance(claim, dict):
            continue
        kind, value = claim.get("typ"), claim.get("val")
        if isinstance(kind, str) and isinstance(value, str):
            is_role = kind in _ROLE_CLAIMS or (isinstance(role_type, str) and kind == role_type)
            claims.append(("roles" if is_role else kind, value))
    return claims


def caller_ids(claims: list[tuple[str, str]]) -> set[str]:
    """The application and object ids of the caller, lower-case."""
    return {value.strip().lower() for kind, value in claims if kind in _ID_CLAIMS}


def caller_roles(claims: list[tuple[str, str]]) -> set[str]:
    """The caller's app roles (case-sensitive, as Entra issues them)."""
    return {value for kind, value in claims if kind == "roles"}


def caller_id(claims: list[tuple[str, str]]) -> str | None:
    """The one id operators see: the calling application, else the caller's object id."""
    for kinds in (("appid", "azp"), tuple(_ID_CLAIMS - {"appid", "azp"})):
        for kind, value in claims:
            if kind in kinds and value.strip():
                return value.strip().lower()
    return None


def check_caller(settings: Settings, headers: Mapping[str, str]) -> str:
    """401/403 unless the caller principal satisfies the caller settings; returns who
    is calling, for scoping what a caller may find again (bulk job keys): the Entra
    principal's ids when callers are checked. With function keys alone the Functions
    host does not say which key was used, so every key holder is one caller."""
    if not settings.checks_callers:
        return KEY_HOLDER
    claims = principal_claims(headers.get("x-ms-client-principal"))
    if claims is None:
        raise Problem(
            "unauthenticated",
            "Sign in with Microsoft Entra ID: this proxy accepts only callers authenticated "
            "by App Service Authentication.",
        )
    note_caller(caller_id(claims))
    ids = caller_ids(claims)
    if settings.allowed_callers and not ids & settings.allowed_callers:
        raise Problem("forbidden", "This caller is not on the proxy's list of allowed callers.")
    role = settings.required_caller_role
    if role is not None and role not in caller_roles(claims):
        raise Problem("forbidden", f'The caller lacks the required app role "{role}".')
    return "entra:" + ",".join(sorted(ids)) if ids else KEY_HOLDER


def check_scope(settings: Settings, ref: Scoped) -> None:
    """403 for companies and journals outside the allow-lists (a reference
    without a journal, such as a company's journal list, checks the company)."""
    companies = settings.allowed_company_ids
    if companies is not None and ref.company_id is not None and ref.company_id not in companies:
        raise Problem("forbidden", "This proxy is not allowed to touch payments of this company.")
    journals = settings.allowed_journal_ids
    if journals is not None and ref.journal_id is not None and ref.journal_id not in journals:
        raise Problem("forbidden", "This proxy is not allowed to touch payments in this journal.")
