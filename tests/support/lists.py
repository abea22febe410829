"""The lists through the proxy end to end: a journal's lines URL, the items an
answer lists, and the filters Business Central was asked for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.support.proxy import Proxy, bc_requests


def lines_url(proxy: Proxy, company: int = 0, version: str = "v2.0") -> str:
    ids = proxy.line(company)
    return (
        f"{proxy.url}/{version}/companies/{ids['company']}/customerPaymentJournals/"
        f"{ids['journal']}/customerPayments"
    )


def found(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json(parse_float=Decimal)
    items: list[dict[str, Any]] = body["value"]
    assert not [key for item in items for key in item if key.startswith("@odata")]
    return items


def upstream_filters(proxy: Proxy, since: int = 0) -> list[str]:
    """The $filter of every list query the proxy sent (after the first
    ``since`` requests the sandbox logged), decoded."""
    return [
        parse_qs(r["query"]).get("$filter", [""])[0]
        for r in bc_requests(proxy.sandbox, "GET")[since:]
        if r["path"].endswith("/customerPayments")
    ]
