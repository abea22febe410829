"""Request ids: the caller's when it is acceptable, else a new random UUID."""

from __future__ import annotations

import uuid

from shared.http.messages import new_request_id, request_id_of


def test_a_new_request_id_is_a_random_uuid_as_uuid4_writes_it() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
    # Every hex digit outside the version and variant bits varies.
    for position in (0, 7, 9, 15, 20, 24, 35):
        assert len({text[position] for text in ids}) > 8


def test_the_callers_id_is_kept_only_when_acceptable() -> None:
    assert request_id_of({"x-request-id": "abc-1"}) == "abc-1"
    assert request_id_of({"x-request-id": "", "x-ms-client-request-id": "c.2"}) == "c.2"
    made = request_id_of({"x-request-id": "no spaces allowed"})
    assert uuid.UUID(made).version == 4
