"""The payment line's models per API version, built from the field rules
(``fields``): the PATCH models that validate an update (one message per property,
in body order, with a hint for a near miss), the line models that document an
answer, which properties are read-only, and a value as Business Central stores it
(``stored_form``)."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.payment.fields import (
    CONTROL_RE,
    MAX_INT32,
    PATTERN_CODES,
    Amount,
    ApiVersion,
    AppliesToInvoiceId,
    AppliesToInvoiceNumber,
    CodeField,
    Comment,
    ContactId,
    CustomerId,
    CustomerNumber,
    Description,
    DocumentNumber,
    ExternalDocumentNumber,
    Guid,
    LineNumber,
    PostingDate,
    code_stored,
    shown,
    utf16_length,
)
from shared.process.problems import FieldError

# Absent properties stay absent: defaults are never validated or forwarded,
# while an explicit null fails the type check like any other wrong type.
# defer_build: a model's validator is built when it first validates (or is described),
# not at import; a cold start that serves a GET or a health check never builds one.
_PATCH_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


class _PaymentPatchCommon(BaseModel):
    model_config = _PATCH_CONFIG

    lineNumber: LineNumber = Field(default=cast(Any, None))
    customerId: CustomerId = Field(default=cast(Any, None))
    customerNumber: CustomerNumber = Field(default=cast(Any, None))
    postingDate: PostingDate = Field(default=cast(Any, None))
    documentNumber: DocumentNumber = Field(default=cast(Any, None))
    externalDocumentNumber: ExternalDocumentNumber = Field(default=cast(Any, None))
    amount: Amount = Field(default=cast(Any, None))
    appliesToInvoiceId: AppliesToInvoiceId = Field(default=cast(Any, None))
    appliesToInvoiceNumber: AppliesToInvoiceNumber = Field(default=cast(Any, None))
    description: Description = Field(default=cast(Any, None))
    comment: Comment = Field(default=cast(Any, None))


class PaymentPatchV2(_PaymentPatchCommon):
    """A partial update of a customer payment line, API v2.0."""

    model_config = ConfigDict(title="CustomerPaymentPatchV2", **_PATCH_CONFIG)


class PaymentPatchV1(_PaymentPatchCommon):
    """A partial update of a customer payment line, API v1.0."""

    model_config = ConfigDict(title="CustomerPaymentPatchV1", **_PATCH_CONFIG)

    contactId: ContactId = Field(default=cast(Any, None))


_READ_ONLY: dict[str, Any] = {"json_schema_extra": {"readOnly": True}}


class _PaymentLineCommon(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    id: Guid = Field(description="Id of the payment line.", **_READ_ONLY)
    journalDisplayName: str = Field(description="Code of the journal.", **_READ_ONLY)
    lineNumber: LineNumber
    customerId: CustomerId
    customerNumber: str = Field(description="Number of the customer.")
    postingDate: PostingDate
    documentNumber: str
    externalDocumentNumber: str
    amount: Decimal = Field(description="Amount with Business Central's exact digits.")
    appliesToInvoiceId: CustomerId
    appliesToInvoiceNumber: str
    description: str
    comment: str
    lastModifiedDateTime: str = Field(
        description="Last change, UTC.", json_schema_extra={"format": "date-time", "readOnly": True}
    )
    etag: str = Field(
        description="The line's ETag: send it as If-Match to update this version.", **_READ_ONLY
    )


class PaymentLineV2(_PaymentLineCommon):
    """A customer payment line as returned by the proxy, API v2.0."""

    model_config = ConfigDict(title="CustomerPaymentV2", extra="allow", defer_build=True)

    journalId: Guid = Field(description="Id of the journal.", **_READ_ONLY)


class PaymentLineV1(_PaymentLineCommon):
    """A customer payment line as returned by the proxy, API v1.0."""

    model_config = ConfigDict(title="CustomerPaymentV1", extra="allow", defer_build=True)

    contactId: str
    dimensions: list[dict[str, Any]] = Field(
        default_factory=list, description="Dimensions (not editable here).", **_READ_ONLY
    )


PATCH_MODELS: dict[ApiVersion, type[_PaymentPatchCommon]] = {
    "v2.0": PaymentPatchV2,
    "v1.0": PaymentPatchV1,
}


LINE_MODELS: dict[ApiVersion, type[_PaymentLineCommon]] = {
    "v2.0": PaymentLineV2,
    "v1.0": PaymentLineV1,
}


def _read_only_names() -> frozenset[str]:
    names = set()
    for model in LINE_MODELS.values():
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("readOnly"):
                names.add(name)
    return frozenset(names - {"etag"})


READ_ONLY_PROPERTIES = _read_only_names()


def editable_properties(version: ApiVersion) -> tuple[str, ...]:
    return tuple(PATCH_MODELS[version].model_fields)


def validate_update(
    version: ApiVersion, body: Mapping[str, Any], *, amount_decimals: int
) -> dict[str, Any] | list[FieldError]:
    """The properties to forward, in the caller's order, or every problem found.

    Values are forwarded as sent, except that a numeric-string amount becomes
    the same exact decimal as a JSON number.
    """
    if not body:
        return [FieldError("", "empty", "the body must contain at least one property to update")]
    problems: dict[str, FieldError] = {}
    candidates: dict[str, Any] = {}
    for name, value in body.items():
        if name in READ_ONLY_PROPERTIES or name.startswith("@odata."):
            problems[name] = FieldError(
                name, "read_only", f'"{shown(name)}" is read-only and cannot be changed'
            )
        else:
            candidates[name] = value

    model = PATCH_MODELS[version]
    validated: BaseModel | None = None
    try:
        validated = model.model_validate(candidates, context={"amount_decimals": amount_decimals})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else ""
            problems.setdefault(name, _field_error(version, name, error))

    if problems:
        return [problems[name] for name in body if name in problems]
    assert validated is not None
    return {name: getattr(validated, name) for name in body}


def _field_error(version: ApiVersion, name: str, error: Any) -> FieldError:
    """Pydantic's error, in the proxy's stable codes, with the property named."""
    if error["type"] == "extra_forbidden":
        return FieldError(
            name,
            "unknown_field",
            f'unknown field "{shown(name)}"',
            functools.partial(_unknown_hint, version, name),
        )
    code, message = _rule_error(error)
    return FieldError(name, code, f"{name} {message}")


def _rule_error(error: Any) -> tuple[str, str]:
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = error.get("input")

    if value is None:
        return (
            "null_not_allowed",
            'must not be null; omit it to leave it unchanged, or send "" to clear a text',
        )
    # A Code value's length is its stored form's (see fields.code_stored).
    counted = code_stored(value) if ctx.get("code") else value
    trimmed = ", leading and trailing spaces not counted" if counted != value else ""
    if kind == "string_too_long":
        units = utf16_length(counted)
        wide = " counting characters outside the Basic Multilingual Plane (most emoji) as 2"
        return (
            "too_long",
            f"must be at most {ctx['max_length']} characters (got {units}"
            f"{wide if units != len(counted) else ''}{trimmed})",
        )
    if kind == "string_too_short":
        return ("too_short", f"must be at least {ctx['min_length']} character{trimmed}")
    if kind == "string_pattern_mismatch":
        code = PATTERN_CODES.get(ctx.get("pattern", ""), "invalid_format")
        return (code, _pattern_message(code, value))
    if kind in ("greater_than_equal", "less_than_equal"):
        return ("out_of_range", f"must be from 1 to {MAX_INT32}")
    if kind == "int_type":
        return ("wrong_type", "must be a whole number (JSON integer)")
    if kind == "string_type":
        return ("wrong_type", "must be a string")
    if kind in ("decimal_type", "is_instance_of"):
        return ("not_a_number", "must be a number or a numeric string")
    return (kind, str(error["msg"]))


def _pattern_message(code: str, value: str) -> str:
    if code == "invalid_guid":
        return "must be a GUID such as 3f2b5c1e-0a4d-4b8e-9c6f-2d1e7a9b0c3d"
    if code == "invalid_date":
        return "must be a date in the form YYYY-MM-DD"
    if code == "control_character":
        match = CONTROL_RE.search(value)
        where = f" (U+{ord(match.group()):04X} at position {match.start()})" if match else ""
        return "must not contain control characters" + where
    return "has an invalid format"


def _unknown_hint(version: ApiVersion, name: str) -> str:
    """What follows 'unknown field': the API version that has it, or the
    closest known property."""
    other: ApiVersion = "v1.0" if version == "v2.0" else "v2.0"
    if name in editable_properties(other):
        return f"; it exists only in API {other}"
    suggestion = suggest(name, editable_properties(version))
    return f'; did you mean "{suggestion}"?' if suggestion else ""


def suggest(name: str, known: tuple[str, ...]) -> str | None:
    """The closest known property: same letters ignoring case, or a small edit."""
    lowered = {k.lower(): k for k in known}
    if name.lower() in lowered:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def stored_form(name: str, value: Any, amount_decimals: int | None = None) -> Any:
    """A value of property ``name`` as Business Central stores it, the one form
    in which the proxy compares values (read-backs, list filters): a Code field
    without leading or trailing spaces and upper-cased (``code_stored``, which
    the length rule counts on too), a GUID in lower case, an amount rounded
    half away from zero to ``amount_decimals`` (None: as it is), anything
    else as it is."""
    info = PaymentPatchV1.model_fields.get(name)
    if isinstance(value, str) and info is not None:
        if any(isinstance(m, CodeField) for m in info.metadata):
            return code_stored(value)
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("format") == "uuid":
            return value.lower()
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        number = Decimal(value)
        if name == "amount" and amount_decimals is not None and number.is_finite():
            # BC rounds amounts to the currency's precision, half away from zero.
            return number.quantize(Decimal(1).scaleb(-amount_decimals), rounding=ROUND_HALF_UP)
        return number
    return value
