"""Property-based tests of the request parser, the field rules and the whole
request flow: arbitrary bytes, JSON values and headers never raise, never
produce a 5xx, and a request reaches Business Central only if it satisfies
every rule, checked here by an independent reading of the contract."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.functions.lines import handle_payment
from shared.http.messages import CoreRequest
from shared.payment.models import validate_update
from shared.process.jsonio import JsonBodyError, dumps_exact, loads_exact
from shared.process.problems import FieldError
from tests.support.fakes import COMPANY, JOURNAL, PAYMENT, FakeBusinessCentral

FAST = settings(max_examples=200, deadline=None)

# --- the contract, restated independently ------------------------------------------------

GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TEXT_LIMITS = {
    "customerNumber": (1, 20),
    "documentNumber": (0, 20),
    "externalDocumentNumber": (0, 35),
    "appliesToInvoiceNumber": (0, 20),
    "description": (0, 100),
    "comment": (0, 250),
    "contactId": (0, 250),
}
# Business Central's Code fields: stored without leading and trailing spaces, so
# those spaces do not count against the length.
CODE_FIELDS = (
    "customerNumber",
    "documentNumber",
    "externalDocumentNumber",
    "appliesToInvoiceNumber",
)
GUID_FIELDS = ("customerId", "appliesToInvoiceId")
COMMON = ("lineNumber", "postingDate", "amount", *GUID_FIELDS, *TEXT_LIMITS)
FIELDS = {"v2.0": frozenset(COMMON) - {"contactId"}, "v1.0": frozenset(COMMON)}
READ_ONLY = ("id", "journalId", "journalDisplayName", "lastModifiedDateTime", "dimensions")
DECIMALS = 2
MAX_BODY = 65536


def exact_amount(value: Any) -> Decimal | None:
    """The amount as an exact decimal if the contract accepts it, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and JSON_NUMBER.fullmatch(value):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
    else:
        return None
    if not number.is_finite() or number.copy_abs() >= Decimal(10) ** 12:
        return None
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    significant = "".join(map(str, digits)).rstrip("0")
    fraction = -(exponent + len(digits) - len(significant)) if significant else 0
    return number if fraction <= DECIMALS else None


def value_is_valid(name: str, value: Any) -> bool:
    if name == "lineNumber":
        return type(value) is int and 1 <= value <= 2147483647
    if name in GUID_FIELDS:
        return isinstance(value, str) and GUID.fullmatch(value) is not None
    if name == "postingDate":
        if not isinstance(value, str) or not DATE.fullmatch(value):
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if name == "amount":
        return exact_amount(value) is not None
    low, high = TEXT_LIMITS[name]
    if not isinstance(value, str):
        return False
    counted = value.strip(" ") if name in CODE_FIELDS else value
    return low <= len(counted.encode("utf-16-le")) // 2 <= high and not CONTROL.search(value)


def body_is_valid(version: str, body: dict[str, Any]) -> bool:
    return bool(body) and all(
        name in FIELDS[version] and value_is_valid(name, value) for name, value in body.items()
    )


def same_values(sent: dict[str, Any], forwarded: dict[str, Any]) -> bool:
    """The forwarded body is exactly what was sent (amount as the same exact decimal)."""
    if list(sent) != list(forwarded):
        return False
    for name, value in sent.items():
        if name == "amount":
            if exact_amount(value) != forwarded[name] or isinstance(forwarded[name], str):
                return False
        elif forwarded[name] != value or type(forwarded[name]) is not type(value):
            return False
    return True


# --- strategies ---------------------------------------------------------------------------------

guids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None)
numbers = (
    st.integers()
    | decimals
    | st.sampled_from(
        [Decimal("1E+999999"), Decimal("-1E-999999"), Decimal(10) ** 12, Decimal("999999999999.99")]
    )
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
texts = st.text(max_size=260) | st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
dates = (
    st.dates().map(date.isoformat)
    | st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
    | st.sampled_from(["2026-02-29", "2024-02-29", "2026-13-01", "20261127", "2026-1-1"])
)
amounts = (
    numbers
    | decimals.map(str)
    | st.integers(-(10**13), 10**13)
    | st.decimals(min_value=-(10**12), max_value=10**12, places=2)
    | st.sampled_from(["12\n", " 12", "1_000", "0x10", "NaN", "1e999999999999999999999", "-0.00"])
)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "lineNumber": st.integers(-5, 2**31 + 5) | st.integers() | numbers,
    "customerId": guids | texts,
    "appliesToInvoiceId": guids | texts,
    "postingDate": dates | texts,
    "amount": amounts,
    **{name: texts for name in TEXT_LIMITS},
}
# Values the contract accepts (and a few just past a limit), so that valid
# requests are common enough to test what is forwarded.
printable = st.characters(min_codepoint=0x20, exclude_characters="\x7f", codec="utf-8")
money = st.decimals(min_value=-(10**12) + 1, max_value=10**12 - 1, places=2)
edge_amounts = st.sampled_from(
    [
        Decimal("1.005"),
        "2.125",
        Decimal("0.001"),
        Decimal("0.000"),
        Decimal("2000.500"),
        Decimal("999999999999.99"),
        "-999999999999.99",
        Decimal("1000000000000"),
        "1E+2",
        Decimal("1E-3"),
    ]
)


