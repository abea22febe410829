"""The connector's Payment Line dropdown against the real proxy, as the
designer fills it: the lookup's parameters taken from the action's own inputs
(per ``x-ms-dynamic-values``), the title read at ``value-title``, the value at
``value-path``; then the action itself sent with those inputs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.process.jsonio import loads_exact
from tests.support.connector import call, check, connector_operation
from tests.support.proxy import Proxy, bc_requests

pytestmark = pytest.mark.e2e


def dropdown(proxy: Proxy, operation_id: str, name: str, inputs: dict[str, Any]) -> list[Any]:
    """(title, value) of each choice the designer offers for ``name``, given
    the action's other inputs so far."""
    _, _, op = connector_operation(operation_id)
    spec = next(p for p in op["parameters"] if p["name"] == name)["x-ms-dynamic-values"]
    values = {
        target: inputs[source["parameter"]]
        for target, source in spec.get("parameters", {}).items()
        if inputs.get(source["parameter"]) not in (None, "")
    }
    answer = call(proxy, spec["operationId"], values)
    assert answer.status_code == 200, answer.text
    items = check(spec["operationId"], answer)[spec["value-collection"]]
    return [(item[spec["value-title"]], item[spec["value-path"]]) for item in items]


def test_the_line_dropdown_names_lines_and_reaches_past_the_first_page(proxy: Proxy) -> None:
    ids = proxy.line()
    inputs = {"companyId": ids["company"], "journalId": ids["journal"]}
    added = proxy.sandbox.add_lines(120)  # the journal now holds more than one page
    first_page = dropdown(proxy, "UpdateCustomerPayment", "paymentId", inputs)
    assert len(first_page) == 100
    assert added[-1] not in [value for _, value in first_page]
    # Each choice is named by document number, customer number and amount.
    line = httpx.get(proxy.sandbox.line_url(added[-1]), headers=proxy.sandbox.auth_headers())
    stored = loads_exact(line.content)
    amount = format(stored["amount"], "f")  # Business Central's exact digits
    name = f"{stored['documentNumber']} · {stored['customerNumber']} · {amount}"
    # The filter beside the dropdown reaches the last line by its document number.
    inputs["lineDocumentNumber"] = stored["documentNumber"]
    filtered = dropdown(proxy, "UpdateCustomerPayment", "paymentId", inputs)
    assert (name, added[-1]) in filtered
    assert all(title.startswith(stored["documentNumber"] + " · ") for title, _ in filtered)
    # The action sends the filter too; the update is the line's alone.
    etag = stored["@odata.etag"]
    proxy.sandbox.clear_requests()
    updated = call(
        proxy,
        "UpdateCustomerPayment",
        {**inputs, "paymentId": added[-1], "If-Match": etag},
        {"comment": "picked from the dropdown"},
    )
    assert updated.status_code == 200, updated.text
    assert check("UpdateCustomerPayment", updated)["comment"] == "picked from the dropdown"
    assert [r["path"].rsplit("(", 1)[-1] for r in bc_requests(proxy.sandbox, "PATCH")] == [
        f"{added[-1]})"
    ]
