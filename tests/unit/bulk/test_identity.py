"""A bulk job's identity: its id, scoped and keyed with the deployment's secret;
its status token, from the id and the secret; the digest of its updates."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.bulk.identity import (
    JOB_ID_RE,
    body_hash,
    job_id_for,
    status_token_for,
    token_hash,
    token_is_for,
    token_matches,
)
from shared.bulk.request import parse_bulk_request
from tests.support.bulk import IDS, JSON, body, update
from tests.support.fakes import COMPANY, JOURNAL, settings_with

SECRET = b"a-deployment-secret-of-at-least-32-chars"


def test_job_ids_are_scoped_to_caller_company_journal_and_key() -> None:
    first = job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "k1")
    assert JOB_ID_RE.match(first)
    assert job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "k1") == first
    others = {
        job_id_for(SECRET, "entra:someone-else", COMPANY, JOURNAL, "k1"),
        job_id_for(SECRET, "function-key", JOURNAL, JOURNAL, "k1"),
        job_id_for(SECRET, "function-key", COMPANY, COMPANY, "k1"),
        job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "k2"),
    }
    assert first not in others
    assert len(others) == 4
    # Without a key every start is its own job.
    assert job_id_for(SECRET, "function-key", COMPANY, JOURNAL, None) != job_id_for(
        SECRET, "function-key", COMPANY, JOURNAL, None
    )


def test_a_job_id_cannot_be_computed_without_the_secret() -> None:
    job_id = job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "statement-2026-11-30")
    # Neither the plain digest of its inputs (however they are joined) ...
    for label in ("bulk", "bulk-job-id"):
        for separator in ("\x1f", "|", ""):
            inputs = (label, "function-key", COMPANY, JOURNAL, "statement-2026-11-30")
            material = separator.join(inputs)
            assert hashlib.sha256(material.encode()).hexdigest()[:32] != job_id
    # ... nor the same inputs under another deployment's secret.
    other = job_id_for(b"x" * 32, "function-key", COMPANY, JOURNAL, "statement-2026-11-30")
    assert JOB_ID_RE.match(other)
    assert other != job_id


def test_status_tokens_come_from_the_id_and_the_secret() -> None:
    job_id = job_id_for(SECRET, "function-key", COMPANY, JOURNAL, "k1")
    token = status_token_for(SECRET, job_id)
    assert status_token_for(SECRET, job_id) == token  # a racing start hands out the same
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 256 bits, URL-safe, unpadded
    assert token not in (job_id, status_token_for(b"x" * 32, job_id))
    assert status_token_for(SECRET, "0" * 32) != token
    assert token_is_for(SECRET, job_id, token)
    assert not token_is_for(SECRET, job_id, token[:-1])
    assert not token_is_for(SECRET, "0" * 32, token)
    assert not token_is_for(b"x" * 32, job_id, token)
    assert not token_is_for(SECRET, job_id, token + "\udc80")  # a lone surrogate is just wrong


def test_body_hash_tells_different_updates_apart() -> None:
    def items(*updates: dict[str, Any]) -> list[str]:
        parsed = parse_bulk_request(settings_with(), "v2.0", JSON, body(list(updates)))
        return [item.as_text() for item in parsed]

    same = body_hash("v2.0", items(update(0), update(1)))
    assert body_hash("v2.0", items(update(0), update(1))) == same
    assert body_hash("v2.0", items(update(0, id=IDS[0].upper()), update(1))) == same
    assert body_hash("v2.0", items(update(1), update(0))) != same
    assert body_hash("v1.0", items(update(0), update(1))) != same
    assert body_hash("v2.0", items(update(0, ifMatch="*"), update(1))) != same
    assert body_hash("v2.0", items(update(0, clientRef="a"), update(1))) != same
    assert body_hash("v2.0", items(update(0, changes={"amount": "10.6"}), update(1))) != same
    spelt = update(0, changes={"amount": "10.5"})
    assert body_hash("v2.0", items(spelt, update(1))) == same


@given(st.text(max_size=80), st.text(max_size=80))
def test_token_comparison_is_exact(given_token: str, expected: str) -> None:
    assert token_matches(given_token, token_hash(expected)) == (given_token == expected)
    assert token_hash(expected) != expected
