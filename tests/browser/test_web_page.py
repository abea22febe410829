"""The sample page (examples/web) in a real browser, against what `make run` starts.

Debian's Chromium, driven by Playwright, loads the page from its own origin
(make run's web server) and talks to the local host across origins, so every
call passes the real CORS checks of a real browser: preflights, the allowed
origin, and the exposed ETag and x-request-id headers.

Skipped, saying why, where Chromium is not installed (`apt-get install
chromium`); CI installs it first and sets BROWSER_TEST_REQUIRED=1, so there
it always runs (a missing Chromium fails the run instead of skipping).
"""

from __future__ import annotations

import os
import re
import signal
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.serving import serve_in_thread
from scripts.run.web import web_app
from tests.support.make_run import READY_LINE, Running, start_make_run
from tests.support.png import colour_census

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.is_file() and os.environ.get("BROWSER_TEST_REQUIRED") == "1":
    # CI installs Chromium first: there a skip would hide a broken install.
    raise RuntimeError(f"BROWSER_TEST_REQUIRED=1 but there is no Chromium at {CHROMIUM}")
if not CHROMIUM.is_file():
    pytest.skip(
        f"browser test skipped: no Chromium at {CHROMIUM} (apt-get install chromium, "
        "or set CHROMIUM to its path)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@dataclass
class Stack:
    """`make run` as started by a developer, and direct access to its sandbox."""

    running: Running
    seed: dict[str, Any]
    page_url: str

    @property
    def ids(self) -> tuple[str, str, str]:
        company = self.seed["companies"][0]
        journal = company["journals"][0]
        return company["id"], journal["id"], journal["payments"][0]["id"]

    def _bc_line_url(self) -> str:
        company, journal, payment = self.ids
        return (
            f"{self.running.sandbox_url}/v2.0/{self.seed['tenant']}/{self.seed['environment']}"
            f"/api/v2.0/companies({company})/customerPaymentJournals({journal})"
            f"/customerPayments({payment})"
        )

    def _token(self) -> str:
        answer = httpx.post(f"{self.running.sandbox_url}/_sandbox/identity/token", timeout=10)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def stored(self) -> dict[str, Any]:
        """The line as the sandbox holds it, read directly, not through the proxy."""
        answer = httpx.get(
            self._bc_line_url(), headers={"Authorization": f"Bearer {self._token()}"}, timeout=10
        )
        answer.raise_for_status()
        return dict(answer.json(parse_float=Decimal))

    def change_behind_the_pages_back(self, changes: dict[str, Any]) -> None:
        answer = httpx.patch(
            self._bc_line_url(),
            json=changes,
            headers={"Authorization": f"Bearer {self._token()}", "If-Match": "*"},
            timeout=10,
        )
        answer.raise_for_status()

    def proxy_line_url(self) -> str:
        company, journal, payment = self.ids
        return (
            f"{self.running.proxy_url}/api/v2.0/companies/{company}/customerPaymentJournals/"
            f"{journal}/customerPayments/{payment}"
        )

    def proxy_etag(self) -> str:
        answer = httpx.get(self.proxy_line_url(), timeout=30)
        answer.raise_for_status()
        return answer.headers["etag"]

    def patch_requests_to_bc(self) -> int:
        log = httpx.get(f"{self.running.sandbox_url}/_sandbox/requests", timeout=10).json()
        return sum(1 for r in log if r["method"] == "PATCH")

    def reset(self) -> None:
        httpx.post(f"{self.running.sandbox_url}/_sandbox/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    running = start_make_run()
    try:
        running.wait_for_output(READY_LINE)
        seed = httpx.get(f"{running.sandbox_url}/_sandbox/seed", timeout=10).json()
        # The link make run prints for the page, ids of the first seeded line included.
        page_url = next(
            line.strip()
            for line in running.output.splitlines()
            if line.strip().startswith(f"{running.web_url}/?company=")
        )
        yield Stack(running, seed, page_url)
    finally:
        if running.process.poll() is None:
            running.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(stack: Stack, browser: Browser) -> Iterator[Page]:
    stack.reset()
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    script_errors: list[str] = []
    opened.on("pageerror", lambda error: script_errors.append(str(error)))
    yield opened
    context.close()
    assert script_errors == [], "the page's script failed"


def open_line(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def test_edit_the_amount_save_and_see_it_stored(stack: Stack, page: Page, tmp_path: Path) -> None:
    before = stack.stored()
    open_line(page, stack.page_url)
    amount = page.locator("#field-amount")
    expect(amount).to_be_visible()
    assert Decimal(amount.input_value()) == before["amount"]
    # Read cross-origin from the ETag header: only possible because the proxy exposes it.
    old_etag = stack.proxy_etag()
    expect(page.locator("#etag")).to_have_text(old_etag)

    amount.fill("4321.09")
    page.locator("#save").click()

    expect(page.locator("#status")).to_contain_text("Saved.")
    expect(page.locator("#status")).to_contain_text("[request ")  # x-request-id, exposed too
    expect(amount).to_have_value("4321.09")
    expect(page.locator("#etag")).not_to_have_text(old_etag)
    stored = stack.stored()
    assert stored["amount"] == Decimal("4321.09")
    assert page.locator("#etag").inner_text() == stack.proxy_etag()
    assert stored["description"] == before["description"]  # only the changed property was sent

    screenshot = tmp_path / "saved.png"
    page.screenshot(path=str(screenshot), full_page=True)
    distinct, dominant_share = colour_census(screenshot.read_bytes())
    assert distinct >= 50, "the page rendered almost nothing"
    assert dominant_share < 0.9, "one colour covers nearly the whole screenshot"


def test_invalid_values_show_their_errors_next_to_their_fields(stack: Stack, page: Page) -> None:
    before = stack.stored()
    open_line(page, stack.page_url)
    patches_before = stack.patch_requests_to_bc()

    page.locator("#field-amount").fill("12.345")
    page.locator("#field-description").fill("x" * 101)
    page.locator("#save").click()

    amount_field = page.locator('.field[data-field="amount"]')
    expect(amount_field).to_have_class("field invalid")
    expect(amount_field.locator(".field-error")).to_contain_text(
        "at most 2 digits after the decimal point"
    )
    description_field = page.locator('.field[data-field="description"]')
    expect(description_field.locator(".field-error")).to_contain_text("at most 100 characters")
    expect(page.locator('.field[data-field="comment"] .field-error')).to_have_text("")
    expect(page.locator("#status")).to_contain_text("Not saved")
    # Refused by the proxy before Business Central: nothing was sent, nothing changed.
    assert stack.patch_requests_to_bc() == patches_before
    assert stack.stored()["amount"] == before["amount"]

    # Correcting the values clears the errors once saved.
    page.locator("#field-amount").fill("12.34")
    page.locator("#field-description").fill("Paid by bank transfer")
    page.locator("#save").click()
    expect(page.locator("#status")).to_contain_text("Saved.")
    expect(amount_field).to_have_class("field")
    assert stack.stored()["amount"] == Decimal("12.34")


def test_a_change_behind_the_pages_back_offers_a_reload(stack: Stack, page: Page) -> None:
    open_line(page, stack.page_url)
    expect(page.locator("#conflict")).to_be_hidden()
    stack.change_behind_the_pages_back({"description": "Changed in Business Central"})

    page.locator("#field-amount").fill("99.99")
    page.locator("#save").click()

    expect(page.locator("#conflict")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("changed by someone else")
    assert stack.stored()["amount"] != Decimal("99.99")  # the stale edit was not applied

    page.locator("#reload").click()
    expect(page.locator("#conflict")).to_be_hidden()
    expect(page.locator("#field-description")).to_have_value("Changed in Business Central")
    expect(page.locator("#etag")).to_have_text(stack.proxy_etag())

    # With the current ETag the same edit now goes through.
    page.locator("#field-amount").fill("99.99")
    page.locator("#save").click()
    expect(page.locator("#status")).to_contain_text("Saved.")
    assert stack.stored()["amount"] == Decimal("99.99")


# A PATCH with If-Match needs a preflight; "refused" when the browser blocks it.
SEND_PATCH = """async (url) => {
  try {
    await fetch(url, {method: "PATCH", body: '{"amount": "1.00"}',
                      headers: {"Content-Type": "application/json", "If-Match": "*"}});
    return "sent";
  } catch (error) {
    return `refused (${error.name})`;
  }
}"""


def test_a_page_on_a_disallowed_origin_is_refused(stack: Stack, page: Page) -> None:
    # The same page from another origin, which CORS does not allow.
    with serve_in_thread(web_app(f"{stack.running.proxy_url}/api")) as other:
        assert other.url != stack.running.web_url
        refused_urls: list[str] = []
        page.on("requestfailed", lambda request: refused_urls.append(request.url))
        open_line(page, stack.page_url.replace(stack.running.web_url, other.url))
        expect(page.locator("#status")).to_contain_text("Could not reach the proxy")
        expect(page.locator("#line-section")).to_be_visible()
        expect(page.locator("#fields input")).to_have_count(0)
        assert any(url.startswith(stack.running.proxy_url) for url in refused_urls)

        # The preflight is refused, so the PATCH itself is never sent.
        patches = stack.patch_requests_to_bc()
        assert page.evaluate(SEND_PATCH, stack.proxy_line_url()) == "refused (TypeError)"
        assert stack.patch_requests_to_bc() == patches

    # The same call from the allowed origin goes through (and reaches Business Central).
    open_line(page, stack.page_url)
    assert page.evaluate(SEND_PATCH, stack.proxy_line_url()) == "sent"
    assert stack.patch_requests_to_bc() == patches + 1
    assert stack.stored()["amount"] == Decimal("1.00")

    preflight = httpx.options(
        f"{stack.running.proxy_url}/api/health",
        headers={"Origin": other.url, "Access-Control-Request-Method": "PATCH"},
    )
    assert preflight.status_code == 204
    assert not any(name.startswith("access-control-") for name in preflight.headers)


def test_choose_company_journal_and_line_from_the_lists(stack: Stack, page: Page) -> None:
    listed = httpx.get(f"{stack.running.proxy_url}/api/v2.0/companies", timeout=30)
    if listed.status_code == 404:
        pytest.skip("the proxy has no list routes yet; the other tests pick the line by its ids")
    second = stack.seed["companies"][1]
    journal = second["journals"][0]
    line = journal["payments"][1]

    open_line(page, stack.page_url.split("&company=", 1)[0])  # no ids: the lists decide
    expect(page.locator("#lists-note")).to_be_hidden()
    page.locator("#company").select_option(second["id"])
    expect(page.locator("#journal")).to_have_value(journal["id"])
    page.locator("#payment").select_option(line["id"])

    expect(page.locator("#field-lineNumber")).to_have_value(str(line["lineNumber"]))
    expect(page.locator("#field-customerNumber")).to_have_value(line["customerNumber"])
    assert Decimal(page.locator("#field-amount").input_value()) == Decimal(str(line["amount"]))


def test_an_api_named_in_the_address_receives_nothing(stack: Stack, page: Page) -> None:
    """A link that names another proxy (``?api=``) must not move the page's
    calls there: in the Entra variant each call carries the user's token."""
    received: list[str] = []

    class Listener(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            received.append(self.request.recv(4096).decode("latin-1"))

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Listener) as listener:
        threading.Thread(target=listener.serve_forever, daemon=True).start()
        foreign = f"http://127.0.0.1:{listener.server_address[1]}/api"
        open_line(page, f"{stack.page_url}&api={foreign}")
        # The page still works, against the proxy its config names.
        expect(page.locator("#fields input").first).to_be_visible()
        expect(page.locator("#api-base")).to_have_text(f"{stack.running.proxy_url}/api")
        listener.shutdown()
    assert received == []


def test_fields_are_labelled_with_the_openapi_titles_and_nothing_is_missing(
    stack: Stack, page: Page
) -> None:
    answers: list[tuple[int, str]] = []
    page.on("response", lambda response: answers.append((response.status, response.url)))
    open_line(page, stack.page_url)
    document = httpx.get(f"{stack.running.proxy_url}/api/openapi.json", timeout=30).json()
    properties = document["components"]["schemas"]["PaymentPatchV2"]["properties"]
    for name, label in (
        ("appliesToInvoiceId", "Applies-to Invoice ID"),
        ("customerNumber", "Customer Number"),
    ):
        assert properties[name]["title"] == label
        expect(page.locator(f'label[for="field-{name}"]')).to_have_text(label)
    # The icon is declared inline, so the browser never asks the web server for one.
    assert page.locator('link[rel="icon"]').get_attribute("href") == "data:,"
    assert [answer for answer in answers if answer[0] == 404] == []


UNKNOWN = "0f0f0f0f-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("wrong", "says", "choose"),
    [
        ("company", "No company the proxy may use has the id", "#company"),
        ("journal", "has no customer payment journal with the id", "#journal"),
        ("payment", "has no payment line with the id", "#payment"),
    ],
)
def test_a_wrong_id_in_the_address_is_named_and_the_lists_offered(
    stack: Stack, page: Page, wrong: str, says: str, choose: str
) -> None:
    company, journal, payment = stack.ids
    ids = {"company": company, "journal": journal, "payment": payment, wrong: UNKNOWN}
    address = f"{stack.running.web_url}/?" + "&".join(f"{k}={v}" for k, v in ids.items())
    open_line(page, address)

    note = page.locator("#address-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"{says} {UNKNOWN}")
    expect(note).to_contain_text("from the list")
    # No raw answers, and no form to fill: nothing is loaded until a line is chosen.
    expect(page.locator("#lists-note")).to_be_hidden()
    expect(page.locator("#save")).to_be_hidden()
    expect(page.locator("#fields input")).to_have_count(0)
    picker = page.locator(choose)
    expect(picker).to_have_value("")
    expect(picker.locator("option").first).to_have_text(re.compile(r"^Choose a \w+…$"))
    assert UNKNOWN not in picker.locator("option").all_inner_texts()

    # The lists lead to a line, and the page works as usual from there.
    if wrong == "company":
        page.locator("#company").select_option(company)
    elif wrong == "journal":
        page.locator("#journal").select_option(journal)
    else:
        page.locator("#payment").select_option(payment)
    expect(page.locator("#field-amount")).to_be_visible()
    expect(page.locator("#save")).to_be_visible()
    expect(note).to_be_hidden()
    expect(page.locator("#etag")).to_have_text(stack.proxy_etag())


def test_apply_the_suggested_invoice_or_one_chosen_from_the_lookups(
    stack: Stack, page: Page
) -> None:
    company = stack.seed["companies"][0]
    invoices = {i["number"]: i["id"] for i in company["invoices"]}
    customers = {c["number"]: c["id"] for c in company["customers"]}
    # The first line: customer 10000, 2000.50, "Payment for invoice 103001".
    open_line(page, stack.page_url)
    suggestions = page.locator("#suggestions li")
    expect(suggestions.first).to_contain_text("103001")
    expect(suggestions.first).to_contain_text("Same customer (10000)")
    expect(suggestions.nth(1)).to_contain_text("103008")
    # The suggestion is chosen first, and the customer's invoices list it first.
    expect(page.locator("#apply-customer")).to_have_value(customers["10000"])
    expect(page.locator("#apply-invoice")).to_have_value(invoices["103001"])
    expect(page.locator("#apply-invoice option").first).to_contain_text("103001")
    expect(page.locator("#apply-invoice option").first).to_contain_text("(suggested)")
    expect(page.locator("#apply-invoice option")).to_have_count(3)  # 10000's open invoices

    # Another open invoice of the customer, from the lookup.
    page.locator("#apply-invoice").select_option(invoices["103009"])
    page.locator("#apply").click()
    status = page.locator("#apply-status")
    expect(status).to_contain_text("Applied to invoice 103009 (check: passed)")
    assert stack.stored()["appliesToInvoiceNumber"] == "103009"
    expect(page.locator("#field-appliesToInvoiceNumber")).to_have_value("103009")

    # The customer's invoice in yen: the application check refuses it, nothing is written.
    patches = stack.patch_requests_to_bc()
    page.locator("#apply-invoice").select_option(invoices["103011"])
    page.locator("#apply").click()
    expect(status).to_contain_text("Not applied")
    expect(status).to_contain_text("another currency")
    assert stack.patch_requests_to_bc() == patches
    assert stack.stored()["appliesToInvoiceNumber"] == "103009"

    # The second suggestion: another customer's invoice of the same amount.
    page.locator("#suggestions button").nth(1).click()
    expect(page.locator("#apply-customer")).to_have_value(customers["20000"])
    expect(page.locator("#apply-invoice")).to_have_value(invoices["103008"])
    page.locator("#apply").click()
    expect(status).to_contain_text("Applied to invoice 103008")
    stored = stack.stored()
    assert (stored["customerNumber"], stored["appliesToInvoiceNumber"]) == ("20000", "103008")
