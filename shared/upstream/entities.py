"""Business Central's payment line as the proxy answers it: without
``@odata.*`` properties, with its ``etag``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from shared.payment.amounts import steps_of_any_currency
from shared.payment.refs import ForwardHeaders, PaymentRef
from shared.payment.settlement import PatchOutcome, confirmed, unknown
from shared.process.jsonio import JsonBodyError, loads_exact
from shared.process.problems import Problem
from shared.upstream.attempts import Budget
from shared.upstream.client import BusinessCentralClient
from shared.upstream.errors import problem_from_upstream

NOT_A_LINE_DETAIL = "Business Central answered with a body that is not a payment line"
# What an entity Business Central answers with carries besides its properties.
_USUAL_ANNOTATIONS = ("@odata.context", "@odata.etag")


def normalize_entity(
    data: Mapping[str, Any], etag_header: str | None = None
) -> tuple[dict[str, Any], str | None]:
    """An entity without ``@odata.*``, with ``etag`` from the body or the header."""
    etag = data.get("@odata.etag")
    if not isinstance(etag, str):
        etag = etag_header
    line = dict(data)
    for name in _USUAL_ANNOTATIONS:
        line.pop(name, None)
    # Any other annotation is rare: one search over all the names finds whether there is one.
    if "@odata." in "\n".join(line):
        line = {key: value for key, value in line.items() if not key.startswith("@odata.")}
    if etag is not None:
        line["etag"] = etag
    return line, etag


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """A Business Central answer's body as a JSON object; None if it is not one."""
    try:
        data = loads_exact(response.content)
    except JsonBodyError:
        return None
    return data if isinstance(data, dict) else None


def normalize_line(response: httpx.Response) -> tuple[dict[str, Any], str | None]:
    """BC's entity from a response; raises ``upstream-error`` if it is not one."""
    data = json_object(response)
    if data is None:
        raise Problem("upstream-error", NOT_A_LINE_DETAIL)
    return normalize_entity(data, response.headers.get("etag"))


async def read_line(
    bc: BusinessCentralClient, ref: PaymentRef, forward: ForwardHeaders, budget: Budget
) -> tuple[dict[str, Any], str | None]:
    """GET one line (retried within the budget); a Problem for any other answer."""
    response = await bc.read(bc.payment_url(ref), forward, budget)
    if response.status_code != 200:
        raise problem_from_upstream(response.status_code, response.content, if_match_sent=False)
    return normalize_line(response)


async def confirm_applied(
    bc: BusinessCentralClient,
    ref: PaymentRef,
    forward: ForwardHeaders,
    budget: Budget,
    changes: dict[str, Any],
    amount_steps: Sequence[Decimal] | None = None,
) -> PatchOutcome:
    """Business Central answered 2xx, so the write happened, but its body could
    not be read: answer with the line if it holds the values sent (an amount
    rounded to ``amount_steps``, or to any currency's step when not given)."""
    try:
        # The read-back may use what is left, the reserve included.
        line, _ = await read_line(bc, ref, dataclasses.replace(forward, if_match=None), budget)
    except Problem as problem:
        return unknown(problem.upstream)
    decimals = bc.settings.amount_decimals
    return confirmed(line, changes, decimals, amount_steps or steps_of_any_currency(decimals))
