"""Function keys, as the Functions host checks them in Azure (the local host's opt-in).

A function of auth level ``function`` or ``admin`` needs a key in the
``x-functions-key`` header or, failing that, the ``code`` query parameter; the host
answers 401 with an empty body without one, and the function never runs. The real
host tells function, host and master keys apart; here every given key opens every
keyed route, which is all the app's routes need (none is ``admin``).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from urllib.parse import parse_qsl

from starlette.types import Scope

# Auth levels that need a key; ``anonymous`` (and ``user``, unused) do not.
KEYED_LEVELS = frozenset({"function", "admin"})
KEY_HEADER = "x-functions-key"
KEY_PARAMETER = "code"


def presented_key(scope: Scope) -> str | None:
    """The key a request carries: the header first, then ?code= (as the host reads them)."""
    for name, value in scope["headers"]:
        if name.decode("latin-1").lower() == KEY_HEADER:
            return str(value.decode("latin-1"))
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == KEY_PARAMETER:
            return str(value)
    return None


class FunctionKeys:
    """The keys that open keyed routes; none given, every route is open."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._keys = tuple(key.encode() for key in keys if key)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def admits(self, auth_level: str, scope: Scope) -> bool:
        if not self._keys or auth_level not in KEYED_LEVELS:
            return True
        presented = (presented_key(scope) or "").encode()
        # Every key compared, in constant time each: no early exit on a match.
        matches = [hmac.compare_digest(presented, key) for key in self._keys]
        return any(matches)
