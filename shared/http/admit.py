"""A request let in once: its route checked, its caller authorized, its query
names and path ids checked, its company and journal within the allow-lists.

The request frame admits every company, journal and line route's request with
:func:`admit`, and the use case works with the :class:`Admitted` value it
returns; nothing repeats these checks, and their order (route, caller, query,
ids, scope) is the same on every route.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import NamedTuple, cast

from shared.http.callers import check_caller, check_scope
from shared.http.messages import CoreRequest
from shared.payment.fields import API_VERSIONS, ApiVersion, shown
from shared.payment.refs import CollectionRef, PaymentRef
from shared.process.guids import GUID_RE
from shared.process.paths import JOURNAL_SETS
from shared.process.problems import Problem
from shared.process.settings import Settings

# The function key may always come as ?code=; the Functions host reads it first.
FUNCTION_KEY_PARAMETER = "code"
_ID_NAMES = ("companyId", "journalId", "paymentId")


class Received(NamedTuple):
    """A request inside the frame, and its id."""

    request: CoreRequest
    request_id: str


class Admitted(NamedTuple):
    """A request let in, and its id: what it addresses and who sent it, every part
    checked."""

    request: CoreRequest
    request_id: str
    version: ApiVersion
    company_id: str | None
    journal_id: str | None
    payment_id: str | None
    # Who is calling, for scoping what a caller may find again (bulk job keys).
    caller: str

    @property
    def collection(self) -> CollectionRef:
        return CollectionRef(self.version, self.company_id, self.journal_id)

    @property
    def line(self) -> PaymentRef:
        assert self.company_id is not None
        assert self.journal_id is not None
        assert self.payment_id is not None
        return PaymentRef(self.version, self.company_id, self.journal_id, self.payment_id)


def admit(
    settings: Settings,
    request: CoreRequest,
    request_id: str,
    *,
    query: Collection[str] | None = None,
) -> Admitted:
    """Check ``request`` in the one order every route shares; raise the first problem.

    ``query`` lists the query parameters the route takes; ``None`` means the route
    reads none and ignores any (a line's routes: a connector may add its own).
    """
    params = request.route_params
    check_route(params)
    caller = check_caller(settings, request.headers)
    if query is not None:
        check_query_names(request.query, query)
    ids = [name for name in _ID_NAMES if name in params]
    bad_guids(params, tuple(ids))
    company, journal, payment = (
        params[name].lower() if name in params else None for name in _ID_NAMES
    )
    version = cast(ApiVersion, params["apiVersion"])
    admitted = Admitted(request, request_id, version, company, journal, payment, caller)
    check_scope(settings, admitted)  # its ids are checked: no reference to build for this
    return admitted


def check_route(params: Mapping[str, str]) -> None:
    """404 for an API version or entity set that does not exist."""
    if params.get("apiVersion", "") not in API_VERSIONS:
        raise Problem(
            "not-found", "Unknown API version: use v2.0 or v1.0 in the path (/api/v2.0/...)."
        )
    if params.get("journalSet", JOURNAL_SETS[0]) not in JOURNAL_SETS:
        raise Problem("not-found", "No such route; see /api/openapi.json.")


def check_query_names(query: Mapping[str, str], allowed: Collection[str]) -> None:
    """400 naming the first query parameter the route does not take."""
    for name in query:
        if name != FUNCTION_KEY_PARAMETER and name not in allowed:
            accepted = ", ".join(sorted(allowed)) or "none"
            raise Problem(
                "invalid-query-parameter",
                f'This route does not take the query parameter "{shown(name)}" '
                f"(accepted: {accepted}).",
            )


def bad_guids(params: Mapping[str, str], names: tuple[str, ...]) -> None:
    """400 naming every one of ``names`` that is not a GUID."""
    bad = [name for name in names if not GUID_RE.match(params.get(name, ""))]
    if bad:
        raise Problem(
            "invalid-path-parameter",
            f"{' and '.join(bad)} must be a GUID such as 3f2b5c1e-0a4d-4b8e-9c6f-2d1e7a9b0c3d "
            "(no braces, no quotes).",
        )
