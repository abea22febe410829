"""The application check of one update (validate-only and the PATCH): the
reads of ``shared.upstream.application``, judged by ``shared.payment.application``.

An update that names neither a customer nor an invoice costs nothing and is
not checked. Otherwise one ``$batch`` request reads what the update names
(and the line when needed), within a part of the request's budget that
leaves the PATCH its own minimum and its read-back reserve. A check that
could not be made is named in the answer (``x-application-check:
not-made``), never passed; the update then goes ahead as it would without a
check.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from shared.payment.application import Verdict, not_made, touches
from shared.payment.refs import CompanySet, CompanySetRef, ForwardHeaders, PaymentRef
from shared.payment.settlement import EMPTY_GUID
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.upstream import odata
from shared.upstream.application import Update, check_budget_s, check_updates, local_step
from shared.upstream.attempts import Budget
from shared.upstream.client import BusinessCentralClient
from shared.upstream.entities import read_line
from shared.upstream.reads import Read, read_together

CHECK_HEADER = "x-application-check"


def local_precision(settings: Settings) -> Decimal:
    return local_step(settings.amount_decimals)


def check_budget(settings: Settings, budget: Budget) -> Budget:
    """The part of ``budget`` the check may use: the PATCH keeps its minimum and reserve."""
    seconds = check_budget_s(
        budget.remaining(), settings.min_attempt_s, settings.read_back_reserve_s
    )
    return Budget(seconds, budget.clock)


async def check_application(
    settings: Settings,
    bc: BusinessCentralClient,
    ref: PaymentRef,
    changes: Mapping[str, Any],
    forward: ForwardHeaders,
    budget: Budget,
    *,
    before_patch: bool = False,
) -> Verdict | None:
    """The verdict on one update; None, at no cost, when it names no customer and
    no invoice. ``before_patch``: the PATCH that follows keeps its own time."""
    if not touches(changes):
        return None
    if before_patch:
        budget = check_budget(settings, budget)
    if budget.remaining() <= 0:
        return not_made("no time was left to read from Business Central")
    verdicts = await check_updates(
        bc,
        ref.version,
        ref.company_id,
        ref.journal_id,
        (Update(0, ref.payment_id, changes),),
        forward,
        budget,
        local_precision=local_precision(settings),
    )
    return verdicts.get(0)


def check_headers(verdict: Verdict | None) -> dict[str, str]:
    """How an answer names the check: ``passed``, or ``not-made`` with its reason."""
    if verdict is None:
        return {}
    if verdict.reason is None:
        return {CHECK_HEADER: verdict.status}
    return {CHECK_HEADER: f"{verdict.status}; reason={verdict.reason}"}


async def currency_of_line(
    settings: Settings,
    bc: BusinessCentralClient,
    ref: PaymentRef,
    forward: ForwardHeaders,
    budget: Budget,
) -> Verdict:
    """For validate-only of an amount on an update that names no customer or
    invoice: the line's currency, from the invoice it pays or else its
    customer (two reads: the line, then that record with its currency)."""
    try:
        line, _ = await read_line(bc, ref, forward, budget)
    except Problem as problem:
        return not_made(f"the payment line could not be read ({problem.slug})")
    invoice = str(line.get("appliesToInvoiceId") or EMPTY_GUID).lower()
    customer = str(line.get("customerId") or EMPTY_GUID).lower()
    entity_set: CompanySet
    if invoice != EMPTY_GUID:
        entity_set, key = "salesInvoices", invoice
    elif customer != EMPTY_GUID:
        entity_set, key = "customers", customer
    else:
        return Verdict("passed")  # no customer: no currency to hold the amount to
    options = (("$filter", f"id eq {odata.guid_literal(key)}"), ("$expand", "currency"))
    path = CompanySetRef(ref.version, ref.company_id, entity_set, options).path
    answer = (await read_together(bc, ref.version, (Read("record", path),), forward, budget))[
        "record"
    ]
    if isinstance(answer, Problem) or not isinstance(answer, list) or not answer:
        return not_made(f"the line's {entity_set[:-1]} could not be read")
    record = answer[0]
    code, currency = record.get("currencyCode"), record.get("currency")
    if currency is None:
        return Verdict("passed", currency=code, precision=local_precision(settings))
    step = currency.get("amountRoundingPrecision") if isinstance(currency, dict) else None
    if isinstance(step, int | Decimal) and not isinstance(step, bool) and step > 0:
        return Verdict("passed", currency=code, precision=Decimal(step))
    return Verdict("passed", currency=code)
