"""Static checks of infra/*.bicep, read through pycep-parser's JSON form of each template.

Neither the Bicep CLI nor Azure is available to the tests, so these assertions are the
safety net for the properties the deployment promises: no storage keys, identity-based
host storage, Entra-only telemetry, narrow role assignments, no FTP or basic auth, Flex
Consumption with Python 3.11, and the proxy's settings (helpers in tests/support/bicep.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.bicep import (
    BICEP_FILES,
    INFRA,
    REPO,
    STORAGE_BLOB_DATA_OWNER,
    STORAGE_QUEUE_DATA_CONTRIBUTOR,
    STORAGE_TABLE_DATA_CONTRIBUTOR,
    at,
    azd_default,
    body,
    check_infra_skip_paths,
    condition,
    decorator_values,
    function_app_tree,
    function_calls,
    host_settings,
    module_path,
    only_resource,
    parse,
    resources_of_type,
    setting_names_anywhere,
    site,
    strings,
    walk,
)

MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
BUSINESS_CENTRAL_APP_ID = "996def3d-b36c-4153-8607-a6fd3c01b89f"

# Settings the Flex Consumption plan rejects or ignores (runtime and deployment live in
# functionAppConfig instead). A prefix ending in "*" matches any name that starts with it.
FLEX_DEPRECATED_SETTINGS = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENT*",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_NODE_DEFAULT_VERSION",
)

PROXY_SETTINGS = ("BC_TENANT_ID", "BC_ENVIRONMENT", "CALLER_AUTH")
OPTIONAL_PROXY_SETTINGS = (
    "ALLOWED_CALLERS",
    "REQUIRED_CALLER_ROLE",
    "ALLOWED_COMPANY_IDS",
    "ALLOWED_JOURNAL_IDS",
    "AMOUNT_DECIMALS",
    "MAX_BODY_BYTES",
    "IF_MATCH_DEFAULT",
)


# ---- parsing ------------------------------------------------------------------------------


def test_infra_has_the_expected_files() -> None:
    names = {path.relative_to(INFRA).as_posix() for path in BICEP_FILES}
    assert {
        "main.bicep",
        "app/identity.bicep",
        "app/storage.bicep",
        "app/monitoring.bicep",
        "app/rbac.bicep",
        "app/function-app.bicep",
        "app/auth.bicep",
        "app/bc-app-role.bicep",
        "app/keyvault.bicep",
        "app/alerts.bicep",
        "app/workbook.bicep",
    } <= names


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.relative_to(INFRA).as_posix())
def test_every_bicep_file_parses(path: Path) -> None:
    tree = parse(path.relative_to(INFRA).as_posix())
    assert tree.get("resources") or tree.get("modules"), f"{path.name} declares nothing"


def test_only_the_graph_file_is_hidden_from_checkov() -> None:
    # checkov's older parser cannot read `extension`; everything else must stay visible to it.
    skipped = check_infra_skip_paths()
    assert skipped == ["infra/app/bc-app-role.bicep"]
    for path in BICEP_FILES:
        relative = path.relative_to(REPO).as_posix()
        uses_extension = bool(parse(path.relative_to(INFRA).as_posix()).get("extensions"))
        assert uses_extension == (relative in skipped), relative


def test_main_modules_point_at_existing_files() -> None:
    modules = parse("main.bicep")["modules"]
    for symbol, declaration in modules.items():
        assert declaration["type"] == "local", (
            f"{symbol}: registry modules hide resources from checks"
        )
        assert (INFRA / module_path(declaration)).is_file(), symbol


# ---- storage ------------------------------------------------------------------------------


def test_storage_account_has_no_keys_no_public_blobs_and_tls12() -> None:
    account = only_resource(parse("app/storage.bicep"), "Microsoft.Storage/storageAccounts")
    properties = account["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True
    assert properties["defaultToOAuthAuthentication"] is True


def test_deployment_container_is_private() -> None:
    containers = resources_of_type(
        parse("app/storage.bicep"), "Microsoft.Storage/storageAccounts/blobServices/containers"
    )
    assert containers
    for container in containers.values():
        assert container["properties"]["publicAccess"] == "None"


def test_no_storage_key_or_connection_string_anywhere() -> None:
    for path in BICEP_FILES:
        tree = parse(path.relative_to(INFRA).as_posix())
        assert not function_calls(tree, "list_keys"), path.name
        assert not function_calls(tree, "listKeys"), path.name
        for text in strings(tree):
            assert "AccountKey" not in text, f"{path.name}: {text}"
            assert "listKeys" not in text, f"{path.name}: {text}"
        assert "AzureWebJobsStorage" not in setting_names_anywhere(tree), path.name


# ---- function app -------------------------------------------------------------------------


def test_flex_consumption_plan_on_linux() -> None:
    plan = only_resource(function_app_tree(), "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["properties"]["reserved"] is True
    assert site()["kind"] == "functionapp,linux"


def test_python_311_runtime_and_scale_from_parameters() -> None:
    config = at(site(), "properties/functionAppConfig")
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    parameters = function_app_tree()["parameters"]
    scale = config["scaleAndConcurrency"]
    for name in ("maximumInstanceCount", "instanceMemoryMB"):
        assert scale[name] == name
        assert parameters[name]["type"] == "int"
        main_parameter = parse("main.bicep")["parameters"][name]
        assert main_parameter["type"] == "int"
        assert body(parse("main.bicep")["modules"]["functionApp"])["params"][name] == name


# The lowest maximum instance count Flex Consumption accepts outside a few preview regions
# (its documented considerations; MicrosoftDocs/azure-docs PR #128255).
FLEX_LOWEST_MAXIMUM_EVERYWHERE = 40


@pytest.mark.parametrize(
    ("name", "default"), [("maximumInstanceCount", 40), ("httpPerInstanceConcurrency", 16)]
)
def test_flex_scale_parameters_are_bounded_and_wired_through(name: str, default: int) -> None:
    main = parse("main.bicep")
    module = function_app_tree()
    for tree in (main, module):
        parameter = tree["parameters"][name]
        assert parameter["type"] == "int"
        assert parameter["default"] == default
        bounds = decorator_values(parameter)
        # Microsoft documents 1..1000 instances; concurrency gets the same ceiling.
        assert (bounds["min_value"], bounds["max_value"]) == (1, 1000)
    assert body(main["modules"]["functionApp"])["params"][name] == name
    assert azd_default(name) == str(default)


def test_http_concurrency_is_set_on_the_flex_http_trigger_group() -> None:
    scale = at(site(), "properties/functionAppConfig/scaleAndConcurrency")
    assert scale["maximumInstanceCount"] == "maximumInstanceCount"
    assert at(scale, "triggers/http/perInstanceConcurrency") == "httpPerInstanceConcurrency"


def test_default_scale_is_accepted_in_every_flex_region_and_queues_bursts_in_process() -> None:
    # This used to hold instances x BC_MAX_CONCURRENCY under half of Business Central's
    # queue with 10 instances. Most regions refuse a maximum below 40, and the maximum is no
    # hard cap for HTTP bursts anyway: Business Central's limits are kept by Business
    # Central (429 beyond its queue) and the proxy's Retry-After handling, which the e2e
    # resilience tests hold. docs/deploy.md (Scale and concurrency) says so.
    from shared.process.settings import Settings

    bc_slots = Settings(bc_tenant_id="contoso.com").bc_max_concurrency
    instances = parse("main.bicep")["parameters"]["maximumInstanceCount"]["default"]
    concurrency = parse("main.bicep")["parameters"]["httpPerInstanceConcurrency"]["default"]
    assert instances >= FLEX_LOWEST_MAXIMUM_EVERYWHERE
    # An instance takes more requests than it has upstream slots: a burst queues in-process
    # (cheap) instead of starting a cold instance per request.
    assert concurrency > bc_slots


def test_deployment_storage_uses_the_user_assigned_identity() -> None:
    storage = at(site(), "properties/functionAppConfig/deployment/storage")
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }


def test_https_only_tls12_and_no_ftp() -> None:
    properties = site()["properties"]
    assert properties["httpsOnly"] is True
    assert properties["siteConfig"]["minTlsVersion"] == "1.2"
    assert properties["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert properties["siteConfig"]["ftpsState"] == "Disabled"


def test_basic_publishing_credentials_are_off_for_ftp_and_scm() -> None:
    policies = resources_of_type(
        function_app_tree(), "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    )
    by_name = {policy["name"]: policy for policy in policies.values()}
    assert set(by_name) == {"ftp", "scm"}
    for policy in by_name.values():
        assert policy["parent"] == "functionApp"
        assert policy["properties"] == {"allow": False}


def test_one_user_assigned_identity_for_everything() -> None:
    identity = site()["identity"]
    assert identity["type"] == "UserAssigned"
    assert list(identity["userAssignedIdentities"]) == ["'${identityId}'"]
    settings = host_settings()
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert "ClientId=${identityClientId}" in settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]


def test_host_storage_is_identity_based_for_blob_queue_and_table() -> None:
    settings = host_settings()
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    for service in ("blob", "queue", "table"):
        uri = settings[f"AzureWebJobsStorage__{service}ServiceUri"]
        assert strings(uri)[-1] == service, f"{service} URI taken from {strings(uri)}"
        assert "storage" in strings(uri)
    assert not [name for name in settings if name == "AzureWebJobsStorage"]


def test_application_insights_uses_entra_auth() -> None:
    settings = host_settings()
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].endswith(";Authorization=AAD")
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in settings
    assert "APPINSIGHTS_INSTRUMENTATIONKEY" not in setting_names_anywhere(function_app_tree())


def test_no_setting_the_flex_plan_deprecates() -> None:
    for path in BICEP_FILES:
        names = setting_names_anywhere(parse(path.relative_to(INFRA).as_posix()))
        for deprecated in FLEX_DEPRECATED_SETTINGS:
            if deprecated.endswith("*"):
                hits = [name for name in names if name.startswith(deprecated[:-1])]
            else:
                hits = [name for name in names if name == deprecated]
            assert not hits, f"{path.name} sets {hits}"


def test_cors_origins_come_from_a_parameter_and_never_wildcard() -> None:
    cors = at(site(), "properties/siteConfig/cors")
    assert cors["allowedOrigins"] == "allowedOrigins"
    assert cors["supportCredentials"] is False
    assert function_app_tree()["parameters"]["allowedOrigins"]["default"] == []

    main = parse("main.bicep")
    assert main["parameters"]["allowedOrigins"]["default"] == ""
    assert body(main["modules"]["functionApp"])["params"]["allowedOrigins"] == "corsOrigins"
    origins_filter = main["variables"]["corsOrigins"]["value"]
    wildcard_guards = [
        item
        for item in walk(origins_filter)
        if isinstance(item, dict)
        and item.get("type") == "not_equals"
        and item["operands"]["operand_2"] == "*"
    ]
    assert wildcard_guards, "corsOrigins must drop '*'"
    for path in BICEP_FILES:
        for item in walk(parse(path.relative_to(INFRA).as_posix())):
            if isinstance(item, dict) and "allowedOrigins" in item:
                assert "*" not in strings(item["allowedOrigins"]), path.name


# ---- monitoring and roles -----------------------------------------------------------------


def test_application_insights_and_log_analytics_disable_local_auth() -> None:
    tree = parse("app/monitoring.bicep")
    component = only_resource(tree, "Microsoft.Insights/components")
    assert component["properties"]["DisableLocalAuth"] is True
    workspace = only_resource(tree, "Microsoft.OperationalInsights/workspaces")
    assert workspace["properties"]["features"]["disableLocalAuth"] is True


def test_role_assignments_are_the_four_roles_on_the_narrowest_scope() -> None:
    tree = parse("app/rbac.bicep")
    variables = {name: item["value"] for name, item in tree["variables"].items()}
    existing = {
        symbol: resource["type"]
        for symbol, resource in tree["resources"].items()
        if resource["existing"]
    }
    expected_scope = {
        STORAGE_BLOB_DATA_OWNER: "Microsoft.Storage/storageAccounts",
        STORAGE_QUEUE_DATA_CONTRIBUTOR: "Microsoft.Storage/storageAccounts",
        STORAGE_TABLE_DATA_CONTRIBUTOR: "Microsoft.Storage/storageAccounts",
        MONITORING_METRICS_PUBLISHER: "Microsoft.Insights/components",
    }
    assignments = resources_of_type(tree, "Microsoft.Authorization/roleAssignments")
    assert len(assignments) == len(expected_scope)
    granted: dict[str, str] = {}
    for symbol, assignment in assignments.items():
        (role_ref,) = function_calls(
            assignment["properties"]["roleDefinitionId"], "subscription_resource_id"
        )
        role_id = variables[role_ref["parameters"]["resource_name_1"]]
        assert assignment["properties"]["principalId"] == "principalId", symbol
        assert assignment["properties"]["principalType"] == "ServicePrincipal", symbol
        (name_guid,) = function_calls(assignment["name"], "guid")
        # Deterministic name from scope, principal and role: re-deploys update, never duplicate.
        assert role_ref["parameters"]["resource_name_1"] in strings(name_guid), symbol
        assert assignment["scope"] in strings(name_guid), symbol
        assert "principalId" in strings(name_guid), symbol
        granted[role_id] = existing[assignment["scope"]]
    assert granted == expected_scope


# ---- proxy settings and caller auth -------------------------------------------------------


def test_proxy_settings_come_from_parameters() -> None:
    main = parse("main.bicep")
    settings = main["variables"]["proxySettings"]["value"]
    (union,) = function_calls(settings, "union")
    required = union["parameters"]["arg_1"]
    assert set(required) == set(PROXY_SETTINGS)
    assert required["BC_ENVIRONMENT"] == "bcEnvironment"
    assert main["parameters"]["bcEnvironment"]["default"] == "production"
    assert "bcTenantId" in strings(required["BC_TENANT_ID"])
    assert required["CALLER_AUTH"] == "callerAuth"
    assert body(main["modules"]["functionApp"])["params"]["proxySettings"] == "proxySettings"


def test_optional_proxy_settings_are_unset_unless_given() -> None:
    main = parse("main.bicep")
    optional = main["variables"]["optionalProxySettings"]["value"]
    conditionals = [
        item["operator"]["operands"]
        for item in walk(optional)
        if isinstance(item, dict)
        and isinstance(item.get("operator"), dict)
        and item["operator"].get("type") == "conditional"
    ]
    guarded: dict[str, str] = {}
    for operands in conditionals:
        (tested,) = function_calls(operands["condition"], "empty")
        assert operands["true_value"] == {}, operands
        ((setting, parameter),) = operands["false_value"].items()
        assert tested["parameters"]["item_to_test"] == parameter
        if parameter in main["variables"]:
            # Caller checks trust a header only App Service Authentication
            # vouches for: without authClientId they stay unset.
            gate = main["variables"][parameter]["value"]["operator"]["operands"]
            (gate_test,) = function_calls(gate["condition"], "empty")
            assert gate_test["parameters"]["item_to_test"] == "authClientId"
            assert gate["true_value"] == ""
            parameter = gate["false_value"]
        assert main["parameters"][parameter]["default"] == "", parameter
        guarded[setting] = parameter
    assert set(guarded) == set(OPTIONAL_PROXY_SETTINGS)
    allowed = [
        decorator["argument"]
        for decorator in main["parameters"]["ifMatchDefault"]["decorators"]
        if decorator["type"] == "allowed"
    ]
    assert allowed == [["", "*"]]


def test_caller_auth_is_entra_exactly_when_app_service_auth_is_enabled() -> None:
    main = parse("main.bicep")
    operands = main["variables"]["callerAuth"]["value"]["operator"]["operands"]
    (tested,) = function_calls(operands["condition"], "empty")
    assert tested["parameters"]["item_to_test"] == "authClientId"
    assert (operands["true_value"], operands["false_value"]) == ("key", "entra")
    assert main["parameters"]["authClientId"]["default"] == ""

    auth_module = main["modules"]["auth"]
    assert module_path(auth_module) == "app/auth.bicep"
    gate = condition(auth_module)
    assert gate["operator"]["type"] == "not"
    (gate_test,) = function_calls(gate, "empty")
    assert gate_test["parameters"]["item_to_test"] == "authClientId"
    assert body(auth_module)["params"]["clientId"] == "authClientId"


def anonymous_routes() -> list[str]:
    """The app's anonymous routes (the catch-all 404 route aside); a route with a
    parameter, such as a bulk job's status, as its prefix and a wildcard."""
    import function_app
    from tests.support.functions import functions, trigger

    routes = []
    for fn in functions(function_app).values():
        level = getattr(trigger(fn), "auth_level", None)  # orchestrators have none
        route = trigger(fn).route if level is not None and level.name == "ANONYMOUS" else None
        if route is None or route.startswith("{*"):
            continue
        routes.append(route.split("{", 1)[0] + "*" if "{" in route else route)
    return sorted(f"/api/{route}" for route in routes)


