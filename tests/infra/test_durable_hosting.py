"""Durable Functions in Azure: host.json names its task hub and keeps its
state in the identity-based AzureWebJobsStorage that the Bicep sets up and
grants (blob, queue and table: the three services the Azure Storage provider
uses)."""

from __future__ import annotations

import json

from tests.support.bicep import (
    REPO,
    STORAGE_BLOB_DATA_OWNER,
    STORAGE_QUEUE_DATA_CONTRIBUTOR,
    STORAGE_TABLE_DATA_CONTRIBUTOR,
    host_settings,
    parse,
    resources_of_type,
    strings,
)


def test_host_json_configures_the_task_hub_on_the_host_storage() -> None:
    durable = json.loads((REPO / "host.json").read_text())["extensions"]["durableTask"]
    # A fixed name keeps jobs readable across deployments of the same app; letters
    # and digits only, as the Azure Storage provider requires.
    assert durable["hubName"].isalnum()
    assert 3 <= len(durable["hubName"]) <= 45
    # The connection is a prefix of settings, not a connection string.
    assert durable["storageProvider"] == {"connectionName": "AzureWebJobsStorage"}
    # A job's input holds its status token: never copied into the logs.
    assert durable["tracing"]["traceInputsAndOutputs"] is False
    settings = host_settings()
    assert {f"AzureWebJobsStorage__{s}ServiceUri" for s in ("blob", "queue", "table")} <= set(
        settings
    )
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"


def test_the_identity_holds_every_storage_role_durable_needs() -> None:
    tree = parse("app/rbac.bicep")
    granted = set()
    for assignment in resources_of_type(tree, "Microsoft.Authorization/roleAssignments").values():
        granted.update(strings(assignment))
    variables = {name: value["value"] for name, value in tree["variables"].items()}
    roles = {variables[name] for name in granted if name in variables}
    assert {
        STORAGE_BLOB_DATA_OWNER,
        STORAGE_QUEUE_DATA_CONTRIBUTOR,
        STORAGE_TABLE_DATA_CONTRIBUTOR,
    } <= roles
