"""Before `azd provision`: the tools' versions and the signed-in account's rights.

    make preflight                  (or: python3 -m scripts.preflight)

azd runs it as the ``preprovision`` hook of azure.yaml, with the azd environment's
values in the process environment (AZURE_SUBSCRIPTION_ID, AZURE_LOCATION,
BULK_JOB_SECRET, GRANT_BC_APP_ROLE, ...). Each check prints ``ok``, ``warn`` or
``FAIL`` with what to do; any FAIL stops provisioning before Azure is asked for
anything. ``SKIP_PREFLIGHT=true`` (``azd env set SKIP_PREFLIGHT true``) skips it.

What it checks:

* azd 1.17.0 or later: the first that brings Bicep 0.36.1, the Microsoft Graph Bicep
  extension's minimum (every provision compiles bc-app-role.bicep, granted or not);
* Azure CLI 2.71.0 or later (``list-flexconsumption-locations --runtime``), signed in
  to the subscription azd deploys to;
* the Bicep that ``az bicep build`` uses, 0.36.1 or later;
* the account may deploy at subscription scope, create resource groups, write Key
  Vault secrets and create role assignments (ARM's permissions of the caller);
* the region offers Flex Consumption for Python;
* BULK_JOB_SECRET is set (32 characters at least; its value is never printed);
* with GRANT_BC_APP_ROLE=true: an active Entra role that may grant app roles, and
  Business Central's service principal in the tenant.

Standard library only, like the smoke test: azd's hook runs it with any Python 3.9+.
"""

# ruff: noqa: T201 - the console is where the script reports

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MIN_AZD = (1, 17, 0)
MIN_AZ = (2, 71, 0)
MIN_BICEP = (0, 36, 1)
# The lowest maximum instance count Flex Consumption accepts outside a few preview regions.
FLEX_LOWEST_MAXIMUM = 40
MIN_SECRET_CHARS = 32
BUSINESS_CENTRAL_APP_ID = "996def3d-b36c-4153-8607-a6fd3c01b89f"
# Entra roles that may grant an application permission of an API other than Microsoft
# Graph (role template ids are the same in every tenant).
GRANTING_ROLES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
}
# What the template does at subscription scope, and the role that usually brings it.
REQUIRED_ACTIONS = {
    "Microsoft.Resources/deployments/write": "deploy the template (Contributor or Owner)",
    "Microsoft.Resources/subscriptions/resourceGroups/write": (
        "create the resource group (Contributor or Owner)"
    ),
    "Microsoft.KeyVault/vaults/secrets/write": (
        "write the bulk job secret to Key Vault (Contributor or Owner)"
    ),
    "Microsoft.Authorization/roleAssignments/write": (
        "grant the app's identity its roles on storage, Application Insights and Key Vault "
        "(Owner, or Role Based Access Control Administrator or User Access Administrator "
        "next to Contributor)"
    ),
}
TIMEOUT_S = 120
Version = tuple[int, int, int]


@dataclass(frozen=True)
class Outcome:
    status: str  # "ok", "warn" or "FAIL"
    name: str
    text: str


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


Runner = Callable[[Sequence[str]], "Ran | None"]


def run(command: Sequence[str]) -> Ran | None:
    """Run a tool; None when it is not installed."""
    executable = shutil.which(command[0])
    if executable is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed commands, no shell
            [executable, *command[1:]],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return Ran(1, "", str(error))
    return Ran(done.returncode, done.stdout, done.stderr)


def version_in(text: str) -> Version | None:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def shown(version: Version) -> str:
    return ".".join(map(str, version))


def json_of(ran: Ran | None) -> Any:
    if ran is None or ran.code != 0:
        return None
    try:
        return json.loads(ran.out)
    except ValueError:
        return None


def first_line(ran: Ran) -> str:
    text = (ran.err or ran.out).strip().splitlines()
    return text[0] if text else f"exit code {ran.code}"


