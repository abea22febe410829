"""The shapes the route table is written in: an operation per API version where its
path names one, and the If-Match expression its documents carry."""

from __future__ import annotations

import re

import pytest

from shared.api.routes import operation
from shared.api.spec import IF_MATCH_PATTERN
from shared.http.preconditions import is_entity_tag_or_star


def test_a_versioned_operation_is_one_per_api_version() -> None:
    line = operation("getCustomerPayment")
    assert line.versioned
    assert line.path_for("v1.0").startswith("/v1.0/companies/")
    assert "{apiVersion}" in line.path_for(None)
    status = operation("getBulkPaymentUpdateStatus")
    assert not status.versioned
    assert status.path_for("v2.0") == status.path


@pytest.mark.parametrize(
    "value", ["*", 'W/"JzE5OzEn"', '"strong"', 'W/""', 'W/"W/"x""', 'W/\\"x\\"', "JzE5OzEn", ""]
)
def test_the_documents_take_exactly_the_entity_tags_the_proxy_takes(value: str) -> None:
    assert bool(re.match(IF_MATCH_PATTERN, value)) == is_entity_tag_or_star(value)
