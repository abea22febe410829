"""The OData shapes of Business Central's answers: one entity with its ETag,
and a collection with the query options BC applies (``$filter`` with ``eq``
joined by ``and``, then ``$skip`` and ``$top``, then server-driven paging
with ``@odata.nextLink``). Syntax BC cannot parse is refused, never widened."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from sandbox.calls import BcResult, Call
from sandbox.store import BcError, make_etag

# Business Central online's default maximum page size for API pages: longer
# answers end with @odata.nextLink.
MAX_PAGE_SIZE = 20000
_FILTER_CLAUSE_RE = re.compile(
    r"\s*([A-Za-z][A-Za-z0-9]*)\s+eq\s+('(?:[^']|'')*'|-?[0-9]+(?:\.[0-9]+)?|true|false)\s*"
)
_FILTER_AND_RE = re.compile(r"and(?=\s)")
_COUNT_RE = re.compile(r"^[0-9]{1,10}$")


def entity(call: Call, context: str, rowversion: int, body: dict[str, Any]) -> BcResult:
    etag = make_etag(rowversion)
    return BcResult(
        200,
        {
            "@odata.context": f"{call.context_base}{context}/$entity",
            "@odata.etag": etag,
            **body,
        },
        {"etag": etag},
    )


def collection(
    call: Call, context: str, rows: list[tuple[int, dict[str, Any]]], page_size: int
) -> BcResult:
    """``rows`` (row version, entity) as BC answers them for ``call``'s options,
    at most ``page_size`` entities a page."""
    options = _query_options(call.query)
    clauses = parse_filter(options.get("$filter", ""))
    skip = _count_option(options, "$skip")
    top = _count_option(options, "$top")
    entities = [{"@odata.etag": make_etag(rv), **row} for rv, row in rows]
    for name, literal in clauses:
        if entities and name not in entities[0]:
            raise BcError(
                400, "BadRequest", f"Could not find a property named '{name}' on the type."
            )
        entities = [e for e in entities if _matches(e.get(name), literal)]
    entities = entities[skip or 0 :]
    if top is not None:
        entities = entities[:top]
    body: dict[str, Any] = {"@odata.context": f"{call.context_base}{context}"}
    if len(entities) > page_size:
        entities = entities[:page_size]
        following = dict(options)
        following["$skip"] = str((skip or 0) + page_size)
        if top is not None:
            following["$top"] = str(top - page_size)
        root = call.context_base.split("$metadata#")[0]
        body["@odata.nextLink"] = f"{root}{context}?" + urlencode(following, quote_via=quote)
    body["value"] = entities
    return BcResult(200, body)


def _query_options(query: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    except ValueError:
        raise BcError(400, "BadRequest", "Bad Request - Error in query syntax.") from None
    return dict(pairs)


def _count_option(options: dict[str, str], name: str) -> int | None:
    raw = options.get(name)
    if raw is None:
        return None
    if not _COUNT_RE.match(raw.strip()):
        raise BcError(400, "BadRequest", f"Invalid value '{raw}' for {name} query option found.")
    return int(raw.strip())


def parse_filter(text: str) -> list[tuple[str, str]]:
    """``name eq literal`` clauses joined by ``and``; anything else is refused
    as BC refuses syntax it cannot parse (never silently widened)."""
    clauses: list[tuple[str, str]] = []
    position = 0
    if not text.strip():
        return clauses
    while True:
        match = _FILTER_CLAUSE_RE.match(text, position)
        if match is None:
            raise BcError(400, "BadRequest", "Invalid filter expression.")
        clauses.append((match.group(1), match.group(2)))
        position = match.end()
        if position == len(text):
            return clauses
        joiner = _FILTER_AND_RE.match(text, position)
        if joiner is None:
            raise BcError(400, "BadRequest", "Invalid filter expression.")
        position = joiner.end()


def _matches(value: Any, literal: str) -> bool:
    if literal.startswith("'"):
        return isinstance(value, str) and value == literal[1:-1].replace("''", "'")
    if literal in ("true", "false"):
        return value is (literal == "true")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return False
    return Decimal(value) == Decimal(literal)
