// A customer payment line editor talking to the payments proxy from another origin.
//
// Flow: pick company, journal and line (the proxy's list routes, or ids in the
// query string), read the line and its ETag, edit, PATCH only what changed with
// If-Match, show each validation error next to its field, and on 412 offer to
// reload. The editable properties and their descriptions come from the proxy's
// own OpenAPI document, so the page never restates a field rule.

import * as applying from "./apply.js";

const $ = (id) => document.getElementById(id);
const config = readConfig();

// The line as last read: its values, ETag and ids.
let current = null;
// Property name -> JSON schema of the PATCH body for the chosen API version.
let editable = {};

// The proxy's base URL comes from the page's own config block (written when
// the page is deployed) or, without one, the page's own origin: never from
// the address. A link could otherwise send every call, and in the Entra
// variant the user's bearer token, to a host of the link's author's choosing.
// Ids and the API version may come from the address: they only pick a line.
function readConfig() {
  const block = JSON.parse($("config")?.textContent || "{}");
  const query = new URLSearchParams(window.location.search);
  return {
    apiBase: (block.apiBase || `${window.location.origin}/api`).replace(/\/+$/, ""),
    apiVersion: query.get("version") || block.apiVersion || "v2.0",
    company: query.get("company") || "",
    journal: query.get("journal") || "",
    payment: query.get("payment") || "",
  };
}

// With CALLER_AUTH=entra this returns {Authorization: "Bearer ..."} (see README.md).
// Locally no caller credential is needed; a browser never holds a function key.
async function authHeaders() {
  return {};
}

function url(...segments) {
  return [config.apiBase, ...segments.map(encodeURIComponent)].join("/");
}

function lineUrl(ids) {
  return url(
    config.apiVersion, "companies", ids.company, "customerPaymentJournals", ids.journal,
    "customerPayments", ids.payment,
  );
}

// fetch() that never throws: {response, body} or {error} when the proxy could
// not be reached (down, or this origin not allowed by its CORS settings).
async function call(method, target, { headers = {}, body } = {}) {
  try {
    const response = await fetch(target, {
      method,
      headers: { Accept: "application/json, application/problem+json", ...(await authHeaders()), ...headers },
      body,
    });
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { response, body: parsed };
  } catch (error) {
    return { error };
  }
}

function describeFailure(result, what) {
  if (result.error) {
    return `Could not reach the proxy at ${config.apiBase} to ${what}: is it running, and does ` +
      "its CORS setting allow this page's origin?";
  }
  const problem = result.body || {};
  const requestId = result.response.headers.get("x-request-id");
  const detail = problem.detail ? `: ${problem.detail}` : "";
  const title = problem.title || `HTTP ${result.response.status}`;
  return `Could not ${what} (${result.response.status}) ${title}${detail}` +
    (requestId ? ` [request ${requestId}]` : "");
}

function setStatus(text, kind = "") {
  const status = $("status");
  status.textContent = text;
  status.className = kind;
}

// --- pickers -----------------------------------------------------------------

// Fills a picker. An id from the address that a loaded list does not hold is
// wrong: the picker then asks for a choice instead (returns false). Without a
// list, or for a line (a journal's list is one page), the id is kept as given.
function fillSelect(select, items, label, chosen, what = "") {
  select.replaceChildren();
  select.dataset.listed = items ? "true" : "";
  for (const item of items || []) {
    const option = document.createElement("option");
    option.value = item.id;
    option.textContent = label(item);
    select.append(option);
  }
  // GUIDs in any case: the address may spell one in upper case.
  const listed = (items || []).find((item) => item.id.toLowerCase() === chosen?.toLowerCase());
  if (chosen && !listed && items && what) {
    askToChoose(select, what);
    return false;
  }
  if (chosen && !listed) {
    const option = document.createElement("option");
    option.value = chosen;
    option.textContent = chosen;
    select.append(option);
  }
  if (chosen) select.value = listed ? listed.id : chosen;
  return true;
}

// A disabled first entry, chosen: nothing is loaded until the user picks.
function askToChoose(select, what) {
  const prompt = document.createElement("option");
  prompt.value = "";
  prompt.textContent = `Choose a ${what}…`;
  prompt.disabled = true;
  select.prepend(prompt);
  select.value = "";
}

// Says which id of the address is unknown; empty text hides the note.
function noteAddress(text) {
  $("address-note").textContent = text;
  $("address-note").hidden = !text;
}

function chosenLabel(select) {
  return select.selectedOptions[0]?.textContent || select.value;
}

