"""The proxy's setting names, derived from the Settings dataclass (each field
is read from the upper-cased environment variable of the same name)."""

from __future__ import annotations

import dataclasses

from shared.settings import Settings

SETTING_NAMES = tuple(f.name.upper() for f in dataclasses.fields(Settings))
# Read by azure-identity rather than by Settings.
IDENTITY_NAMES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET")
