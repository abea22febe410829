"""README and docs name only routes and settings that exist: every ``/api/...``
path matches a route of the function app, every ``/_sandbox/...`` path one of the
sandbox, every setting name is one the project reads or defines; the README's
route table lists every route, and its settings table every setting the app reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import function_app
from sandbox.app import create_sandbox_app
from scripts import connector
from shared.payment.fields import API_VERSIONS
from shared.process.paths import JOURNAL_SETS
from shared.process.settings import Settings
from tests.support.functions import functions, trigger

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A path as the docs write it: up to a space, a quote, a backtick or a closing bracket.
_PATH = re.compile(r"(?<![\w.])/(?:api|_sandbox)(?:/[^\s`'\")\]|,]*)?")
# A placeholder segment: {name}, <what>, $VAR or ${VAR}.
_PLACEHOLDER = re.compile(r"\{[^}]*\}|<[^>]*>|\$\{?\w+\}?")
# A setting as the docs write it: `NAME` or `NAME=...` in backticks, with an underscore
# (or followed by =), so that `GET` or a document number is not taken for one.
_SETTING = re.compile(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z][A-Z0-9]+(?==))[`=]")
# Set by the Azure platform or by azd itself, not by this project.
PLATFORM = {"AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID"}


def doc_texts() -> Iterator[tuple[str, str]]:
    for path in DOCS:
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def app_routes() -> list[str]:
    """Every HTTP route of the function app under /api (the catch-all aside)."""
    routes = []
    for fn in functions(function_app).values():
        route = getattr(trigger(fn), "route", None)
        if route and route != "{*path}":
            routes.append("/api/" + route)
    return routes


def sandbox_routes() -> list[str]:
    app = create_sandbox_app(identity_header="unused")
    paths = [str(getattr(route, "path", "")) for route in app.routes]
    return [path for path in paths if path.startswith("/_sandbox")]


def _segment(part: str) -> str:
    # A fixed set of names, not any value; X stands for a placeholder the docs wrote.
    if part == "{journalSet}":
        return "(?:" + "|".join(map(re.escape, JOURNAL_SETS)) + ")"
    if part == "{apiVersion}":
        return "(?:" + "|".join(map(re.escape, (*API_VERSIONS, "X"))) + ")"
    return "[^/]+" if re.fullmatch(r"\{[^}]*\}", part) else re.escape(part)


def _pattern(route: str) -> re.Pattern[str]:
    return re.compile("/".join(_segment(part) for part in route.split("/")))


def mentioned_paths(text: str) -> Iterator[str]:
    for match in _PATH.finditer(text):
        path = match.group(0).split("?", 1)[0].rstrip(".:;")
        yield _PLACEHOLDER.sub("X", path)


def known(path: str, routes: list[str]) -> bool:
    """Whether ``path`` is a route or its first whole segments (a base such as
    ``/api/v2.0``, or a prefix written with a trailing / or *)."""
    segments = path.rstrip("*").rstrip("/").split("/")
    return any(
        _pattern("/".join(route.split("/")[: len(segments)])).fullmatch("/".join(segments))
        for route in routes
        if len(route.split("/")) >= len(segments)
    )


def test_every_route_the_docs_name_exists() -> None:
    api, sandbox = app_routes(), sandbox_routes()
    unknown = [
        (name, path)
        for name, text in doc_texts()
        for path in mentioned_paths(text)
        if not known(path, api if path.startswith("/api") else sandbox)
    ]
    assert unknown == []


def test_the_check_finds_a_route_that_does_not_exist() -> None:
    api = app_routes()
    assert known("/api/v2.0/companies/X/customerPaymentJournals/X/customerPayments/X", api)
    assert not known("/api/v2.0/companies/X/customerPaymentJournal/X/customerPayments", api)
    assert not known("/api/healthz", api)
    assert list(mentioned_paths("see `/api/{v}/companies?top=1`.")) == ["/api/X/companies"]


def test_the_readme_route_table_lists_every_route() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Routes", 1)[1].split("\n## ", 1)[0]
    # A row names its route in full, or its end after "..." (a route above it).
    listed = [
        _PLACEHOLDER.sub("X", path)
        for row in table.splitlines()
        if row.startswith("| ")
        for path in re.findall(r"`((?:/api|\.\.\.)[^`?]*)", row)
    ]
    missing = []
    for route in app_routes():
        as_written = _PLACEHOLDER.sub("X", route.replace("{journalSet}", JOURNAL_SETS[0]))
        found = any(
            path == as_written or (path.startswith("...") and as_written.endswith(path[3:]))
            for path in listed
        )
        # The row "same route + `/validate`" names the validation route.
        if not found and not (route.endswith("/validate") and "same route + `/validate`" in table):
            missing.append(route)
    assert missing == []


def defined_settings() -> set[str]:
    """Names the project reads (string literals in its code), azd's parameters,
    the Bicep outputs and the Makefile's variables."""
    names: set[str] = set()
    sources = [ROOT / "function_app.py"]
    for folder in ("shared", "sandbox", "funchost", "scripts", "tests", "bench"):
        sources += (ROOT / folder).rglob("*.py")
    for source in sources:
        if source.name == Path(__file__).name:
            continue  # this file names wrong settings on purpose
        names |= set(re.findall(r"^([A-Z][A-Z0-9_]+) = ", source.read_text("utf-8"), re.M))
        names |= set(re.findall(r"[\"']([A-Z][A-Z0-9_]+)[\"']", source.read_text("utf-8")))
    infra = ROOT / "infra"
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (infra / "main.parameters.json").read_text()))
    for bicep in infra.rglob("*.bicep"):
        names |= set(re.findall(r"^output ([A-Za-z_]+)", bicep.read_text(), flags=re.M))
    names |= set(re.findall(r"^([A-Z][A-Z0-9_]+) *[?:]?=", (ROOT / "Makefile").read_text(), re.M))
    return names | PLATFORM


