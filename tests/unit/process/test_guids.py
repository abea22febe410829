"""The one GUID pattern: what passes as a GUID in a path, a setting or a body, and
the same pattern as the schemas write it."""

from __future__ import annotations

import re

import pytest

from shared.process.guids import GUID, GUID_PATTERN, GUID_RE

GOOD = "3f2b5c1e-0a4d-4b8e-9c6f-2d1e7a9b0c3d"


@pytest.mark.parametrize("value", [GOOD, GOOD.upper(), "00000000-0000-0000-0000-000000000000"])
def test_a_guid_in_either_case_passes(value: str) -> None:
    assert GUID_RE.match(value)


@pytest.mark.parametrize(
    "value",
    [
        GOOD + "\n",  # "$" would let this through into an upstream URL
        "{" + GOOD + "}",
        f'"{GOOD}"',
        GOOD.replace("-", ""),
        GOOD[:-1],
        GOOD + "0",
        GOOD.replace("f", "g"),
        "",
    ],
)
def test_anything_else_does_not(value: str) -> None:
    assert not GUID_RE.match(value)


def test_the_schemas_pattern_is_the_same_guid() -> None:
    assert f"^{GUID}$" == GUID_PATTERN
    assert re.fullmatch(GUID, GOOD)
    assert not re.fullmatch(GUID, GOOD + "0")