async function list(what, ...segments) {
  const result = await call("GET", url(config.apiVersion, ...segments));
  if (result.error || !result.response.ok) {
    const note = $("lists-note");
    note.textContent = `${describeFailure(result, `list ${what}`)}. Ids can also be given in ` +
      "the address: ?company=<id>&journal=<id>&payment=<id>";
    note.hidden = false;
    return null;
  }
  return Array.isArray(result.body?.value) ? result.body.value : [];
}

async function loadCompanies(chosen) {
  const companies = await list("companies", "companies");
  if (!fillSelect($("company"), companies, (c) => c.displayName || c.name || c.id, chosen, "company")) {
    noteAddress(`No company the proxy may use has the id ${chosen} given in the address. ` +
      "Choose a company from the list.");
  }
}

async function loadJournals(chosen) {
  const company = $("company").value;
  if (!company) {
    fillSelect($("journal"), null, String);
    return;
  }
  const journals = await list("journals", "companies", company, "customerPaymentJournals");
  const label = (j) => [j.code, j.displayName].filter(Boolean).join(" · ");
  if (!fillSelect($("journal"), journals, label, chosen, "journal")) {
    noteAddress(`${chosenLabel($("company"))} has no customer payment journal with the id ` +
      `${chosen} given in the address. Choose a journal from the list.`);
  }
}

async function loadLines(chosen) {
  const company = $("company").value;
  const journal = $("journal").value;
  if (!company || !journal) {
    fillSelect($("payment"), null, String);
    return;
  }
  const lines = await list(
    "payment lines", "companies", company, "customerPaymentJournals", journal, "customerPayments",
  );
  const label = (l) => [l.lineNumber, l.customerNumber, l.documentNumber, l.amount]
    .filter((v) => v !== undefined && v !== "").join(" · ");
  fillSelect($("payment"), lines, label, chosen);
}

function chosenIds() {
  return { company: $("company").value, journal: $("journal").value, payment: $("payment").value };
}

// --- the line ------------------------------------------------------------------

async function loadSchema() {
  const result = await call("GET", url("openapi.json"));
  if (result.error || !result.response.ok) {
    setStatus(describeFailure(result, "read the OpenAPI document"), "error");
    return;
  }
  const document_ = result.body;
  const path = Object.keys(document_.paths || {}).find(
    (p) => p.startsWith(`/${config.apiVersion}/`) && p.endsWith("/customerPayments/{paymentId}"),
  );
  const ref = document_.paths?.[path]?.patch?.requestBody?.content?.["application/json"]?.schema?.$ref;
  const schema = ref ? document_.components.schemas[ref.split("/").pop()] : null;
  // Read-only properties are listed too (a line sent back as read may carry
  // them); the form offers only what a PATCH can change.
  editable = Object.fromEntries(
    Object.entries(schema?.properties || {}).filter(([, property]) => !property.readOnly),
  );
}

function display(value) {
  return value === undefined || value === null ? "" : String(value);
}

function renderFields() {
  const container = $("fields");
  container.replaceChildren();
  for (const [name, schema] of Object.entries(editable)) {
    const field = document.createElement("div");
    field.className = "field";
    field.dataset.field = name;
    const label = document.createElement("label");
    label.htmlFor = `field-${name}`;
    label.textContent = schema.title || name; // the OpenAPI document's label
    const input = document.createElement("input");
    input.id = `field-${name}`;
    input.name = name;
    input.title = schema.description || "";
    if (name === "amount") input.inputMode = "decimal";
    if (schema.type === "integer") input.inputMode = "numeric";
    input.setAttribute("aria-describedby", `error-${name}`);
    const error = document.createElement("div");
    error.className = "field-error";
    error.id = `error-${name}`;
    field.append(label, input, error);
    container.append(field);
  }
}

function renderLine() {
  if (!$("fields").children.length) renderFields();
  for (const name of Object.keys(editable)) {
    $(`field-${name}`).value = display(current.line[name]);
  }
  $("journal-name").textContent = display(current.line.journalDisplayName);
  $("modified").textContent = display(current.line.lastModifiedDateTime);
  $("etag").textContent = current.etag || "(none)";
  showForm(true);
  noteAddress("");
  clearErrors();
}

// The fields and the save button only with a line to edit; the status stays.
function showForm(shown) {
  $("line-section").hidden = false;
  for (const part of [$("fields"), $("save"), document.querySelector("#line-section .meta")]) {
    part.hidden = !shown;
  }
}

function clearErrors() {
  for (const field of document.querySelectorAll(".field")) {
    field.classList.remove("invalid");
    field.querySelector(".field-error").textContent = "";
  }
}