def test_every_setting_the_docs_name_is_defined() -> None:
    defined = defined_settings()
    unknown = sorted(
        {
            (name, setting)
            for name, text in doc_texts()
            for setting in _SETTING.findall(text)
            if setting not in defined
        }
    )
    assert unknown == []


def test_the_setting_check_finds_a_misspelt_setting() -> None:
    assert _SETTING.findall("set `CALLER_AUTHS=entra` or `GET` or `BC_TENANT_ID`") == [
        "CALLER_AUTHS",
        "BC_TENANT_ID",
    ]
    assert "CALLER_AUTHS" not in defined_settings()


class _Recording(dict[str, str]):
    """An environment that remembers every name asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)


@pytest.mark.parametrize("caller_auth", ["key", "entra"])
def test_the_readme_settings_table_lists_every_setting_the_app_reads(caller_auth: str) -> None:
    environ = _Recording(
        {
            "BC_TENANT_ID": "contoso.onmicrosoft.com",
            "CALLER_AUTH": caller_auth,
            "REQUIRED_CALLER_ROLE": "Payments.Write",
        }
    )
    Settings.from_env(environ)
    read = {name for name in environ.asked if not name.startswith("WEBSITE_")}
    assert "BC_TENANT_ID" in read
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [row for row in text.splitlines() if row.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    assert sorted(read - documented) == []


# --- names that must agree ------------------------------------------------------------

# A host key as the docs create and read it: `--key-name NAME`, and az's
# `functionKeys.NAME` (or `functionKeys."NAME"`, quoted for a hyphen).
_KEY_SET = re.compile(r"--key-name ([\w.-]+)")
_KEY_READ = re.compile(r'functionKeys\.\\?"?([\w.-]+)')


def test_every_host_key_a_doc_creates_is_the_one_it_reads_back() -> None:
    pairs = {
        name: (set(_KEY_SET.findall(text)), set(_KEY_READ.findall(text)))
        for name, text in doc_texts()
    }
    assert {name: made for name, (made, read) in pairs.items() if made != read} == {}
    assert pairs["docs/deploy.md"][0], "deploy.md creates the first caller's host key"


def test_the_connection_asks_for_the_key_the_guides_name() -> None:
    """deploy.md creates a host key for the connector's connection, the Power
    Automate guide asks for that key under the label the connection shows, and
    the connection's own hints name the same key."""
    key = connector.HOST_KEY_NAME
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "power-automate.md").read_text(encoding="utf-8")
    assert _KEY_SET.findall(deploy) == [key]
    connection = guide.split("## Create the connection", 1)[1].split("\n## ", 1)[0]
    parameters = connector.api_properties("key")["properties"]["connectionParameters"]
    labels = [p["uiDefinition"]["displayName"] for p in parameters.values()]
    # Each input the connection asks for, in the guide's words, in the same order.
    assert re.findall(r"^\* \*\*([^*]+)\*\*", connection, flags=re.M) == labels
    bullet = re.escape(f"* **{connector.KEY_LABEL}**:")
    asked = re.search(rf"^{bullet}(.*?)(?=^\* |\Z)", connection, re.M | re.S)
    assert asked is not None
    assert f"`{key}`" in asked.group(1)
    assert "host key" in asked.group(1)
    hints = parameters["api_key"]["uiDefinition"]
    assert f"such as {key}" in hints["description"]
    assert "host key" in hints["description"]
    assert f"functionKeys.{key}" in hints["tooltip"]
    assert "Host keys" in hints["tooltip"]