def test_app_service_authentication_returns_401_and_spares_anonymous_routes() -> None:
    config = only_resource(parse("app/auth.bicep"), "Microsoft.Web/sites/config")
    assert config["name"] == "authsettingsV2"
    assert config["properties"]["platform"]["enabled"] is True
    validation = config["properties"]["globalValidation"]
    assert validation["requireAuthentication"] is True
    assert validation["unauthenticatedClientAction"] == "Return401"
    assert sorted(validation["excludedPaths"]) == anonymous_routes()
    entra = config["properties"]["identityProviders"]["azureActiveDirectory"]
    assert entra["enabled"] is True
    assert entra["registration"]["clientId"] == "clientId"


def test_app_service_authentication_accepts_only_the_caller_list_when_given() -> None:
    tree = parse("app/auth.bicep")
    parameter = tree["parameters"]["allowedApplications"]
    assert (parameter["type"], parameter["default"]) == ("array", [])
    validation = only_resource(tree, "Microsoft.Web/sites/config")["properties"][
        "identityProviders"
    ]["azureActiveDirectory"]["validation"]
    (union,) = function_calls(validation, "union")
    assert union["parameters"]["arg_1"] == {"allowedAudiences": "allowedAudiences"}
    assert union["parameters"]["arg_2"] == "authorizationPolicy"
    policy = tree["variables"]["authorizationPolicy"]["value"]["operator"]["operands"]
    (tested,) = function_calls(policy["condition"], "empty")
    assert tested["parameters"]["item_to_test"] == "allowedApplications"
    assert policy["true_value"] == {}
    assert policy["false_value"] == {
        "defaultAuthorizationPolicy": {"allowedApplications": "allowedApplications"}
    }


