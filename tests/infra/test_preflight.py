"""`make preflight` (azure.yaml's preprovision hook) as azd runs it: a subprocess whose
PATH holds only fake `azd`, `az` and `bicep` executables. Azure cannot run here, so the
fakes print what the real tools print (their versions, `az account show`, ARM's
permissions of the caller, Microsoft Graph's directory roles); everything between them
and the verdict is the real script."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts import preflight
from tests.support.bicep import REPO

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
SECRET = "preflight-test-secret-0123456789-abcdefgh"
PERMISSIONS_URL = (
    f"https://management.azure.com/subscriptions/{SUBSCRIPTION}/providers/"
    "Microsoft.Authorization/permissions"
)
OWNER = [{"actions": ["*"], "notActions": []}]
# Contributor's own entry, as ARM lists it: everything but writing authorization.
CONTRIBUTOR = [
    {
        "actions": ["*"],
        "notActions": [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
    }
]
RBAC_ADMINISTRATOR = [
    {"actions": ["Microsoft.Authorization/roleAssignments/write", "*/read"], "notActions": []}
]
CLOUD_APPLICATION_ADMINISTRATOR = {
    "displayName": "Cloud Application Administrator",
    "roleTemplateId": "158c047a-c907-4556-b7ef-446551a6b5f7",
}

FAKE = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
args = " ".join(sys.argv[1:])
with open(os.environ["FAKE_TOOLS_LOG"], "a") as log:
    log.write(name + " " + args + "\\n")
answers = json.load(open(os.environ["FAKE_TOOLS"]))[name]
for prefix, answer in answers:
    if args.startswith(prefix):
        sys.stdout.write(answer.get("out", ""))
        sys.stderr.write(answer.get("err", ""))
        sys.exit(answer.get("code", 0))
sys.stderr.write("fake " + name + ": nothing for " + args + "\\n")
sys.exit(2)
"""


def as_json(value: Any) -> dict[str, Any]:
    return {"out": json.dumps(value)}


def tools(
    *,
    azd: str = "azd version 1.18.1 (commit 0123456)\n",
    az: str = "2.76.0",
    bicep: dict[str, Any] | None = None,
    account: dict[str, Any] | None = None,
    permissions: list[dict[str, Any]] | None = None,
    locations: tuple[str, ...] = ("westeurope", "swedencentral"),
    roles: list[dict[str, str]] | None = None,
    bc_service_principal: bool = True,
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """What each fake answers, by the start of its arguments."""
    signed_in = account or {
        "id": SUBSCRIPTION,
        "user": {"name": "ops@contoso.com", "type": "user"},
    }
    return {
        "azd": [("version", {"out": azd})],
        "az": [
            ("version", as_json({"azure-cli": az, "azure-cli-core": az, "extensions": {}})),
            ("bicep version", bicep or {"out": "Bicep CLI version 0.37.4 (a0b1c2d3e4)\n"}),
            ("account show", as_json(signed_in) if signed_in.get("id") else signed_in),
            (
                f"rest --method get --url {PERMISSIONS_URL}",
                as_json({"value": OWNER if permissions is None else permissions}),
            ),
            (
                "rest --method get --url https://graph.microsoft.com/v1.0/me/",
                as_json({"value": roles or []}),
            ),
            (
                "functionapp list-flexconsumption-locations",
                as_json([{"name": name} for name in locations]),
            ),
            (
                f"ad sp show --id {preflight.BUSINESS_CENTRAL_APP_ID}",
                as_json({"appId": preflight.BUSINESS_CENTRAL_APP_ID})
                if bc_service_principal
                else {"code": 3, "err": "ERROR: Resource does not exist\n"},
            ),
        ],
        "bicep": [("--version", {"out": "Bicep CLI version 0.35.1 (0fa1b2c3d4)\n"})],
    }


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str
    calls: list[str]  # every command the fakes were asked, in order


Run = Callable[..., Done]


@pytest.fixture
def run_preflight(tmp_path: Path) -> Run:
    def run(
        answers: dict[str, Any] | None = None,
        *,
        missing: tuple[str, ...] = (),
        **env: str,
    ) -> Done:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name in ("azd", "az", "bicep"):
            path = bin_dir / name
            path.unlink(missing_ok=True)
            if name not in missing:
                path.write_text(FAKE.replace("{python}", sys.executable))
                path.chmod(0o755)
        (tmp_path / "tools.json").write_text(json.dumps(answers or tools()))
        log = tmp_path / "calls.log"
        log.write_text("")
        environment = {
            "PATH": str(bin_dir),
            "FAKE_TOOLS": str(tmp_path / "tools.json"),
            "FAKE_TOOLS_LOG": str(log),
            "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
            "AZURE_LOCATION": "westeurope",
            "BULK_JOB_SECRET": SECRET,
            **env,
        }
        done = subprocess.run(
            [sys.executable, "-m", "scripts.preflight"],
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr, log.read_text().splitlines())

    return run


def lines(done: Done, status: str) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith(status + " ")]


