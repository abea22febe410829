"""The application check's reads, for one update or a batch of them
(``shared.payment.application`` is the rule they feed).

What many updates name is read together: invoices by id, invoices by number,
customers by id, customers by number and lines by id, each a filtered
collection read (``id eq A or id eq B ...``, up to ``CHUNK`` values a read),
an invoice with its customer and currency, a customer with its currency, all
of them in one ``$batch`` (more only past 100 reads). A single update costs
one request; a ``$batch`` of 100 updates a handful of reads in one request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.payment.application import Verdict, judge, needs, not_made
from shared.payment.fields import ApiVersion
from shared.payment.refs import CollectionRef, CompanySet, CompanySetRef, ForwardHeaders
from shared.process.problems import Problem
from shared.upstream import odata
from shared.upstream.attempts import Budget
from shared.upstream.client import BusinessCentralClient
from shared.upstream.reads import Answer, Read, read_together

# Values in one filter: keeps a read's URL short (a GUID and " or id eq " take 50).
CHUNK = 40
# Invoices a payment can go to are posted; a draft may share a number with one.
_NOT_POSTED = frozenset({"Draft", "In Review", " ", ""})


def local_step(amount_decimals: int) -> Decimal:
    """The local currency's rounding step: no API gives it, AMOUNT_DECIMALS says it."""
    return Decimal(1).scaleb(-amount_decimals)


def check_budget_s(sync_budget_s: float, min_attempt_s: float, reserve_s: float) -> float:
    """The time a check may take before an update is sent: what the update keeps
    for its own attempt and for settling a lost answer is not the check's."""
    return max(0.0, sync_budget_s - min_attempt_s - reserve_s)


@dataclass(frozen=True)
class Update:
    """One update to check: its place (an index or 0), its line, its changes."""

    index: int
    payment_id: str
    changes: Mapping[str, Any]


@dataclass
class _Kind:
    """The records of one kind read by one property, and the read each value went in."""

    key: str
    prop: str
    literal: Any
    values: list[str] = field(default_factory=list)
    read_of: dict[str, str] = field(default_factory=dict)

    def reads(self, path_of: Callable[[str], str]) -> list[Read]:
        unique = list(dict.fromkeys(self.values))
        out = []
        for number, start in enumerate(range(0, len(unique), CHUNK)):
            chunk = unique[start : start + CHUNK]
            key = f"{self.key}-{number}"
            filter_text = odata.any_of(self.prop, (self.literal(value) for value in chunk))
            out.append(Read(key, path_of(filter_text)))
            self.read_of.update(dict.fromkeys(chunk, key))
        return out

    def record(self, value: str | None, answers: Mapping[str, Answer]) -> Any:
        """The record with ``value`` (None: none), or the Problem its read met."""
        if value is None:
            return None
        answer = answers.get(self.read_of.get(value, ""))
        if answer is None:
            return Problem("upstream-error", "Business Central gave no answer for this read.")
        if isinstance(answer, Problem):
            return answer
        records = answer if isinstance(answer, list) else [answer]
        matching = [r for r in records if _same(r.get(self.prop), value)]
        posted = [r for r in matching if str(r.get("status", "Open")) not in _NOT_POSTED]
        chosen = posted or matching
        return chosen[0] if chosen else None


def _same(found: Any, value: str) -> bool:
    return isinstance(found, str) and found.lower() == value.lower()


async def check_updates(
    bc: BusinessCentralClient,
    version: ApiVersion,
    company_id: str,
    journal_id: str,
    updates: Sequence[Update],
    forward: ForwardHeaders,
    budget: Budget,
    *,
    local_precision: Decimal,
) -> dict[int, Verdict]:
    """The verdict for each update that names a customer or an invoice (the
    others are left out: they cost nothing and are not checked)."""
    wanted = {u.index: w for u in updates if (w := needs(u.changes)) is not None}
    if not wanted:
        return {}
    invoices_by_id = _Kind("invoice-id", "id", odata.guid_literal)
    invoices_by_number = _Kind("invoice-number", "number", odata.text_literal)
    customers_by_id = _Kind("customer-id", "id", odata.guid_literal)
    customers_by_number = _Kind("customer-number", "number", odata.text_literal)
    lines = _Kind("line", "id", odata.guid_literal)
    by_index = {u.index: u for u in updates}
    for index, want in wanted.items():
        _add(invoices_by_id, want.invoice_id)
        _add(invoices_by_number, want.invoice_number)
        _add(customers_by_id, want.customer_id)
        _add(customers_by_number, want.customer_number)
        if want.line:
            _add(lines, by_index[index].payment_id.lower())

    def company_set(entity_set: CompanySet, expand: str) -> Callable[[str], str]:
        def path(filter_text: str) -> str:
            options = (("$filter", filter_text), ("$expand", expand))
            return CompanySetRef(version, company_id, entity_set, options).path

        return path

    def journal_lines(filter_text: str) -> str:
        return CollectionRef(version, company_id, journal_id, (("$filter", filter_text),)).path

    reads = [
        *invoices_by_id.reads(company_set("salesInvoices", "customer,currency")),
        *invoices_by_number.reads(company_set("salesInvoices", "customer,currency")),
        *customers_by_id.reads(company_set("customers", "currency")),
        *customers_by_number.reads(company_set("customers", "currency")),
        *lines.reads(journal_lines),
    ]
    answers = await read_together(bc, version, reads, forward, budget) if reads else {}
    verdicts: dict[int, Verdict] = {}
    for index, want in wanted.items():
        invoice = invoices_by_id.record(want.invoice_id, answers)
        if want.invoice_id is None:
            invoice = invoices_by_number.record(want.invoice_number, answers)
        customer = customers_by_id.record(want.customer_id, answers)
        if want.customer_id is None:
            customer = customers_by_number.record(want.customer_number, answers)
        line = lines.record(by_index[index].payment_id.lower() if want.line else None, answers)
        if want.line and line is None:
            verdicts[index] = not_made("the payment line was not found")
            continue
        verdicts[index] = judge(
            by_index[index].changes,
            want,
            invoice=invoice,
            customer=customer,
            line=line,
            local_precision=local_precision,
        )
    return verdicts


def _add(kind: _Kind, value: str | None) -> None:
    if value is not None:
        kind.values.append(value)
