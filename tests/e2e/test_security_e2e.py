"""Hostile callers over real sockets: path tricks, malformed HTTP, abusive
bodies, forged principals, and secrets that must never show up in an answer
or a log line. Every refused request must leave the sandbox untouched: no
Business Central request and no token request."""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.upstream import runtime as runtime_module
from tests.support.proxy import Configure, Proxy, bc_requests, stored_line

pytestmark = pytest.mark.e2e

JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
FOREIGN_ID = "00000000-0000-0000-0000-0000000000ff"


# --- raw HTTP -------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def slug(self) -> str:
        return str(self.json()["type"]).rsplit("#", 1)[1]


def raw_http(proxy: Proxy, request: bytes, *, half_close: bool = False) -> RawResponse | None:
    """Send bytes as they are; the first response, or None if the server just closed."""
    with socket.create_connection((proxy.server.host, proxy.server.port), timeout=10) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data:
        return None
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return RawResponse(int(status_line.split()[1]), headers, rest[:length])


def request_bytes(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "PATCH":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def payment_path(proxy: Proxy, company: str | None = None, version: str = "v2.0") -> str:
    ids = proxy.line()
    return (
        f"/api/{version}/companies/{company or ids['company']}/customerPaymentJournals/"
        f"{ids['journal']}/customerPayments/{ids['payment']}"
    )


PATCH_HEADERS = {"Content-Type": "application/json", "If-Match": "*"}


@pytest.fixture
def untouched(proxy: Proxy) -> Iterator[Proxy]:
    """The proxy, checked afterwards: no upstream call, no token, line unchanged."""
    before = stored_line(proxy.sandbox)
    tokens = proxy.sandbox.token_requests()
    yield proxy
    assert bc_requests(proxy.sandbox) == []
    assert proxy.sandbox.token_requests() == tokens
    assert stored_line(proxy.sandbox) == before


# --- paths --------------------------------------------------------------------------


def _path_variants(company: str) -> dict[str, str]:
    fullwidth = company.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    cyrillic = company.translate({ord("a"): "\u0430", ord("c"): "\u0441", ord("e"): "\u0435"})
    # The seeded id must have characters to disguise, or the variants prove nothing.
    assert fullwidth != company
    assert cyrillic != company
    return {
        "encoded slash": f"{company}%2F..%2F{company}",
        "double encoded": f"{company}%252F",
        "trailing newline": f"{company}%0A",
        "nul": f"{company}%00",
        "fullwidth digits": httpx.URL("/" + fullwidth).raw_path.decode()[1:],
        "cyrillic hex letters": httpx.URL("/" + cyrillic).raw_path.decode()[1:],
        "braces": f"%7B{company}%7D",
        "odata key": f"{company})%2FcustomerPayments(x",
        "quoted": f"%27{company}%27",
        "no hyphens": company.replace("-", ""),
        "very long": company * 200,
        "space padded": f"%20{company}%20",
    }


@pytest.mark.parametrize(
    "variant",
    [
        "encoded slash",
        "double encoded",
        "trailing newline",
        "nul",
        "fullwidth digits",
        "cyrillic hex letters",
        "braces",
        "odata key",
        "quoted",
        "no hyphens",
        "very long",
        "space padded",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_path_tricks_never_reach_business_central(
    untouched: Proxy, variant: str, method: str
) -> None:
    company = _path_variants(untouched.line()["company"])[variant]
    body = b'{"comment": "x"}' if method == "PATCH" else b""
    response = raw_http(
        untouched,
        request_bytes(method, payment_path(untouched, company), PATCH_HEADERS, body),
    )
    assert response is not None
    # 400 from the proxy; 404 where the path no longer matches the route at all.
    # Either way the app itself answers, with a problem.
    assert response.status in (400, 404), response
    assert response.headers.get("content-type", "").startswith("application/problem+json")
    assert response.slug in ("invalid-path-parameter", "not-found")


def test_dot_segments_are_not_resolved_into_another_route(untouched: Proxy) -> None:
    ids = untouched.line()
    path = (
        f"/api/v2.0/companies/{ids['company']}/x/../customerPaymentJournals/{ids['journal']}"
        f"/customerPayments/{ids['payment']}"
    )
    response = raw_http(untouched, request_bytes("GET", path))
    assert response is not None
    assert (response.status, response.slug) == (404, "not-found")


# --- headers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header_block", "slug"),
    [
        ('If-Match: "' + "a" * 2000 + '"', "invalid-if-match"),
        ('If-Match: "a", "b"', "invalid-if-match"),
        ('If-Match: W/"caf\xe9"', "invalid-if-match"),
        ('If-Match: "a"\r\n "b"', "invalid-if-match"),  # obsolete line folding
        ("Content-Type: application/json; charset=latin-1", "unsupported-media-type"),
        ("Content-Type: text/json", "unsupported-media-type"),
    ],
)
def test_hostile_headers_are_problems(untouched: Proxy, header_block: str, slug: str) -> None:
    headers = dict(PATCH_HEADERS)
    for line in header_block.split("\r\n"):
        if line.startswith(" "):
            continue
        name, _, _ = line.partition(":")
        headers.pop(name, None)
    head = request_bytes("PATCH", payment_path(untouched), headers, b'{"comment": "x"}')
    # Splice the header block in verbatim (it may hold a fold or non-ASCII bytes).
    start, end = head.split(b"\r\n", 1)
    raw = start + b"\r\n" + header_block.encode("latin-1") + b"\r\n" + end
    response = raw_http(untouched, raw)
    assert response is not None
    assert response.status == 400 if slug != "unsupported-media-type" else 415
    assert response.slug == slug


@pytest.mark.parametrize(
    "header_line",
    [b'If-Match: "a\rX-Injected: 1"', b'If-Match: "a\nX-Injected: 1"', b"X-Request-Id: a\x00b"],
)
def test_control_characters_in_headers_never_reach_the_proxy(
    untouched: Proxy, header_line: bytes
) -> None:
    head = request_bytes(
        "PATCH", payment_path(untouched), {"Content-Type": "application/json"}, b'{"comment":"x"}'
    )
    start, end = head.split(b"\r\n", 1)
    response = raw_http(untouched, start + b"\r\n" + header_line + b"\r\n" + end)
    # The HTTP server refuses the request itself (Azure's front end does the same).
    assert response is not None
    assert response.status == 400


def test_untrusted_header_values_are_not_forwarded(proxy: Proxy) -> None:
    long_id = "a" * 10000
    response = proxy.patch(
        {"comment": "x"},
        headers={
            "x-request-id": long_id,
            "Accept-Language": "da-DK<script>alert(1)</script>",
            "traceparent": "00-" + "0" * 500,
            "X-Forwarded-Host": "evil.example",
            "Host": "evil.example",
            "X-Junk": "j" * 20000,
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] != long_id
    sent = bc_requests(proxy.sandbox, "PATCH")[0]
    assert "accept-language" not in sent["headers"]
    assert "traceparent" not in sent["headers"]
    assert "x-junk" not in sent["headers"]
    assert "x-forwarded-host" not in sent["headers"]
    assert sent["headers"]["host"].startswith("127.0.0.1")
    assert sent["headers"]["x-ms-client-request-id"] == response.headers["x-request-id"]


# --- bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (b"[" * 40000 + b"]" * 40000, 413, "payload-too-large"),
        (b'{"a":' * 6000 + b"1" + b"}" * 6000, 400, "malformed-json"),
        (b"[" * 20000 + b"]" * 20000, 400, "malformed-json"),
        (b'{"amount": 1e999999}', 422, "validation-failed"),
        (b'{"amount": 1e999999999999999999999}', 400, "malformed-json"),
        (b'{"amount": -1E-999999999999999999999}', 400, "malformed-json"),
        (b'{"amount": "1e999999999999999999999"}', 422, "validation-failed"),
        (b'{"amount": ' + b"9" * 10000 + b"}", 422, "validation-failed"),
        (b'{"lineNumber": ' + b"9" * 10000 + b"}", 422, "validation-failed"),
        (b'{"amount": 0.' + b"0" * 10000 + b"1}", 422, "validation-failed"),
        (b'{"description": "' + b"x" * 60000 + b'"}', 422, "validation-failed"),
        (
            b"{" + b",".join(b'"p%d": 1' % i for i in range(5000)) + b"}",
            422,
            "validation-failed",
        ),
        (b'{"comment": "\xff\xfe"}', 400, "malformed-json"),
        (b'\xef\xbb\xbf{"comment": "x"}', 400, "malformed-json"),
        ('{"comment": "x"}'.encode("utf-16"), 400, "malformed-json"),
        (b'{"comment": "\\ud800"}', 400, "malformed-json"),
        (b'{"comment": "x", "comment": "y"}', 400, "malformed-json"),
        (b'{"amount": NaN}', 400, "malformed-json"),
        (b'{"comment": "x"} {"comment": "y"}', 400, "malformed-json"),
        (b"", 400, "malformed-json"),
    ],
    ids=lambda value: value[:24] if isinstance(value, bytes) else str(value),
)
def test_abusive_bodies_are_problems(untouched: Proxy, body: bytes, status: int, slug: str) -> None:
    response = untouched.patch(body)
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("#" + slug)
    assert len(response.content) < 1_500_000  # the answer stays bounded


def test_huge_validation_report_is_capped_and_says_how_many_more(untouched: Proxy) -> None:
    body = b"{" + b",".join(b'"p%d": 1' % i for i in range(3000)) + b"}"
    response = untouched.patch(body)
    errors = response.json()["errors"]
    assert len(errors) == 101
    assert [e["field"] for e in errors[:100]] == [f"p{i}" for i in range(100)]
    assert {e["code"] for e in errors[:100]} == {"unknown_field"}
    assert errors[100]["code"] == "too_many_errors"
    assert "2900 more" in errors[100]["message"]
    assert len(response.content) < 20_000


def test_content_length_shorter_than_the_body(untouched: Proxy) -> None:
    body = b'{"comment": "x"}'
    head = request_bytes("PATCH", payment_path(untouched), PATCH_HEADERS, body)
    lying = head.replace(b"Content-Length: 16", b"Content-Length: 5")
    response = raw_http(untouched, lying)
    assert response is not None
    assert (response.status, response.slug) == (400, "malformed-json")


def test_content_length_longer_than_the_body(untouched: Proxy) -> None:
    body = b'{"comment": "x", "description": "the rest never arrives'
    head = request_bytes("PATCH", payment_path(untouched), PATCH_HEADERS, body)
    lying = head.replace(f"Content-Length: {len(body)}".encode(), b"Content-Length: 1000")
    # The client stops sending: whatever part of the body arrived, nothing is forwarded.
    response = raw_http(untouched, lying, half_close=True)
    assert response is None or (response.status, response.slug) == (400, "malformed-json")


def test_declared_length_over_the_limit_is_refused(untouched: Proxy) -> None:
    head = request_bytes("PATCH", payment_path(untouched), PATCH_HEADERS, b'{"comment": "x"}')
    lying = head.replace(b"Content-Length: 16", b"Content-Length: 99999999999")
    response = raw_http(untouched, lying, half_close=True)
    assert response is None or response.status < 500, response


def test_body_on_get_is_ignored(proxy: Proxy) -> None:
    response = raw_http(
        proxy,
        request_bytes("GET", payment_path(proxy), {"Content-Type": "application/json"}, b"{}"),
    )
    assert response is not None
    assert response.status == 200
    (sent,) = bc_requests(proxy.sandbox)
    assert (sent["method"], sent["body"]) == ("GET", None)


# --- callers and allow-lists --------------------------------------------------------------


def principal(
    claims: list[dict[str, Any]], auth_typ: str = "aad", role_typ: str | None = None
) -> str:
    data: dict[str, Any] = {"auth_typ": auth_typ, "name_typ": "name", "claims": claims}
    if role_typ is not None:
        data["role_typ"] = role_typ
    return base64.b64encode(json.dumps(data).encode()).decode()


ROLE_URI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OID_URI = "http://schemas.microsoft.com/identity/claims/objectidentifier"
APP_ID = "5b0c9e2a-7d3f-4a1b-8c6e-9f0a1b2c3d4e"


@pytest.mark.parametrize(
    ("header", "slug"),
    [
        (None, "unauthenticated"),
        ("", "unauthenticated"),
        ("not base64 at all!", "unauthenticated"),
        (base64.b64encode(b"not json").decode(), "unauthenticated"),
        (base64.b64encode(b"[" * 5000 + b"]" * 5000).decode(), "unauthenticated"),
        (base64.b64encode(b'{"claims": 5}').decode(), "unauthenticated"),
        ("A" * 40000, "unauthenticated"),
        (principal([{"typ": "appid", "val": APP_ID}], auth_typ="github"), "unauthenticated"),
        (principal([{"typ": "appid", "val": APP_ID}])[:-4], "unauthenticated"),
        (principal([{"typ": "appid", "val": FOREIGN_ID}]), "forbidden"),
        (principal([{"typ": "name", "val": APP_ID}]), "forbidden"),
        (principal([{"typ": "appid", "val": [APP_ID]}]), "forbidden"),
        (principal([{"typ": "appid", "val": APP_ID}]), "forbidden"),  # lacks the role
        (
            principal([{"typ": "azp", "val": APP_ID}, {"typ": "roles", "val": "payments.write"}]),
            "forbidden",
        ),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_callers_without_the_right_principal_reach_nothing(
    configure: Configure, untouched: Proxy, header: str | None, slug: str, method: str
) -> None:
    configure(CALLER_AUTH="entra", ALLOWED_CALLERS=APP_ID, REQUIRED_CALLER_ROLE="Payments.Write")
    headers = {} if header is None else {"X-MS-CLIENT-PRINCIPAL": header}
    response = (
        untouched.get(headers=headers)
        if method == "GET"
        else untouched.patch({"comment": "x"}, headers=headers)
    )
    assert response.status_code == (401 if slug == "unauthenticated" else 403)
    assert response.json()["type"].endswith("#" + slug)


@pytest.mark.parametrize(
    "claims",
    [
        [{"typ": "appid", "val": APP_ID}, {"typ": "roles", "val": "Payments.Write"}],
        [{"typ": "azp", "val": APP_ID.upper()}, {"typ": ROLE_URI, "val": "Payments.Write"}],
        [{"typ": OID_URI, "val": APP_ID}, {"typ": "roles", "val": "Payments.Write"}],
    ],
)
def test_callers_with_the_right_principal_get_through(
    configure: Configure, proxy: Proxy, claims: list[dict[str, str]]
) -> None:
    configure(CALLER_AUTH="entra", ALLOWED_CALLERS=APP_ID, REQUIRED_CALLER_ROLE="Payments.Write")
    header = principal(claims, role_typ=ROLE_URI)
    response = proxy.patch({"comment": "ok"}, headers={"X-MS-CLIENT-PRINCIPAL": header})
    assert response.status_code == 200, response.text
    assert stored_line(proxy.sandbox)["comment"] == "ok"


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_entra_mode_without_caller_list_or_role_is_closed(
    configure: Configure, untouched: Proxy, method: str
) -> None:
    configure(CALLER_AUTH="entra")
    header = principal(
        [{"typ": "appid", "val": APP_ID}, {"typ": "roles", "val": "Payments.Write"}],
        role_typ=ROLE_URI,
    )
    headers = {"X-MS-CLIENT-PRINCIPAL": header}
    response = (
        untouched.get(headers=headers)
        if method == "GET"
        else untouched.patch({"comment": "x"}, headers=headers)
    )
    assert response.status_code == 500
    problem = response.json()
    assert problem["type"].endswith("#proxy-misconfigured")
    assert "ALLOWED_CALLERS" in problem["detail"]
    assert "REQUIRED_CALLER_ROLE" in problem["detail"]


def test_role_alone_is_enough_when_no_caller_list(configure: Configure, proxy: Proxy) -> None:
    configure(REQUIRED_CALLER_ROLE="Payments.Write")
    header = principal([{"typ": "roles", "val": "Payments.Write"}])
    assert proxy.get(headers={"X-MS-CLIENT-PRINCIPAL": header}).status_code == 200


def test_journal_allow_list(configure: Configure, untouched: Proxy) -> None:
    configure(ALLOWED_JOURNAL_IDS=FOREIGN_ID)
    for response in (untouched.get(), untouched.patch({"comment": "x"})):
        assert response.status_code == 403
        assert response.json()["type"].endswith("#forbidden")


def test_allow_list_is_checked_before_the_body(configure: Configure, untouched: Proxy) -> None:
    configure(ALLOWED_COMPANY_IDS=FOREIGN_ID)
    # A broken body would be a 400; the caller learns only that it may not touch this company.
    response = untouched.patch(b"{not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 403


def test_allow_lists_compare_ids_case_insensitively(configure: Configure, proxy: Proxy) -> None:
    ids = proxy.line()
    configure(
        ALLOWED_COMPANY_IDS=f"{FOREIGN_ID}, {ids['company'].upper()}",
        ALLOWED_JOURNAL_IDS=ids["journal"].upper(),
    )
    upper = proxy.payment_url().replace(ids["company"], ids["company"].upper())
    assert proxy.get(upper).status_code == 200
    assert proxy.patch({"comment": "x"}).status_code == 200


def test_misconfigured_allow_list_refuses_everything(
    configure: Configure, untouched: Proxy
) -> None:
    configure(ALLOWED_COMPANY_IDS="not-a-guid, also bad")
    response = untouched.get()
    assert response.status_code == 500
    body = response.json()
    assert body["type"].endswith("#proxy-misconfigured")
    assert "ALLOWED_COMPANY_IDS" in body["detail"]
    assert "not-a-guid" not in response.text


# --- secrets --------------------------------------------------------------------------------


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    quieted = ("azure.core.pipeline.policies.http_logging_policy", "shared.upstream.client")
    for name in (None, "azure", "azure.identity", "azure.core", "httpx", "httpcore", "shared"):
        caplog.set_level(logging.DEBUG, logger=name)
    for name in quieted:  # production keeps these at WARNING; here, everything is logged
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def proxy_token(proxy: Proxy) -> str:
    """The token the proxy holds right now (read inside its event loop)."""

    async def read() -> str:
        return await runtime_module.get_runtime().tokens.get_token()

    token: str = proxy.run_in_host(read())
    return token


def assert_no_secrets(texts: list[str], *secrets_: str) -> None:
    for text in texts:
        for secret in secrets_:
            assert secret not in text
        assert not JWT_RE.search(text), text[:500]


def test_no_secret_in_answers_or_logs_when_upstream_echoes_them(
    proxy: Proxy, debug_logs: pytest.LogCaptureFixture
) -> None:
    key = secrets.token_urlsafe(30)
    assert proxy.get(headers={"x-functions-key": key}).status_code == 200
    token = proxy_token(proxy)
    assert JWT_RE.fullmatch(token)
    # Business Central never sees the identity secret (only the identity endpoint
    # does, see below), but it does see our Authorization header.
    echo = f"Authorization: Bearer {token}; raw {token}"
    error = json.dumps({"error": {"code": f"E{token}", "message": echo}})
    proxy.sandbox.add_faults(
        {
            "path": "customerPayments",
            "method": "PATCH",
            "status": 400,
            "code": "BadRequest",
            "message": echo,
        },
        {"path": "customerPayments", "method": "GET", "status": 500, "rawBody": error},
        # 401 twice: the proxy retries once with a fresh token.
        {
            "path": "customerPayments",
            "method": "PATCH",
            "status": 401,
            "times": 2,
            "code": "Authentication_InvalidCredentials",
            "message": echo,
        },
        {"path": "customerPayments", "method": "GET", "status": 500, "rawBody": f"<p>{echo}</p>"},
    )
    url = proxy.payment_url() + f"?code={key}"
    answers = [
        proxy.patch({"comment": "x"}, url=url, headers={"x-functions-key": key}),
        proxy.get(url, headers={"x-functions-key": key}),
        proxy.patch({"comment": "x"}, url=url),
        proxy.get(url),
    ]
    assert [a.status_code for a in answers] == [422, 502, 502, 502]
    assert "<redacted>" in answers[0].json()["upstream"]["message"]
    texts = [a.text + str(a.headers) for a in answers]
    texts += [r.getMessage() for r in debug_logs.records] + [debug_logs.text]
    assert_no_secrets(texts, token, key, proxy.sandbox.identity_header)
    assert any(r.name.startswith("httpcore") for r in debug_logs.records)  # DEBUG was on


def test_no_secret_in_logs_when_the_identity_endpoint_echoes_them(
    configure: Configure, proxy: Proxy, debug_logs: pytest.LogCaptureFixture
) -> None:
    # A fresh runtime (the next request must ask the identity endpoint), and a
    # short budget: identity failures are retried until it ends.
    configure(SYNC_BUDGET_S="1", READ_BACK_RESERVE_S="0.3", MIN_ATTEMPT_S="0.3")
    jwt = proxy.sandbox.token()
    secret = proxy.sandbox.identity_header
    proxy.sandbox.add_faults(
        {
            "path": "/msi/token",
            "status": 500,
            "times": 20,
            "rawBody": json.dumps(
                {"message": f"bad header {secret}", "access_token": jwt, "detail": f"Bearer {jwt}"}
            ),
        },
    )
    response = proxy.get()
    assert response.status_code == 502
    assert response.json()["type"].endswith("#identity-unavailable")
    assert bc_requests(proxy.sandbox) == []
    texts = [response.text] + [r.getMessage() for r in debug_logs.records] + [debug_logs.text]
    assert_no_secrets(texts, jwt, secret)
    assert any(r.name.startswith("azure") for r in debug_logs.records)
