"""Settings: defaults, validation, and errors that name without echoing."""

from __future__ import annotations

import logging

import pytest

from shared.process.settings import Settings, SettingsError, caller_auth_mode, startup_check
from tests.support.fakes import BASE_ENV, COMPANY, settings_with
from tests.support.principals import APP_ID, OTHER_ID

TENANT = "11111111-2222-3333-4444-555555555555"


def test_defaults() -> None:
    settings = Settings.from_env({"BC_TENANT_ID": TENANT})
    assert settings.bc_environment == "production"
    assert settings.bc_base_url == "https://api.businesscentral.dynamics.com"
    assert settings.bc_scope == "https://api.businesscentral.dynamics.com/.default"
    assert settings.amount_decimals == 2
    assert settings.max_body_bytes == 65536
    assert settings.caller_auth == "key"
    assert settings.if_match_default is None
    assert settings.allowed_company_ids is None
    assert settings.allowed_journal_ids is None
    assert settings.sync_budget_s == 30
    assert settings.bc_max_concurrency == 5


def test_tenant_is_required() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({})
    assert caught.value.names == ["BC_TENANT_ID"]


def test_every_bad_setting_is_named_and_no_value_is_echoed() -> None:
    env = {
        "BC_TENANT_ID": "contoso.onmicrosoft.com/../../x",
        "BC_ENVIRONMENT": "prod uction",
        "BC_BASE_URL": "http://evil.example.com",
        "AMOUNT_DECIMALS": "two",
        "MAX_BODY_BYTES": "0",
        "CALLER_AUTH": "password123",
        "IF_MATCH_DEFAULT": 'W/"x"',
        "ALLOWED_COMPANY_IDS": "abc,def",
        "AZURE_CLIENT_ID": "not-a-guid",
        "SYNC_BUDGET_S": "nan",
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert set(caught.value.names) == set(env)
    for value in ("password123", "evil.example.com", "abc,def"):
        assert value not in str(caught.value)


def test_domain_tenant_and_loopback_http_are_allowed() -> None:
    settings = Settings.from_env(
        {"BC_TENANT_ID": "contoso.onmicrosoft.com", "BC_BASE_URL": "http://127.0.0.1:7072/"}
    )
    assert settings.bc_base_url == "http://127.0.0.1:7072"


def test_allow_lists_are_case_insensitive_sets() -> None:
    settings = Settings.from_env(
        {"BC_TENANT_ID": TENANT, "ALLOWED_COMPANY_IDS": f" {TENANT.upper()} , {TENANT} "}
    )
    assert settings.allowed_company_ids == frozenset({TENANT})


@pytest.mark.parametrize(
    ("value", "mode"),
    [("entra", "entra"), ("ENTRA", "entra"), ("key", "key"), ("", "key"), ("x", "key")],
)
def test_caller_auth_mode_falls_back_to_the_stricter_key(value: str, mode: str) -> None:
    assert caller_auth_mode({"CALLER_AUTH": value}) == mode


KEY_VAULT_REFERENCE = (
    "@Microsoft.KeyVault(SecretUri=https://kv-abc.vault.azure.net/secrets/bulk-job-secret/"
    "0123456789abcdef0123456789abcdef)"
)


def test_an_unresolved_key_vault_reference_is_no_job_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # App Service leaves the reference text in the setting when it cannot read the vault:
    # printable and long, it would pass the secret's checks, and anyone who can read the
    # site's configuration knows it. The bulk routes refuse instead; nothing else does.
    environ = {"BC_TENANT_ID": TENANT, "BULK_JOB_SECRET": KEY_VAULT_REFERENCE}
    assert Settings.from_env(environ).bulk_job_secret is None
    with caplog.at_level("WARNING"):
        assert startup_check(environ) == []
    assert "BULK_JOB_SECRET is a Key Vault reference the platform did not resolve" in caplog.text
    assert "kv-abc" not in caplog.text
    resolved = {"BC_TENANT_ID": TENANT, "BULK_JOB_SECRET": "x" * 40 + KEY_VAULT_REFERENCE}
    assert Settings.from_env(resolved).bulk_job_secret is not None


def test_budget_must_leave_room_for_an_attempt_beside_the_reserve() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {**BASE_ENV, "SYNC_BUDGET_S": "9", "READ_BACK_RESERVE_S": "5", "MIN_ATTEMPT_S": "5"}
        )
    assert caught.value.names == ["SYNC_BUDGET_S"]
    assert (
        Settings.from_env(
            {**BASE_ENV, "SYNC_BUDGET_S": "10", "READ_BACK_RESERVE_S": "5", "MIN_ATTEMPT_S": "5"}
        ).sync_budget_s
        == 10
    )


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env({"BC_TENANT_ID": "contoso.onmicrosoft.com"})
    assert (settings.read_back_reserve_s, settings.min_attempt_s) == (5.0, 5.0)
    assert settings.problems_url == "http://127.0.0.1:7071/api/problems"