def enabled(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


# --- tools ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    minimum: Version
    why: str  # why that version
    install: str  # what to run when it is missing
    update: str  # what to run when it is too old


AZD = Tool(
    "azd",
    MIN_AZD,
    "the first that brings Bicep 0.36.1, which the Microsoft Graph extension needs",
    "install it, https://aka.ms/azd-install",
    "update it, https://aka.ms/azd-install",
)
AZ = Tool(
    "Azure CLI",
    MIN_AZ,
    "list-flexconsumption-locations --runtime came with 2.71.0",
    "install it, https://aka.ms/installazurecli",
    "run az upgrade",
)
BICEP_OF_AZ = Tool(
    "Bicep (az bicep)",
    MIN_BICEP,
    "the Microsoft Graph Bicep extension's minimum",
    "run az bicep install",
    "run az bicep upgrade",
)
BICEP_OF_AZD = Tool(
    "Bicep (AZD_BICEP_TOOL_PATH)",
    MIN_BICEP,
    "the Microsoft Graph Bicep extension's minimum",
    "fix AZD_BICEP_TOOL_PATH, or unset it so that azd uses its own Bicep",
    "update it, or unset AZD_BICEP_TOOL_PATH so that azd uses its own Bicep",
)


def check_version(tool: Tool, ran: Ran | None, found: Version | None) -> Outcome:
    if ran is None:
        return Outcome("FAIL", tool.name, f"not installed: {tool.install}")
    if found is None:
        return Outcome("FAIL", tool.name, f"no version in its answer ({first_line(ran)})")
    if found < tool.minimum:
        return Outcome(
            "FAIL",
            tool.name,
            f"{shown(found)} is older than {shown(tool.minimum)} ({tool.why}): {tool.update}",
        )
    return Outcome("ok", tool.name, shown(found))


def check_azd(runner: Runner) -> Outcome:
    ran = runner(["azd", "version"])
    return check_version(AZD, ran, version_in(ran.out) if ran and ran.code == 0 else None)


def check_az(runner: Runner) -> Outcome:
    ran = runner(["az", "version", "--output", "json"])
    data = json_of(ran)
    found = version_in(str(data.get("azure-cli", ""))) if isinstance(data, dict) else None
    return check_version(AZ, ran, found)


def check_bicep(runner: Runner, env: Mapping[str, str]) -> list[Outcome]:
    outcomes = []
    ran = runner(["az", "bicep", "version"])
    if ran is not None and ran.code != 0:
        text = f"{first_line(ran)}: {BICEP_OF_AZ.install}"
        outcomes.append(Outcome("FAIL", BICEP_OF_AZ.name, text))
    elif ran is not None:
        outcomes.append(check_version(BICEP_OF_AZ, ran, version_in(ran.out)))
    # azd fetches its own Bicep unless told to use another one.
    own = env.get("AZD_BICEP_TOOL_PATH", "").strip()
    if own:
        ran = runner([own, "--version"])
        outcomes.append(check_version(BICEP_OF_AZD, ran, version_in(ran.out) if ran else None))
    return outcomes


# --- the account ---------------------------------------------------------------------


def check_account(runner: Runner, env: Mapping[str, str]) -> tuple[Outcome, dict[str, Any] | None]:
    ran = runner(["az", "account", "show", "--output", "json"])
    if ran is None:
        return Outcome("FAIL", "signed in", "cannot tell without the Azure CLI"), None
    account = json_of(ran)
    if not isinstance(account, dict):
        return Outcome("FAIL", "signed in", "the Azure CLI is not signed in: run az login"), None
    wanted = env.get("AZURE_SUBSCRIPTION_ID", "").strip()
    if wanted and wanted.lower() != str(account.get("id", "")).lower():
        return (
            Outcome(
                "FAIL",
                "signed in",
                f"the Azure CLI uses subscription {account.get('id')}, azd deploys to {wanted}: "
                f"run az account set --subscription {wanted}",
            ),
            None,
        )
    user = account.get("user") or {}
    return Outcome(
        "ok", "signed in", f"{user.get('name', '?')} on subscription {account.get('id')}"
    ), account


def _matches(pattern: str, action: str) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\*", ".*") + "$"
    return re.match(regex, action, flags=re.I) is not None


def allowed(permissions: Iterable[Mapping[str, Any]], action: str) -> bool:
    """Whether ARM's permission entries allow ``action`` (actions minus notActions)."""
    for entry in permissions:
        granted = any(_matches(p, action) for p in entry.get("actions", []))
        denied = any(_matches(p, action) for p in entry.get("notActions", []))
        if granted and not denied:
            return True
    return False


def check_rights(runner: Runner, subscription: str) -> list[Outcome]:
    url = (
        f"https://management.azure.com/subscriptions/{subscription}/providers/"
        "Microsoft.Authorization/permissions?api-version=2022-04-01"
    )
    ran = runner(["az", "rest", "--method", "get", "--url", url, "--output", "json"])
    data = json_of(ran)
    if not isinstance(data, dict):
        # Not knowing is no proof of missing rights: say so, and let Azure decide.
        detail = first_line(ran) if ran is not None else "az is missing"
        return [Outcome("warn", "rights", f"could not read your permissions ({detail})")]
    permissions = data.get("value", [])
    outcomes = []
    for action, why in REQUIRED_ACTIONS.items():
        if allowed(permissions, action):
            outcomes.append(Outcome("ok", "rights", action))
        else:
            outcomes.append(
                Outcome(
                    "FAIL", "rights", f"cannot {why}: {action} is not allowed on the subscription"
                )
            )
    return outcomes


def check_graph_rights(runner: Runner, account: Mapping[str, Any]) -> list[Outcome]:
    """GRANT_BC_APP_ROLE=true: the deployer grants Business Central's app role itself."""
    outcomes = []
    user = account.get("user") or {}
    if user.get("type") != "user":
        outcomes.append(
            Outcome(
                "warn",
                "Entra rights",
                "signed in as a service principal: it needs the application permissions "
                "AppRoleAssignment.ReadWrite.All and Application.Read.All on Microsoft Graph, "
                "which this check cannot see",
            )
        )
    else:
        url = (
            "https://graph.microsoft.com/v1.0/me/transitiveMemberOf/"
            "microsoft.graph.directoryRole?$select=displayName,roleTemplateId"
        )
        data = json_of(runner(["az", "rest", "--method", "get", "--url", url, "--output", "json"]))
        roles = data.get("value", []) if isinstance(data, dict) else None
        held = [
            GRANTING_ROLES[r.get("roleTemplateId")]
            for r in roles or []
            if r.get("roleTemplateId") in GRANTING_ROLES
        ]
        if roles is None:
            outcomes.append(Outcome("warn", "Entra rights", "could not read your Entra roles"))
        elif held:
            outcomes.append(Outcome("ok", "Entra rights", ", ".join(sorted(held))))
        else:
            outcomes.append(
                Outcome(
                    "FAIL",
                    "Entra rights",
                    "GRANT_BC_APP_ROLE=true needs an active Entra role that may grant app "
                    f"roles ({', '.join(sorted(GRANTING_ROLES.values()))}; with PIM, "
                    "activate it first), or azd env set GRANT_BC_APP_ROLE false and step 2a of "
                    "docs/deploy.md by hand",
                )
            )
    found = runner(["az", "ad", "sp", "show", "--id", BUSINESS_CENTRAL_APP_ID, "--output", "json"])
    if json_of(found) is None:
        outcomes.append(
            Outcome(
                "FAIL",
                "Business Central",
                "no service principal for Business Central in this tenant: sign in to "
                f"Business Central once as an administrator, or az ad sp create --id "
                f"{BUSINESS_CENTRAL_APP_ID}",
            )
        )
    else:
        outcomes.append(Outcome("ok", "Business Central", "its service principal exists"))
    return outcomes


# --- the environment -----------------------------------------------------------------


def check_location(runner: Runner, env: Mapping[str, str]) -> Outcome:
    location = env.get("AZURE_LOCATION", "").strip()
    if not location:
        return Outcome("warn", "region", "AZURE_LOCATION is not set yet: azd will ask for it")
    ran = runner(
        [
            "az",
            "functionapp",
            "list-flexconsumption-locations",
            "--runtime",
            "python",
            "--output",
            "json",
        ]
    )
    data = json_of(ran)
    if not isinstance(data, list):
        return Outcome("warn", "region", "could not list the Flex Consumption regions")
    names = {str(item.get("name", "")).lower().replace(" ", "") for item in data}
    if location.lower().replace(" ", "") not in names:
        return Outcome(
            "FAIL",
            "region",
            f"{location} offers no Flex Consumption for Python: pick one of "
            "az functionapp list-flexconsumption-locations --runtime python, in a new "
            "azd environment (a resource group cannot move)",
        )
    return Outcome("ok", "region", f"{location} offers Flex Consumption for Python")


def check_settings(env: Mapping[str, str]) -> list[Outcome]:
    outcomes = []
    secret = env.get("BULK_JOB_SECRET", "")
    if len(secret.strip()) < MIN_SECRET_CHARS:
        outcomes.append(
            Outcome(
                "FAIL",
                "BULK_JOB_SECRET",
                "not set, or shorter than 32 characters: azd env set BULK_JOB_SECRET "
                '"$(openssl rand -base64 48)", once, and keep it',
            )
        )
    else:
        outcomes.append(Outcome("ok", "BULK_JOB_SECRET", "set (not shown)"))
    maximum = env.get("MAXIMUM_INSTANCE_COUNT", "").strip()
    if maximum.isdigit() and int(maximum) < FLEX_LOWEST_MAXIMUM:
        outcomes.append(
            Outcome(
                "warn",
                "MAXIMUM_INSTANCE_COUNT",
                f"{maximum} is below 40, which most Flex Consumption regions refuse",
            )
        )
    if enabled(env.get("GRANT_BC_APP_ROLE")) and not env.get("MANAGED_IDENTITY_PRINCIPAL_ID"):
        outcomes.append(
            Outcome(
                "warn",
                "first provision",
                "the identity and its Business Central app role are created in one deployment; "
                "if bc-app-role fails with 'Not a valid reference update', Microsoft Graph did not "
                "see the new identity yet: run azd provision again",
            )
        )
    return outcomes


def checks(runner: Runner, env: Mapping[str, str]) -> list[Outcome]:
    outcomes = [check_azd(runner), check_az(runner)]
    outcomes += check_bicep(runner, env)
    outcomes += check_settings(env)
    signed_in, account = check_account(runner, env)
    outcomes.append(signed_in)
    if account is not None:
        outcomes += check_rights(runner, str(account.get("id", "")))
        outcomes.append(check_location(runner, env))
        if enabled(env.get("GRANT_BC_APP_ROLE")):
            outcomes += check_graph_rights(runner, account)
    return outcomes


def main(env: Mapping[str, str] | None = None, runner: Runner = run) -> int:
    env = os.environ if env is None else env
    if enabled(env.get("SKIP_PREFLIGHT")):
        print("preflight: skipped (SKIP_PREFLIGHT)")
        return 0
    outcomes = checks(runner, env)
    for outcome in outcomes:
        print(f"{outcome.status:<4} {outcome.name}: {outcome.text}")
    failed = [outcome for outcome in outcomes if outcome.status == "FAIL"]
    if failed:
        print(f"preflight: FAILED ({len(failed)}); fix the above, then provision again")
        return 1
    print("preflight: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
