"""Reading infra/*.bicep through pycep-parser's JSON form: the helpers every template
test shares.

pycep keeps an identifier reference and a string literal alike as a plain str, so a test
that follows a reference (a parameter, a variable) says so explicitly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))


@cache
def parse(relative: str) -> dict[str, Any]:
    """The pycep JSON form of infra/<relative>, parsed once per test session."""
    # pycep types its result as a TypedDict; the tests index it freely.
    return cast("dict[str, Any]", BicepParser().parse(file_path=INFRA / relative))


def walk(node: Any) -> Iterator[Any]:
    """Every node of a parsed tree, depth first: dicts, lists and leaves, keys included."""
    yield node
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def strings(node: Any) -> list[str]:
    return [item for item in walk(node) if isinstance(item, str)]


def resources_of_type(tree: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Declared (not `existing`) resources of one type, by symbolic name, as their body."""
    found: dict[str, dict[str, Any]] = {}
    for symbol, resource in tree.get("resources", {}).items():
        if resource["type"] == resource_type and not resource["existing"]:
            found[symbol] = body(resource)
    return found


def only_resource(tree: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources_of_type(tree, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def body(declaration: dict[str, Any]) -> dict[str, Any]:
    """A resource's or module's body, under its `if (...)` wrapper when it has one."""
    config: dict[str, Any] = declaration["config"]
    if "condition" in config and "config" in config:
        inner: dict[str, Any] = config["config"]
        return inner
    return config


def condition(declaration: dict[str, Any]) -> Any:
    return declaration["config"].get("condition")


def at(node: Any, path: str) -> Any:
    """Follow a slash-separated path of keys; KeyError names the missing step."""
    for key in path.split("/"):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"{key!r} missing on the way to {path!r}")
        node = node[key]
    return node


def function_calls(node: Any, name: str) -> list[dict[str, Any]]:
    return [
        item["function"]
        for item in walk(node)
        if isinstance(item, dict)
        and isinstance(item.get("function"), dict)
        and item["function"].get("type") == name
    ]


def name_value_settings(node: Any) -> dict[str, Any]:
    """App settings written as {name, value} objects anywhere under node."""
    return {
        item["name"]: item["value"]
        for item in walk(node)
        if isinstance(item, dict)
        and set(item) == {"name", "value"}
        and isinstance(item["name"], str)
    }


def setting_names_anywhere(tree: dict[str, Any]) -> set[str]:
    """Every name that could be an app setting: object keys and string values."""
    return {item.strip("'") for item in strings(tree)}


def module_path(declaration: dict[str, Any]) -> str:
    path: str = declaration["detail"]["path"]
    return path


def check_infra_skip_paths() -> list[str]:
    script = (REPO / "scripts" / "check-infra.sh").read_text(encoding="utf-8")
    match = re.search(r"^UNREADABLE_BY_CHECKOV='([^']*)'", script, re.MULTILINE)
    assert match, "scripts/check-infra.sh no longer defines UNREADABLE_BY_CHECKOV"
    return match.group(1).split()


def decorator_values(parameter: dict[str, Any]) -> dict[str, Any]:
    return {item["type"]: item.get("argument") for item in parameter["decorators"]}


def azd_default(name: str) -> str:
    """The default main.parameters.json gives an azd-mapped parameter (${NAME=default})."""
    document = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    match = re.fullmatch(r"\$\{[A-Z_]+=([^}]*)\}", document["parameters"][name]["value"])
    assert match, f"{name} has no azd default"
    return match.group(1)


def dotted(node: Any) -> str:
    """A reference as Bicep writes it (``identity.outputs.principalId``, ``queries[x]``)
    from pycep's nested accessors; anything else as pycep gives it."""
    if isinstance(node, dict) and isinstance(node.get("operator"), dict):
        operator = node["operator"]
        operands = operator["operands"]
        if operator["type"] == "property_accessor":
            return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"
        if operator["type"] == "index_accessor":
            return f"{dotted(operands['operand_1'])}[{dotted(operands['operand_2'])}]"
    return node if isinstance(node, str) else json.dumps(node)


# The storage roles the function app's identity is given (built-in role definition ids).
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"


def function_app_tree() -> dict[str, Any]:
    return parse("app/function-app.bicep")


def site() -> dict[str, Any]:
    return only_resource(function_app_tree(), "Microsoft.Web/sites")


def host_settings() -> dict[str, Any]:
    """The settings function-app.bicep puts in siteConfig.appSettings itself."""
    tree = function_app_tree()
    app_settings = at(site(), "properties/siteConfig/appSettings")
    (concat,) = function_calls(app_settings, "concat")
    referenced = [arg for arg in concat["parameters"].values() if isinstance(arg, str)]
    assert "hostSettings" in referenced
    assert "proxySettingList" in referenced
    return name_value_settings(tree["variables"]["hostSettings"])