def sized_text(low: int, high: int) -> st.SearchStrategy[str]:
    """Texts of every length from low to high, limits included, some padded
    with spaces on either side (which a Code field does not count)."""
    lengths = st.sampled_from([low, high, high + 1]) | st.integers(low, high + 1)
    core = lengths.flatmap(lambda n: st.text(printable, min_size=n, max_size=n))
    pad = st.text(" ", max_size=3)
    return core | st.tuples(pad, core, pad).map("".join)


VALID_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "lineNumber": st.integers(0, 2**31),
    "customerId": guids,
    "appliesToInvoiceId": guids,
    "postingDate": st.dates().map(date.isoformat),
    "amount": edge_amounts | money | money.map(str) | st.integers(-(10**12), 10**12),
    **{name: sized_text(max(low - 1, 0), high) for name, (low, high) in TEXT_LIMITS.items()},
}
names = (
    st.sampled_from(sorted(FIELDS["v1.0"]))
    | st.sampled_from([*READ_ONLY, "@odata.etag", "ammount", "Amount", "AMOUNT", "lineNo"])
    | st.text(max_size=20)
)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Objects mixing plausible and wrong properties and values."""
    body: dict[str, Any] = {}
    mostly_fields = st.sampled_from(sorted(FIELDS["v2.0"])) | names
    for name in draw(st.lists(mostly_fields, max_size=6, unique=True)):
        if name in VALID_VALUES:
            valid = VALID_VALUES[name]
            wrong = FIELD_VALUES[name] | json_values
            body[name] = draw(valid if draw(st.sampled_from([True, True, False])) else wrong)
        else:
            body[name] = draw(json_values)
    return body


# Header values as an HTTP server hands them over: printable Latin-1, no CR/LF.
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
content_types = (
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON; Charset=UTF8",
            "application/merge-patch+json",
            "application/json; charset=latin-1",
            "text/plain",
            "application/jsonx",
            "",
        ]
    )
    | header_text
)
if_matches = st.sampled_from(['W/"JzE5OzEn"', '"abc"', "*", " * ", "", "W/abc", '"a" , "b"']) | (
    header_text
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[CoreRequest, dict[str, Any] | None]:
    """A PATCH with a drawn path, headers and body; also the body object, if any."""

    # Each part is valid most of the time, so that whole valid requests are common.
    def mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
        return draw(valid if draw(st.sampled_from([True] * 7 + [False])) else other)

    path = {
        "apiVersion": mostly(st.sampled_from(["v2.0", "v1.0"]), st.text(max_size=5)),
        "journalSet": mostly(
            st.sampled_from(["customerPaymentJournals", "customerPaymentsJournals"]),
            st.sampled_from(["x", "customerPaymentJournal", "CustomerPaymentJournals"]),
        ),
        "companyId": mostly(st.just(COMPANY) | guids, st.text(max_size=40)),
        "journalId": mostly(st.just(JOURNAL), st.text(max_size=40)),
        "paymentId": mostly(st.just(PAYMENT), st.text(max_size=40)),
    }
    headers: dict[str, str] = {"content-type": mostly(st.just("application/json"), content_types)}
    if_match = mostly(st.sampled_from(['W/"JzE5OzEn"', "*"]), st.none() | if_matches)
    if if_match is not None:
        headers["if-match"] = if_match
    for name in ("x-request-id", "accept", "accept-language", "traceparent", "authorization"):
        value = draw(st.none() | header_text)
        if value is not None:
            headers[name] = value
    body = mostly(bodies(), st.none())
    raw = dumps_exact(body) if body is not None else draw(st.binary(max_size=200))
    return CoreRequest("PATCH", path, headers, raw), body


def path_is_valid(path: dict[str, str]) -> bool:
    return (
        path["apiVersion"] in FIELDS
        and path["journalSet"] in ("customerPaymentJournals", "customerPaymentsJournals")
        and all(GUID.fullmatch(path[n]) for n in ("companyId", "journalId", "paymentId"))
    )


def content_type_is_valid(value: str) -> bool:
    media, _, parameters = value.partition(";")
    if media.strip().lower() not in ("application/json", "application/merge-patch+json"):
        return False
    charset = re.search(r"(?i)charset\s*=\s*\"?([^\";\s]+)", parameters)
    return charset is None or charset.group(1).lower() in ("utf-8", "utf8")


ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e]*"')


# --- the parser ----------------------------------------------------------------------------------


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_fail_cleanly(raw: bytes) -> None:
    try:
        loads_exact(raw)
    except JsonBodyError as exc:
        message = str(exc)
        assert message  # a reason the caller can read


@FAST
@given(json_values)
def test_json_values_round_trip_exactly(value: Any) -> None:
    assert loads_exact(dumps_exact(value)) == value


@FAST
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        value = loads_exact(text.encode("utf-8", "surrogatepass"))
    except JsonBodyError:
        return
    # What parses agrees with the standard library (numbers compared exactly).
    assert value == json.loads(text, parse_float=Decimal, parse_int=Decimal)


# --- the field rules ----------------------------------------------------------------------


@FAST
@given(st.sampled_from(["v2.0", "v1.0"]), bodies())
def test_validation_agrees_with_the_contract(version: Any, body: dict[str, Any]) -> None:
    result = validate_update(version, body, amount_decimals=DECIMALS)
    if isinstance(result, dict):
        assert body_is_valid(version, body)
        assert same_values(body, result)
    else:
        assert not body_is_valid(version, body)
        assert result
        assert all(isinstance(error, FieldError) for error in result)
        # Every problem names a property of the body (or none, for an empty body).
        assert {e.field for e in result} <= set(body) | {""}
        # Each invalid property is reported, once.
        fields = [e.field for e in result]
        assert len(fields) == len(set(fields))
        invalid = {
            n for n, v in body.items() if n not in FIELDS[version] or not value_is_valid(n, v)
        }
        assert invalid <= set(fields)


# --- the whole request flow ---------------------------------------------------------------


@FAST
@given(requests())
async def test_no_request_gets_a_5xx_or_reaches_bc_unless_valid(
    bc: FakeBusinessCentral, drawn: tuple[CoreRequest, dict[str, Any] | None]
) -> None:
    request, body = drawn
    bc.requests.clear()
    response = await handle_payment(request)
    assert response.status < 500, response.body
    if response.status != 200:
        problem = json.loads(response.body)
        assert problem["status"] == response.status
        assert response.headers["Content-Type"].startswith(
            ("application/problem+json", "application/json")
        )
    forwarded = [r for r in bc.requests if r.method == "PATCH"]
    if not forwarded:
        assert response.status != 200
        return
    # Forwarded: then every rule held, checked independently of the proxy's code.
    (sent,) = forwarded
    headers = request.headers
    assert path_is_valid(dict(request.route_params))
    assert content_type_is_valid(headers["content-type"])
    if_match = headers.get("if-match", "").strip()
    assert if_match == "*" or ENTITY_TAG.fullmatch(if_match)
    assert sent.headers["if-match"] == if_match
    assert len(request.body) <= MAX_BODY
    assert body is not None
    assert body_is_valid(str(request.route_params["apiVersion"]), body)
    assert same_values(body, loads_exact(sent.content))
    assert (
        "authorization" not in headers or sent.headers["authorization"] != headers["authorization"]
    )


@FAST
@given(st.sampled_from(["v2.0", "v1.0"]), bodies(), if_matches)
async def test_valid_requests_are_forwarded(
    bc: FakeBusinessCentral, version: str, body: dict[str, Any], if_match: str
) -> None:
    bc.requests.clear()
    headers = {"content-type": "application/json", "if-match": if_match}
    path = {
        "apiVersion": version,
        "journalSet": "customerPaymentJournals",
        "companyId": COMPANY,
        "journalId": JOURNAL,
        "paymentId": PAYMENT,
    }
    response = await handle_payment(CoreRequest("PATCH", path, headers, dumps_exact(body)))
    good_tag = if_match.strip() == "*" or ENTITY_TAG.fullmatch(if_match.strip())
    if body_is_valid(version, body) and good_tag:
        assert response.status == 200, response.body
        assert same_values(body, loads_exact(bc.last.content))
    else:
        assert 400 <= response.status < 500
        assert bc.requests == []


@FAST
@given(
    st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20), header_text
    ),
    st.sampled_from(["GET", "PATCH", "get", "DELETE"]),
)
async def test_arbitrary_headers_never_break_a_request(
    bc: FakeBusinessCentral, headers: dict[str, str], method: str
) -> None:
    bc.requests.clear()
    path = {
        "apiVersion": "v2.0",
        "journalSet": "customerPaymentJournals",
        "companyId": COMPANY,
        "journalId": JOURNAL,
        "paymentId": PAYMENT,
    }
    response = await handle_payment(CoreRequest(method, path, headers, b'{"comment": "x"}'))
    assert response.status < 500
    assert response.headers["x-request-id"]
    assert "\n" not in response.headers["x-request-id"]
