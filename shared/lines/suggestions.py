"""Suggested invoices for one payment line: the open invoices it most likely
pays, ranked, each with its reasons (``shared.payment.matching``).

Two Business Central requests per call: the line, then one ``$batch`` that
reads the open invoices worth looking at: the customer's, those whose number
or external document number appears in the line's texts, and those whose
total is within the tolerance of the payment (an invoice partly paid by
someone else than the line's customer, whose total differs, is found only
through its number). And the customer, for the line's currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.http.admit import Admitted
from shared.http.messages import CoreResponse, json_response
from shared.http.parsing import forward_headers, whole_number_parameter
from shared.lines.lookups import decimal_value, invoice_title
from shared.payment.fields import ApiVersion
from shared.payment.matching import MAX_TOKEN, rank, text_tokens
from shared.payment.refs import CompanySetRef
from shared.payment.settlement import EMPTY_GUID
from shared.process.guids import GUID_RE
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.upstream import odata
from shared.upstream.attempts import Budget
from shared.upstream.client import BusinessCentralClient
from shared.upstream.entities import normalize_entity, read_line
from shared.upstream.reads import Read, read_together

DEFAULT_TOLERANCE = Decimal(1)
DEFAULT_SUGGESTIONS = 5
MAX_SUGGESTIONS = 20
# Open invoices read for each kind of candidate.
MAX_CANDIDATES = 100
INVOICE_NUMBER_LENGTH = 20
# The query parameters the route takes; a connector may add the line dropdown's own
# filter (lineDocumentNumber): taken and ignored.
SUGGESTION_QUERY = ("tolerance", "top", "lineDocumentNumber")


async def suggest(
    admitted: Admitted, settings: Settings, bc: BusinessCentralClient
) -> CoreResponse:
    """The open invoices a payment line most likely pays, best first."""
    ref = admitted.line
    query = admitted.request.query
    tolerance = decimal_value(ref.version, query, "tolerance")
    if tolerance is None:
        tolerance = DEFAULT_TOLERANCE
    if tolerance < 0:
        raise Problem("invalid-query-parameter", "The query parameter tolerance must be 0 or more.")
    top = whole_number_parameter(query, "top", DEFAULT_SUGGESTIONS, 1, MAX_SUGGESTIONS)
    forward = forward_headers(admitted.request.headers, admitted.request_id, None)
    budget = Budget(settings.sync_budget_s)
    line, _ = await read_line(bc, ref, forward, budget)
    reads = candidate_reads(ref.version, ref.company_id, line, tolerance)
    answers = await read_together(bc, ref.version, reads, forward, budget) if reads else {}
    invoices: list[dict[str, Any]] = []
    currency: str | None = None
    for key, answer in answers.items():
        if isinstance(answer, Problem):
            raise answer
        found = answer if isinstance(answer, list) else [answer]
        if key == "customer":
            codes = [str(c["currencyCode"]) for c in found if "currencyCode" in c]
            currency = codes[0] if codes else None
        else:
            invoices += [normalize_entity(item)[0] for item in found]
    ranked = rank(line, invoices, currency, tolerance)[:top]
    body = {
        "paymentId": ref.payment_id,
        "amount": line.get("amount"),
        "currencyCode": currency,
        "tolerance": tolerance,
        "value": [
            {
                **s.invoice,
                "title": invoice_title(s.invoice),
                "score": s.score,
                "reasons": [reason.as_json() for reason in s.reasons],
            }
            for s in ranked
        ],
    }
    return json_response(200, body, admitted.request_id)


def candidate_reads(
    version: ApiVersion, company: str, line: dict[str, Any], tolerance: Decimal
) -> list[Read]:
    """The reads that find every invoice a reason could point at."""
    reads: list[Read] = []

    def invoices(key: str, *clauses: str) -> None:
        options = (
            ("$filter", odata.all_of(odata.OPEN_INVOICES, *clauses)),
            ("$top", str(MAX_CANDIDATES)),
        )
        reads.append(Read(key, CompanySetRef(version, company, "salesInvoices", options).path))

    customer = str(line.get("customerId") or "")
    if GUID_RE.match(customer) and customer.lower() != EMPTY_GUID:
        invoices("of-customer", f"customerId eq {odata.guid_literal(customer)}")
        who = (("$filter", f"id eq {odata.guid_literal(customer)}"),)
        reads.append(Read("customer", CompanySetRef(version, company, "customers", who).path))
    tokens = text_tokens(line)
    numbers = [t for t in tokens if len(t) <= INVOICE_NUMBER_LENGTH]
    if numbers:
        literals = (odata.code_literal("appliesToInvoiceNumber", t) for t in numbers)
        invoices("by-number", odata.any_of("number", literals))
    references = [t for t in tokens if len(t) <= MAX_TOKEN]
    if references:
        literals = (odata.code_literal("externalDocumentNumber", t) for t in references)
        invoices("by-external-number", odata.any_of("externalDocumentNumber", literals))
    amount = line.get("amount")
    if isinstance(amount, Decimal | int) and not isinstance(amount, bool) and amount > 0:
        low = odata.decimal_literal(max(Decimal(amount) - tolerance, Decimal(0)))
        high = odata.decimal_literal(Decimal(amount) + tolerance)
        invoices(
            "by-amount",
            f"totalAmountIncludingTax ge {low}",
            f"totalAmountIncludingTax le {high}",
        )
    return reads
