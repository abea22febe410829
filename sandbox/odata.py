"""The OData shapes of Business Central's answers: one entity with its ETag,
and a collection with the query options BC applies (``$filter``, see
:mod:`sandbox.filters`, then ``$skip`` and ``$top``, then server-driven
paging with ``@odata.nextLink``), and ``$expand`` of an entity's navigation
properties. Syntax BC cannot parse is refused, never widened."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from sandbox.calls import BcResult, Call
from sandbox.filters import check_properties, matches, parse_filter
from sandbox.store import BcError, make_etag

# Business Central online's default maximum page size for API pages: longer
# answers end with @odata.nextLink.
MAX_PAGE_SIZE = 20000
_COUNT_RE = re.compile(r"^[0-9]{1,10}$")


@dataclass(frozen=True)
class Shape:
    """What an entity type allows in query options: its properties (None: those
    of its first entity), the ones the page calculates (no filter on them), and
    its navigation properties for ``$expand``, each giving the related entity
    of an entity's JSON (or None)."""

    entity_type: str
    properties: tuple[str, ...] | None = None
    calculated: frozenset[str] = frozenset()
    navigations: Mapping[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = field(
        default_factory=dict
    )


_PLAIN = Shape("entity")


def entity(
    call: Call, context: str, rowversion: int, body: dict[str, Any], shape: Shape = _PLAIN
) -> BcResult:
    etag = make_etag(rowversion)
    expanded = _expanded(body, _expand_option(_query_options(call.query), shape), shape)
    return BcResult(
        200,
        {
            "@odata.context": f"{call.context_base}{context}/$entity",
            "@odata.etag": etag,
            **expanded,
        },
        {"etag": etag},
    )


def collection(
    call: Call,
    context: str,
    rows: list[tuple[int, dict[str, Any]]],
    page_size: int,
    shape: Shape = _PLAIN,
) -> BcResult:
    """``rows`` (row version, entity) as BC answers them for ``call``'s options,
    at most ``page_size`` entities a page."""
    options = _query_options(call.query)
    groups = parse_filter(options.get("$filter", ""))
    expand = _expand_option(options, shape)
    skip = _count_option(options, "$skip")
    top = _count_option(options, "$top")
    entities = [{"@odata.etag": make_etag(rv), **row} for rv, row in rows]
    properties = shape.properties
    if properties is None:
        # Without a declared shape, an empty collection has nothing to refuse.
        properties = tuple(entities[0]) if entities else tuple(g[0].name for g in groups)
    check_properties(groups, properties, shape.calculated, shape.entity_type)
    entities = [e for e in entities if matches(e, groups)]
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
    body["value"] = [_expanded(e, expand, shape) for e in entities]
    return BcResult(200, body)


def _expand_option(options: dict[str, str], shape: Shape) -> list[str]:
    raw = options.get("$expand")
    if raw is None:
        return []
    names = [name.strip() for name in raw.split(",")]
    for name in names:
        if name not in shape.navigations:
            raise BcError(
                400,
                "BadRequest",
                f"Could not find a property named '{name}' on type "
                f"'Microsoft.NAV.{shape.entity_type}'.",
            )
    return names


def _expanded(body: dict[str, Any], names: list[str], shape: Shape) -> dict[str, Any]:
    if not names:
        return body
    return {**body, **{name: shape.navigations[name](body) for name in names}}


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
