// tokengate console: plain JavaScript, no framework, no build step.
// Everything from the API is put on the page as text (textContent, attributes set one by
// one); nothing is ever parsed as HTML. The only secret kept is the temporary session
// token, in sessionStorage, and "Sign out" revokes it.

const API = new URL("../", document.baseURI); // the page is <api>/console/
const SESSION = "tokengate.session";
const main = document.getElementById("main");
const bannerEl = document.getElementById("banner");

// ---- DOM helpers --------------------------------------------------------------------

// h builds an element: attrs are set as properties or attributes, children as text nodes.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
// field is a labelled control with a place for its error, named after the API field.
function field(label, control, apiField, hint) {
  const id = control.id || `f${++uid}`;
  control.id = id;
  const err = h("p", { class: "error", id: `${id}-err`, "data-field": apiField || "" });
  control.setAttribute("aria-describedby", `${id}-err`);
  return h("div", {}, h("label", { for: id }, label), control, hint ? h("p", { class: "hint" }, hint) : null, err);
}

function fmtTime(s) {
  if (!s) return "";
  const d = new Date(s);
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}
function fmtDate(s) { return s ? new Date(s).toISOString().slice(0, 10) : ""; }
function badge(text, kind) { return h("span", { class: `badge ${kind || text}` }, text); }

// ---- API ----------------------------------------------------------------------------

class APIError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.errors = (body && body.errors) || [];
    this.gateway = !!(body && body.message && !body.detail); // refused by the authorizer
  }
}

async function call(method, path, body, tokenOverride) {
  const token = tokenOverride || (session() || {}).token;
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(new URL(path.replace(/^\//, ""), API), {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
  });
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const err = new APIError(res.status, data);
    if (!tokenOverride && err.gateway && session()) {
      // The session token stopped working (expired, revoked): start again.
      endSession("Your session has ended. Sign in again.");
    }
    throw err;
  }
  return data;
}

// showErrors puts each API field error next to the control named after it, the rest in
// the form's general error line.
function showErrors(form, err) {
  form.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
  const general = form.querySelector(".error[data-field='']") || form.querySelector(".error.general");
  const rest = [];
  for (const fe of err.errors || []) {
    const root = fe.field.split(".")[0];
    const slot = form.querySelector(`.error[data-field="${CSS.escape(root)}"]`);
    if (slot) slot.textContent = slot.textContent ? `${slot.textContent} ${fe.message}` : `${fe.field === root ? "" : fe.field + ": "}${fe.message}`;
    else rest.push(`${fe.field}: ${fe.message}`);
  }
  const msg = err.errors && err.errors.length ? rest.join(" ") : err.message;
  if (general && msg) general.textContent = msg;
  const first = [...form.querySelectorAll(".error")].find((e) => e.textContent);
  if (first) {
    const ctl = form.querySelector(`[aria-describedby="${first.id}"]`);
    (ctl || first).focus?.();
  }
}

// ---- session ------------------------------------------------------------------------

function session() {
  try { return JSON.parse(sessionStorage.getItem(SESSION)); } catch { return null; }
}
let catalog = null; // {scopes: [...], roles: [...]}
let alerts = new Map(); // token id -> daysLeft

function isAdmin() { const s = session(); return !!s && s.scopes.includes("tokens:admin"); }
function has(scope) { const s = session(); return !!s && s.scopes.includes(scope); }

async function signIn(pasted) {
  let self;
  try {
    self = await call("GET", "tokens/self", undefined, pasted);
  } catch (e) {
    if (e.status === 401 || e.status === 403) throw new APIError(e.status, { detail: "This token was not accepted: it is revoked, expired, disabled or mistyped." });
    throw e;
  }
  const req = { name: "Console session", type: "temporary", scopes: self.scopes, reason: "Console sign-in" };
  // A session never outlives the token it came from.
  if (self.expiresAt && Date.parse(self.expiresAt) - Date.now() < 3600e3) req.expiresAt = self.expiresAt;
  let created;
  try {
    created = await call("POST", "tokens", req, pasted);
  } catch (e) {
    if (e.status === 403) throw new APIError(403, { detail: `This token cannot start a console session: ${e.message}` });
    throw e;
  }
  sessionStorage.setItem(SESSION, JSON.stringify({ token: created.token, id: created.id, ownerId: created.ownerId, scopes: created.scopes, expiresAt: created.expiresAt }));
}

async function signOut() {
  const s = session();
  if (s) {
    try { await call("DELETE", `tokens/${encodeURIComponent(s.id)}`, { reason: "Console sign-out" }); } catch { /* already gone */ }
  }
  endSession("You are signed out. The session token was revoked.");
}