def test_main_passes_the_entra_caller_list_to_app_service_authentication() -> None:
    main = parse("main.bicep")
    assert body(main["modules"]["auth"])["params"]["allowedApplications"] == (
        "entraAllowedCallerList"
    )
    callers = main["variables"]["entraAllowedCallerList"]["value"]
    (split,) = function_calls(callers, "split")
    assert split["parameters"]["delimiter"] == ","
    # Built from the gated list: without authClientId there is no auth module and no list.
    assert "entraAllowedCallers" in strings(split["parameters"]["input_string"])
    (drop_empty,) = function_calls(callers, "filter")
    assert "length" in strings(drop_empty["parameters"]["expression"])


# ---- Business Central app role (Microsoft Graph extension) --------------------------------


def test_business_central_app_role_is_looked_up_by_value() -> None:
    tree = parse("app/bc-app-role.bicep")
    assert "microsoftGraphV1" in tree["extensions"]
    parameters = tree["parameters"]
    assert parameters["businessCentralAppId"]["default"] == BUSINESS_CENTRAL_APP_ID
    assert parameters["appRoleValue"]["default"] == "API.ReadWrite.All"

    service_principal = tree["resources"]["businessCentral"]
    assert service_principal["type"] == "Microsoft.Graph/servicePrincipals"
    assert service_principal["existing"] is True
    assert service_principal["config"]["appId"] == "businessCentralAppId"

    assignment = only_resource(tree, "Microsoft.Graph/appRoleAssignedTo")
    assert assignment["principalId"] == "principalId"
    assert strings(assignment["resourceId"])[-1] == "id"
    (role_filter,) = function_calls(assignment["appRoleId"], "filter")
    assert {"businessCentral", "appRoles"} <= set(strings(role_filter["parameters"]["input_array"]))
    lambda_body = strings(role_filter["parameters"]["expression"])
    assert "appRoleValue" in lambda_body
    assert "equals" in lambda_body
    assert not [
        text
        for text in strings(tree)
        if re.fullmatch(r"[0-9a-f-]{36}", text) and text != BUSINESS_CENTRAL_APP_ID
    ], "app role id must not be hard-coded"