def test_problem_types_point_at_this_deployment() -> None:
    hosted = settings_with(WEBSITE_HOSTNAME="payments-proxy.azurewebsites.net")
    assert hosted.problems_url == "https://payments-proxy.azurewebsites.net/api/problems"
    local = settings_with(WEBSITE_HOSTNAME="localhost:7071")
    assert local.problems_url == "http://localhost:7071/api/problems"
    docs = settings_with(PROBLEM_DOCS_URL="https://docs.contoso.example/problems")
    assert docs.problems_url == "https://docs.contoso.example/problems"
    with pytest.raises(SettingsError) as caught:
        settings_with(WEBSITE_HOSTNAME="evil.example/path?x")
    assert caught.value.names == ["WEBSITE_HOSTNAME"]


def test_entra_mode_needs_a_caller_list_or_a_role_at_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        names = startup_check({**BASE_ENV, "CALLER_AUTH": "entra"})
    assert names == ["ALLOWED_CALLERS", "REQUIRED_CALLER_ROLE"]
    assert "REQUIRED_CALLER_ROLE" in caplog.text
    # Either one alone closes the door; key mode needs neither.
    assert startup_check({**BASE_ENV, "CALLER_AUTH": "entra", "ALLOWED_CALLERS": APP_ID}) == []
    assert startup_check({**BASE_ENV, "CALLER_AUTH": "entra", "REQUIRED_CALLER_ROLE": "R"}) == []
    assert startup_check(BASE_ENV) == []
    # A list that is given but broken is reported as itself, not as missing.
    broken = {**BASE_ENV, "CALLER_AUTH": "entra", "ALLOWED_CALLERS": "not-a-guid"}
    assert startup_check(broken) == ["ALLOWED_CALLERS"]


def test_hosted_caller_checks_need_app_service_authentication() -> None:
    hosted = {"WEBSITE_SITE_NAME": "func-api-x", "WEBSITE_INSTANCE_ID": "abc"}
    role = {"REQUIRED_CALLER_ROLE": "Payments.Write"}
    for values, name in (
        ({"CALLER_AUTH": "entra", **role}, "CALLER_AUTH"),
        ({"ALLOWED_CALLERS": APP_ID}, "ALLOWED_CALLERS"),
        (role, "REQUIRED_CALLER_ROLE"),
        ({"CALLER_AUTH": "entra", "WEBSITE_AUTH_ENABLED": "False", **role}, "CALLER_AUTH"),
    ):
        with pytest.raises(SettingsError) as raised:
            settings_with(**hosted, **values)
        assert raised.value.names == [name]
    enabled = {"CALLER_AUTH": "entra", "WEBSITE_AUTH_ENABLED": "True", **role}
    assert settings_with(**hosted, **enabled).checks_callers
    assert not settings_with(**hosted).checks_callers  # function keys alone need nothing
    assert settings_with(CALLER_AUTH="entra", **role).checks_callers  # local runs and tests


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AMOUNT_DECIMALS", "\uff12"),  # fullwidth 2
        ("AMOUNT_DECIMALS", "1_0"),
        ("AMOUNT_DECIMALS", "+2"),
        ("MAX_BODY_BYTES", "9" * 5000),
        ("ALLOWED_COMPANY_IDS", COMPANY + "\n,x"),
        ("ALLOWED_CALLERS", f"{APP_ID};{OTHER_ID}"),
        ("REQUIRED_CALLER_ROLE", "Payments Write"),
        ("BC_ENVIRONMENT", "production/../other"),
        ("BC_TENANT_ID", "contoso.com/evil"),
        ("BC_SCOPE", "https://api.businesscentral.dynamics.com/.default\u202e"),
        ("BC_BASE_URL", "http://evil.example"),
        ("BC_BASE_URL", "https://user:pass@api.businesscentral.dynamics.com"),
    ],
)
def test_hostile_setting_values_are_named_never_shown(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_with(**{name: value})
    assert name in raised.value.names
    assert value.strip() not in str(raised.value)


def test_startup_check_logs_names_never_values(caplog: pytest.LogCaptureFixture) -> None:
    secretish = "client-secret-pasted-by-mistake"
    with caplog.at_level(logging.DEBUG):
        names = startup_check({**BASE_ENV, "BC_ENVIRONMENT": secretish, "ALLOWED_CALLERS": "x"})
    assert names == ["BC_ENVIRONMENT", "ALLOWED_CALLERS"]
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "BC_ENVIRONMENT" in record.getMessage()
    assert "ALLOWED_CALLERS" in record.getMessage()
    assert secretish not in caplog.text
    assert startup_check(BASE_ENV) == []
