"""Every row of the property table, for both API versions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.payment.fields import API_VERSIONS, ApiVersion, fraction_digits, utf16_length
from shared.payment.models import (
    READ_ONLY_PROPERTIES,
    editable_properties,
    suggest,
    validate_update,
)
from shared.process.jsonio import loads_exact
from shared.process.problems import FieldError

GUID = "3F2B5C1E-0A4D-4B8E-9C6F-2D1E7A9B0C3D"

# property -> (valid JSON literals, [(invalid JSON literal, expected code)])
RULES: dict[str, tuple[list[str], list[tuple[str, str]]]] = {
    "lineNumber": (
        ["1", "10000", "2147483647"],
        [
            ("0", "out_of_range"),
            ("-5", "out_of_range"),
            ("2147483648", "out_of_range"),
            ("1.5", "wrong_type"),
            ("1.0", "wrong_type"),
            ('"10000"', "wrong_type"),
            ("true", "wrong_type"),
            ("null", "null_not_allowed"),
        ],
    ),
    "customerId": (
        [f'"{GUID}"', f'"{GUID.lower()}"'],
        [
            ('"not-a-guid"', "invalid_guid"),
            (f'"{{{GUID}}}"', "invalid_guid"),
            (f'"{GUID[:-1]}"', "invalid_guid"),
            ("42", "wrong_type"),
            ("null", "null_not_allowed"),
        ],
    ),
    "customerNumber": (
        ['"10000"', '"' + "C" * 20 + '"'],
        [
            ('""', "too_short"),
            ('"' + "C" * 21 + '"', "too_long"),
            ('"a\\tb"', "control_character"),
            ("10000", "wrong_type"),
            ("null", "null_not_allowed"),
        ],
    ),
    "postingDate": (
        ['"2026-11-27"', '"2024-02-29"'],
        [
            ('"2026-02-30"', "invalid_date"),
            ('"2025-02-29"', "invalid_date"),
            ('"27-11-2026"', "invalid_date"),
            ('"2026-11-27T00:00:00Z"', "invalid_date"),
            ('"2026-13-01"', "invalid_date"),
            ("20261127", "wrong_type"),
            ("null", "null_not_allowed"),
        ],
    ),
    "documentNumber": (
        ['""', '"G00001"', '"' + "D" * 20 + '"'],
        [
            ('"' + "D" * 21 + '"', "too_long"),
            ('"G\\u0000"', "control_character"),
            ("null", "null_not_allowed"),
        ],
    ),
    "externalDocumentNumber": (
        ['""', '"' + "E" * 35 + '"'],
        [('"' + "E" * 36 + '"', "too_long"), ('"x\\u007f"', "control_character")],
    ),
    "amount": (
        [
            "0",
            "2000.5",
            "-2000.50",
            '"1234.56"',
            '"-0.01"',
            "999999999999.99",
            "-999999999999.99",
            "1e3",
            "100.000",
        ],
        [
            ("1.234", "too_many_decimals"),
            ('"0.001"', "too_many_decimals"),
            ("1000000000000", "out_of_range"),
            ("-1000000000000", "out_of_range"),
            ("1e999999", "out_of_range"),
            ("1e-999999", "too_many_decimals"),
            ('"abc"', "not_a_number"),
            ('" 12"', "not_a_number"),
            ('"1_000"', "not_a_number"),
            ('"NaN"', "not_a_number"),
            ('"Infinity"', "not_a_number"),
            ('""', "not_a_number"),
            ("true", "not_a_number"),
            ("[1]", "not_a_number"),
            ("null", "null_not_allowed"),
        ],
    ),
    "appliesToInvoiceId": (
        [f'"{GUID}"'],
        [('"103001"', "invalid_guid"), ("null", "null_not_allowed")],
    ),
    "appliesToInvoiceNumber": (
        ['""', '"103001"', '"' + "I" * 20 + '"'],
        [('"' + "I" * 21 + '"', "too_long"), ('"a\\nb"', "control_character")],
    ),
    "description": (
        ['""', '"Paid by transfer"', '"' + "é" * 100 + '"'],
        [
            ('"' + "d" * 101 + '"', "too_long"),
            ('"line\\r\\nbreak"', "control_character"),
            ("null", "null_not_allowed"),
            ("{}", "wrong_type"),
        ],
    ),
    "comment": (
        ['""', '"' + "c" * 250 + '"'],
        [('"' + "c" * 251 + '"', "too_long"), ('"\\u001f"', "control_character")],
    ),
    "contactId": (
        ['""', '"' + "k" * 250 + '"'],
        [
            ('"' + "k" * 251 + '"', "too_long"),
            ('"\\u0001"', "control_character"),
            ("null", "null_not_allowed"),
        ],
    ),
}


def _validate(
    version: ApiVersion, raw: str, decimals: int = 2
) -> dict[str, Any] | list[FieldError]:
    return validate_update(version, loads_exact(raw.encode()), amount_decimals=decimals)


def _cases(valid: bool) -> list[Any]:
    cases = []
    for version in API_VERSIONS:
        for name, (good, bad) in RULES.items():
            if name not in editable_properties(version):
                continue
            if valid:
                cases += [
                    pytest.param(version, name, literal, id=f"{version}-{name}-{literal[:20]}")
                    for literal in good
                ]
            else:
                cases += [
                    pytest.param(
                        version, name, literal, code, id=f"{version}-{name}-{code}-{literal[:12]}"
                    )
                    for literal, code in bad
                ]
    return cases


def test_table_covers_every_editable_property() -> None:
    assert set(RULES) == set(editable_properties("v1.0")) | set(editable_properties("v2.0"))
    assert set(editable_properties("v1.0")) - set(editable_properties("v2.0")) == {"contactId"}


@pytest.mark.parametrize(("version", "name", "literal"), _cases(valid=True))
def test_valid_values_are_forwarded_as_sent(version: ApiVersion, name: str, literal: str) -> None:
    result = _validate(version, f'{{"{name}": {literal}}}')
    assert isinstance(result, dict), result
    expected = loads_exact(literal.encode())
    if name == "amount":
        assert result[name] == Decimal(str(expected))
        assert isinstance(result[name], Decimal)
    else:
        assert result == {name: expected}
        assert type(result[name]) is type(expected)


@pytest.mark.parametrize(("version", "name", "literal", "code"), _cases(valid=False))
def test_invalid_values_are_refused(
    version: ApiVersion, name: str, literal: str, code: str
) -> None:
    result = _validate(version, f'{{"{name}": {literal}}}')
    assert isinstance(result, list)
    assert [(e.field, e.code) for e in result] == [(name, code)]
    assert result[0].message.startswith(name + " ")


def test_contact_id_is_unknown_in_v2() -> None:
    result = _validate("v2.0", '{"contactId": "x"}')
    assert isinstance(result, list)
    assert result[0].code == "unknown_field"
    assert "v1.0" in result[0].message


@pytest.mark.parametrize("version", API_VERSIONS)
@pytest.mark.parametrize(
    "name",
    [
        "id",
        "journalId",
        "journalDisplayName",
        "lastModifiedDateTime",
        "dimensions",
        "@odata.etag",
        "@odata.context",
        "@odata.anything",
    ],
)
def test_read_only_properties(version: ApiVersion, name: str) -> None:
    result = _validate(version, f'{{"{name}": "x"}}')
    assert isinstance(result, list)
    assert [(e.field, e.code) for e in result] == [(name, "read_only")]


def test_read_only_set_comes_from_the_line_models() -> None:
    assert {"id", "journalId", "journalDisplayName", "lastModifiedDateTime", "dimensions"} == set(
        READ_ONLY_PROPERTIES
    )


@pytest.mark.parametrize(
    ("sent", "suggested"),
    [
        ("ammount", "amount"),
        ("Amount", "amount"),
        ("AMOUNT", "amount"),
        ("postingdate", "postingDate"),
        ("custmerNumber", "customerNumber"),
        ("descripton", "description"),
        ("invoice", None),
        ("zzz", None),
    ],
)
def test_unknown_fields_suggest_the_closest(sent: str, suggested: str | None) -> None:
    result = _validate("v2.0", f'{{"{sent}": 1}}')
    assert isinstance(result, list)
    assert result[0].code == "unknown_field"
    if suggested is None:
        assert "did you mean" not in result[0].message
    else:
        assert result[0].message == f'unknown field "{sent}"; did you mean "{suggested}"?'
    assert suggest(sent, editable_properties("v2.0")) == suggested


def test_every_problem_is_reported_in_body_order() -> None:
    result = _validate(
        "v1.0",
        '{"comment": null, "lineNumber": 0, "ammount": 1, "id": "x", '
        '"amount": 0.001, "contactId": 5}',
    )
    assert isinstance(result, list)
    assert [(e.field, e.code) for e in result] == [
        ("comment", "null_not_allowed"),
        ("lineNumber", "out_of_range"),
        ("ammount", "unknown_field"),
        ("id", "read_only"),
        ("amount", "too_many_decimals"),
        ("contactId", "wrong_type"),
    ]


def test_one_valid_property_does_not_hide_another_invalid_one() -> None:
    result = _validate("v2.0", '{"comment": "fine", "description": "' + "x" * 101 + '"}')
    assert isinstance(result, list)
    assert [e.field for e in result] == ["description"]


def test_empty_body_is_refused() -> None:
    result = _validate("v2.0", "{}")
    assert isinstance(result, list)
    assert result[0].code == "empty"


def test_amount_decimals_setting_is_honoured() -> None:
    assert isinstance(_validate("v2.0", '{"amount": 1.5}', decimals=0), list)
    assert isinstance(_validate("v2.0", '{"amount": 1.00}', decimals=0), dict)
    assert isinstance(_validate("v2.0", '{"amount": 1.23456}', decimals=5), dict)
    too_many = _validate("v2.0", '{"amount": 1.234567}', decimals=5)
    assert isinstance(too_many, list)
    assert "at most 5 digits" in too_many[0].message


@pytest.mark.parametrize(
    ("literal", "digits"),
    [
        ("1", 0),
        ("1.50", 1),
        ("100", 0),
        ("1E+2", 0),
        ("0.001", 3),
        ("2000.500", 1),
        ("0", 0),
        ("1E-9", 9),
    ],
)
def test_fraction_digits(literal: str, digits: int) -> None:
    assert fraction_digits(Decimal(literal)) == digits


def test_a_python_float_is_refused() -> None:
    # JSON is parsed with Decimal; a float could only come from a careless caller in code.
    result = validate_update("v2.0", {"amount": 0.1}, amount_decimals=2)
    assert isinstance(result, list)
    assert result[0].code == "not_a_number"


def test_string_amount_is_forwarded_as_a_decimal() -> None:
    result = _validate("v2.0", '{"amount": "2000.50"}')
    assert result == {"amount": Decimal("2000.50")}
    assert str(result["amount"]) == "2000.50"


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("description", 100),
        ("documentNumber", 20),
        ("comment", 250),
        ("externalDocumentNumber", 35),
    ],
)
def test_text_limits_are_in_utf16_units(field: str, limit: int) -> None:
    fits = "\U0001f600" * (limit // 2)  # fewer code points than the limit either way
    too_long = "\U0001f600" * (limit // 2 + 1)
    assert len(too_long) <= limit < utf16_length(too_long)
    assert isinstance(validate_update("v2.0", {field: fits}, amount_decimals=2), dict)
    errors = validate_update("v2.0", {field: too_long}, amount_decimals=2)
    assert isinstance(errors, list)
    assert errors[0].code == "too_long"
    assert f"got {utf16_length(too_long)}" in errors[0].message


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1e999999999999999999999", "out_of_range"),
        ("1e-999999999999999999999", "too_many_decimals"),
        ("12\n", "not_a_number"),
        ("\n12", "not_a_number"),
        ("\uff11\uff12", "not_a_number"),  # fullwidth digits
        ("12 ", "not_a_number"),
    ],
)
def test_hostile_numeric_strings(amount: str, code: str) -> None:
    result = validate_update("v2.0", {"amount": amount}, amount_decimals=2)
    assert isinstance(result, list)
    assert [(e.field, e.code) for e in result] == [("amount", code)]