def test_business_central_app_role_module_is_off_by_default() -> None:
    main = parse("main.bicep")
    module = main["modules"]["businessCentralAppRole"]
    assert module_path(module) == "app/bc-app-role.bicep"
    assert condition(module) == "grantBusinessCentralAppRole"
    assert main["parameters"]["grantBusinessCentralAppRole"]["default"] is False
    principal = set(strings(body(module)["params"]["principalId"]))
    assert {"identity", "outputs", "principalId"} <= principal
    # Not in the same minute as the identity: Graph may not see it yet (a first provision).
    assert body(module)["dependsOn"] == ["functionApp"]


# ---- azd wiring -----------------------------------------------------------------------------


def test_outputs_name_the_app_and_the_identity() -> None:
    outputs = parse("main.bicep")["outputs"]
    for name in (
        "AZURE_FUNCTION_NAME",
        "SERVICE_API_NAME",
        "FUNCTION_APP_URL",
        "MANAGED_IDENTITY_CLIENT_ID",
        "MANAGED_IDENTITY_PRINCIPAL_ID",
        "AZURE_RESOURCE_GROUP",
    ):
        assert name in outputs, name
    assert "clientId" in strings(outputs["MANAGED_IDENTITY_CLIENT_ID"]["value"])
    assert "principalId" in strings(outputs["MANAGED_IDENTITY_PRINCIPAL_ID"]["value"])


