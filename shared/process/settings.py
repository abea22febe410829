"""Typed settings, read from the environment and validated once.

Errors name the setting and never echo its value: a misconfigured secret-ish
value (a tenant id pasted in the wrong box, say) must not end up in a log or
a response.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from shared.process.guids import GUID_RE
from shared.process.paths import API_PREFIX, PROBLEMS

# An Entra tenant is a GUID or a verified domain; either way it goes into the
# upstream URL path, so nothing beyond DNS label characters is allowed.
_TENANT_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,30}\Z")
_SECRET_RE = re.compile(r"^[\x21-\x7e]+\Z")
_ROLE_RE = re.compile(r"^[\x21-\x7e]{1,120}\Z")
_DIGITS_RE = re.compile(r"^[0-9]{1,12}\Z")

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.businesscentral.dynamics.com"
DEFAULT_SCOPE = "https://api.businesscentral.dynamics.com/.default"
# Where the proxy runs when nothing says otherwise: the documented local base.
LOCAL_HOSTNAME = "127.0.0.1:7071"
PROBLEMS_PATH = f"{API_PREFIX}/{PROBLEMS}"
# 32 characters of base64 carry 192 bits: more than a guess can reach.
MIN_SECRET_CHARS = 32
JOB_SECRET_SETTING = "BULK_JOB_SECRET"  # noqa: S105 (the setting's name, not a value)
# When App Service cannot resolve a Key Vault reference, the app setting holds the
# reference text itself: long and printable, it would otherwise pass as a secret that
# anyone reading the site's configuration knows.
KEY_VAULT_REFERENCE_PREFIX = "@Microsoft.KeyVault("
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?\Z")
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "[::1]"}

CallerAuth = Literal["key", "entra"]


class SettingsError(Exception):
    """One or more settings are missing or invalid; ``names`` lists them."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{name}: {why}" for name, why in self.problems.items()))

    @property
    def names(self) -> list[str]:
        return list(self.problems)


@dataclass(frozen=True)
class Settings:
    bc_tenant_id: str
    bc_environment: str = "production"
    bc_base_url: str = DEFAULT_BASE_URL
    bc_scope: str = DEFAULT_SCOPE
    azure_client_id: str | None = None
    if_match_default: str | None = None
    amount_decimals: int = 2
    max_body_bytes: int = 65536
    caller_auth: CallerAuth = "key"
    allowed_callers: frozenset[str] = field(default_factory=frozenset)
    required_caller_role: str | None = None
    allowed_company_ids: frozenset[str] | None = None
    allowed_journal_ids: frozenset[str] | None = None
    problem_docs_url: str | None = None
    public_base_url: str = f"http://{LOCAL_HOSTNAME}{API_PREFIX}"
    sync_budget_s: float = 30.0
    bc_max_concurrency: int = 5
    bc_connect_timeout_s: float = 5.0
    bc_read_timeout_s: float = 20.0
    read_back_reserve_s: float = 5.0
    min_attempt_s: float = 5.0
    # Bulk jobs: how much one job may hold, and how hard it may push Business
    # Central ($batch size and batches in flight per job).
    bulk_max_items: int = 1000
    bulk_max_body_bytes: int = 2 * 1024 * 1024
    bulk_batch_size: int = 100
    bulk_max_concurrency: int = 2
    # Keys the bulk job ids and status tokens (HMAC-SHA256). Unset: the bulk routes
    # answer 500 proxy-misconfigured naming it; everything else works.
    bulk_job_secret: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every setting; raise :class:`SettingsError` naming all bad ones."""
        reader = _Reader(environ)
        settings = cls(
            bc_tenant_id=reader.text("BC_TENANT_ID", None, _TENANT_RE, "a tenant GUID or domain"),
            bc_environment=reader.text(
                "BC_ENVIRONMENT", "production", _ENVIRONMENT_RE, "letters, digits, - and _"
            ),
            bc_base_url=reader.base_url("BC_BASE_URL", DEFAULT_BASE_URL),
            bc_scope=reader.text(
                "BC_SCOPE", DEFAULT_SCOPE, re.compile(r"^[\x21-\x7e]{1,500}\Z"), "a scope"
            ),
            azure_client_id=reader.optional_guid("AZURE_CLIENT_ID"),
            if_match_default=reader.choice("IF_MATCH_DEFAULT", None, ("*",)),
            amount_decimals=reader.integer("AMOUNT_DECIMALS", 2, 0, 20),
            max_body_bytes=reader.integer("MAX_BODY_BYTES", 65536, 2, 4 * 1024 * 1024),
            caller_auth=reader.caller_auth("CALLER_AUTH"),
            allowed_callers=reader.id_set("ALLOWED_CALLERS") or frozenset(),
            required_caller_role=reader.text("REQUIRED_CALLER_ROLE", "", _ROLE_RE, "a role name")
            or None,
            allowed_company_ids=reader.id_set("ALLOWED_COMPANY_IDS"),
            allowed_journal_ids=reader.id_set("ALLOWED_JOURNAL_IDS"),
            problem_docs_url=reader.optional_url("PROBLEM_DOCS_URL"),
            public_base_url=reader.public_base_url("WEBSITE_HOSTNAME"),
            sync_budget_s=reader.number("SYNC_BUDGET_S", 30.0, 1.0, 220.0),
            bc_max_concurrency=reader.integer("BC_MAX_CONCURRENCY", 5, 1, 100),
            bc_connect_timeout_s=reader.number("BC_CONNECT_TIMEOUT_S", 5.0, 0.1, 60.0),
            bc_read_timeout_s=reader.number("BC_READ_TIMEOUT_S", 20.0, 0.1, 220.0),
            read_back_reserve_s=reader.number("READ_BACK_RESERVE_S", 5.0, 0.0, 120.0),
            min_attempt_s=reader.number("MIN_ATTEMPT_S", 5.0, 0.1, 220.0),
            bulk_max_items=reader.integer("BULK_MAX_ITEMS", 1000, 1, 10000),
            bulk_max_body_bytes=reader.integer(
                "BULK_MAX_BODY_BYTES", 2 * 1024 * 1024, 1024, 32 * 1024 * 1024
            ),
            # Business Central refuses a $batch of more than 100 operations.
            bulk_batch_size=reader.integer("BULK_BATCH_SIZE", 100, 1, 100),
            bulk_max_concurrency=reader.integer("BULK_MAX_CONCURRENCY", 2, 1, 20),
            bulk_job_secret=reader.secret(JOB_SECRET_SETTING, MIN_SECRET_CHARS),
        )
        reader.check_budget(settings)
        reader.check_platform_authentication(settings)
        reader.check_entra_callers(settings)
        if reader.problems:
            raise SettingsError(reader.problems)
        return settings

    @property
    def problems_url(self) -> str:
        """Base of every problem ``type`` URI: this deployment's own page by default."""
        return (
            self.problem_docs_url or self.public_base_url.removesuffix(API_PREFIX) + PROBLEMS_PATH
        )

    @property
    def checks_callers(self) -> bool:
        """Whether requests must carry an App Service Authentication principal."""
        return (
            self.caller_auth == "entra"
            or bool(self.allowed_callers)
            or self.required_caller_role is not None
        )


