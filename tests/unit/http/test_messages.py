"""Request ids: the caller's when it is acceptable, else a new random UUID."""

from __future__ import annotations

import uuid

import pytest

from shared.http.messages import new_request_id, problem_media_type, request_id_of


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


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("", "application/problem+json"),
        ("application/json", "application/json"),
        ("application/json;q=0", "application/problem+json"),
        ("application/json; q=0.0, */*", "application/problem+json"),
        ("application/json, application/problem+json", "application/problem+json"),
        ("application/problem+json;q=0.5, application/json", "application/json"),
        ("application/json;q=0.4, application/problem+json;q=0.9", "application/problem+json"),
        ("application/*", "application/problem+json"),
        ("text/html, application/json;q=0.9", "application/json"),
        ("application/jsonp", "application/problem+json"),  # not a substring match
        ("Application/JSON", "application/json"),
        ("application/json;q=bogus", "application/problem+json"),
    ],
)
def test_problem_media_type_follows_accept_with_q_values(accept: str, media: str) -> None:
    assert problem_media_type(accept) == media
