"""Fault rules and real connection drops.

A dropped connection must look to a client like a network failure, not like
an HTTP answer. An ASGI app cannot close its socket, and uvicorn answers 500
when an app raises, so the sandbox is served with :class:`DroppingH11Protocol`
(``SERVER_OPTIONS``): the app sends a private ASGI message and the protocol
aborts the TCP connection without writing a byte.

A ``drop: "midBody"`` rule lets the request be processed, sends the real
status and headers and half of the body, then aborts the connection
(:class:`CutResponse`): the verdict arrived, its body did not.

A ``corruptBody`` rule lets the request be processed, then sends the real
status and headers with ``Content-Encoding: gzip`` over bytes that are not
gzip (:func:`corrupted`), so a client that decodes gzip fails reading it.

A ``processFirst`` rule lets the request be processed, then sends the rule's
``status`` (with ``code`` or ``rawBody``) instead of the real answer: a
gateway, or Business Central itself, failing after the work was done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from uvicorn.protocols.http.h11_impl import H11Protocol

from sandbox import jsonutil
from sandbox.calls import error_body

DROP_EXTENSION = "sandbox.connection_drop"
DROP_MESSAGE = "sandbox.connection.drop"

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class DroppingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus one ability: abort the connection on request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inner = self.app

        async def app(scope: Message, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            scope["extensions"] = {**(scope.get("extensions") or {}), DROP_EXTENSION: {}}

            async def send_or_drop(message: Message) -> None:
                if message["type"] == DROP_MESSAGE:
                    self._drop()
                else:
                    await send(message)

            await inner(scope, receive, send_or_drop)

        self.app = app

    def _drop(self) -> None:
        # Marking the cycle disconnected stops uvicorn from writing the 500 it
        # sends for an app that returns without answering.
        if self.cycle is not None:
            self.cycle.disconnected = True
        self.transport.abort()


class DropResponse(Response):
    """Not an answer: close the client's connection without responding."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if DROP_EXTENSION not in (scope.get("extensions") or {}):
            raise RuntimeError(
                "connection drops need the sandbox's protocol: serve the app with "
                "uvicorn.Config(..., **sandbox.app.SERVER_OPTIONS)"
            )
        await send({"type": DROP_MESSAGE})


class CutResponse(Response):
    """The processed answer's status, headers and first half, then a drop."""

    def __init__(self, answer: Response) -> None:
        super().__init__(answer.body, answer.status_code, dict(answer.headers))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if DROP_EXTENSION not in (scope.get("extensions") or {}):
            raise RuntimeError("connection drops need the sandbox's protocol")
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        body = bytes(self.body)
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        # Let the status line and the first half leave before the abort discards
        # whatever is still buffered.
        await asyncio.sleep(0.05)
        await send({"type": DROP_MESSAGE})


# A gzip magic number, then an unknown compression method: no decoder gets
# past the header, and the body is not the JSON it replaced either.
_NOT_GZIP = b"\x1f\x8b\x63not gzip: the sandbox corrupted this answer"


def corrupted(response: Response) -> Response:
    """``response``'s status and headers, a body that claims gzip but is not.

    An answer that may carry no body (204, 304) keeps its empty body: there is
    nothing to corrupt.
    """
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-encoding")
    }
    headers["content-encoding"] = "gzip"
    body = b"" if response.status_code in (204, 304) else _NOT_GZIP
    return Response(body, response.status_code, headers)


class RuleError(ValueError):
    """A fault rule the admin API cannot accept."""