def test_a_ready_machine_passes_and_the_secret_is_never_shown(run_preflight: Run) -> None:
    done = run_preflight()
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "preflight: passed"
    assert lines(done, "FAIL") == []
    assert "ok   azd: 1.18.1" in done.stdout
    assert "ok   Azure CLI: 2.76.0" in done.stdout
    assert "ok   Bicep (az bicep): 0.37.4" in done.stdout
    for action in preflight.REQUIRED_ACTIONS:
        assert f"ok   rights: {action}" in done.stdout
    assert SECRET not in done.stdout + done.stderr
    # Without GRANT_BC_APP_ROLE nothing asks Microsoft Graph.
    assert not [call for call in done.calls if "graph.microsoft.com" in call or " ad " in call]


@pytest.mark.parametrize(
    ("answers", "missing", "expected"),
    [
        (
            tools(azd="azd version 1.16.1 (commit 1)\n"),
            (),
            "FAIL azd: 1.16.1 is older than 1.17.0",
        ),
        ({}, ("azd",), "FAIL azd: not installed"),
        (tools(az="2.70.0"), (), "FAIL Azure CLI: 2.70.0 is older than 2.71.0"),
        ({}, ("az",), "FAIL Azure CLI: not installed"),
        (
            tools(bicep={"out": "Bicep CLI version 0.35.1 (x)\n"}),
            (),
            "FAIL Bicep (az bicep): 0.35.1 is older than 0.36.1",
        ),
        (
            tools(bicep={"code": 1, "err": "Bicep CLI not found.\n"}),
            (),
            "FAIL Bicep (az bicep): Bicep CLI not found.: run az bicep install",
        ),
        (
            tools(account={"code": 1, "err": "Please run 'az login' to setup account.\n"}),
            (),
            "FAIL signed in: the Azure CLI is not signed in: run az login",
        ),
        (
            tools(account={"id": "99999999-0000-0000-0000-000000000000", "user": {}}),
            (),
            f"run az account set --subscription {SUBSCRIPTION}",
        ),
        (
            tools(permissions=CONTRIBUTOR),
            (),
            "FAIL rights: cannot grant the app's identity its roles",
        ),
        (
            tools(locations=("swedencentral",)),
            (),
            "FAIL region: westeurope offers no Flex Consumption for Python",
        ),
    ],
    ids=[
        "old azd",
        "no azd",
        "old Azure CLI",
        "no Azure CLI",
        "old Bicep",
        "no Bicep",
        "not signed in",
        "other subscription",
        "Contributor only",
        "no Flex region",
    ],
)
def test_each_missing_prerequisite_fails_with_what_to_do(
    run_preflight: Run, answers: dict[str, Any], missing: tuple[str, ...], expected: str
) -> None:
    done = run_preflight({**tools(), **answers}, missing=missing)
    assert done.returncode == 1, done.stdout + done.stderr
    assert expected in done.stdout, done.stdout
    assert done.stdout.splitlines()[-1].startswith("preflight: FAILED")


def test_unreadable_permissions_are_a_warning_not_a_verdict(run_preflight: Run) -> None:
    answers = tools()
    answers["az"] = [
        (prefix, {"code": 1, "err": "ERROR: (AuthorizationFailed) no access\n"})
        if prefix.startswith("rest --method get --url https://management")
        else (prefix, answer)
        for prefix, answer in answers["az"]
    ]
    done = run_preflight(answers)
    assert done.returncode == 0, done.stdout
    assert "warn rights: could not read your permissions (ERROR: (AuthorizationFailed)" in (
        done.stdout
    )


def test_contributor_with_rbac_administrator_may_deploy(run_preflight: Run) -> None:
    done = run_preflight(tools(permissions=CONTRIBUTOR + RBAC_ADMINISTRATOR))
    assert done.returncode == 0, done.stdout
    assert "ok   rights: Microsoft.Authorization/roleAssignments/write" in done.stdout


