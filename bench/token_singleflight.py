"""How many identity requests do N concurrent cold requests cost?

Starts the sandbox and the local host serving function_app on loopback ports,
then sends N concurrent PATCHes through a cold proxy and reads the sandbox's
identity counter. For comparison it also asks a bare azure-identity
ManagedIdentityCredential for N concurrent tokens.

    .venv/bin/python bench/token_singleflight.py [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from funchost.http import create_local_host  # noqa: E402
from sandbox.serving import serve_in_thread  # noqa: E402
from tests.support.sandbox import RunningSandbox, start_sandbox  # noqa: E402

SCOPE = "https://api.businesscentral.dynamics.com/.default"


async def bare_credential(n: int) -> None:
    from azure.identity.aio import ManagedIdentityCredential

    async with ManagedIdentityCredential() as credential:
        await asyncio.gather(*(credential.get_token(SCOPE) for _ in range(n)))


async def through_proxy(urls: list[str], n: int) -> list[int]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        responses = await asyncio.gather(
            *(
                client.patch(
                    urls[i % len(urls)],
                    content=b'{"comment": "bench"}',
                    headers={"Content-Type": "application/json", "If-Match": "*"},
                )
                for i in range(n)
            )
        )
    return [r.status_code for r in responses]


def payment_urls(proxy_url: str, sandbox: RunningSandbox) -> list[str]:
    urls = []
    for company in sandbox.seed["companies"]:
        journal = company["journals"][0]
        for payment in journal["payments"]:
            urls.append(
                f"{proxy_url}/api/v2.0/companies/{company['id']}/customerPaymentJournals/"
                f"{journal['id']}/customerPayments/{payment['id']}"
            )
    return urls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    n = parser.parse_args().requests

    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())

        sandbox.reset()
        asyncio.run(bare_credential(n))
        bare = sandbox.token_requests()

        import function_app
        from shared.upstream.runtime import aclose_runtime

        sandbox.reset()
        host = create_local_host(
            function_app.app, host_json=ROOT / "host.json", on_shutdown=[aclose_runtime]
        )
        with serve_in_thread(host) as proxy:
            started = time.perf_counter()
            statuses = asyncio.run(through_proxy(payment_urls(proxy.url, sandbox), n))
            elapsed = time.perf_counter() - started
        proxied = sandbox.token_requests()

    ok = statuses.count(200)
    print(f"concurrent cold requests:                 {n}")
    print(f"azure-identity alone, identity requests:  {bare}")
    print(f"through the proxy, identity requests:     {proxied}")
    print(f"through the proxy, 200 answers:           {ok}/{n} in {elapsed:.2f} s")
    return 0 if proxied == 1 and ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
