"""The lists that find a line: the companies, a company's customer payment
journals and a journal's payment lines (by exact values, a page at a time), for
dropdowns and for finding a line to update.

The caller never writes OData: every filter is a property of the payment
models, its value checked with that property's rule, and the ``$filter`` sent
to Business Central is written with ``shared.upstream.odata``, each value a
literal as Business Central stores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast
from urllib.parse import quote

from shared.http.admit import Admitted
from shared.http.messages import CoreResponse, json_response
from shared.http.parsing import forward_headers, whole_number_parameter
from shared.payment.fields import ApiVersion
from shared.payment.models import validate_update
from shared.payment.refs import CollectionRef
from shared.process import paths
from shared.process.paths import documented
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.upstream import odata
from shared.upstream.attempts import Budget
from shared.upstream.client import BusinessCentralClient
from shared.upstream.entities import json_object, normalize_entity
from shared.upstream.errors import problem_from_upstream

# Exact-match filters on payment lines: each is an editable property, so its
# rule comes from the payment models.
LINE_FILTERS = (
    "documentNumber",
    "externalDocumentNumber",
    "customerNumber",
    "appliesToInvoiceNumber",
)
DEFAULT_TOP = 100
MAX_TOP = 1000
PAGING = ("top", "skip")
# The query parameters a journal's lines take.
LINE_QUERY = (*LINE_FILTERS, *PAGING)
COMPANY_PROPERTIES = ("id", "name", "displayName")
_NOT_A_LIST_DETAIL = "Business Central answered with a body that is not a list"


async def companies(
    admitted: Admitted, settings: Settings, bc: BusinessCentralClient
) -> CoreResponse:
    """The companies the proxy may touch."""
    items = await _fetch(settings, bc, admitted.collection, admitted)
    companies = [
        {name: item[name] for name in COMPANY_PROPERTIES if name in item}
        for item in _allowed(items, settings.allowed_company_ids)
    ]
    return json_response(200, {"value": companies}, admitted.request_id)


async def journals(
    admitted: Admitted, settings: Settings, bc: BusinessCentralClient
) -> CoreResponse:
    """The customer payment journals of one company."""
    items = await _fetch(settings, bc, admitted.collection, admitted)
    journals = [normalize_entity(item)[0] for item in _allowed(items, settings.allowed_journal_ids)]
    return json_response(200, {"value": journals}, admitted.request_id)


async def lines(admitted: Admitted, settings: Settings, bc: BusinessCentralClient) -> CoreResponse:
    """Payment lines of one journal, optionally found by exact values, one page at a time."""
    query = admitted.request.query
    version = admitted.version
    company, journal = admitted.company_id, admitted.journal_id
    assert company is not None
    assert journal is not None
    filters = line_filters(version, query)
    top = whole_number_parameter(query, "top", DEFAULT_TOP, 1, MAX_TOP)
    skip = whole_number_parameter(query, "skip", 0, 0)
    # One more than asked for says whether another page exists.
    options = [("$top", str(top + 1))]
    if filters:
        options.insert(0, ("$filter", odata_filter(filters)))
    if skip:
        options.append(("$skip", str(skip)))
    ref = CollectionRef(version, company, journal, tuple(options))
    items, more = await fetch_page(settings, bc, bc.collection_url(ref), admitted)
    page = items[:top]
    found = [normalize_entity(item)[0] for item in page]
    body: dict[str, Any] = {"value": [{**line, "title": line_title(line)} for line in found]}
    if page and (more or len(items) > top):
        link = lines_path(version, company, journal, filters, top, skip + len(page))
        body["nextLink"] = settings.public_base_url + link
    return json_response(200, body, admitted.request_id)


def line_title(line: Mapping[str, Any]) -> str:
    """How a picker names a line: document number, customer number, amount (its
    exact digits); a part Business Central left empty is left out."""
    amount = line.get("amount")
    parts = (
        line.get("documentNumber"),
        line.get("customerNumber"),
        format(amount, "f") if isinstance(amount, Decimal) else amount,
    )
    return " · ".join(str(part) for part in parts if part not in (None, ""))


def line_filters(version: ApiVersion, query: Mapping[str, str]) -> dict[str, str]:
    """The filters asked for, each checked with the rule of its property."""
    sent = {name: query[name] for name in LINE_FILTERS if name in query}
    if not sent:
        return {}
    checked = validate_update(version, sent, amount_decimals=0)
    if isinstance(checked, list):
        error = checked[0]
        raise Problem("invalid-query-parameter", f"The query parameter {error.message}.")
    return {name: cast(str, value) for name, value in checked.items()}


def odata_filter(filters: Mapping[str, str]) -> str:
    """``name eq 'value'`` joined by ``and``; values as Business Central stores
    them, single quotes doubled (the only escape inside an OData string)."""
    clauses = (f"{name} eq {odata.code_literal(name, value)}" for name, value in filters.items())
    return odata.all_of(*clauses)


def lines_path(
    version: ApiVersion,
    company_id: str,
    journal_id: str,
    filters: Mapping[str, str],
    top: int,
    skip: int,
) -> str:
    """The proxy path (under the base URL) of one page of a journal's lines."""
    ids = {"companyId": company_id, "journalId": journal_id}
    return page_path(paths.LINES, version, ids, filters, top, skip)


def page_path(
    route: str,
    version: ApiVersion,
    ids: Mapping[str, str],
    params: Mapping[str, str],
    top: int,
    skip: int,
) -> str:
    """The proxy path (under the base URL) of one page of a list or lookup: the
    same parameters, ``top``, and where the next page starts."""
    query = [*params.items(), ("top", str(top)), ("skip", str(skip))]
    path = documented(route).format(apiVersion=version, **ids)
    return path + "?" + "&".join(f"{name}={quote(value, safe='')}" for name, value in query)


def _allowed(items: list[dict[str, Any]], allowed: frozenset[str] | None) -> list[dict[str, Any]]:
    """The items an allow-list lets through (all when it is unset)."""
    return [item for item in items if allowed is None or str(item.get("id", "")).lower() in allowed]


async def _fetch(
    settings: Settings, bc: BusinessCentralClient, ref: CollectionRef, admitted: Admitted
) -> list[dict[str, Any]]:
    return (await fetch_page(settings, bc, bc.collection_url(ref), admitted))[0]


async def fetch_page(
    settings: Settings, bc: BusinessCentralClient, url: str, admitted: Admitted
) -> tuple[list[dict[str, Any]], bool]:
    """Business Central's ``value`` list at ``url``, and whether it announced a next page."""
    forward = forward_headers(admitted.request.headers, admitted.request_id, None)
    upstream = await bc.read(url, forward, Budget(settings.sync_budget_s))
    if upstream.status_code != 200:
        raise problem_from_upstream(upstream.status_code, upstream.content, if_match_sent=False)
    data = json_object(upstream) or {}
    items = data.get("value")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise Problem("upstream-error", _NOT_A_LIST_DETAIL)
    return items, isinstance(data.get("@odata.nextLink"), str)