function endSession(message) {
  sessionStorage.removeItem(SESSION);
  catalog = null;
  alerts = new Map();
  location.hash = "";
  renderSignIn(message);
}

function renderSignIn(message) {
  chrome(false);
  const input = h("input", { type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const err = h("p", { class: "error", "data-field": "", role: "alert" });
  const form = h("form", { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to tokengate"),
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    field("API token", input, "token", "Paste a token once. The console exchanges it for a temporary session token and forgets it; only the session token stays in this tab."),
    err,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    if (!value) { showErrors(form, { errors: [{ field: "token", message: "Paste a token first." }] }); return; }
    form.querySelector("button").disabled = true;
    try {
      await signIn(value);
      input.value = "";
      // A link from an expiry email (#/tokens/<id>/security) opens that page once signed in.
      if (!location.hash.startsWith("#/")) location.hash = "#/tokens";
      route();
    } catch (e) {
      input.value = "";
      showErrors(form, e.errors && e.errors.length ? e : { message: e.message, errors: [] });
      form.querySelector("button").disabled = false;
    }
  });
  main.replaceChildren(form);
  input.focus();
}

// chrome shows the navigation for a signed-in user.
function chrome(signedIn) {
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  document.querySelectorAll("[data-admin]").forEach((a) => { a.hidden = !isAdmin(); });
  document.getElementById("who").textContent = signedIn ? `Signed in as ${session().ownerId}` : "";
  if (!signedIn) bannerEl.hidden = true;
  const page = location.hash.split("/")[1] || "tokens";
  document.querySelectorAll("#nav a").forEach((a) => {
    if (a.getAttribute("href") === `#/${page}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
}

async function loadCatalog() {
  if (catalog) return catalog;
  const [scopes, roles] = await Promise.all([call("GET", "scopes"), call("GET", "roles")]);
  catalog = { scopes: scopes.items, roles: roles.items };
  return catalog;
}
function riskOf(scope) { const s = (catalog ? catalog.scopes : []).find((x) => x.name === scope); return s ? s.risk : "low"; }

// refreshBanner shows, on every page, the tokens the caller can see that expire within
// the detection window (GET /alerts).
async function refreshBanner() {
  try {
    const res = await call("GET", "alerts");
    alerts = new Map(res.items.map((a) => [a.id, a.daysLeft]));
    if (!res.items.length) { bannerEl.hidden = true; return; }
    const first = res.items[0];
    const n = res.items.length;
    bannerEl.replaceChildren(
      h("strong", {}, n === 1 ? "1 token expires soon: " : `${n} tokens expire soon. The first: `),
      h("a", { href: `#/tokens/${first.id}` }, first.name),
      ` expires ${fmtTime(first.expiresAt)} (in less than ${first.daysLeft} day${first.daysLeft === 1 ? "" : "s"}). Rotate it with a new expiry before then.`);
    bannerEl.hidden = false;
  } catch { bannerEl.hidden = true; }
}

// ---- Tokens page --------------------------------------------------------------------

const listState = { status: "", owner: "", cursors: [""], page: 0 };

async function renderTokens() {
  const status = h("select", { id: "filter-status" }, h("option", { value: "" }, "Any status"),
    ["active", "pending", "disabled", "revoked", "rejected", "expired"].map((s) => h("option", { value: s }, s)));
  status.value = listState.status;
  const owner = h("input", { id: "filter-owner", type: "text", value: listState.owner, placeholder: "everyone's" });
  const filters = h("form", { class: "bar", "aria-label": "Filters" },
    h("div", {}, h("label", { for: "filter-status" }, "Status"), status),
    isAdmin() ? h("div", {}, h("label", { for: "filter-owner" }, "Owner"), owner) : null,
    h("div", {}, h("button", { type: "submit", class: "quiet" }, "Apply filters")),
    h("div", { class: "grow" }),
    h("div", {}, h("button", { type: "button", onclick: () => openGenerate() }, "Generate token")));
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    Object.assign(listState, { status: status.value, owner: owner.value.trim(), cursors: [""], page: 0 });
    renderTokens();
  });
  const body = h("tbody", {}, h("tr", {}, h("td", { colspan: 9, class: "muted" }, "Loading…")));
  const table = h("table", { "aria-label": "Tokens" },
    h("thead", {}, h("tr", {}, ["Name", "Token", "Scopes", "Risk", "Status", "Created", "Last used", "Expires", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
    body);
  const prev = h("button", { type: "button", class: "quiet", disabled: listState.page === 0 }, "Previous page");
  const next = h("button", { type: "button", class: "quiet", disabled: true }, "Next page");
  const err = h("p", { class: "error", role: "alert" });
  main.replaceChildren(h("h1", {}, "Tokens"), filters, err, table, h("div", { class: "pager" }, prev, next));

  const q = new URLSearchParams({ limit: "20" });
  if (listState.status) q.set("status", listState.status);
  if (listState.owner) q.set("ownerId", listState.owner);
  const cursor = listState.cursors[listState.page];
  if (cursor) q.set("cursor", cursor);
  let res;
  try {
    res = await call("GET", `tokens?${q}`);
  } catch (e) { err.textContent = e.message; body.replaceChildren(); return; }
  body.replaceChildren(...(res.items.length ? res.items.map(tokenRow) : [h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No tokens yet. Generate one."))]));
  next.disabled = !res.nextCursor;
  next.onclick = () => { listState.cursors[listState.page + 1] = res.nextCursor; listState.page++; renderTokens(); };
  prev.onclick = () => { listState.page--; renderTokens(); };
  // Time to first render, for the browser tests: navigation start to the list drawn.
  if (!window.tokensRenderedAt) window.tokensRenderedAt = performance.now();
  main.dataset.ready = "tokens";
}

function tokenRow(t) {
  const days = alerts.get(t.id);
  const revocable = !["revoked", "rejected", "expired"].includes(t.status);
  return h("tr", { "data-id": t.id },
    h("td", {}, h("a", { href: `#/tokens/${t.id}` }, t.name), t.type === "temporary" ? h("div", { class: "hint" }, "temporary") : null),
    h("td", {}, h("code", {}, t.hint)),
    h("td", {}, h("div", { class: "scopes" }, t.scopes.map((s) => h("code", {}, s)))),
    h("td", {}, badge(t.risk)),
    h("td", {}, badge(t.status)),
    h("td", { class: "nowrap" }, fmtDate(t.createdAt)),
    h("td", { class: "last-used" }, t.lastUsedAt ? fmtTime(t.lastUsedAt) : "Never"),
    h("td", { class: "nowrap" }, t.expiresAt ? fmtDate(t.expiresAt) : "Never",
      days !== undefined ? h("div", {}, badge(`Expires in < ${days} day${days === 1 ? "" : "s"}`, "expiring")) : null),
    h("td", {}, revocable ? h("button", { type: "button", class: "quiet small", "aria-label": `Revoke ${t.name}`, onclick: () => confirmRevoke(t, renderTokens) }, "Revoke") : null));
}

// confirmRevoke asks before revoking: clients using the token stop working.
function confirmRevoke(t, after) {
  const reason = h("input", { type: "text", maxlength: 500 });
  const dlg = h("dialog", { "aria-labelledby": "revoke-title" });
  const form = h("form", { method: "dialog" },
    h("h2", { id: "revoke-title" }, "Revoke this token?"),
    h("p", {}, "“", h("strong", {}, t.name), "” (", h("code", {}, t.hint), ") stops working for every client within seconds. This cannot be undone."),
    field("Reason", reason, "reason", "Optional; kept in the audit log."),
    h("p", { class: "error", "data-field": "" }),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "quiet", onclick: () => dlg.close() }, "Cancel"),
      h("button", { type: "submit", class: "danger" }, "Revoke")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await call("DELETE", `tokens/${encodeURIComponent(t.id)}`, { reason: reason.value });
      dlg.close();
      dlg.remove();
      after();
    } catch (e) { showErrors(form, e); }
  });
  dlg.append(form);
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

// ---- Generate token dialog ------------------------------------------------------------

const presets = [["1w", "1 week"], ["1m", "1 month"], ["3m", "3 months"], ["6m", "6 months"], ["1y", "1 year"], ["custom", "Custom date"], ["never", "Never"]];

async function openGenerate() {
  const cat = await loadCatalog();
  const held = session().scopes;
  const name = h("input", { type: "text", maxlength: 100, required: true });
  const desc = h("textarea", { rows: 2, maxlength: 500 });
  const role = h("select", { class: "wide" }, h("option", { value: "" }, "No role: choose scopes"),
    cat.roles.map((r) => h("option", { value: r.name }, `${r.name} (${r.risk} risk)`)));
  const scopeBoxes = [];
  const groups = ["low", "medium", "high"].map((risk) => {
    const items = cat.scopes.filter((s) => s.risk === risk);
    if (!items.length) return null;
    return h("div", { role: "group", "aria-label": `${risk[0].toUpperCase()}${risk.slice(1)} risk` },
      h("p", { class: "hint" }, badge(`${risk} risk`, risk)),
      items.map((s) => {
        const box = h("input", { type: "checkbox", value: s.name, disabled: !held.includes(s.name) });
        scopeBoxes.push(box);
        return h("label", { class: "inline", title: s.description }, box, h("code", {}, s.name));
      }));
  });
  const scopesSet = h("fieldset", { "aria-describedby": "gen-scopes-err" }, h("legend", {}, "Scopes"), groups,
    h("p", { class: "error", id: "gen-scopes-err", "data-field": "scopes" }));
  const expiry = h("select", {}, h("option", { value: "" }, "Default: 1 year (temporary: a session)"), presets.map(([v, l]) => h("option", { value: v }, l)));
  const custom = h("input", { type: "date", "aria-label": "Custom expiration date", hidden: true });
  const type = h("select", {}, h("option", { value: "permanent" }, "Permanent"), h("option", { value: "temporary" }, "Temporary (a session)"));
  if (!held.includes("tokens:admin")) type.value = "temporary";
  const reason = h("input", { type: "text", maxlength: 500 });
  const reasonHint = h("p", { class: "hint" }, "Required for medium- and high-risk scopes; kept in the audit log.");
  const ips = h("textarea", { rows: 2, placeholder: "203.0.113.0/24, 2001:db8::/32" });
  const rateN = h("input", { type: "number", min: 1, "aria-label": "Requests", placeholder: "1000" });
  const rateP = h("select", { "aria-label": "Rate limit period" }, ["second", "minute", "hour", "day"].map((p) => h("option", { value: p }, `per ${p}`)));
  rateP.value = "hour";
  const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => h("input", { type: "checkbox", value: d }));
  const startH = h("input", { type: "number", min: 0, max: 23, placeholder: "9" });
  const endH = h("input", { type: "number", min: 1, max: 24, placeholder: "18" });

  expiry.addEventListener("change", () => { custom.hidden = expiry.value !== "custom"; });
  const dlg = h("dialog", { "aria-labelledby": "gen-title", id: "generate" });
  const form = h("form", { novalidate: true },
    h("h2", { id: "gen-title" }, "Generate token"),
    field("Token name", name, "name"),
    field("Description", desc, "description"),
    field("Role", role, "role", "A role expands to its scopes, beside any you tick."),
    scopesSet,
    h("div", { class: "row" },
      h("div", {}, field("Expiration", expiry, "expiresIn"), custom, h("p", { class: "error", "data-field": "expiresAt" })),
      h("div", {}, field("Type", type, "type"))),
    h("div", {}, field("Reason", reason, "reason"), reasonHint),
    h("details", {}, h("summary", {}, "Advanced settings"),
      field("IP allowlist", ips, "ipAllowlist", "Addresses or CIDR ranges, separated by commas or lines."),
      h("fieldset", {}, h("legend", {}, "Rate limit"), h("div", { class: "row" }, rateN, rateP), h("p", { class: "error", "data-field": "rateLimit" })),
      h("fieldset", {}, h("legend", {}, "Time window (UTC)"),
        h("div", { class: "inline" }, days.map((d) => h("label", {}, d, d.value))),
        hours(startH, endH), h("p", { class: "error", "data-field": "timeRestriction" }))),
    h("p", { class: "error", "data-field": "", role: "alert" }),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "quiet", onclick: () => dlg.close() }, "Cancel"),
      h("button", { type: "submit" }, "Generate")));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const req = { name: name.value, type: type.value };
    if (desc.value) req.description = desc.value;
    if (role.value) req.role = role.value;
    const scopes = scopeBoxes.filter((b) => b.checked).map((b) => b.value);
    if (scopes.length) req.scopes = scopes;
    if (expiry.value === "custom") {
      if (!custom.value) { showErrors(form, { errors: [{ field: "expiresAt", message: "Choose a date." }] }); return; }
      req.expiresAt = new Date(`${custom.value}T00:00:00Z`).toISOString().replace(".000Z", "Z");
    } else if (expiry.value) {
      req.expiresIn = expiry.value;
    }
    if (reason.value) req.reason = reason.value;
    const list = ips.value.split(/[\s,]+/).filter(Boolean);
    if (list.length) req.ipAllowlist = list;
    if (rateN.value) req.rateLimit = { limit: Number(rateN.value), per: rateP.value };
    const dsel = days.filter((d) => d.checked).map((d) => d.value);
    if (dsel.length || startH.value || endH.value) req.timeRestriction = { days: dsel, startHour: Number(startH.value || 0), endHour: Number(endH.value || 24) };
    try {
      const created = await call("POST", "tokens", req);
      showReveal(dlg, created, "Token generated");
    } catch (e) { showErrors(form, e); }
  });
  dlg.append(form);
  dlg.addEventListener("close", () => { dlg.remove(); if (location.hash === "#/tokens" || location.hash === "") renderTokens(); });
  document.body.append(dlg);
  dlg.showModal();
  name.focus();
}