def test_the_job_secret_must_be_set_and_long_enough(run_preflight: Run) -> None:
    for value in ("", "short-secret"):
        done = run_preflight(BULK_JOB_SECRET=value)
        assert done.returncode == 1
        assert "FAIL BULK_JOB_SECRET: not set, or shorter than 32 characters" in done.stdout
        assert "short-secret" not in done.stdout


def test_granting_the_app_role_needs_an_entra_role_and_business_centrals_principal(
    run_preflight: Run,
) -> None:
    done = run_preflight(tools(roles=[]), GRANT_BC_APP_ROLE="true")
    assert done.returncode == 1
    assert "FAIL Entra rights: GRANT_BC_APP_ROLE=true needs an active Entra role" in done.stdout
    # A first provision of the grant: the rerun is said before it is needed.
    assert "warn first provision:" in done.stdout
    assert "run azd provision again" in done.stdout

    granted = run_preflight(
        tools(roles=[CLOUD_APPLICATION_ADMINISTRATOR]),
        GRANT_BC_APP_ROLE="true",
        MANAGED_IDENTITY_PRINCIPAL_ID="provisioned-before",
    )
    assert granted.returncode == 0, granted.stdout
    assert "ok   Entra rights: Cloud Application Administrator" in granted.stdout
    assert "first provision" not in granted.stdout

    no_bc = run_preflight(
        tools(roles=[CLOUD_APPLICATION_ADMINISTRATOR], bc_service_principal=False),
        GRANT_BC_APP_ROLE="true",
    )
    assert no_bc.returncode == 1
    assert "FAIL Business Central: no service principal for Business Central" in no_bc.stdout


def test_a_service_principal_deployer_gets_a_warning_not_a_guess(run_preflight: Run) -> None:
    account = {"id": SUBSCRIPTION, "user": {"name": "app-id", "type": "servicePrincipal"}}
    done = run_preflight(tools(account=account), GRANT_BC_APP_ROLE="true")
    assert done.returncode == 0, done.stdout
    assert "warn Entra rights: signed in as a service principal" in done.stdout
    assert not [call for call in done.calls if "graph.microsoft.com" in call]


def test_warnings_do_not_fail_and_an_own_bicep_is_checked_too(
    run_preflight: Run, tmp_path: Path
) -> None:
    done = run_preflight(MAXIMUM_INSTANCE_COUNT="10")
    assert done.returncode == 0
    assert "warn MAXIMUM_INSTANCE_COUNT: 10 is below 40" in done.stdout
    own = run_preflight(AZD_BICEP_TOOL_PATH=str(tmp_path / "bin" / "bicep"))
    assert own.returncode == 1
    assert "FAIL Bicep (AZD_BICEP_TOOL_PATH): 0.35.1 is older than 0.36.1" in own.stdout


def test_skip_preflight_asks_nothing(run_preflight: Run) -> None:
    done = run_preflight(SKIP_PREFLIGHT="true", BULK_JOB_SECRET="")
    assert (done.returncode, done.stdout.strip()) == (0, "preflight: skipped (SKIP_PREFLIGHT)")
    assert done.calls == []


def test_permission_patterns_follow_arms_wildcards() -> None:
    assert preflight.allowed(OWNER, "Microsoft.Authorization/roleAssignments/write")
    assert not preflight.allowed(CONTRIBUTOR, "Microsoft.Authorization/roleAssignments/write")
    assert preflight.allowed(CONTRIBUTOR, "Microsoft.KeyVault/vaults/secrets/write")
    assert not preflight.allowed(RBAC_ADMINISTRATOR, "Microsoft.Resources/deployments/write")
    assert not preflight.allowed([], "Microsoft.Resources/deployments/write")


def test_azure_yaml_runs_it_before_every_provision_and_requires_the_azd_version() -> None:
    text = (REPO / "azure.yaml").read_text(encoding="utf-8")
    hooks = text.split("\nhooks:\n", 1)[1].split("\n# ", 1)[0]
    assert hooks.startswith("  preprovision:\n")
    assert hooks.count("-m scripts.preflight") == 2  # posix and windows
    assert hooks.count("continueOnError: false") == 2
    minimum = ".".join(map(str, preflight.MIN_AZD))
    assert f'  azd: ">= {minimum}"' in text
