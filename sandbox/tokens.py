"""Access tokens issued by the sandbox identity endpoint and checked by the
emulated Business Central: HS256 JWTs with a key made fresh per app instance,
so a token can only come from this running sandbox."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from sandbox.seed import BC_RESOURCE, TENANT_ID

ALGORITHM = "HS256"


class TokenRejected(Exception):
    """The bearer token is missing, forged, expired or for another audience."""


@dataclass
class TokenIssuer:
    lifetime_s: int = 3600
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def issue(
        self, *, issuer: str, resource: str, client_id: str, now: float | None = None
    ) -> tuple[str, int]:
        """A token for ``resource`` and its expiry (epoch seconds)."""
        issued_at = int(now if now is not None else time.time())
        expires_on = issued_at + self.lifetime_s
        claims: dict[str, Any] = {
            "aud": resource,
            "iss": issuer,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": expires_on,
            "tid": TENANT_ID,
            "appid": client_id,
            "azp": client_id,
            "oid": client_id,
            "sub": client_id,
            "idtyp": "app",
            "roles": ["API.ReadWrite.All"],
            # A unique id keeps two tokens issued in the same second distinct.
            "uti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM), expires_on

    def verify(self, token: str, *, issuer: str) -> dict[str, Any]:
        """The claims of a token this issuer made for Business Central."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=BC_RESOURCE,
                issuer=issuer,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(type(exc).__name__) from exc
        return claims