// showReveal replaces a dialog's content with the one-time token and a Copy button.
function showReveal(dlg, created, title) {
  const out = h("input", { type: "text", readonly: true, value: created.token, "aria-label": "New token", class: "mono", id: "new-token" });
  const copied = h("span", { role: "status", class: "hint" });
  const pending = created.status === "pending";
  dlg.replaceChildren(h("div", {},
    h("h2", { id: "gen-title" }, pending ? "Pending approval" : title),
    pending ? h("p", { class: "notice warn" }, "This token has high-risk scopes: it works only after another administrator approves it in Approvals.") : null,
    h("p", {}, h("strong", {}, "Copy the token now. It will not be shown again."), " If you lose it, rotate the token to get a new one."),
    h("div", { class: "reveal" }, out,
      h("button", { type: "button", onclick: async () => {
        out.select();
        try { await navigator.clipboard.writeText(created.token); copied.textContent = "Copied."; } catch { document.execCommand("copy"); copied.textContent = "Copied."; }
      } }, "Copy")),
    copied,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => dlg.close() }, "Done"))));
  out.focus();
  out.select();
}

// hours labels the two hour fields of a time window.
function hours(startH, endH) {
  return h("div", { class: "row" },
    h("label", { class: "inline" }, "From hour", startH), h("label", { class: "inline" }, "until hour (exclusive)", endH));
}

