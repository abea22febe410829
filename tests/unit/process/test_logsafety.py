"""Log safety's quick way: a line without any of the patterns' marks skips the
expressions, and answers exactly as running them would."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.process import logsafety
from tests.support.fakes import REPO


def _scrub_without_marks(text: str) -> str:
    """Both expressions run on every text, as before the marks let most lines skip them."""
    text = logsafety._SECRET_RE.sub("<redacted>", text)
    for name in logsafety.SECRET_VARIABLES:
        secret = os.environ.get(name, "")
        if len(secret) >= logsafety._MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, "<redacted>")
    return logsafety._KEY_RE.sub(lambda match: match.group(1) + logsafety.REDACTED, text)


# Near misses of every pattern, and the letters case-insensitive matching reads in other
# scripts: a dotted and a dotless i, a long s, a Kelvin sign.
_LOG_TEXT = st.lists(
    st.sampled_from(
        [
            "Bearer ",
            "bEaReR\t",
            "eyJ",
            "EYj",
            "abcDE_-",
            ".",
            "?",
            "&",
            "code=",
            "CoDe=",
            "token=",
            "TOKEN=",
            "sig=",
            "key=",
            # Whole matches too, each shape a URL or a header carries a secret in.
            "?code=s3cr3t",
            "&token=s3cr3t",
            "?ToKeN=s3cr3t",
            "&sig=s3cr3t",
            "?key=s3cr3t",
            "x-functions-key: s3cr3t",
            "x-functions-key",
            "X-FUNCTIONS-KEY",
            "x-funct\u0131ons-key",
            "x-function\u017f-key",
            "x-functions-\u212aey",
            "'",
            '"',
            ":",
            " ",
            "=",
            "\u0130",
            "\u0131",
            "\u017f",
            "\u212a",
            "é",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_LOG_TEXT)
def test_scrub_answers_as_both_expressions_run_on_every_text(text: str) -> None:
    assert logsafety.scrub(text) == _scrub_without_marks(text)


JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2FwaS5idXNpbmVzc2NlbnRyYWwifQ"
    ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {JWT}", JWT),
        (f"token={JWT}&x=1", JWT),
        ("Authorization: bearer opaque-token-value_123", "opaque-token-value_123"),
        ("GET /api/x?code=abcDEF123-_==&other=1", "abcDEF123-_=="),
        ("GET /api/bulkPaymentUpdates/0a1b?token=Zx9_-Qw8e7R6&code=k", "Zx9_-Qw8e7R6"),
        ("http://h/api/bulkPaymentUpdates/0a1b?x=1&TOKEN=Zx9_-Qw8e7R6 HTTP/1.1", "Zx9_-Qw8e7R6"),
        ("headers {'x-functions-key': 'k3y-V4lue'}", "k3y-V4lue"),
        ("x-functions-key: k3y-V4lue", "k3y-V4lue"),
    ],
)
def test_scrub_removes_secrets(text: str, secret: str) -> None:
    assert secret not in logsafety.scrub(text)
    assert "<redacted>" in logsafety.scrub(text)


def test_scrub_removes_the_identity_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "s3cr3t-identity-header-value")
    assert logsafety.scrub("bad header s3cr3t-identity-header-value!") == "bad header <redacted>!"
    monkeypatch.setenv("IDENTITY_HEADER", "abc")  # too short to be worth replacing
    assert logsafety.scrub("abc") == "abc"


def test_every_logger_is_scrubbed_once_installed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "s3cr3t-identity-header-value")
    logsafety.install()
    logsafety.install()  # idempotent: one wrapper only
    caplog.set_level(logging.DEBUG)
    names = ("httpcore.http11", "azure.identity.aio", "some.library", "shared.lines.single")
    for name in names:
        # The app quiets some of these to WARNING; a debugging operator may lower them again.
        caplog.set_level(logging.DEBUG, logger=name)
    for name in names:
        logging.getLogger(name).debug(
            "sent %s with %s", f"Bearer {JWT}", "s3cr3t-identity-header-value"
        )
    try:
        raise RuntimeError(f"identity endpoint said: {JWT}")
    except RuntimeError:
        logging.getLogger("azure.identity").warning("failed", exc_info=True)
    assert len(caplog.records) == 5
    for record in caplog.records:
        assert JWT not in record.getMessage()
        assert "s3cr3t-identity-header-value" not in record.getMessage()
    assert JWT not in caplog.text
    assert "identity endpoint said: <redacted>" in caplog.text


def test_unformattable_records_are_left_to_logging(caplog: pytest.LogCaptureFixture) -> None:
    logsafety.install()
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "%d", ("nan",), None)
    assert record.msg == "%d"  # untouched; logging reports the bad format when it emits


def test_azure_telemetry_keeps_query_strings_out() -> None:
    """What the deployment controls of Azure's records of a request URL (see
    docs/security.md): the host strips the query string (status token, key)
    from its request telemetry unless told otherwise, and no platform log that
    keeps it is sent anywhere."""
    root = str(REPO)
    with open(os.path.join(root, "host.json"), encoding="utf-8") as file:
        host = json.load(file)

    def lowered(node: Any) -> Any:
        # host.json keys are read case-insensitively by the host.
        if isinstance(node, dict):
            return {str(k).lower(): lowered(v) for k, v in node.items()}
        return node

    settings = lowered(host)
    insights = settings["logging"]["applicationinsights"]
    assert insights.get("enablequerystringtracing", False) is False
    assert "telemetrymode" not in settings
    for folder, _, files in os.walk(os.path.join(root, "infra")):
        for name in files:
            if name.endswith(".bicep"):
                with open(os.path.join(folder, name), encoding="utf-8") as file:
                    assert "AppServiceHTTPLogs" not in file.read(), name