async function loadLine(ids = chosenIds()) {
  $("conflict").hidden = true;
  if (!ids.company || !ids.journal || !ids.payment) {
    current = null;
    $("line-section").hidden = true;
    return;
  }
  setStatus("Loading…");
  const result = await call("GET", lineUrl(ids));
  if (result.error || !result.response.ok) {
    current = null;
    showForm(false);
    if (result.response?.status === 404 && $("company").dataset.listed && $("journal").dataset.listed) {
      // Company and journal are in their lists, so the line is what does not exist.
      noteAddress(`Journal ${chosenLabel($("journal"))} has no payment line with the id ` +
        `${ids.payment}. Choose a line from the list.`);
      $("payment").querySelector(`option[value="${CSS.escape(ids.payment)}"]`)?.remove();
      askToChoose($("payment"), "line");
      setStatus("");
      $("line-section").hidden = true;
      return;
    }
    setStatus(describeFailure(result, "read the line"), "error");
    return;
  }
  // The ETag header is readable cross-origin only because the proxy exposes it.
  current = { ids, line: result.body, etag: result.response.headers.get("ETag") };
  renderLine();
  setStatus(current.etag ? "" : "The proxy's ETag header is not readable from this page.", current.etag ? "" : "error");
  await applying.refresh();
}

// The JSON value to send for what the user typed. Amounts go as strings, so no
// digit is ever lost to a binary float; integers go as numbers when they are
// integers. Anything else is sent as typed, and the proxy says what is wrong.
function outgoing(name, text) {
  const schema = editable[name] || {};
  if (name === "amount") return text.trim();
  if (schema.type === "integer" && /^-?\d+$/.test(text.trim())) return Number(text.trim());
  return text;
}

function changes() {
  const changed = {};
  for (const name of Object.keys(editable)) {
    const text = $(`field-${name}`).value;
    if (text !== display(current.line[name])) changed[name] = outgoing(name, text);
  }
  return changed;
}

function showFieldErrors(errors) {
  const unplaced = [];
  for (const error of errors) {
    const field = document.querySelector(`.field[data-field="${CSS.escape(error.field || "")}"]`);
    if (!field) {
      unplaced.push(error.message || error.code);
      continue;
    }
    field.classList.add("invalid");
    const slot = field.querySelector(".field-error");
    slot.textContent = [slot.textContent, error.message || error.code].filter(Boolean).join("; ");
  }
  return unplaced;
}

async function save(event) {
  event.preventDefault();
  if (!current) return;
  clearErrors();
  const body = changes();
  if (!Object.keys(body).length) {
    setStatus("Nothing to save: no property was changed.");
    return;
  }
  $("save").disabled = true;
  setStatus("Saving…");
  const result = await call("PATCH", lineUrl(current.ids), {
    headers: { "Content-Type": "application/json", "If-Match": current.etag || "" },
    body: JSON.stringify(body),
  });
  $("save").disabled = false;
  if (result.error) {
    setStatus(describeFailure(result, "save"), "error");
    return;
  }
  const { response } = result;
  const requestId = response.headers.get("x-request-id");
  if (response.ok) {
    current = { ...current, line: result.body, etag: response.headers.get("ETag") };
    renderLine();
    setStatus(`Saved.${requestId ? ` [request ${requestId}]` : ""}`, "ok");
  } else if (response.status === 412) {
    $("conflict").hidden = false;
    setStatus("Not saved: the line was changed by someone else.", "error");
    $("reload").focus();
  } else if (Array.isArray(result.body?.errors)) {
    const unplaced = showFieldErrors(result.body.errors);
    const rest = unplaced.length ? ` ${unplaced.join("; ")}` : "";
    setStatus(`Not saved: ${result.body.detail || result.body.title}.${rest}`, "error");
  } else {
    setStatus(describeFailure(result, "save"), "error");
  }
}

// --- start -----------------------------------------------------------------------

async function start() {
  $("api-base").textContent = config.apiBase;
  $("line-form").addEventListener("submit", save);
  $("reload").addEventListener("click", () => loadLine(current?.ids));
  $("company").addEventListener("change", async () => {
    await loadJournals();
    await loadLines();
    await loadLine();
  });
  $("journal").addEventListener("change", async () => {
    await loadLines();
    await loadLine();
  });
  $("payment").addEventListener("change", () => loadLine());
  applying.attach({
    call, url, lineUrl, config, describeFailure,
    current: () => current,
    applied: (result) => {
      current = { ...current, line: result.body, etag: result.response.headers.get("ETag") };
      renderLine();
    },
  });

  await loadSchema();
  await loadCompanies(config.company);
  await loadJournals(config.journal);
  await loadLines(config.payment);
  await loadLine();
  document.body.dataset.ready = "true";
}

start();