_current: Settings | None = None


def current_settings() -> Settings:
    """The process's settings, read once; raises SettingsError until they are valid."""
    global _current
    if _current is None:
        _current = Settings.from_env(os.environ)
    return _current


def reset_settings() -> None:
    """Forget the settings read, so that the next request reads the environment again."""
    global _current
    _current = None


def startup_check(environ: Mapping[str, str]) -> list[str]:
    """Validate the settings when the app starts; log and return the bad names.

    Never raises: the app must still start so that every payment request can
    answer 500 proxy-misconfigured naming the setting. Values are never logged.
    """
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        log.error(
            "invalid settings: %s. Payment requests answer 500 proxy-misconfigured "
            "until they are fixed.",
            ", ".join(exc.names),
        )
        return exc.names
    if settings.bulk_job_secret is None:
        unresolved = unresolved_reference(environ.get(JOB_SECRET_SETTING))
        log.warning(
            "%s %s: the bulk routes answer 500 proxy-misconfigured until it is.",
            JOB_SECRET_SETTING,
            "is a Key Vault reference the platform did not resolve" if unresolved else "is not set",
        )
    return []


def unresolved_reference(value: str | None) -> bool:
    """Whether a setting holds a Key Vault reference instead of the secret it names."""
    return value is not None and value.strip().startswith(KEY_VAULT_REFERENCE_PREFIX)


def fallback_problems_url(environ: Mapping[str, str]) -> str:
    """The problems page when the settings themselves are unreadable."""
    base = _Reader(environ).public_base_url("WEBSITE_HOSTNAME")
    return base.removesuffix(API_PREFIX) + PROBLEMS_PATH


def caller_auth_mode(environ: Mapping[str, str]) -> CallerAuth:
    """The caller authentication mode, needed before the app's routes exist.

    An invalid value falls back to ``key`` (the stricter Functions auth level);
    the full settings check then reports it on every payment request.
    """
    value = environ.get("CALLER_AUTH", "").strip().lower()
    return "entra" if value == "entra" else "key"


