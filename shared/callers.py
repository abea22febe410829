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

from shared.businesscentral import PaymentRef
from shared.problems import Problem
from shared.settings import Settings

_ID_CLAIMS = {
    "appid",
    "azp",
    "oid",
    "http://schemas.microsoft.com/identity/claims/objectidentifier",
}
_ROLE_CLAIMS = {"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}
_MAX_PRINCIPAL_BYTES = 16384


def principal_claims(header: str | None) -> list[tuple[str, str]] | None:
    """The (type, value) claims of the principal header; None if absent or unreadable."""
    if not header or len(header) > _MAX_PRINCIPAL_BYTES:
        return None
    try:
        data: Any = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        return None
    claims = []
    role_type = data.get("role_typ")
    for claim in data["claims"]:
        if isinstance(claim, dict) and isinstance(claim.get("typ"), str):
            value = claim.get("val")
            if isinstance(value, str):
                kind = "roles" if claim["typ"] == role_type else claim["typ"]
                claims.append((kind, value))
    return claims


def check_caller(settings: Settings, headers: Mapping[str, str]) -> None:
    """401/403 unless the caller principal satisfies the caller settings."""
    enforce = (
        settings.caller_auth == "entra"
        or bool(settings.allowed_callers)
        or settings.required_caller_role is not None
    )
    if not enforce:
        return
    claims = principal_claims(headers.get("x-ms-client-principal"))
    if claims is None:
        raise Problem(
            "unauthenticated",
            "Sign in with Microsoft Entra ID: this proxy accepts only callers authenticated "
            "by App Service Authentication.",
        )
    if settings.allowed_callers:
        ids = {value.lower() for kind, value in claims if kind in _ID_CLAIMS}
        if not ids & settings.allowed_callers:
            raise Problem("forbidden", "This caller is not on the proxy's list of allowed callers.")
    role = settings.required_caller_role
    if role is not None:
        roles = {value for kind, value in claims if kind in _ROLE_CLAIMS}
        if role not in roles:
            raise Problem("forbidden", f'The caller lacks the required app role "{role}".')


def check_scope(settings: Settings, ref: PaymentRef) -> None:
    """403 for companies and journals outside the allow-lists."""
    companies = settings.allowed_company_ids
    if companies is not None and ref.company_id not in companies:
        raise Problem("forbidden", "This proxy is not allowed to change payments of this company.")
    journals = settings.allowed_journal_ids
    if journals is not None and ref.journal_id not in journals:
        raise Problem("forbidden", "This proxy is not allowed to change payments in this journal.")
