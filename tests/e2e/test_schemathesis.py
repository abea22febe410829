"""A short schemathesis round against the running proxy (``make fuzz`` runs a
long one): schema-valid and schema-violating requests, generated from
/api/openapi.json, must never get a 5xx, and every answer, problems
included, must conform to the document."""

from __future__ import annotations

import pytest

from funchost.durable import DurableStandIn
from scripts.fuzz import fuzz
from tests.support.proxy import Proxy

pytestmark = pytest.mark.e2e


def test_schemathesis_finds_no_failure(proxy: Proxy, durable: DurableStandIn) -> None:
    ids = proxy.line()
    known = {"companyId": ids["company"], "journalId": ids["journal"], "paymentId": ids["payment"]}
    report = fuzz(proxy.server.url, cases=300, known_ids=known, seed=7, bulk_cases=100)
    assert report.failures == [], report.summary()
    assert report.cases == 400
    # The round exercised success, refusals and Business Central's own answers.
    assert report.statuses[200] > 0
    assert report.statuses[400] > 0
    assert report.statuses[404] > 0
    assert report.statuses[422] > 0
    # Bulk bodies reached the bulk validation: jobs started and bodies refused.
    assert sum(report.bulk_statuses.values()) == 100
    assert report.bulk_statuses[202] > 0
    assert report.bulk_statuses[422] > 0