class _Reader:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ
        self.problems: dict[str, str] = {}

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def text(self, name: str, default: str | None, pattern: re.Pattern[str], what: str) -> str:
        value = self._raw(name)
        if value is None:
            if default is None:
                self.problems[name] = "is required"
                return ""
            return default
        if not pattern.match(value):
            self.problems[name] = f"must be {what}"
        return value

    def base_url(self, name: str, default: str) -> str:
        value = self._raw(name) or default
        parts = urlsplit(value)
        loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
        if (
            parts.scheme not in {"https", "http"}
            or (parts.scheme == "http" and not loopback)
            or not parts.hostname
            or parts.query
            or parts.fragment
            or parts.username
            or parts.password
        ):
            self.problems[name] = "must be an https URL (http only for a loopback address)"
        return value.rstrip("/")

    def optional_url(self, name: str) -> str | None:
        return self.base_url(name, "") if self._raw(name) is not None else None

    def public_base_url(self, name: str) -> str:
        """This deployment's own ``/api`` base, from the host name the platform sets.

        Azure sets WEBSITE_HOSTNAME (and so do the Functions tools locally); the
        request's Host header is never used: a caller could make it anything.
        """
        value = self._raw(name)
        if value is None:
            return f"http://{LOCAL_HOSTNAME}{API_PREFIX}"
        if not _HOSTNAME_RE.match(value):
            self.problems[name] = "must be a host name, optionally with a port"
            return f"http://{LOCAL_HOSTNAME}{API_PREFIX}"
        host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
        scheme = "http" if host.lower() in _LOOPBACK_NAMES else "https"
        return f"{scheme}://{value.lower()}{API_PREFIX}"

    def check_budget(self, settings: Settings) -> None:
        """A PATCH attempt must fit beside the read-back reserve, or none ever starts."""
        needed = settings.read_back_reserve_s + settings.min_attempt_s
        if settings.sync_budget_s < needed:
            self.problems.setdefault(
                "SYNC_BUDGET_S",
                "must be at least READ_BACK_RESERVE_S + MIN_ATTEMPT_S",
            )

    def secret(self, name: str, min_chars: int) -> bytes | None:
        """None when unset, and when the platform left a Key Vault reference unresolved:
        either way the routes that need it refuse, and only those."""
        value = self._raw(name)
        if value is None or unresolved_reference(value):
            return None
        if not min_chars <= len(value) <= 1024 or not _SECRET_RE.match(value):
            self.problems[name] = (
                f"must be {min_chars} to 1024 printable characters without spaces "
                "(openssl rand -base64 48 makes one)"
            )
            return None
        return value.encode("ascii")

    def optional_guid(self, name: str) -> str | None:
        value = self._raw(name)
        if value is not None and not GUID_RE.match(value):
            self.problems[name] = "must be a GUID"
        return value

    def choice(self, name: str, default: str | None, allowed: tuple[str, ...]) -> str | None:
        value = self._raw(name)
        if value is None:
            return default
        if value not in allowed:
            self.problems[name] = "must be one of " + ", ".join(allowed) + " or unset"
        return value

    def caller_auth(self, name: str) -> CallerAuth:
        value = (self._raw(name) or "key").lower()
        if value == "entra":
            return "entra"
        if value != "key":
            self.problems[name] = "must be key or entra"
        return "key"

    def check_platform_authentication(self, settings: Settings) -> None:
        """Caller checks need App Service Authentication in front when hosted.

        Only that platform feature strips a caller-sent X-MS-CLIENT-PRINCIPAL;
        without it anyone who can reach the app (with a function key, say)
        could write their own principal. App Service tells the app whether
        it is on through WEBSITE_AUTH_ENABLED; off the platform (local runs,
        tests) there is nothing to ask.
        """
        hosted = any(self._raw(name) for name in ("WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME"))
        if not hosted or not settings.checks_callers:
            return
        if (self._raw("WEBSITE_AUTH_ENABLED") or "").lower() in ("true", "1"):
            return
        name = (
            "CALLER_AUTH"
            if settings.caller_auth == "entra"
            else ("ALLOWED_CALLERS" if settings.allowed_callers else "REQUIRED_CALLER_ROLE")
        )
        self.problems.setdefault(
            name, "needs App Service Authentication enabled on the function app"
        )

    def check_entra_callers(self, settings: Settings) -> None:
        """Entra mode needs a caller list or an app role: closed by default.

        Without either, any app or user of the tenant that can get a token for
        the API would be let in; a finance team never wants that default.
        """
        if settings.caller_auth != "entra" or settings.allowed_callers:
            return
        if settings.required_caller_role is not None:
            return
        if "ALLOWED_CALLERS" in self.problems or "REQUIRED_CALLER_ROLE" in self.problems:
            return  # one of them was given but is invalid: that problem says enough
        why = "with CALLER_AUTH=entra, set ALLOWED_CALLERS or REQUIRED_CALLER_ROLE (or both)"
        self.problems["ALLOWED_CALLERS"] = why
        self.problems["REQUIRED_CALLER_ROLE"] = why

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        # int() would also take "1_000", "+5" and non-ASCII digits.
        if not _DIGITS_RE.match(value):
            self.problems[name] = f"must be a whole number from {low} to {high}"
            return default
        number = int(value)
        if not low <= number <= high:
            self.problems[name] = f"must be a whole number from {low} to {high}"
        return number

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not low <= number <= high:
            self.problems[name] = f"must be a number from {low:g} to {high:g}"
            return default
        return number

    def id_set(self, name: str) -> frozenset[str] | None:
        """Comma-separated GUIDs, compared case-insensitively; unset means no limit."""
        value = self._raw(name)
        if value is None:
            return None
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items or not all(GUID_RE.match(item) for item in items):
            self.problems[name] = "must be a comma-separated list of GUIDs"
        return frozenset(item.lower() for item in items)
