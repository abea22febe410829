"""A bulk job's identity: its id (the same for the same caller, journal and
Idempotency-Key, keyed with the deployment's secret), the digest of the updates it
holds, and its status token (computed from the id with the same secret), with the
digest stored where the token may not be."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from shared.payment.fields import ApiVersion

# Job ids are hex digests or random hex: nothing else reaches the Durable API.
JOB_ID_RE = re.compile(r"^[0-9a-f]{32}\Z")


def job_id_for(
    secret: bytes, caller: str, company_id: str, journal_id: str, key: str | None
) -> str:
    """The same job id for the same caller, journal and key; random without a key.

    Keyed with the deployment's secret: without it nobody can compute a job's id from
    a guessed Idempotency-Key, so nobody can probe for a flow's jobs or squat its key.
    """
    if key is None:
        return secrets.token_hex(16)
    # Unit separators keep ("a|b", "c") and ("a", "b|c") apart; the label keeps ids
    # and tokens, made with the same secret, from ever being the same digest.
    material = "\x1f".join(("bulk-job-id", caller, company_id, journal_id, key))
    return hmac.new(secret, _utf8(material), hashlib.sha256).hexdigest()[:32]


def body_hash(version: ApiVersion, item_texts: list[str]) -> str:
    """A digest of what the job will do, from its validated updates as exact
    JSON texts: the same updates give the same digest, however the body was
    spaced or its numbers spelt (10.5 or "10.5")."""
    digest = hashlib.sha256(version.encode())
    for text in item_texts:
        digest.update(b"\x1e" + text.encode())
    return digest.hexdigest()


def status_token_for(secret: bytes, job_id: str) -> str:
    """The job's status token: 256 bits, URL-safe, computed from its id with the
    deployment's secret. The same id always has the same token, so two starts
    racing with one key hand out one working status URL, and a token is checked
    without reading anything that was stored."""
    mac = hmac.new(secret, _utf8("bulk-job-token\x1f" + job_id), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def token_is_for(secret: bytes, job_id: str, given: str) -> bool:
    """Whether ``given`` is the job's token, compared in constant time."""
    return hmac.compare_digest(_utf8(status_token_for(secret, job_id)), _utf8(given))


def token_hash(token: str) -> str:
    """The token's SHA-256, hex: what is stored where the token may not be."""
    return hashlib.sha256(_utf8(token)).hexdigest()


def token_matches(given: str, expected_hash: str) -> bool:
    """Compare digests in constant time, whatever the length of the token given."""
    return hmac.compare_digest(token_hash(given), expected_hash)


def _utf8(text: str) -> bytes:
    # A query parameter may carry a lone surrogate: it is compared, never refused.
    return text.encode("utf-8", "surrogatepass")
