"""The If-Match rule, for a PATCH's header and a bulk item's ifMatch alike: one
entity tag or *, a wrong one explained by its usual mistake, the etag of a line sent
back beside it, and what an update that names no version is sent with."""

from __future__ import annotations

import pytest

from shared.http.preconditions import (
    MAX_IF_MATCH,
    Where,
    etag_precondition,
    if_match_header,
    if_match_problem,
    is_entity_tag_or_star,
    sent_if_match,
    unnamed_version,
)
from shared.process.problems import Problem
from tests.support.fakes import ETAG, NEW_ETAG


@pytest.mark.parametrize("name", ["If-Match", "ifMatch"])
def test_if_match_copied_out_of_json_names_the_mistake(name: Where) -> None:
    assert "keeps the backslashes" in if_match_problem('W/\\"JzE5OzEn\\"', name)
    assert "keeps the backslashes" in if_match_problem('\\"JzE5OzEn\\"', name)
    assert "as a JSON string" in if_match_problem('"W/\\"JzE5OzEn\\""', name)
    assert "weak prefix twice" in if_match_problem('W/"W/"JzE5OzEn""', name)
    general = if_match_problem("JzE5OzEn", name)
    assert "must be one entity tag" in general
    assert all(word not in general for word in ("backslashes", "JSON string", "twice"))
    for value in ('W/\\"x\\"', '"W/\\"x\\""', "JzE5OzEn"):
        assert if_match_problem(value, name).startswith(name)


@pytest.mark.parametrize(
    ("value", "taken"),
    [
        ("*", True),
        ('W/"JzE5OzEn"', True),
        ('"strong"', True),
        ('W/""', True),
        ('W/"a"b"', False),
        ('"a" , "b"', False),  # one entity tag, not a list
        ('W/"x"\n', False),
        ("JzE5OzEn", False),
        ('W/"' + "x" * MAX_IF_MATCH + '"', False),
    ],
)
def test_one_entity_tag_or_star(value: str, taken: bool) -> None:
    assert is_entity_tag_or_star(value) is taken


@pytest.mark.parametrize("name", ["If-Match", "ifMatch"])
def test_a_sent_version_is_taken_without_its_surrounding_blanks(name: Where) -> None:
    assert sent_if_match('  W/"JzE5OzEn" ', name) == 'W/"JzE5OzEn"'
    for wrong in ("", "  ", 'W/"W/"x""', 12, None):
        with pytest.raises(Problem) as raised:
            sent_if_match(wrong, name)
        assert raised.value.slug == "invalid-if-match"
        assert raised.value.detail.startswith(name)
    # The mistake is named whatever blanks surround it.
    with pytest.raises(Problem) as padded:
        sent_if_match(' W/"W/"x"" ', name)
    assert "weak prefix twice" in padded.value.detail


def test_a_blank_header_is_no_header() -> None:
    assert if_match_header({}) is None
    assert if_match_header({"if-match": "  "}) is None
    assert if_match_header({"if-match": " * "}) == "*"
    with pytest.raises(Problem):
        if_match_header({"if-match": "JzE5OzEn"})


def test_an_update_that_names_no_version_takes_the_deployments_default() -> None:
    assert unnamed_version("*") == "*"
    with pytest.raises(Problem) as raised:
        unnamed_version(None)
    assert raised.value.slug == "precondition-required"
    assert raised.value.status == 428


def test_the_etag_of_a_line_sent_back_names_the_version() -> None:
    assert etag_precondition(ETAG, None, "If-Match") == (ETAG, [])
    assert etag_precondition(f" {ETAG} ", ETAG, "If-Match") == (ETAG, [])
    # The same version, compared as entity-tags: weak and strong alike.
    assert etag_precondition(ETAG, ETAG.removeprefix("W/"), "ifMatch")[1] == []


@pytest.mark.parametrize(
    ("etag", "if_match", "says"),
    [
        ("not a tag", None, "must be the line's ETag"),
        ("*", None, "must be the line's ETag"),
        (12, ETAG, "must be the line's ETag"),
        (ETAG, "*", "but ifMatch is * (any version)"),
        (ETAG, NEW_ETAG, "names another version than ifMatch"),
    ],
)
def test_an_etag_that_names_no_version_or_another_one_is_refused(
    etag: object, if_match: str | None, says: str
) -> None:
    kept, errors = etag_precondition(etag, if_match, "ifMatch")
    assert kept == if_match
    assert [(e.field, e.code) for e in errors] == [("etag", "read_only")]
    assert says in errors[0].message