// ---- Token detail -------------------------------------------------------------------

const tabs = ["Overview", "ACL", "Security", "Activity"];

async function renderDetail(id, tab) {
  tab = tabs.find((t) => t.toLowerCase() === (tab || "").toLowerCase()) || "Overview";
  let t;
  try {
    [t] = await Promise.all([call("GET", `tokens/${encodeURIComponent(id)}`), loadCatalog()]);
  } catch (e) {
    main.replaceChildren(h("h1", {}, "Token"), h("p", { class: "error", role: "alert" }, e.status === 404 ? "No such token, or not one you may see." : e.message));
    return;
  }
  const tablist = h("div", { role: "tablist", class: "tabs", "aria-label": "Token sections" },
    tabs.map((name) => h("button", {
      type: "button", role: "tab", id: `tab-${name}`, "aria-selected": String(name === tab), "aria-controls": "tabpanel",
      tabindex: name === tab ? "0" : "-1", onclick: () => { location.hash = `#/tokens/${id}/${name.toLowerCase()}`; },
    }, name)));
  tablist.addEventListener("keydown", (ev) => {
    const i = tabs.indexOf(tab);
    const j = ev.key === "ArrowRight" ? (i + 1) % tabs.length : ev.key === "ArrowLeft" ? (i + tabs.length - 1) % tabs.length : -1;
    if (j >= 0) { location.hash = `#/tokens/${id}/${tabs[j].toLowerCase()}`; }
  });
  const panel = h("div", { role: "tabpanel", id: "tabpanel", "aria-labelledby": `tab-${tab}`, tabindex: "0" });
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/tokens" }, "← Tokens")),
    h("h1", {}, t.name, " ", badge(t.status), " ", badge(`${t.risk} risk`, t.risk)),
    tablist, panel);
  document.getElementById(`tab-${tab}`).focus({ preventScroll: true });
  const reload = () => renderDetail(id, tab);
  if (tab === "Overview") await overview(panel, t);
  if (tab === "ACL") acl(panel, t);
  if (tab === "Security") security(panel, t, reload);
  if (tab === "Activity") await activity(panel, t);
  main.dataset.ready = `detail-${tab}`;
}

