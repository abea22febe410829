// Applying the payment line to an invoice, with the proxy's lookups only: the
// invoices suggested for the line (best first, each with its reasons), the
// company's customers, and the open invoices of the chosen customer. The page
// never writes OData and never holds a Business Central token.
//
// app.js owns the line; this module gets what it needs through attach() and is
// told to refresh() whenever a line is shown.

const $ = (id) => document.getElementById(id);

let page = null; // {call, url, lineUrl, config, describeFailure, current, applied}
let suggested = []; // the suggestions for the line shown

export function attach(context) {
  page = context;
  $("apply-customer").addEventListener("change", () => loadInvoices());
  $("apply").addEventListener("click", apply);
}

function companyUrl(...segments) {
  const { company } = page.current().ids;
  return page.url(page.config.apiVersion, "companies", company, ...segments);
}

function setStatus(text, kind = "") {
  const status = $("apply-status");
  status.textContent = text;
  status.className = kind;
}

function option(value, text) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = text;
  return element;
}

function describeSuggestion(item) {
  const reasons = (item.reasons || []).map((reason) => reason.message).join(" ");
  return { title: `${item.title} (score ${item.score})`, reasons };
}

function renderSuggestions() {
  const list = $("suggestions");
  list.replaceChildren();
  for (const item of suggested) {
    const { title, reasons } = describeSuggestion(item);
    const entry = document.createElement("li");
    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "secondary suggestion";
    pick.dataset.invoice = item.id;
    pick.textContent = title;
    pick.addEventListener("click", () => choose(item.customerId, item.id));
    const why = document.createElement("span");
    why.className = "note";
    why.textContent = ` ${reasons}`;
    entry.append(pick, why);
    list.append(entry);
  }
  $("no-suggestions").hidden = suggested.length > 0;
}

async function loadCustomers(chosen) {
  const result = await page.call("GET", `${companyUrl("customers")}?top=1000`);
  const select = $("apply-customer");
  select.replaceChildren();
  if (result.error || !result.response.ok) {
    setStatus(page.describeFailure(result, "list the customers"), "error");
    return;
  }
  for (const customer of result.body.value || []) {
    select.append(option(customer.id, customer.title || customer.number));
  }
  if (chosen) select.value = chosen;
}

// The chosen customer's open invoices, the ones suggested for the line first.
async function loadInvoices(chosen) {
  const customer = $("apply-customer").value;
  const select = $("apply-invoice");
  select.replaceChildren();
  if (!customer) return;
  const query = new URLSearchParams({ customerId: customer, top: "1000" });
  const result = await page.call("GET", `${companyUrl("openSalesInvoices")}?${query}`);
  if (result.error || !result.response.ok) {
    setStatus(page.describeFailure(result, "list the open invoices"), "error");
    return;
  }
  const invoices = result.body.value || [];
  const rank = (invoice) => {
    const place = suggested.findIndex((item) => item.id === invoice.id);
    return place < 0 ? suggested.length : place;
  };
  invoices.sort((a, b) => rank(a) - rank(b));
  for (const invoice of invoices) {
    const hint = rank(invoice) < suggested.length ? " (suggested)" : "";
    select.append(option(invoice.id, `${invoice.title}${hint}`));
  }
  if (chosen) select.value = chosen;
}

async function choose(customerId, invoiceId) {
  $("apply-customer").value = customerId;
  await loadInvoices(invoiceId);
}

// Called whenever app.js shows a line: suggestions first, then the pickers.
export async function refresh() {
  const current = page?.current();
  if (!current) return;
  $("apply-section").hidden = false;
  setStatus("");
  const result = await page.call("GET", `${page.lineUrl(current.ids)}/suggestedInvoices`);
  suggested = !result.error && result.response.ok ? result.body.value || [] : [];
  if (result.error || !result.response.ok) {
    setStatus(page.describeFailure(result, "suggest invoices"), "error");
  }
  renderSuggestions();
  const first = suggested[0];
  await loadCustomers(first ? first.customerId : current.line.customerId);
  await loadInvoices(first ? first.id : current.line.appliesToInvoiceId);
}

async function apply() {
  const current = page.current();
  const customerId = $("apply-customer").value;
  const invoiceId = $("apply-invoice").value;
  if (!current || !invoiceId) {
    setStatus("Choose an invoice first.", "error");
    return;
  }
  const body = { appliesToInvoiceId: invoiceId };
  if (customerId !== current.line.customerId) body.customerId = customerId;
  $("apply").disabled = true;
  setStatus("Applying…");
  const result = await page.call("PATCH", page.lineUrl(current.ids), {
    headers: { "Content-Type": "application/json", "If-Match": current.etag || "" },
    body: JSON.stringify(body),
  });
  $("apply").disabled = false;
  if (!result.error && result.response.ok) {
    // Exposed by the proxy, so readable from this origin.
    const check = result.response.headers.get("x-application-check") || "not needed";
    page.applied(result);
    setStatus(`Applied to invoice ${result.body.appliesToInvoiceNumber} (check: ${check}).`, "ok");
    return;
  }
  const problem = result.body || {};
  const message = problem.errors?.length
    ? problem.errors.map((error) => error.message).join(" ")
    : page.describeFailure(result, "apply the payment");
  setStatus(`Not applied: ${problem.title || "failed"}. ${message}`, "error");
}
