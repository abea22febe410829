"""The response models the API documents, and the bulk request's model: built from
the very rules the proxy applies to a bulk request."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic import ValidationError

from shared.api.schemas import (
    BulkJobAccepted,
    BulkJobResult,
    CompanyList,
    bulk_request_model,
    response_model,
)
from shared.bulk.request import MAX_CLIENT_REF
from shared.http.preconditions import MAX_IF_MATCH
from shared.payment.models import LINE_MODELS
from tests.support.fakes import PAYMENT


def test_each_kind_of_answer_has_its_model() -> None:
    assert response_model("companies", None) is CompanyList
    assert response_model("line", "v1.0") is LINE_MODELS["v1.0"]
    assert response_model("bulkAccepted", "v2.0") is BulkJobAccepted
    assert response_model("bulkResult", None) is BulkJobResult
    assert response_model("health", None) is None
    lines = response_model("lines", "v2.0")
    assert lines is not None
    # A page's item is the line, with how a picker names it.
    (item,) = typing.get_args(lines.model_fields["value"].annotation)
    assert issubclass(item, LINE_MODELS["v2.0"])
    assert set(item.model_fields) - set(LINE_MODELS["v2.0"].model_fields) == {"title"}


def test_the_bulk_request_model_holds_the_limits_the_proxy_applies() -> None:
    model = bulk_request_model("v2.0")
    item = {"id": PAYMENT, "ifMatch": "*", "changes": {"comment": "x"}}
    model.model_validate({"updates": [item]})
    wrongs: list[dict[str, Any]] = [
        {"updates": []},
        {"updates": [{**item, "clientRef": "x" * (MAX_CLIENT_REF + 1)}]},
        {"updates": [{**item, "ifMatch": 'W/"' + "x" * MAX_IF_MATCH + '"'}]},
        {"updates": [{**item, "changes": {"colour": "red"}}]},
        {"updates": [item], "extra": 1},
    ]
    for wrong in wrongs:
        with pytest.raises(ValidationError):
            model.model_validate(wrong)