async function overview(panel, t) {
  const days = alerts.get(t.id);
  const rows = [
    ["Token", h("code", {}, t.hint)], ["ID", h("code", {}, t.id)], ["Description", t.description || "—"],
    ["Owner", t.ownerId], ["Created by", t.createdBy || t.ownerId], ["Type", t.type],
    ["Scopes", h("div", { class: "scopes" }, t.scopes.map((s) => h("code", {}, s)))],
    ["Created", fmtTime(t.createdAt)],
    ["Expires", t.expiresAt ? fmtTime(t.expiresAt) : "Never", days !== undefined ? [" ", badge(`in less than ${days} day${days === 1 ? "" : "s"}`, "expiring")] : null],
    ["Last used", t.lastUsedAt ? `${fmtTime(t.lastUsedAt)}${t.lastUsedIp ? ` from ${t.lastUsedIp}` : ""}` : "Never"],
    ["Uses", String(t.useCount)],
  ];
  if (t.rotationGraceUntil) rows.push(["Previous secret works until", fmtTime(t.rotationGraceUntil)]);
  if (t.emergencyAccessUntil) rows.push(["Emergency access until", fmtTime(t.emergencyAccessUntil)]);
  const timeline = h("ol", { class: "timeline", "aria-label": "Change history" }, h("li", { class: "muted" }, "Loading…"));
  panel.replaceChildren(h("dl", { class: "meta" }, rows.map(([k, ...v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h2", {}, "Change history"), timeline);
  try {
    const hist = await call("GET", `tokens/${encodeURIComponent(t.id)}/history?limit=50`);
    timeline.replaceChildren(...hist.items.map(eventItem));
  } catch (e) { timeline.replaceChildren(h("li", { class: "error" }, e.message)); }
}

function eventItem(e) {
  return h("li", {},
    h("strong", {}, e.type), " by ", e.actorId, h("span", { class: "muted" }, ` · ${fmtTime(e.time)}`),
    e.reason ? h("div", {}, "Reason: ", e.reason) : null,
    e.changes.length ? h("div", { class: "hint" }, e.changes.map((c) => `${c.field}: ${fmtVal(c.from)} → ${fmtVal(c.to)}`).join("; ")) : null);
}
function fmtVal(v) { return v === undefined || v === null || v === "" ? "—" : typeof v === "string" ? v : JSON.stringify(v); }

function acl(panel, t) {
  panel.replaceChildren(h("table", { "aria-label": "Scopes of this token" },
    h("thead", {}, h("tr", {}, ["Scope", "Risk", "Allows"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, t.scopes.map((s) => {
      const sc = catalog.scopes.find((x) => x.name === s) || { risk: "low", description: "" };
      return h("tr", {}, h("td", {}, h("code", {}, s)), h("td", {}, badge(sc.risk)), h("td", {}, sc.description));
    }))),
  h("p", { class: "hint" }, `The token's risk is the highest of its scopes: ${t.risk}. It never grants more than its owner holds now.`));
}

function security(panel, t, reload) {
  const live = !["revoked", "rejected", "expired"].includes(t.status);
  // Security settings: each change needs a reason and is audited.
  const ips = h("textarea", { rows: 2 }, (t.ipAllowlist || []).join(", "));
  const rateN = h("input", { type: "number", min: 1, value: t.rateLimit ? t.rateLimit.limit : "", "aria-label": "Rate limit (requests)" });
  const rateP = h("select", { "aria-label": "Rate limit period" }, ["second", "minute", "hour", "day"].map((p) => h("option", { value: p }, `per ${p}`)));
  rateP.value = t.rateLimit ? t.rateLimit.per : "hour";
  const tw = t.timeRestriction;
  const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => h("input", { type: "checkbox", value: d, checked: !!tw && tw.days.includes(d) }));
  const startH = h("input", { type: "number", min: 0, max: 23, value: tw ? tw.startHour : "" });
  const endH = h("input", { type: "number", min: 1, max: 24, value: tw ? tw.endHour : "" });
  const reason = h("input", { type: "text", maxlength: 500 });
  const settings = h("form", { "aria-label": "Security settings" },
    h("h2", {}, "Restrictions"),
    field("IP allowlist", ips, "ipAllowlist", "Empty: any address."),
    h("fieldset", {}, h("legend", {}, "Rate limit"), h("div", { class: "row" }, rateN, rateP), h("p", { class: "hint" }, "Empty: no limit."), h("p", { class: "error", "data-field": "rateLimit" })),
    h("fieldset", {}, h("legend", {}, "Time window (UTC)"), h("div", { class: "inline" }, days.map((d) => h("label", {}, d, d.value))),
      hours(startH, endH), h("p", { class: "error", "data-field": "timeRestriction" })),
    field("Reason", reason, "reason", "Required: every change here is audited."),
    h("p", { class: "error", "data-field": "", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", disabled: !live }, "Save restrictions")));
  settings.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const dsel = days.filter((d) => d.checked).map((d) => d.value);
    const body = {
      reason: reason.value,
      ipAllowlist: ips.value.split(/[\s,]+/).filter(Boolean),
      rateLimit: rateN.value ? { limit: Number(rateN.value), per: rateP.value } : null,
      timeRestriction: dsel.length || startH.value || endH.value ? { days: dsel, startHour: Number(startH.value || 0), endHour: Number(endH.value || 24) } : null,
    };
    try { await patch(t, body); reload(); } catch (e) { showErrors(settings, e); }
  });

  // Danger zone.
  const emDur = h("select", {}, [1, 2, 3, 4, 5, 6, 7, 8].map((n) => h("option", { value: `${n}h` }, `${n} hour${n > 1 ? "s" : ""}`)));
  const emReason = h("input", { type: "text", maxlength: 500 });
  const emergency = h("form", { "aria-label": "Emergency access" },
    h("h3", {}, "Emergency access"),
    h("p", { class: "hint" }, "Lifts the IP allowlist and time window for 1–8 hours during an incident; scopes and rate limit still apply. Superusers only."),
    t.emergencyAccessUntil ? h("p", { class: "notice warn" }, `On until ${fmtTime(t.emergencyAccessUntil)}.`) : null,
    h("div", { class: "row" }, h("div", {}, field("Duration", emDur, "duration")), h("div", { class: "grow" }, field("Reason", emReason, "reason"))),
    h("p", { class: "error", "data-field": "", role: "alert" }),
    h("div", { class: "actions" },
      t.emergencyAccessUntil ? h("button", { type: "button", class: "quiet", onclick: async () => {
        try { await call("DELETE", `tokens/${encodeURIComponent(t.id)}/emergency-access`); reload(); } catch (e) { showErrors(emergency, e); }
      } }, "Deactivate emergency access") : null,
      h("button", { type: "submit", class: "danger", disabled: !live }, "Activate emergency access")));
  emergency.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await call("POST", `tokens/${encodeURIComponent(t.id)}/emergency-access`, { duration: emDur.value, reason: emReason.value }); reload(); } catch (e) { showErrors(emergency, e); }
  });

  const grace = h("select", {}, [["", "No grace period"], ["1h", "1 hour"], ["6h", "6 hours"], ["24h", "24 hours"]].map(([v, l]) => h("option", { value: v }, l)));
  const rotExp = h("select", {}, h("option", { value: "" }, "Keep the current expiry"), presets.filter(([v]) => v !== "custom").map(([v, l]) => h("option", { value: v }, l)));
  const rotate = h("form", { "aria-label": "Rotate" },
    h("h3", {}, "Rotate"),
    h("p", { class: "hint" }, "Issues a new secret under the same id. During the grace period the old secret still works, so clients can switch over."),
    h("div", { class: "row" }, h("div", {}, field("Grace period", grace, "gracePeriod")), h("div", {}, field("New expiry", rotExp, "expiresIn"))),
    h("p", { class: "error", "data-field": "", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", disabled: !live }, "Rotate")));
  rotate.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {};
    if (grace.value) body.gracePeriod = grace.value;
    if (rotExp.value) body.expiresIn = rotExp.value;
    try {
      const created = await call("POST", `tokens/${encodeURIComponent(t.id)}/rotate`, body);
      const dlg = h("dialog", { "aria-labelledby": "gen-title" });
      document.body.append(dlg);
      dlg.addEventListener("close", () => { dlg.remove(); reload(); });
      dlg.showModal();
      showReveal(dlg, created, "Token rotated");
    } catch (e) { showErrors(rotate, e); }
  });

  const stReason = h("input", { type: "text", maxlength: 500 });
  const status = h("form", { "aria-label": "Status" },
    h("h3", {}, "Status"),
    field("Reason", stReason, "reason", "Optional; kept in the audit log."),
    h("p", { class: "error", "data-field": "", role: "alert" }),
    h("div", { class: "actions" },
      t.status === "disabled"
        ? h("button", { type: "button", class: "quiet", onclick: () => statusChange("enable") }, "Enable")
        : h("button", { type: "button", class: "quiet", disabled: t.status !== "active", onclick: () => statusChange("disable") }, "Disable"),
      h("button", { type: "button", class: "danger", disabled: !live, onclick: () => confirmRevoke(t, reload) }, "Revoke")));
  async function statusChange(op) {
    try { await call("POST", `tokens/${encodeURIComponent(t.id)}/${op}`, { reason: stReason.value }); reload(); } catch (e) { showErrors(status, e); }
  }

  panel.replaceChildren(settings, h("section", { class: "danger-zone", "aria-label": "Danger zone" }, h("h2", {}, "Danger zone"), emergency, rotate, status));
}

async function patch(t, body) {
  const res = await fetch(new URL(`tokens/${encodeURIComponent(t.id)}`, API), {
    method: "PATCH", body: JSON.stringify(body), credentials: "omit", cache: "no-store",
    headers: { Authorization: `Bearer ${session().token}`, "Content-Type": "application/json", "If-Match": `"${t.version}"` },
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

async function activity(panel, t) {
  if (!has("audit:read")) {
    panel.replaceChildren(h("p", { class: "notice" }, "The activity log needs the audit:read scope. The change history on Overview shows this token's own records."));
    return;
  }
  try {
    const res = await call("GET", `audit?tokenId=${encodeURIComponent(t.id)}&limit=100`);
    panel.replaceChildren(h("table", { "aria-label": "Activity" },
      h("thead", {}, h("tr", {}, ["Time", "Event", "Actor", "Reason", "Changes"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, res.items.map((e) => h("tr", {},
        h("td", {}, fmtTime(e.time)), h("td", {}, e.type), h("td", {}, e.actorId), h("td", {}, e.reason || ""),
        h("td", {}, e.changes.map((c) => `${c.field}: ${fmtVal(c.from)} → ${fmtVal(c.to)}`).join("; ")))))));
  } catch (e) { panel.replaceChildren(h("p", { class: "error" }, e.message)); }
}

// ---- Approvals, Principals ----------------------------------------------------------

async function renderApprovals() {
  const err = h("p", { class: "error", role: "alert" });
  const list = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.replaceChildren(h("h1", {}, "Approvals"),
    h("p", { class: "hint" }, "High-risk tokens wait here until an administrator other than the requester approves them."), err, list);
  let res;
  try { res = await call("GET", "approvals"); } catch (e) { err.textContent = e.message; list.replaceChildren(); return; }
  if (!res.items.length) { list.replaceChildren(h("p", { class: "notice" }, "Nothing waits for approval.")); main.dataset.ready = "approvals"; return; }
  list.replaceChildren(...res.items.map((t) => {
    const reason = h("input", { type: "text", maxlength: 500 });
    const form = h("form", { class: "notice", "aria-label": `Request ${t.name}`, "data-id": t.id },
      h("h2", {}, t.name, " ", badge(`${t.risk} risk`, t.risk)),
      h("p", {}, "Owner ", h("strong", {}, t.ownerId), ", requested by ", h("strong", {}, t.createdBy || t.ownerId), ` on ${fmtTime(t.createdAt)}. Scopes: `,
        t.scopes.join(", ")),
      field("Reason", reason, "reason"),
      h("p", { class: "error", "data-field": "", role: "alert" }),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "quiet", onclick: () => decide("reject") }, "Reject"),
        h("button", { type: "button", onclick: () => decide("approve") }, "Approve")));
    async function decide(op) {
      try { await call("POST", `approvals/${encodeURIComponent(t.id)}/${op}`, { reason: reason.value }); renderApprovals(); } catch (e) { showErrors(form, e); }
    }
    return form;
  }));
  main.dataset.ready = "approvals";
}

async function renderPrincipals() {
  const err = h("p", { class: "error", role: "alert" });
  const body = h("tbody");
  main.replaceChildren(h("h1", {}, "Principals"), err,
    h("table", { "aria-label": "Principals" },
      h("thead", {}, h("tr", {}, ["ID", "Name", "Kind", "Roles", "Holds", "Email"].map((c) => h("th", { scope: "col" }, c)))), body));
  try {
    const res = await call("GET", "principals?limit=100");
    body.replaceChildren(...res.items.map((p) => h("tr", {},
      h("td", {}, h("code", {}, p.id), p.superuser ? [" ", badge("superuser", "high")] : null), h("td", {}, p.name), h("td", {}, p.kind),
      h("td", {}, p.roles.join(", ") || "—"), h("td", {}, h("div", { class: "scopes" }, p.holds.map((s) => h("code", {}, s)))), h("td", {}, p.email || "—"))));
  } catch (e) { err.textContent = e.message; }
  main.dataset.ready = "principals";
}

// ---- routing ------------------------------------------------------------------------

async function route() {
  if (!session()) { renderSignIn(); return; }
  chrome(true);
  delete main.dataset.ready;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  await refreshBanner();
  if (parts[0] === "tokens" && parts[1]) return renderDetail(parts[1], parts[2]);
  if (parts[0] === "approvals") return renderApprovals();
  if (parts[0] === "principals") return renderPrincipals();
  return renderTokens();
}

document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
