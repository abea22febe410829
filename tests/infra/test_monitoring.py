"""The operator's side of the templates: alert rules, the workbook, the job secret in Key
Vault, and the one source every query has (infra/monitoring/queries/*.kql).

What these cannot prove without Azure: that Azure Monitor accepts each query (the rules
skip validation so a first deployment succeeds), that Flex Consumption reports the
InstanceCount metric, and that a Key Vault reference resolves; docs/deploy.md says how
to check each on a live deployment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from scripts import monitoring
from tests.support.bicep import (
    BICEP_FILES,
    INFRA,
    REPO,
    at,
    body,
    decorator_values,
    dotted,
    function_calls,
    only_resource,
    parse,
    resources_of_type,
    strings,
)
from tests.support.kusto import emitted_dimensions, unknown_dimensions

QUERY_FILES = sorted(monitoring.QUERIES.rglob("*.kql"))
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
OPERATIONS = REPO / "docs" / "operations.md"


def alerts() -> dict[str, dict[str, Any]]:
    return {alert["name"]: alert for alert in monitoring.alert_definitions()}


def log_alerts() -> dict[str, dict[str, Any]]:
    return {name: alert for name, alert in alerts().items() if alert["kind"] == "log"}


def loaded_files(node: Any) -> list[str]:
    """The paths of every loadTextContent / loadJsonContent call under ``node``."""
    return [
        call["parameters"]["file_path"]
        for kind in ("load_text_content", "load_json_content")
        for call in function_calls(node, kind)
    ]


def github_anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


def runbook_sections() -> dict[str, str]:
    text = OPERATIONS.read_text(encoding="utf-8")
    runbook = text.split("\n## Runbook\n", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### (.+)$", runbook, flags=re.M)
    return {
        github_anchor(title): section
        for title, section in zip(parts[1::2], parts[2::2], strict=True)
    }


# ---- one source per query -----------------------------------------------------------------


def test_the_docs_and_the_workbook_are_generated_from_the_query_files() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    assert monitoring.operations_text(text) == text, "run: make monitoring"
    assert monitoring.WORKBOOK.read_text(encoding="utf-8") == monitoring.workbook_text(), (
        "run: make monitoring"
    )


def test_every_kusto_block_of_the_docs_names_its_file() -> None:
    # A block without a marker would be a second copy nothing keeps in step.
    text = OPERATIONS.read_text(encoding="utf-8")
    blocks = text.count("```kusto\n")
    marked = monitoring.QUERY_BLOCK.findall(text)
    assert blocks == len(marked) > 0
    named = {file for _, file, _ in marked}
    assert all((monitoring.QUERIES / file).is_file() for file in named)
    # Every query file is shown somewhere: in the docs or on the workbook.
    on_workbook = {tile.query for tile in monitoring.TILES}
    assert {path.relative_to(monitoring.QUERIES).as_posix() for path in QUERY_FILES} == (
        named | on_workbook
    )


def test_a_changed_query_file_makes_the_docs_stale() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    edited = text.replace('customDimensions.problem) == "proxy-misconfigured"', "x", 1)
    assert edited != text
    assert monitoring.operations_text(edited) == text


@pytest.mark.parametrize(
    "path", QUERY_FILES, ids=lambda path: path.relative_to(monitoring.QUERIES).as_posix()
)
def test_every_deployed_query_reads_only_dimensions_the_records_carry(path: Path) -> None:
    query = path.read_text(encoding="utf-8")
    assert unknown_dimensions(query, emitted_dimensions()) == set()
    # The alert and the workbook set the time range; a filter of their own would fight it.
    assert "ago(" not in query


# ---- alerts -------------------------------------------------------------------------------


def test_every_alert_of_the_docs_is_deployed_with_its_query() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    table = text.split(monitoring.TABLE_START, 1)[1].split(monitoring.TABLE_END, 1)[0]
    documented = re.findall(r"^\| \[[^\]]+\]\(#([a-z-]+)\) \|", table, flags=re.M)
    assert documented == list(alerts())
    assert len(documented) == 8
    tree = parse("app/alerts.bicep")
    variables = tree["variables"]
    # alerts.json is what the rules loop over.
    assert loaded_files(variables["definitions"]) == ["../monitoring/alerts.json"]
    (log_filter,) = function_calls(variables["logAlerts"], "filter")
    assert {"definitions", "kind", "log"} <= set(strings(log_filter))
    # Each log alert's query is its own file, named once in the map the rules index.
    queries = {
        name.strip("'"): loaded_files(value)
        for name, value in variables["queries"]["value"].items()
    }
    assert queries == {name: [f"../monitoring/queries/alerts/{name}.kql"] for name in log_alerts()}
    assert sorted((monitoring.QUERIES / "alerts").glob("*.kql")) == sorted(
        monitoring.QUERIES / "alerts" / f"{name}.kql" for name in log_alerts()
    )
    rules = tree["resources"]["logSearchAlerts"]
    assert rules["type"] == "Microsoft.Insights/scheduledQueryRules"
    assert rules["config"]["loop_type"]["detail"] == {
        "item_name": "alert",
        "array_name": "logAlerts",
    }
    criterion = body(rules)["properties"]["criteria"]["allOf"][0]
    (union,) = function_calls(criterion, "union")
    fixed = union["parameters"]["arg_1"]
    assert dotted(fixed["query"]) == "queries[alert.name]"
    for name in ("timeAggregation", "operator", "threshold"):
        assert dotted(fixed[name]) == f"alert.{name}"
    optional = union["parameters"]["arg_2"]["operator"]["operands"]
    (tested,) = function_calls(optional["condition"], "empty")
    assert dotted(tested["parameters"]["item_to_test"]) == "alert.measure"
    assert optional["true_value"] == {}
    assert {k: dotted(v) for k, v in optional["false_value"].items()} == {
        "metricMeasureColumn": "alert.measure"
    }


def test_alert_rules_read_application_insights_and_notify_the_action_group() -> None:
    tree = parse("app/alerts.bicep")
    rule = body(tree["resources"]["logSearchAlerts"])
    properties = rule["properties"]
    assert rule["kind"] == "LogAlert"
    # The queries read traces/customDimensions: the component's schema, not the workspace's.
    assert [dotted(scope) for scope in properties["scopes"]] == ["applicationInsights.id"]
    assert tree["resources"]["applicationInsights"]["type"] == "Microsoft.Insights/components"
    assert properties["enabled"] is True
    assert [dotted(group) for group in properties["actions"]["actionGroups"]] == ["actionGroup.id"]
    for name in ("severity", "windowSize", "evaluationFrequency"):
        assert dotted(properties[name]) == f"alert.{name}"
    metric = only_resource(tree, "Microsoft.Insights/metricAlerts")["properties"]
    assert [dotted(scope) for scope in metric["scopes"]] == ["functionApp.id"]
    assert tree["resources"]["functionApp"]["type"] == "Microsoft.Web/sites"
    (criterion,) = metric["criteria"]["allOf"]
    assert criterion["threshold"] == "maximumInstanceCount"
    assert dotted(criterion["metricName"]) == "instanceAlert.metric"
    assert [dotted(action["actionGroupId"]) for action in metric["actions"]] == ["actionGroup.id"]
    # The alert and the app take their maximum from the one parameter of main.bicep.
    main = parse("main.bicep")
    assert body(main["modules"]["alerts"])["params"]["maximumInstanceCount"] == (
        "maximumInstanceCount"
    )
    assert body(main["modules"]["functionApp"])["params"]["maximumInstanceCount"] == (
        "maximumInstanceCount"
    )


@pytest.mark.parametrize("name", list(alerts()))
def test_every_alert_is_complete_and_links_to_its_runbook(name: str) -> None:
    alert = alerts()[name]
    assert alert["severity"] in range(5)
    for duration in ("windowSize", "evaluationFrequency"):
        assert re.fullmatch(r"PT\d+M", alert[duration])
    assert alert["operator"] in monitoring.OPERATORS
    # The same properties in every entry: Bicep types the loaded JSON from its content.
    assert all(set(other) == set(alert) for other in alerts().values())
    if alert["kind"] == "log":
        query = (monitoring.QUERIES / "alerts" / f"{name}.kql").read_text(encoding="utf-8")
        if alert["measure"]:
            # A number per window: the query must name the column the rule reads.
            assert re.search(rf"\b{alert['measure']} = ", query), query
            assert alert["timeAggregation"] in ("Maximum", "Average", "Total")
        else:
            # A record per finding: the rule counts the rows.
            assert alert["timeAggregation"] == "Count"
            assert (alert["operator"], alert["threshold"]) == ("GreaterThan", 0)
            assert "summarize" not in query
    else:
        assert (alert["metric"], alert["metricNamespace"]) == (
            "InstanceCount",
            "Microsoft.Web/sites",
        )
    # The rule's description points at docs/operations.md#<name>: a section that exists
    # and says what to do.
    section = runbook_sections()[name]
    for part in ("**What it means.**", "**Find them", "**What to do.**", "**When it is safe"):
        assert part in section, (name, part)
    assert "<!-- query: " in section


def test_each_rule_description_names_its_runbook_section() -> None:
    tree = parse("app/alerts.bicep")
    descriptions = {
        symbol: [item for item in strings(resource) if "Runbook:" in item]
        for symbol, resource in tree["resources"].items()
        if not resource["existing"] and symbol != "actionGroup"
    }
    assert descriptions == {
        "logSearchAlerts": [
            "Fires when ${alert.condition}: ${alert.why}. Runbook: "
            "docs/operations.md#${alert.name} in the proxy\\'s repository."
        ],
        "instancesAtMaximum": [
            "Fires when ${instanceAlert.condition}: ${instanceAlert.why}. Runbook: "
            "docs/operations.md#${instanceAlert.name} in the proxy\\'s repository."
        ],
    }


def test_the_action_group_mails_only_the_addresses_given() -> None:
    tree = parse("app/alerts.bicep")
    group = only_resource(tree, "Microsoft.Insights/actionGroups")
    assert group["location"] == "global"
    assert len(group["properties"]["groupShortName"]) <= 12
    receivers = group["properties"]["emailReceivers"]
    assert receivers["loop_type"]["detail"]["array_name"] == "emails"
    assert receivers["config"]["emailAddress"] == "address"
    assert "alertEmails" in strings(tree["variables"]["emails"])
    assert tree["parameters"]["alertEmails"]["default"] == ""
    main = parse("main.bicep")
    assert main["parameters"]["alertEmails"]["default"] == ""
    assert body(main["modules"]["alerts"])["params"]["alertEmails"] == "alertEmails"
    document = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    assert document["parameters"]["alertEmails"]["value"] == "${ALERT_EMAILS}"
    assert "azd env set ALERT_EMAILS" in OPERATIONS.read_text(encoding="utf-8")


# ---- the workbook -------------------------------------------------------------------------


def test_the_workbook_is_json_arm_takes_as_a_string_and_its_tiles_are_the_query_files() -> None:
    text = monitoring.WORKBOOK.read_text(encoding="utf-8")
    content = json.loads(text)
    # loadTextContent's limit; past it the template would not compile.
    assert len(text) < 131072
    assert content["version"] == "Notebook/1.0"
    tiles = [item["content"] for item in content["items"] if item["type"] == 3]
    assert len(tiles) == len(monitoring.TILES)
    parameters = {
        parameter["name"]
        for item in content["items"]
        if item["type"] == 9
        for parameter in item["content"]["parameters"]
    }
    files = {path.read_text(encoding="utf-8"): path for path in QUERY_FILES}
    for tile in tiles:
        assert tile["version"] == "KqlItem/1.0"
        assert tile["query"] in files, tile["title"]
        assert unknown_dimensions(tile["query"], emitted_dimensions()) == set()
        assert (tile["queryType"], tile["resourceType"]) == (0, "microsoft.insights/components")
        assert tile["timeContextFromParameter"] in parameters
        assert tile["visualization"] in ("timechart", "table")
    # The tiles the operators were promised.
    shown = {tile.query for tile in monitoring.TILES}
    assert {
        "workbook/requests-by-answer.kql",
        "workbook/upstream-time.kql",
        "workbook/retries-and-throttling.kql",
        "alerts/unknown-outcome.kql",
        "workbook/bulk-jobs-finished.kql",
    } <= shown


def test_the_workbook_resource_loads_that_file_on_the_component() -> None:
    tree = parse("app/workbook.bicep")
    workbook = only_resource(tree, "Microsoft.Insights/workbooks")
    assert workbook["kind"] == "shared"
    properties = workbook["properties"]
    assert loaded_files(properties["serializedData"]) == ["../monitoring/workbook.json"]
    assert (INFRA / "app" / "../monitoring/workbook.json").resolve() == monitoring.WORKBOOK
    assert dotted(properties["sourceId"]) == "applicationInsights.id"
    # A workbook's name must be a GUID; a fixed seed makes a redeploy update it.
    assert function_calls(workbook["name"], "guid")


# ---- the job secret in Key Vault ----------------------------------------------------------


def key_vault() -> dict[str, Any]:
    return only_resource(parse("app/keyvault.bicep"), "Microsoft.KeyVault/vaults")


def test_the_vault_uses_rbac_soft_delete_and_purge_protection() -> None:
    properties = key_vault()["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["enablePurgeProtection"] is True
    assert "accessPolicies" not in properties
    assert properties["softDeleteRetentionInDays"] == "softDeleteRetentionInDays"
    retention = decorator_values(
        parse("app/keyvault.bicep")["parameters"]["softDeleteRetentionInDays"]
    )
    assert (retention["min_value"], retention["max_value"]) == (7, 90)
    for flag in (
        "enabledForDeployment",
        "enabledForDiskEncryption",
        "enabledForTemplateDeployment",
    ):
        assert properties[flag] is False
    # Public network access as the rest of the deployment decides (the storage account).
    storage = only_resource(parse("app/storage.bicep"), "Microsoft.Storage/storageAccounts")
    assert properties["publicNetworkAccess"] == storage["properties"]["publicNetworkAccess"]


def test_the_secret_is_written_from_the_secure_parameter() -> None:
    tree = parse("app/keyvault.bicep")
    secret = only_resource(tree, "Microsoft.KeyVault/vaults/secrets")
    assert secret["parent"] == "vault"
    assert secret["properties"]["value"] == "bulkJobSecret"
    assert "secure" in decorator_values(tree["parameters"]["bulkJobSecret"])
    assert "exp" not in secret["properties"].get("attributes", {})


def test_only_the_apps_identity_may_read_the_vault_and_the_app_reads_it_with_that_identity() -> (
    None
):
    vault_tree = parse("app/keyvault.bicep")
    (assignment,) = resources_of_type(
        vault_tree, "Microsoft.Authorization/roleAssignments"
    ).values()
    assert assignment["scope"] == "vault"
    (role,) = function_calls(
        assignment["properties"]["roleDefinitionId"], "subscription_resource_id"
    )
    assert vault_tree["variables"][role["parameters"]["resource_name_1"]]["value"] == (
        KEY_VAULT_SECRETS_USER
    )
    assert assignment["properties"]["principalId"] == "principalId"
    assert assignment["properties"]["principalType"] == "ServicePrincipal"
    main = parse("main.bicep")
    vault_params = body(main["modules"]["keyVault"])["params"]
    app_params = body(main["modules"]["functionApp"])["params"]
    # The role goes to the identity the app runs as, and resolves its references with.
    assert dotted(vault_params["principalId"]) == "identity.outputs.principalId"
    assert dotted(app_params["identityId"]) == "identity.outputs.id"
    site = only_resource(parse("app/function-app.bicep"), "Microsoft.Web/sites")
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    assert list(site["identity"]["userAssignedIdentities"]) == ["'${identityId}'"]
    # The setting is a reference to the secret's version, from the vault's module (so the
    # app is deployed after its identity may read the secret).
    assert dotted(app_params["bulkJobSecretUri"]) == "keyVault.outputs.jobSecretUri"
    assert dotted(vault_tree["outputs"]["jobSecretUri"]["value"]) == (
        "jobSecret.properties.secretUriWithVersion"
    )
    settings = at(site, "properties/siteConfig/appSettings")
    (concat,) = function_calls(settings, "concat")
    assert {
        "name": "BULK_JOB_SECRET",
        "value": "@Microsoft.KeyVault(SecretUri=${bulkJobSecretUri})",
    } in concat["parameters"]["arg_3"]


def test_no_secret_in_outputs_or_plain_parameters() -> None:
    for path in BICEP_FILES:
        tree = parse(path.relative_to(INFRA).as_posix())
        for name, parameter in tree.get("parameters", {}).items():
            if re.search(r"(secret|password|key)$", name, flags=re.I):
                assert "secure" in decorator_values(parameter), (path.name, name)
        secure = {
            name
            for name, parameter in tree.get("parameters", {}).items()
            if "secure" in decorator_values(parameter)
        }
        outputs = tree.get("outputs", {})
        for name, output in outputs.items():
            read = set(strings(output["value"]))
            assert not read & secure, (path.name, name)
            # A secret's value, a key list or a connection string with a key.
            assert not read & {"value", "listKeys", "listSecrets", "ConnectionString"}, (
                path.name,
                name,
            )
            assert not function_calls(output, "list_keys"), (path.name, name)
