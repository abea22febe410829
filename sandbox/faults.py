"""Fault rules and real connection drops.

A dropped connection must look to a client like a network failure, not like
an HTTP answer. An ASGI app cannot close its socket, and uvicorn answers 500
when an app raises, so the sandbox is served with :class:`DroppingH11Protocol`
(``SERVER_OPTIONS``): the app sends a private ASGI message and the protocol
aborts the TCP connection without writing a byte.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from uvicorn.protocols.http.h11_impl import H11Protocol

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

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and self.path in path

    @property
    def answers(self) -> bool:
        """Whether the rule answers instead of the emulator."""
        return self.status is not None or self.raw_body is not None

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
        )
        if rule.method is not None:
            rule.method = rule.method.upper()
        if rule.status is not None and not 100 <= rule.status <= 599:
            raise RuleError("status must be an HTTP status code")
        if rule.drop not in (None, "before", "after"):
            raise RuleError('drop must be "before", "after" or null')
        if rule.drop is not None and rule.answers:
            raise RuleError("a rule either drops the connection or answers, not both")
        if rule.raw_body is not None and rule.status is None:
            rule.status = 200
        if not rule.answers and rule.drop is None and rule.delay_ms == 0:
            raise RuleError("the rule does nothing: give status, rawBody, drop or delayMs")
        return rule


def _optional(raw: dict[str, Any], name: str, kind: type) -> Any:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
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
