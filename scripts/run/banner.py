"""What ``make run`` prints once everything listens: the addresses, the
functions, the sandbox's seed and commands to try."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from funchost.durable import DurableStandIn
from funchost.invocation import HttpFunction
from scripts.run.web import page_url

logger = logging.getLogger("scripts.run")


def payment_url(proxy_url: str, company: str, journal: str, payment: str) -> str:
    return (
        f"{proxy_url}/api/v2.0/companies/{company}/customerPaymentJournals/{journal}"
        f"/customerPayments/{payment}"
    )


def curl_examples(url: str) -> list[str]:
    quoted = shlex.quote(url)
    return [
        f"curl -i {quoted}",
        f"curl -i -X PATCH {quoted} -H 'If-Match: *' -H 'Content-Type: application/json' "
        """-d '{"amount": 1234.56}'""",
    ]


def bulk_curl(journal_url: str, payments: Sequence[str]) -> str:
    """A bulk job over two lines, as the README's example has it."""
    updates = ", ".join(
        f'{{"id": "{payment}", "ifMatch": "*", "changes": {{"comment": "bulk {n}"}}}}'
        for n, payment in enumerate(payments, 1)
    )
    body = f'{{"updates": [{updates}]}}'
    return (
        f"curl -i -X POST {shlex.quote(journal_url + '/bulkPaymentUpdates')} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


def banner(
    *,
    proxy_url: str,
    functions: Sequence[HttpFunction],
    sandbox_url: str | None,
    seed: Mapping[str, Any] | None,
    web_url: str | None = None,
    cors_origins: Sequence[str] = (),
    durable: DurableStandIn | None = None,
    checks_keys: bool = False,
) -> str:
    lines = [""]
    if sandbox_url is not None:
        lines.append(
            f"Business Central sandbox:  {sandbox_url}  (admin API: {sandbox_url}/_sandbox)"
        )
    keys = (
        "function keys are checked: x-functions-key: $LOCAL_FUNCTION_KEY"
        if checks_keys
        else "function keys are not checked"
    )
    lines.append(f"Proxy (local host):        {proxy_url}/api  ({keys})")
    lines.append(
        "CORS allowed origins:      " + (", ".join(cors_origins) if cors_origins else "(none)")
    )
    lines += ["", "Functions:"]
    for f in functions:
        methods = ",".join(sorted(f.methods)) if f.methods else "ALL"
        lines.append(f"  {f.name}: [{methods}] {proxy_url}/{f.route}")
    if durable is not None and (durable.engine.orchestrators or durable.engine.activities):
        lines.append("Durable Functions (local stand-in, in memory):")
        lines += [f"  {name}: orchestrator" for name in sorted(durable.engine.orchestrators)]
        lines += [f"  {name}: activity" for name in sorted(durable.engine.activities)]
    ids = ("<companyId>", "<journalId>", "<paymentId>")
    # The README's bulk example updates two lines of one journal.
    payments = ["<paymentId>", "<another paymentId>"]
    seeded = False
    if seed is not None:
        try:
            company = seed["companies"][0]
            journal = company["journals"][0]
            payments = [payment["id"] for payment in journal["payments"][:2]]
            ids = (company["id"], journal["id"], payments[0])
            seeded = True
            lines += [
                "",
                f"Seed: tenant {seed['tenant']}, environment {seed['environment']}",
                f"  company  {company['id']}  {company.get('name', '')}",
                f"  journal  {journal['id']}  {journal.get('code', '')}",
                *(f"  payment  {payment}" for payment in payments),
            ]
        except (KeyError, IndexError, TypeError):
            lines += ["", "(the sandbox seed has an unexpected shape; see /_sandbox/seed)"]
    get_curl, patch_curl = curl_examples(payment_url(proxy_url, *ids))
    journal_url = payment_url(proxy_url, *ids).rsplit("/customerPayments/", 1)[0]
    if web_url is not None:
        lines += [
            "",
            "Sample browser page (its own origin, so its calls are cross-origin):",
            f"  {page_url(web_url, ids if seeded else None)}",
        ]
    lines += [
        "",
        "Read a payment line (the ETag header is what If-Match wants):",
        f"  {get_curl}",
        "Update it ('*' skips the ETag check; paste the ETag to keep it):",
        f"  {patch_curl}",
        "Update both lines in one bulk job (poll the Location it answers with):",
        f"  {bulk_curl(journal_url, payments)}",
        "",
        "Press Ctrl+C to stop.",
        "",
    ]
    return "\n".join(lines)


async def fetch_seed(sandbox_url: str) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            response = await client.get(f"{sandbox_url}/_sandbox/seed")
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("could not read the sandbox seed: %s", exc)
        return None
