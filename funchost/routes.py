"""Route templates as the Functions host reads them.

Only the template features the app's routes use: literal segments, ``{name}``
and a final ``{*name}``; literal segments match case-insensitively. Anything
else the Functions host would accept (constraints, optional and default
values, several parts in one segment) is refused at startup, so a route the
local host cannot serve faithfully is never served approximately.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field


class RouteTemplateError(ValueError):
    """A route template the Functions host would refuse at startup."""


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ASP.NET's inbound precedence digits: a lower digit matches first.
_LITERAL, _PARAMETER, _CATCH_ALL = 1, 3, 5


@dataclass(frozen=True)
class _Segment:
    text: str  # the literal, or the parameter's name
    kind: int  # _LITERAL, _PARAMETER or _CATCH_ALL

    @property
    def folded(self) -> str:
        """A literal as it is compared (case-insensitively)."""
        return self.text.casefold()


def _parse_segment(text: str, template: str) -> _Segment:
    if "{" not in text and "}" not in text:
        if not text:
            raise RouteTemplateError(f"empty segment in route {template!r}")
        return _Segment(text, _LITERAL)
    catch_all = text.startswith("{*")
    name = text[2:-1] if catch_all else text[1:-1]
    if not (text.startswith("{") and text.endswith("}")) or not _NAME_RE.fullmatch(name):
        raise RouteTemplateError(
            f"unsupported segment {text!r} in route {template!r}: the local host serves "
            "literal segments, {name} and a final {*name} only"
        )
    return _Segment(name, _CATCH_ALL if catch_all else _PARAMETER)


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template (prefix included)."""

    text: str
    segments: tuple[_Segment, ...]
    # Per segment: the folded literal, or None for a parameter (worked out once,
    # not on every request).
    _literals: tuple[str | None, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        literals = tuple(s.folded if s.kind == _LITERAL else None for s in self.segments)
        object.__setattr__(self, "_literals", literals)

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        stripped = text.strip("/")
        segments = tuple(_parse_segment(s, text) for s in stripped.split("/")) if stripped else ()
        names = [s.text.lower() for s in segments if s.kind != _LITERAL]
        if len(names) != len(set(names)):
            raise RouteTemplateError(f"a parameter is repeated in route {text!r}")
        if any(s.kind == _CATCH_ALL for s in segments[:-1]):
            raise RouteTemplateError(f"catch-all must be the last segment of route {text!r}")
        return cls(text, segments)

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(segment.kind for segment in self.segments)

    @property
    def catch_all(self) -> bool:
        return bool(self.segments) and self.segments[-1].kind == _CATCH_ALL

    def can_match(self, length: int) -> bool:
        """Whether a path of ``length`` segments can match (a catch-all may be empty)."""
        fixed = len(self.segments) - self.catch_all
        return length >= fixed if self.catch_all else length == fixed

    def match(
        self, path_segments: Sequence[str], folded: Sequence[str] | None = None
    ) -> dict[str, str] | None:
        """Route values for decoded path segments, or None when it does not match.

        ``folded``: the same segments casefolded, when the caller has them already
        (one request is matched against several templates).
        """
        if folded is None:
            folded = [value.casefold() for value in path_segments]
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.kind == _CATCH_ALL:
                rest = "/".join(path_segments[index:])
                if rest:
                    values[segment.text] = rest
                return values
            if index >= len(path_segments):
                return None
            literal = self._literals[index]
            if literal is None:
                value = path_segments[index]
                if value == "":
                    return None
                values[segment.text] = value
            elif folded[index] != literal:
                return None
        if len(path_segments) > len(self.segments):
            return None
        return values
