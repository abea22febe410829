"""A smoke test of a deployed proxy: what a first deployment must get right.

    make smoke URL=https://func-api-<token>.azurewebsites.net KEY=<host key> \\
        [COMPANY=<id> JOURNAL=<id> PAYMENT=<id>] [WRITE=1]
    .venv/bin/python -m scripts.smoke --url URL [--company ID --journal ID --payment ID]
        [--write]        (the key in SMOKE_KEY, or an Entra token in SMOKE_TOKEN)

Read-only unless ``--write`` is given. It checks that:

* ``/api/health`` and ``/api/openapi.json`` answer;
* a payment route refuses a call without credentials;
* a forged ``X-MS-CLIENT-PRINCIPAL`` (as a caller could write it) opens nothing;
* plain and encoded ``..`` paths that start at a route left anonymous (health,
  OpenAPI, problems, a bulk job's status: App Service Authentication's excluded
  paths) never reach a payment route;
* with credentials and ids: a line can be read (200, its id, an ETag), and the bulk
  route is configured (its secret, a Key Vault reference, resolved): a
  ``validateOnly`` request, which starts nothing;
* with ``--write`` too: the line's ``comment`` written back unchanged with its ETag
  (200), then the same write with the now stale ETag refused (412).

Standard library only, and every path sent byte for byte (``http.client``), so that a
``..`` segment reaches the server as written. Exit code 0 when every check passes.
Against ``make run``, start it with ``LOCAL_FUNCTION_KEY`` set: without keys the local
host, like the Functions tools, lets anyone in, and the smoke test says so.
"""

# ruff: noqa: T201 - the console is where the script reports

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import ssl
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

TIMEOUT_S = 60
ZERO_ID = "00000000-0000-0000-0000-000000000000"
# Routes App Service Authentication leaves anonymous (infra/app/auth.bicep), each with a
# segment to start a dot-dot walk from.
EXCLUDED_STARTS = ("health", "openapi.json", "problems", "bulkPaymentUpdates/smoke")
# The proxy's problems that prove a request was refused before a payment route ran:
# the catch-all's (no route) and a bulk job status's (no such job), both without an
# `upstream` member. A payment route's own answers (401 unauthenticated, 403 forbidden,
# 400 invalid-path-parameter, Business Central's 404) would mean it was reached.
NOT_REACHED_SLUGS = ("not-found",)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def problem(self) -> dict[str, Any] | None:
        if not self.headers.get("content-type", "").startswith("application/problem+json"):
            return None
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    @property
    def slug(self) -> str | None:
        problem = self.problem
        kind = problem.get("type") if problem else None
        return kind.rsplit("#", 1)[-1] if isinstance(kind, str) else None

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        slug = self.slug
        return f"{self.status}" + (f" {slug}" if slug else "")


