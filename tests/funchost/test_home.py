"""The local host's page at its root: where the routes are, every route listed
with its methods (escaped as HTML), and off when the host's setting says so."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from funchost.home import DISABLE_HOMEPAGE, home_page


@dataclass(frozen=True)
class Listed:
    methods: frozenset[str] | None
    route: str


FUNCTIONS = [
    Listed(frozenset({"PATCH", "GET"}), "api/lines/{id}"),
    Listed(None, "api/{*path}"),
    Listed(frozenset({"GET"}), "api/<script>"),
]


def test_the_page_lists_each_route_with_its_methods_under_the_prefix() -> None:
    page = home_page(FUNCTIONS, "api", {})
    assert page is not None
    text = page.decode()
    assert "under <code>/api/</code>" in text
    assert "<li><code>GET,PATCH /api/lines/{id}</code></li>" in text
    assert "<li><code>ANY /api/{*path}</code></li>" in text
    assert "<script>" not in text
    assert "/api/&lt;script&gt;" in text


def test_without_a_prefix_the_page_says_the_routes_are_as_listed() -> None:
    page = home_page(FUNCTIONS[:1], "", {})
    assert page is not None
    assert b"at these routes" in page


@pytest.mark.parametrize(("value", "served"), [("true", False), (" TRUE ", False), ("false", True)])
def test_the_hosts_setting_turns_the_page_off(value: str, served: bool) -> None:
    assert (home_page(FUNCTIONS, "api", {DISABLE_HOMEPAGE: value}) is not None) == served
