"""A finished job's result: written once by the orchestrator, read a page at a time by
the status route.

The orchestrator's output is exact JSON with the items last, one a line::

    {"jobId":"…","status":"…","total":10000,"counts":{…},"items":[
    {"id":"…","clientRef":"row 1","outcome":"updated",…},
    {"id":"…","clientRef":"row 2","outcome":"failed",…}
    ]}

That is plain JSON (a line break between two items is whitespace), and exact JSON holds
no raw line break anywhere else, so a page of 1,000 items is cut out of 10,000 by
splitting lines: no poll parses every item to answer a few. A result written whole, by a
job that finished before results were written so, is read the slow way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.process.jsonio import JsonBodyError, dumps_exact, loads_exact

_ITEMS_START = ',"items":[\n'
_ITEMS_END = "\n]}"
# Items in one status answer, at most and when the caller does not say.
MAX_PAGE = 1000


def write_result(head: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str:
    """The result text: ``head`` (everything but the items), then the items, one a line."""
    text = dumps_exact(dict(head)).decode()
    lines = ",\n".join(dumps_exact(item).decode() for item in items)
    return text[:-1] + _ITEMS_START + lines + _ITEMS_END


@dataclass(frozen=True)
class JobResult:
    """A result as read back: its head, parsed, and each item as its exact JSON text."""

    head: dict[str, Any]
    items: list[str]

    @classmethod
    def read(cls, text: str) -> JobResult | None:
        """None when ``text`` is not a job's result."""
        start = text.find(_ITEMS_START)
        try:
            if start >= 0 and text.endswith(_ITEMS_END):
                head = loads_exact((text[:start] + "}").encode())
                body = text[start + len(_ITEMS_START) : -len(_ITEMS_END)]
                return (
                    cls(head, body.split(",\n") if body else []) if isinstance(head, dict) else None
                )
            data = loads_exact(text.encode())
        except JsonBodyError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return None
        return cls.of(data)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> JobResult:
        """A result held as a value (a job that ended without one gets it made up)."""
        head = {name: value for name, value in data.items() if name != "items"}
        return cls(head, [dumps_exact(item).decode() for item in data["items"]])

    def page(self, skip: int, top: int, extra: Mapping[str, Any] | None = None) -> bytes:
        """The answer with items ``skip`` to ``skip + top``: the head (whole counts and
        total, whatever the page), ``extra`` beside it, then those items."""
        head = dumps_exact({**self.head, **(extra or {})})
        chosen = ",".join(self.items[skip : skip + top])
        return head[:-1] + b',"items":[' + chosen.encode() + b"]}"
