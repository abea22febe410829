"""What a GUID looks like: the one pattern every id the proxy checks or writes is
held to (path ids, settings, a bulk item's id, OData literals, the schemas)."""

from __future__ import annotations

import re

# Eight, four, four, four and twelve hexadecimal digits, either case: no braces, no quotes.
GUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
# \Z, not $: "$" also matches before a trailing newline, and a path id such as
# "<guid>%0A" must never pass as a GUID into the upstream URL.
GUID_RE = re.compile(rf"^{GUID}\Z")
# The same as JSON Schema and the payment models write it (their "$" ends the text).
GUID_PATTERN = f"^{GUID}$"