@dataclass
class FaultRule:
    path: str
    times: int
    method: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: int | None = None
    raw_body: str | None = None
    delay_ms: int = 0
    drop: str | None = None
    # Process normally, then send the real answer with a body that claims
    # gzip but is not (a client fails while decoding it).
    corrupt_body: bool = False
    # Process normally, then answer with the rule's status instead.
    process_first: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and self.path in path

    @property
    def answers(self) -> bool:
        """Whether the rule answers instead of the emulator."""
        return self.status is not None or self.raw_body is not None

    @property
    def takes_request(self) -> bool:
        """Whether the emulator never sees the request (answered or dropped before)."""
        return (self.answers and not self.process_first) or self.drop == "before"

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "times": self.times,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retryAfter": self.retry_after,
            "rawBody": self.raw_body,
            "delayMs": self.delay_ms,
            "drop": self.drop,
            "corruptBody": self.corrupt_body,
            "processFirst": self.process_first,
        }

    @classmethod
    def from_json(cls, raw: Any) -> FaultRule:
        if not isinstance(raw, dict):
            raise RuleError("each rule must be an object")
        allowed = {
            "method",
            "path",
            "times",
            "status",
            "code",
            "message",
            "retryAfter",
            "rawBody",
            "delayMs",
            "drop",
            "corruptBody",
            "processFirst",
        }
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise RuleError(f"unknown rule properties: {', '.join(unknown)}")
        rule = cls(
            method=_optional(raw, "method", str),
            path=_optional(raw, "path", str) or "",
            times=_int(raw, "times", default=1, minimum=1),
            status=_optional(raw, "status", int),
            code=_optional(raw, "code", str),
            message=_optional(raw, "message", str),
            retry_after=_optional(raw, "retryAfter", int),
            raw_body=_optional(raw, "rawBody", str),
            delay_ms=_int(raw, "delayMs", default=0, minimum=0),
            drop=_optional(raw, "drop", str),
            corrupt_body=bool(_optional(raw, "corruptBody", bool)),
            process_first=bool(_optional(raw, "processFirst", bool)),
        )
        if rule.method is not None:
            rule.method = rule.method.upper()
        if rule.status is not None and not 100 <= rule.status <= 599:
            raise RuleError("status must be an HTTP status code")
        if rule.drop not in (None, "before", "after", "midBody"):
            raise RuleError('drop must be "before", "after", "midBody" or null')
        if rule.drop is not None and rule.answers:
            raise RuleError("a rule either drops the connection or answers, not both")
        if rule.corrupt_body and (rule.drop is not None or rule.answers):
            raise RuleError(
                "corruptBody sends the real answer: it takes no status, rawBody or drop"
            )
        if rule.process_first and not rule.answers:
            raise RuleError("processFirst answers with the rule's status: give status or rawBody")
        if rule.raw_body is not None and rule.status is None:
            rule.status = 200
        if not (rule.answers or rule.drop or rule.delay_ms or rule.corrupt_body):
            raise RuleError(
                "the rule does nothing: give status, rawBody, drop, delayMs or corruptBody"
            )
        return rule


def _optional(raw: dict[str, Any], name: str, kind: type) -> Any:
    value = raw.get(name)
    if value is None:
        return None
    # bool is an int to Python, not to JSON: true is no status code.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise RuleError(f"{name} must be a {kind.__name__}")
    return value


def _int(raw: dict[str, Any], name: str, *, default: int, minimum: int) -> int:
    value = _optional(raw, name, int)
    if value is None:
        return default
    if value < minimum:
        raise RuleError(f"{name} must be at least {minimum}")
    return int(value)


class FaultRules:
    """Rules in the order added; each takes ``times`` matching requests."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rules: list[FaultRule]) -> None:
        self._rules.extend(rules)

    def clear(self) -> None:
        self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        for rule in self._rules:
            if rule.matches(method, path):
                rule.times -= 1
                if rule.times <= 0:
                    self._rules.remove(rule)
                return rule
        return None

    def to_json(self) -> list[dict[str, Any]]:
        return [rule.to_json() for rule in self._rules]


# --- applying a rule -------------------------------------------------------------


async def fault_answer(rule: FaultRule, delay_ms: int) -> Response:
    """What a rule that takes the request sends instead of the emulator."""
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    if rule.drop == "before":
        return DropResponse()
    return _fault_response(rule)


def deliver(rule: FaultRule | None, response: Response) -> Response:
    """The processed answer as a rule lets it reach the client."""
    if rule is not None and rule.drop == "after":
        return DropResponse()
    if rule is not None and rule.drop == "midBody":
        return CutResponse(response)
    if rule is not None and rule.corrupt_body:
        return corrupted(response)
    if rule is not None and rule.process_first:
        return _fault_response(rule)
    return response


def _fault_response(rule: FaultRule) -> Response:
    status = rule.status if rule.status is not None else 500
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    if rule.raw_body is not None:
        return Response(rule.raw_body, status, headers, media_type="application/json")
    body = error_body(rule.code or "Unknown", rule.message or "A fault rule answered this request.")
    return jsonutil.response(body, status, headers)
