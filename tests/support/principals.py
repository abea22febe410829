"""Caller principals as App Service Authentication injects them for an Entra token
(the X-MS-CLIENT-PRINCIPAL header): base64 JSON claims, v1.0 and v2.0 shapes."""

from __future__ import annotations

import base64
import json
from typing import Any

APP_ID = "5b0c9e2a-7d3f-4a1b-8c6e-9f0a1b2c3d4e"
OBJECT_ID = "0d3e4f50-6172-4839-a4b5-c6d7e8f90a1b"
OTHER_ID = "00000000-0000-0000-0000-0000000000ff"
ROLE_URI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OID_URI = "http://schemas.microsoft.com/identity/claims/objectidentifier"
NAME_URI = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"


def encode(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def app_principal(*claims: tuple[str, str], auth_typ: str = "aad") -> str:
    """Shaped like what App Service Authentication injects for an Entra token."""
    return encode(
        {
            "auth_typ": auth_typ,
            "claims": [{"typ": typ, "val": val} for typ, val in claims],
            "name_typ": NAME_URI,
            "role_typ": ROLE_URI,
        }
    )


# A client-credentials v1.0 token as App Service maps it: appid, the object id
# under its long URI, app roles as "roles".
V1_APP = app_principal(
    ("aud", "api://payments-proxy"),
    ("iss", "https://sts.windows.net/11111111-2222-3333-4444-555555555555/"),
    ("appid", APP_ID),
    ("appidacr", "2"),
    (OID_URI, OBJECT_ID),
    ("roles", "Payments.Write"),
    ("ver", "1.0"),
)


# v2.0: azp instead of appid, and roles under the role_typ URI.
V2_APP = app_principal(("azp", APP_ID.upper()), (ROLE_URI, "Payments.Write"), ("ver", "2.0"))
