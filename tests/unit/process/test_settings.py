"""Settings: defaults, validation, and errors that name without echoing."""

from __future__ import annotations

import pytest

from shared.process.settings import Settings, SettingsError, caller_auth_mode, startup_check

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
