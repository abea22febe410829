"""The payment line routes as bound: each in the request frame under the record name
operators query, a line's own routes ignoring query parameters a connector adds, the
lists refusing any they do not take."""

from __future__ import annotations

import logging

import pytest

from shared.functions import lines
from shared.http.messages import CoreRequest
from shared.process import telemetry
from tests.support.fakes import FakeBusinessCentral, bc_line, exact, payment_path, slug

RECORDS = {
    "handle_payment": "payment",
    "handle_validate": "validate",
    "handle_companies": "companies",
    "handle_journals": "journals",
    "handle_lines": "payment lines",
    "handle_customers": "customers",
    "handle_open_invoices": "open invoices",
    "handle_suggestions": "suggested invoices",
}


def test_every_route_writes_its_record_under_the_name_operators_query() -> None:
    bound = {name: getattr(lines, name) for name in RECORDS}
    assert {name: route.name for name, route in bound.items()} == RECORDS
    assert all(route.recorded for route in bound.values())


async def test_a_lines_own_route_ignores_a_connectors_query_and_a_list_refuses_it(
    bc: FakeBusinessCentral, caplog: pytest.LogCaptureFixture
) -> None:
    bc.responder = lambda request: exact(200, {"value": [], **bc_line(amount=1)})
    query = {"lineDocumentNumber": "G00001"}
    path = {k: v for k, v in payment_path().items() if k != "paymentId"}
    with caplog.at_level(logging.INFO, logger=telemetry.REQUESTS_LOGGER):
        line = await lines.handle_payment(CoreRequest("GET", payment_path(), {}, query=query))
        listed = await lines.handle_lines(CoreRequest("GET", path, {}, query=query))
    assert line.status == 200
    assert (listed.status, slug(listed)) == (400, "invalid-query-parameter")
    records = [r for r in caplog.records if r.name == telemetry.REQUESTS_LOGGER]
    assert [(r.route, r.status) for r in records] == [  # type: ignore[attr-defined]
        ("payment", 200),
        ("payment lines", 400),
    ]