def test_function_app_is_tagged_for_azd_service_api() -> None:
    tags = site()["tags"]
    (union,) = function_calls(tags, "union")
    assert {"'azd-service-name'": "api"} in union["parameters"].values()


def test_parameters_file_maps_azd_environment_values_onto_main_parameters() -> None:
    document = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    mapped = document["parameters"]
    declared = parse("main.bicep")["parameters"]
    assert set(mapped) <= set(declared), set(mapped) - set(declared)
    assert mapped["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert mapped["location"]["value"] == "${AZURE_LOCATION}"
    assert mapped["bcTenantId"]["value"] == "${BC_TENANT_ID}"
    for name, entry in mapped.items():
        assert re.fullmatch(r"\$\{[A-Z_]+(=[^}]*)?\}", entry["value"]), name
    required = {name for name, item in declared.items() if item["default"] is None}
    assert required <= set(mapped), required - set(mapped)


def test_azure_yaml_deploys_this_folder_as_a_python_function() -> None:
    lines = [
        line.rstrip() for line in (REPO / "azure.yaml").read_text(encoding="utf-8").splitlines()
    ]
    service = lines[lines.index("  api:") + 1 : lines.index("  api:") + 4]
    assert sorted(line.strip() for line in service) == [
        "host: function",
        "language: python",
        "project: .",
    ]
    assert "  path: infra" in lines


def test_the_bulk_job_secret_is_a_secure_parameter_azd_keeps() -> None:
    main = parse("main.bicep")
    vault = parse("app/keyvault.bicep")
    for tree in (main, vault):
        parameter = tree["parameters"]["bulkJobSecret"]
        assert "secure" in decorator_values(parameter)
        # No default: a default would be a shared secret, and a generated one
        # (newGuid) would change on every provision.
        assert parameter["default"] is None
    assert decorator_values(main["parameters"]["bulkJobSecret"])["min_length"] >= 32
    # azd fills it from its environment, the same value on every provision, with no
    # fallback to make one up.
    document = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    assert document["parameters"]["bulkJobSecret"]["value"] == "${BULK_JOB_SECRET}"
    # It goes to the vault's module and nowhere else: not to the function app (whose
    # setting is a Key Vault reference now), not into the plain proxySettings object
    # (kept in the deployment history), never an output.
    passed_to = [
        symbol
        for symbol, module in main["modules"].items()
        if "bulkJobSecret" in strings(body(module)["params"])
    ]
    assert passed_to == ["keyVault"]
    assert body(main["modules"]["keyVault"])["params"]["bulkJobSecret"] == "bulkJobSecret"
    assert "bulkJobSecret" not in function_app_tree()["parameters"]
    assert "bulkJobSecret" not in strings(main["variables"])
    for path in BICEP_FILES:
        tree = parse(path.relative_to(INFRA).as_posix())
        assert "bulkJobSecret" not in strings(tree.get("outputs", {})), path.name
