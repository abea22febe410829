"""The proxy's setting names, derived from the Settings dataclass (each field
is read from the upper-cased environment variable of the same name)."""

from __future__ import annotations

import dataclasses

from shared.process.settings import Settings

# public_base_url is read from the platform's WEBSITE_HOSTNAME.
SETTING_NAMES = (
    *(f.name.upper() for f in dataclasses.fields(Settings) if f.name != "public_base_url"),
    "WEBSITE_HOSTNAME",
)
# Read by azure-identity rather than by Settings.
IDENTITY_NAMES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET")