@dataclass
class Target:
    url: str
    key: str | None = None
    token: str | None = None
    company: str | None = None
    journal: str | None = None
    payment: str | None = None
    _parts: SplitResult = field(init=False, repr=False)
    _host: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._parts = urlsplit(self.url.rstrip("/"))
        if self._parts.scheme not in ("http", "https") or not self._parts.hostname:
            raise SystemExit(f"smoke: --url must be http(s)://host[:port], not {self.url!r}")
        self._host = self._parts.hostname

    @property
    def api(self) -> str:
        """The path of the API root (the URL's own path, if any, then /api)."""
        return self._parts.path.rstrip("/") + "/api"

    def credentials(self) -> dict[str, str]:
        if self.key:
            return {"x-functions-key": self.key}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    def send(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Answer:
        """One request, ``path`` sent exactly as given (no normalization, no quoting)."""
        connection: http.client.HTTPConnection
        if self._parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                self._host,
                self._parts.port,
                timeout=TIMEOUT_S,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._parts.port, timeout=TIMEOUT_S)
        sent = {"x-request-id": f"smoke-{uuid.uuid4()}", **(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(
                response.status,
                {name.lower(): value for name, value in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()
        return answer

    def line_path(self, company: str, journal: str, payment: str) -> str:
        return (
            f"{self.api}/v2.0/companies/{quote(company)}/customerPaymentJournals/"
            f"{quote(journal)}/customerPayments/{quote(payment)}"
        )


class Failed(Exception):
    """A check that did not hold; its text says what was seen."""


def forged_principal() -> str:
    """An Entra principal as App Service Authentication writes it, for an app nobody
    registered, holding made-up roles: if anything trusted it, it would show."""
    claims = {
        "auth_typ": "aad",
        "name_typ": "name",
        "role_typ": "roles",
        "claims": [
            {"typ": "appid", "val": str(uuid.uuid4())},
            {"typ": "azp", "val": str(uuid.uuid4())},
            {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": "x"},
            {"typ": "roles", "val": "Payments.ReadWrite"},
            {"typ": "roles", "val": "smoke-forged"},
        ],
    }
    return base64.b64encode(json.dumps(claims).encode()).decode()


def forged_headers() -> dict[str, str]:
    return {
        "X-MS-CLIENT-PRINCIPAL": forged_principal(),
        "X-MS-CLIENT-PRINCIPAL-ID": str(uuid.uuid4()),
        "X-MS-CLIENT-PRINCIPAL-NAME": "smoke-forged",
        "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
    }


def refused(answer: Answer) -> bool:
    """401 or 403: by the platform (a missing key or token), or by the proxy itself."""
    return answer.status in (401, 403)


def refused_without_reading_the_principal(answer: Answer) -> bool:
    """Refused, and not for who the principal says it is: the proxy's 403 `forbidden`
    would mean it read the forged principal (and only then turned it away)."""
    return refused(answer) and answer.slug != "forbidden"


def never_reached_a_payment_route(answer: Answer) -> bool:
    """What a dot-dot path may be answered: refused by the platform (any 400, 401, 403
    or 404 that is not the proxy's), or the proxy's own 'no such route' or 'no such
    job' (404 not-found without an upstream member)."""
    problem = answer.problem
    if answer.status not in (400, 401, 403, 404):
        return False
    if problem is None:
        return True
    return answer.slug in NOT_REACHED_SLUGS and "upstream" not in problem


def dot_dot_paths(target: Target, line_path: str) -> Iterator[tuple[str, str]]:
    """(name, path) pairs walking from each anonymous route to the payment line."""
    below_api = line_path.removeprefix(target.api + "/")
    for start in EXCLUDED_STARTS:
        depth = start.count("/") + 1
        forms = {
            "plain": "../" * depth,
            "encoded dots": "%2e%2e/" * depth,
            "encoded slash": "..%2f" * depth,
            "all encoded": "%2e%2e%2f" * depth,
            "double encoded": "%252e%252e%252f" * depth,
            "backslash": "..%5c" * depth,
        }
        for form, walk in forms.items():
            yield f"{start} {form}", f"{target.api}/{start}/{walk}{below_api}"
        # Every slash encoded: one segment after the route, which a route parameter
        # (a bulk job's id) takes whole.
        rest = quote("../" * depth + below_api, safe="")
        yield f"{start} one encoded segment", f"{target.api}/{start}/{rest}"


# --- the checks ------------------------------------------------------------------------


def check_health(target: Target) -> str:
    answer = target.send("GET", f"{target.api}/health")
    if answer.status != 200 or answer.json().get("status") != "ok":
        raise Failed(f"/api/health answered {answer.describe()}: {answer.body[:200]!r}")
    return "200 ok"


def check_openapi(target: Target) -> str:
    answer = target.send("GET", f"{target.api}/openapi.json")
    if answer.status != 200:
        raise Failed(f"/api/openapi.json answered {answer.describe()}")
    document = answer.json()
    paths = document.get("paths", {})
    if "openapi" not in document or not any(
        path.endswith("/customerPayments/{paymentId}") for path in paths
    ):
        raise Failed("/api/openapi.json has no payment line route")
    return f"OpenAPI {document['openapi']}, {len(paths)} paths"


def check_refused(
    target: Target,
    line_path: str,
    headers: dict[str, str],
    accept: Callable[[Answer], bool],
    sent: str,
) -> str:
    """A payment line's GET without credentials, ``sent`` with ``headers``, must be refused."""
    answer = target.send("GET", line_path, headers=headers)
    if not accept(answer):
        raise Failed(
            f"a payment route answered {answer.describe()} {sent} "
            "(expected 401: a function key, or an Entra token with App Service Authentication)"
        )
    return answer.describe()


def check_dot_dot_paths(target: Target, line_path: str) -> str:
    seen: dict[str, int] = {}
    for name, path in dot_dot_paths(target, line_path):
        answer = target.send("GET", path, headers=forged_headers())
        if not never_reached_a_payment_route(answer):
            raise Failed(
                f"{path} ({name}) answered {answer.describe()}: it may reach a payment route"
            )
        seen[answer.describe()] = seen.get(answer.describe(), 0) + 1
    return ", ".join(f"{count} x {what}" for what, count in sorted(seen.items()))


def check_line(target: Target, line_path: str) -> str:
    answer = target.send("GET", line_path, headers=target.credentials())
    if answer.status != 200:
        raise Failed(f"GET of the line answered {answer.describe()}: {answer.body[:300]!r}")
    line = answer.json()
    if str(line.get("id", "")).lower() != str(target.payment).lower():
        raise Failed(f"GET of the line returned id {line.get('id')!r}")
    if not answer.headers.get("etag") or not line.get("etag"):
        raise Failed("GET of the line returned no ETag")
    return f"200, ETag {answer.headers['etag']}"


def check_bulk_configured(target: Target) -> str:
    path = (
        f"{target.api}/v2.0/companies/{quote(str(target.company))}/customerPaymentJournals/"
        f"{quote(str(target.journal))}/bulkPaymentUpdates?validateOnly=true"
    )
    answer = target.send("POST", path, headers=target.credentials(), body=b'{"updates": []}')
    if answer.status >= 500 or answer.status in (401, 403):
        detail = (answer.problem or {}).get("detail", "")
        raise Failed(f"the bulk route answered {answer.describe()}: {detail}")
    return f"{answer.describe()} (validateOnly: nothing started)"


def check_write(target: Target, line_path: str) -> str:
    read = target.send("GET", line_path, headers=target.credentials())
    if read.status != 200:
        raise Failed(f"GET before the write answered {read.describe()}")
    line = read.json()
    etag = read.headers["etag"]
    body = json.dumps({"comment": line.get("comment", "")}).encode()
    written = target.send(
        "PATCH", line_path, headers={**target.credentials(), "If-Match": etag}, body=body
    )
    if written.status != 200:
        raise Failed(
            f"PATCH with the line's ETag answered {written.describe()}: {written.body[:300]!r}"
        )
    if written.json().get("comment") != line.get("comment", ""):
        raise Failed("PATCH changed the comment it wrote back unchanged")
    if written.headers.get("etag") == etag:
        # Business Central kept the version: the old ETag is not stale, nothing to refuse.
        return "200 with the ETag (unchanged, so no stale-ETag check)"
    stale = target.send(
        "PATCH", line_path, headers={**target.credentials(), "If-Match": etag}, body=body
    )
    if (stale.status, stale.slug) != (412, "etag-mismatch"):
        raise Failed(f"PATCH with a stale ETag answered {stale.describe()}, not 412 etag-mismatch")
    return "200 with the ETag, then 412 with the stale one"


# --- running them ----------------------------------------------------------------------


def plan(target: Target, write: bool) -> list[tuple[str, Callable[[], str]]]:
    ids = (target.company or ZERO_ID, target.journal or ZERO_ID, target.payment or ZERO_ID)
    line_path = target.line_path(*ids)
    checks: list[tuple[str, Callable[[], str]]] = [
        ("health answers", lambda: check_health(target)),
        ("OpenAPI answers", lambda: check_openapi(target)),
        (
            "a payment route refuses a call without credentials",
            lambda: check_refused(target, line_path, {}, refused, "without credentials"),
        ),
        (
            "a forged X-MS-CLIENT-PRINCIPAL opens nothing",
            lambda: check_refused(
                target,
                line_path,
                forged_headers(),
                refused_without_reading_the_principal,
                "to a forged X-MS-CLIENT-PRINCIPAL without credentials",
            ),
        ),
        (
            "dot-dot paths from anonymous routes never reach a payment route",
            lambda: check_dot_dot_paths(target, line_path),
        ),
    ]
    has_ids = all((target.company, target.journal, target.payment))
    if has_ids and target.credentials():
        checks.append(("a line can be read", lambda: check_line(target, line_path)))
        checks.append(("the bulk route is configured", lambda: check_bulk_configured(target)))
        if write:
            checks.append(
                (
                    "a write with the ETag, and a stale ETag refused",
                    lambda: check_write(target, line_path),
                )
            )
    return checks


def skipped(target: Target, write: bool) -> list[str]:
    notes = []
    if not all((target.company, target.journal, target.payment)) or not target.credentials():
        notes.append("reading a line and the bulk route: give --key (or --token) and the three ids")
    if not write:
        notes.append("writing: read-only unless --write is given")
    return notes


def run(target: Target, write: bool) -> int:
    failures = 0
    print(f"smoke test of {target.url}")
    for name, check in plan(target, write):
        try:
            result = check()
        except Failed as failure:
            failures += 1
            print(f"FAIL {name}: {failure}")
        except (OSError, http.client.HTTPException, ValueError) as error:
            failures += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}")
        else:
            print(f"ok   {name}: {result}")
    for note in skipped(target, write):
        print(f"skip {note}")
    print("smoke: FAILED" if failures else "smoke: passed")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.smoke", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--url", required=True, help="the function app, e.g. https://func-api-x.azurewebsites.net"
    )
    credentials = parser.add_mutually_exclusive_group()
    credentials.add_argument("--key", help="a host key (x-functions-key), with function keys")
    credentials.add_argument(
        "--token", help="an Entra access token for the API, with Entra callers"
    )
    parser.add_argument("--company", help="a company id the proxy may touch")
    parser.add_argument("--journal", help="a customer payment journal id of that company")
    parser.add_argument("--payment", help="a payment line id of that journal")
    parser.add_argument(
        "--write", action="store_true", help="also write the line's comment back unchanged"
    )
    args = parser.parse_args(argv)
    # From the environment by default (make smoke): a key on a command line shows in the
    # process list and in shell history.
    key = args.key or os.environ.get("SMOKE_KEY") or None
    token = args.token or os.environ.get("SMOKE_TOKEN") or None
    if key and token:
        parser.error("give a key or a token, not both")
    target = Target(
        args.url,
        key=key,
        token=token,
        company=args.company or None,
        journal=args.journal or None,
        payment=args.payment or None,
    )
    return run(target, args.write)


if __name__ == "__main__":
    sys.exit(main())
