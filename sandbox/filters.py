"""Business Central's ``$filter``, as far as its API pages take it.

Comparisons (``eq``, ``ne``, ``gt``, ``ge``, ``lt``, ``le``) and the text
functions ``startswith``, ``contains`` and ``endswith`` on a property, joined
by ``and``; ``or`` only between conditions on the same property (Business
Central turns a filter into AL field filters, and an AL filter cannot say
"this field or that one"). Literals: quoted text (a quote doubled inside),
numbers, bare GUIDs and dates, ``true`` and ``false``. Anything else is
refused with a 400, never read more widely than it was written.

The result is a conjunction of groups, each a disjunction of conditions on
one property.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.store import BcError

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = ("startswith", "contains", "endswith")
_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b)
      | (?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2}\b)
      | (?P<number>-?[0-9]+(?:\.[0-9]+)?\b)
      | (?P<name>[A-Za-z][A-Za-z0-9]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Condition:
    name: str
    op: str
    kind: str  # string, guid, date, number, bool
    literal: str  # the literal's text, quotes included for a string

    @property
    def text(self) -> str:
        """A string literal's value (quotes removed, doubled quotes single)."""
        return self.literal[1:-1].replace("''", "'")


Groups = list[list[Condition]]


def _invalid() -> BcError:
    return BcError(400, "BadRequest", "Invalid filter expression.")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN_RE.match(text, position)
        if match is None or match.end() == position:
            raise _invalid()
        kind = match.lastgroup
        assert kind is not None
        value = match.group(kind)
        if kind == "name" and value in ("true", "false"):
            kind = "bool"
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise _invalid()
        self.at += 1
        return token[1]

    def keyword(self, word: str) -> bool:
        if self.peek() == ("name", word):
            self.at += 1
            return True
        return False

    # or binds looser than and, as in OData.
    def disjunction(self) -> Groups:
        groups = self.conjunction()
        while self.keyword("or"):
            right = self.conjunction()
            if len(groups) != 1 or len(right) != 1:
                raise BcError(
                    400,
                    "BadRequest",
                    "An 'or' can only join conditions on one property; this filter "
                    "cannot be turned into field filters.",
                )
            groups = [groups[0] + right[0]]
        return groups

    def conjunction(self) -> Groups:
        groups = self.primary()
        while self.keyword("and"):
            groups = groups + self.primary()
        return groups

    def primary(self) -> Groups:
        token = self.peek()
        if token == ("punct", "("):
            self.at += 1
            inner = self.disjunction()
            self.take("punct", ")")
            return inner
        name = self.take("name")
        if name in FUNCTIONS:
            self.take("punct", "(")
            prop = self.take("name")
            self.take("punct", ",")
            literal = self.take("string")
            self.take("punct", ")")
            return [[Condition(prop, name, "string", literal)]]
        op = self.take("name")
        if op not in COMPARISONS:
            raise _invalid()
        token = self.peek()
        if token is None or token[0] not in ("string", "guid", "date", "number", "bool"):
            raise _invalid()
        self.at += 1
        return [[Condition(name, op, token[0], token[1])]]


def parse_filter(text: str) -> Groups:
    """The groups of ``text`` (empty: no filter); a 400 for anything else."""
    tokens = _tokens(text)
    if not tokens:
        return []
    parser = _Parser(tokens)
    groups = parser.disjunction()
    if parser.peek() is not None:
        raise _invalid()
    for group in groups:
        if len({condition.name for condition in group}) != 1:
            raise BcError(
                400,
                "BadRequest",
                "An 'or' can only join conditions on one property; this filter cannot "
                "be turned into field filters.",
            )
    return groups


def check_properties(
    groups: Groups, properties: Sequence[str], calculated: frozenset[str], entity_type: str
) -> None:
    """Every filtered property exists and is a field, not a value the page calculates."""
    for group in groups:
        name = group[0].name
        if name not in properties:
            raise BcError(
                400, "BadRequest", f"Could not find a property named '{name}' on the type."
            )
        if name in calculated:
            raise BcError(
                400,
                "BadRequest",
                f"The property '{name}' of '{entity_type}' is calculated for each record "
                "and cannot be used in a filter.",
            )


def matches(entity: Mapping[str, Any], groups: Groups) -> bool:
    return all(any(_holds(entity.get(c.name), c) for c in group) for group in groups)


def _holds(value: Any, condition: Condition) -> bool:
    op = condition.op
    if op in FUNCTIONS:
        if not isinstance(value, str):
            return False
        text = condition.text
        if op == "startswith":
            return value.startswith(text)
        if op == "endswith":
            return value.endswith(text)
        return text in value
    left, right = _comparable(value, condition)
    if left is None or right is None:
        return op == "ne"
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def _comparable(value: Any, condition: Condition) -> tuple[Any, Any]:
    kind = condition.kind
    if kind == "string":
        return (value, condition.text) if isinstance(value, str) else (None, None)
    if kind in ("guid", "date"):
        if not isinstance(value, str):
            return None, None
        return value.lower(), condition.literal.lower()
    if kind == "bool":
        return (value, condition.literal == "true") if isinstance(value, bool) else (None, None)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None, None
    try:
        return Decimal(value), Decimal(condition.literal)
    except InvalidOperation:  # pragma: no cover - the token is a number
        return None, None
