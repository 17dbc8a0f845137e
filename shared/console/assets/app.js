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

// svg builds an SVG element (createElementNS): attrs are set as attributes, children as
// text nodes; as with h, nothing is parsed.
const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.setAttribute("class", v);
    else el.setAttribute(k, String(v));
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

// LABELS are the words people know for the API's field names: in error messages and in
// the change history.
const LABELS = {
  name: "Name", description: "Description", ownerId: "Owner", type: "Type", status: "Status", scopes: "Scopes",
  role: "Role", expiresIn: "Expiration", expiresAt: "Expiration date", reason: "Reason", ipAllowlist: "IP allowlist",
  rateLimit: "Rate limit", timeRestriction: "Time window", emergencyAccessUntil: "Emergency access until",
  parentId: "Minted by token", mintedBy: "Minted by", gracePeriod: "Grace period", duration: "Duration",
  onReuse: "On reuse", sourceIp: "Source IP",
  detectionWindow: "Detection window", backoff: "Time between notices", recipients: "Extra recipients",
  temporaryTokenTtl: "Default temporary token lifetime", maxTemporaryTokenLifetime: "Longest temporary token lifetime", reset: "Reset",
  secret: "Secret", email: "Email", roles: "Roles", superuser: "Superuser", kind: "Kind", id: "ID", token: "API token",
};
// In the change history a field is what the token shows: "Expires", not "Expiration date".
const SHOWN = { expiresAt: "Expires", ownerId: "Owner", type: "Type" };
const API_WORDS = /\b(ipAllowlist|rateLimit|timeRestriction|expiresIn|expiresAt|gracePeriod|ownerId)\b/g;
function inWords(m) { return m.replace(API_WORDS, (f) => (/^[A-Z]{2}/.test(LABELS[f]) ? LABELS[f] : LABELS[f].toLowerCase())); }
function label(f) {
  const item = /^(\w+)\[(\d+)\]$/.exec(f); // recipients[1]: the second of the list
  if (item) return `${LABELS[item[1]] || item[1]} (item ${Number(item[2]) + 1})`;
  const [root, ...rest] = f.split(".");
  const l = LABELS[root] || root;
  return rest.length ? `${l} (${rest.join(".")})` : l;
}
// phrase makes one whole sentence of an API field error: "Reason is required for
// medium-risk scopes." from {field: "reason", message: "is required for medium-risk scopes"}.
function phrase(fe, withField = true) {
  let m = inWords(String(fe.message || "").trim());
  if (/^[A-Z]/.test(m)) return /[.!?]$/.test(m) ? m : `${m}.`;
  const predicate = /^(is|are|must|may|can|cannot|needs?|has|have|should|give|was|were|does|do|not)\b/i.test(m);
  if (withField && fe.field && predicate) m = `${label(fe.field)} ${m}`;
  else if (withField && fe.field && !m.toLowerCase().startsWith(label(fe.field).toLowerCase())) m = `${label(fe.field)}: ${m}`;
  else if (predicate) m = `This ${m}`;
  m = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?]$/.test(m) ? m : `${m}.`;
}
// sentence is an error as the page says it: the problem's detail and its field errors.
function sentence(err) {
  const fes = err.errors || [];
  if (!fes.length) return phrase({ message: err.message }, false);
  return fes.map((fe) => phrase(fe)).join(" ");
}

// showErrors puts each API field error next to the control named after it, the rest in
// the form's general error line, each as a whole sentence.
function showErrors(form, err) {
  form.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
  const general = form.querySelector(".error[data-field='']") || form.querySelector(".error.general");
  const rest = [];
  for (const fe of err.errors || []) {
    const root = fe.field.split(/[.[]/)[0];
    const slot = form.querySelector(`.error[data-field="${CSS.escape(root)}"]`);
    if (slot) slot.textContent = slot.textContent ? `${slot.textContent} ${phrase(fe)}` : phrase(fe);
    else rest.push(phrase(fe));
  }
  const msg = err.errors && err.errors.length ? rest.join(" ") : sentence(err);
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
    if (e.status === 403) throw new APIError(403, { detail: `This token cannot start a console session. ${sentence(e)}` });
    throw e;
  }
  sessionStorage.setItem(SESSION, JSON.stringify({ token: created.token, id: created.id, ownerId: created.ownerId, scopes: created.scopes, expiresAt: created.expiresAt, policy: self.policy || null }));
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
  myPrincipal = null;
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

// refreshBanner shows, on every page, what GET /alerts says about the tokens the caller
// can see: reuses of rotated-away secrets first (a security alert), then the tokens that
// expire within the detection window.
async function refreshBanner() {
  try {
    const res = await call("GET", "alerts");
    const expiring = res.items.filter((a) => a.kind !== "reuse-detected");
    const reused = res.items.filter((a) => a.kind === "reuse-detected");
    alerts = new Map(expiring.map((a) => [a.id, a.daysLeft]));
    if (!res.items.length) { bannerEl.hidden = true; return; }
    const parts = [];
    if (reused.length) {
      const r = reused[0];
      parts.push(h("p", { class: "reuse-alert" },
        h("strong", {}, reused.length === 1 ? "Security alert: " : `Security alert (${reused.length} tokens): `),
        "an old secret of ", h("a", { href: `#/tokens/${r.id}` }, r.name),
        ` was used ${fmtTime(r.detectedAt)} from ${r.sourceIp || "an unknown address"} after it was rotated away. `,
        r.revoked ? "The token was revoked, as its on-reuse setting asks." : "It was refused; the token still works. Revoke it if you did not expect this."));
    }
    if (expiring.length) {
      const first = expiring[0];
      const n = expiring.length;
      parts.push(h("p", {},
        h("strong", {}, n === 1 ? "1 token expires soon: " : `${n} tokens expire soon. The first: `),
        h("a", { href: `#/tokens/${first.id}` }, first.name),
        ` expires ${fmtTime(first.expiresAt)} (in less than ${first.daysLeft} day${first.daysLeft === 1 ? "" : "s"}). Rotate it with a new expiry before then.`));
    }
    bannerEl.replaceChildren(...parts);
    bannerEl.hidden = false;
  } catch { bannerEl.hidden = true; }
}

// ---- Tokens page --------------------------------------------------------------------

// SESSION_NAME names the temporary token a sign-in mints; the list shows those apart.
const SESSION_NAME = "Console session";
const ENDED = ["revoked", "rejected", "expired"];
const ORDER = { active: 0, pending: 1, disabled: 2 };
function isSession(t) { return t.type === "temporary" && t.name === SESSION_NAME; }

// cardTable is a table whose cells carry their column's name (data-label), so that on a
// phone each row shows as a card of labelled values.
function cardTable(name, columns, rows, empty) {
  const body = h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, empty || "Nothing yet.")));
  return h("table", { class: "cards", "aria-label": name },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), body);
}
function row(attrs, columns, cells) {
  return h("tr", attrs, cells.map((c, i) => (c instanceof Node && c.tagName === "TD" ? (c.dataset.label = columns[i], c) : h("td", { "data-label": columns[i] }, c))));
}

const listState = { owner: "all", q: "", ended: false, cursors: [""], page: 0 };

async function renderTokens() {
  delete main.dataset.ready;
  const admin = isAdmin();
  const search = h("input", { id: "filter-q", type: "search", value: listState.q, placeholder: "part of a name", autocomplete: "off" });
  const owner = h("select", { id: "filter-owner" }, h("option", { value: "all" }, "Everyone's"), h("option", { value: "mine" }, "Mine"));
  owner.value = listState.owner;
  const ended = h("input", { type: "checkbox", id: "filter-ended", checked: listState.ended });
  const filters = h("form", { class: "bar filters", "aria-label": "Filters" },
    h("div", {}, h("label", { for: "filter-q" }, "Search by name"), search),
    admin ? h("div", {}, h("label", { for: "filter-owner" }, "Owner"), owner) : null,
    h("div", {}, h("label", { class: "inline" }, ended, "Show ended (revoked, rejected, expired)")),
    h("div", { class: "grow" }),
    h("div", {}, h("button", { type: "button", onclick: () => openGenerate() }, "Generate token")));
  filters.addEventListener("submit", (ev) => ev.preventDefault());
  const err = h("p", { class: "error", role: "alert" });
  const tableSlot = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const sessionsSlot = h("section", { class: "sessions", "aria-labelledby": "sessions-title" });
  const prev = h("button", { type: "button", class: "quiet", disabled: listState.page === 0 }, "Previous page");
  const next = h("button", { type: "button", class: "quiet", disabled: true }, "Next page");
  main.replaceChildren(h("h1", {}, "Tokens"), filters, err, tableSlot, h("div", { class: "pager" }, prev, next), sessionsSlot);

  const q = new URLSearchParams({ limit: "100" });
  if (admin && listState.owner === "mine") q.set("ownerId", session().ownerId);
  const cursor = listState.cursors[listState.page];
  if (cursor) q.set("cursor", cursor);
  let res;
  try {
    res = await call("GET", `tokens?${q}`);
  } catch (e) { err.textContent = sentence(e); tableSlot.replaceChildren(); return; }
  const tokens = res.items.filter((t) => !isSession(t));
  const sessions = res.items.filter((t) => isSession(t) && !ENDED.includes(t.status));
  const columns = ["Name", admin ? "Owner" : null, "Token", "Scopes", "Risk", "Status", "Created", "Last used", "Expires", "Actions"].filter(Boolean);

  // draw filters what is loaded, without asking the API again: active first, ended ones
  // only on request, names matching the search.
  function draw() {
    const needle = listState.q.toLowerCase();
    const shown = tokens
      .filter((t) => listState.ended || !ENDED.includes(t.status))
      .filter((t) => !needle || t.name.toLowerCase().includes(needle))
      .sort((a, b) => (ORDER[a.status] ?? 3) - (ORDER[b.status] ?? 3));
    const hidden = tokens.filter((t) => ENDED.includes(t.status)).length;
    const empty = tokens.length === 0 ? "No tokens yet. Generate one."
      : needle ? `No token name contains “${listState.q}”.` : `No active tokens. ${hidden} ended: tick “Show ended” to see them.`;
    tableSlot.replaceChildren(cardTable("Tokens", columns, shown.map((t) => tokenRow(t, columns, admin)), empty));
  }
  search.addEventListener("input", () => { listState.q = search.value.trim(); draw(); });
  ended.addEventListener("change", () => { listState.ended = ended.checked; draw(); });
  owner.addEventListener("change", () => { Object.assign(listState, { owner: owner.value, cursors: [""], page: 0 }); renderTokens(); });
  draw();
  drawSessions(sessionsSlot, sessions, admin);
  next.disabled = !res.nextCursor;
  next.onclick = () => { listState.cursors[listState.page + 1] = res.nextCursor; listState.page++; renderTokens(); };
  prev.onclick = () => { listState.page--; renderTokens(); };
  // Time to first render, for the browser tests: navigation start to the list drawn.
  if (!window.tokensRenderedAt) window.tokensRenderedAt = performance.now();
  main.dataset.ready = "tokens";
}

function tokenRow(t, columns, admin) {
  const days = alerts.get(t.id);
  const revocable = !ENDED.includes(t.status);
  return row({ "data-id": t.id }, columns, [
    [h("a", { href: `#/tokens/${t.id}` }, t.name), t.type === "temporary" ? h("div", { class: "hint" }, "temporary") : null],
    admin ? t.ownerId : undefined,
    h("code", {}, t.hint),
    h("div", { class: "scopes" }, t.scopes.map((s) => h("code", {}, s))),
    badge(t.risk),
    badge(t.status),
    h("td", { class: "nowrap" }, fmtDate(t.createdAt)),
    h("td", { class: "last-used" }, t.lastUsedAt ? fmtTime(t.lastUsedAt) : "Never"),
    h("td", { class: "nowrap" }, t.expiresAt ? fmtDate(t.expiresAt) : "Never",
      days !== undefined ? h("div", {}, badge(`Expires in < ${days} day${days === 1 ? "" : "s"}`, "expiring")) : null),
    revocable ? h("button", { type: "button", class: "quiet small", "aria-label": `Revoke ${t.name}`, onclick: () => confirmRevoke(t, renderTokens) }, "Revoke") : null,
  ].filter((c, i) => admin || i !== 1));
}

// drawSessions lists the console sessions still working: one per signed-in tab.
function drawSessions(slot, sessions, admin) {
  const mine = session().id;
  const columns = ["Session", admin ? "Owner" : null, "Started", "Ends", "Last used", "Actions"].filter(Boolean);
  slot.replaceChildren(h("h2", { id: "sessions-title" }, "Sessions"),
    h("p", { class: "hint" }, "Each sign-in to this console is a temporary token that ends within the hour or at sign-out."),
    cardTable("Sessions", columns, sessions.map((t) => row({ "data-id": t.id }, columns, [
      [t.id === mine ? "This tab" : "Another sign-in", " ", h("code", {}, t.hint)],
      admin ? t.ownerId : undefined,
      fmtTime(t.createdAt), fmtTime(t.expiresAt), t.lastUsedAt ? fmtTime(t.lastUsedAt) : "Never",
      t.id === mine
        ? h("button", { type: "button", class: "quiet small", onclick: signOut }, "Sign out")
        : h("button", { type: "button", class: "quiet small", "aria-label": `Revoke session ${t.hint}`, onclick: () => confirmRevoke(t, renderTokens) }, "Revoke"),
    ].filter((c, i) => admin || i !== 1))), "No other sessions."));
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

const presets = [["1w", "1 week", 7], ["1m", "1 month", 31], ["3m", "3 months", 92], ["6m", "6 months", 183], ["1y", "1 year", 365], ["custom", "Custom date"], ["never", "Never"]];

// hoursOf reads a Go duration such as "8760h0m0s" as hours.
function hoursOf(d) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:[\d.]+s)?$/.exec(d || "");
  return m ? Number(m[1] || 0) + Number(m[2] || 0) / 60 : NaN;
}
// maxDays is the longest lifetime the API accepts, in days (Infinity: unlimited), from
// the policy GET /tokens/self gave at sign-in; unknown policy: the default year.
function maxDays() {
  const p = session().policy;
  if (!p) return 366;
  if (p.neverAllowed) return Infinity;
  return hoursOf(p.maxLifetime) / 24 + 1; // a calendar year is 365 or 366 days: the API allows it
}
// expiryChoices are the presets the policy allows: "never" only when it is unlimited.
function expiryChoices(forRotate) {
  const max = maxDays();
  return presets.filter(([v, , days]) => (v === "never" ? max === Infinity : v === "custom" ? !forRotate : days <= max));
}

// openGenerate opens the Generate dialog; with opts.ownerId the token is that principal's
// (an admin's "+ Add" on a principal's Tokens tab), and opts.onClose redraws that page.
async function openGenerate(opts = {}) {
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
  const expiry = h("select", {}, h("option", { value: "" }, "Default: 1 year (temporary: a session)"), expiryChoices(false).map(([v, l]) => h("option", { value: v }, l)));
  const custom = h("input", { type: "date", "aria-label": "Custom expiration date", hidden: true, min: fmtDate(new Date(Date.now() + 864e5).toISOString()) });
  if (maxDays() !== Infinity) custom.max = fmtDate(new Date(Date.now() + (maxDays() - 1) * 864e5).toISOString());
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
    opts.ownerId ? h("p", { class: "notice", id: "gen-owner" }, "For ", h("code", {}, opts.ownerId), ": the token is theirs; the scopes you may give are those you hold.") : null,
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
    if (opts.ownerId) req.ownerId = opts.ownerId;
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
  dlg.addEventListener("close", () => { dlg.remove(); if (opts.onClose) opts.onClose(); else if (location.hash === "#/tokens" || location.hash === "") renderTokens(); });
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
    main.replaceChildren(h("h1", {}, "Token"), h("p", { class: "error", role: "alert" }, e.status === 404 ? "No such token, or not one you may see." : sentence(e)));
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
    usesChart(t.usesByDay || []), h("h2", {}, "Change history"), timeline);
  try {
    const hist = await call("GET", `tokens/${encodeURIComponent(t.id)}/history?limit=50`);
    timeline.replaceChildren(...hist.items.map(eventItem));
  } catch (e) { timeline.replaceChildren(h("li", { class: "error" }, sentence(e))); }
}

const usesText = (n) => `${n} use${n === 1 ? "" : "s"}`;

// usesChart is the Overview's "Uses, last 30 days": a bar per UTC day of usesByDay (oldest
// first), as wide as the panel (the viewBox scales to it), each bar labelled with its day
// and count; the total and the largest day as text. No uses at all: one line instead.
function usesChart(days) {
  const total = days.reduce((n, d) => n + d.uses, 0);
  const fig = h("figure", { class: "uses", "aria-labelledby": "uses-title" }, h("h2", { id: "uses-title" }, "Uses, last 30 days"));
  if (total === 0) {
    fig.append(h("p", { class: "muted uses-none" }, "No uses in the last 30 days"));
    return fig;
  }
  const max = Math.max(...days.map((d) => d.uses));
  const W = 10 * days.length, H = 100; // view units: a bar is 10 wide, with a gap of 2
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "group", "aria-label": `Uses per day, ${days[0].day} to ${days[days.length - 1].day}` },
    days.map((d, i) => {
      const height = d.uses === 0 ? 1 : Math.max(3, (d.uses / max) * H);
      const label = `${d.day}: ${usesText(d.uses)}`;
      return svg("rect", { class: d.uses === 0 ? "bar zero" : "bar", x: i * 10 + 1, y: H - height, width: 8, height,
        role: "img", "aria-label": label, "data-day": d.day, "data-uses": d.uses }, svg("title", {}, label));
    }));
  fig.append(
    h("p", { class: "uses-total" }, `${usesText(total)} in the last 30 days`),
    h("div", { class: "uses-plot" },
      h("div", { class: "uses-y", "aria-hidden": "true" }, h("span", { class: "uses-max" }, String(max)), h("span", {}, "0")),
      chart,
      h("div", { class: "uses-x", "aria-hidden": "true" }, h("span", {}, days[0].day), h("span", {}, days[days.length - 1].day))));
  return fig;
}

const EVENTS = {
  create: "Created", update: "Changed", rotate: "Rotated", disable: "Disabled", enable: "Enabled", revoke: "Revoked",
  approve: "Approved", reject: "Rejected", "emergency.on": "Emergency access on", "emergency.off": "Emergency access off",
  "leaked.revoke": "Revoked as leaked", bootstrap: "Bootstrapped", enroll: "Enrolled", "enroll.send": "Enrollment sent",
  "reuse-detected": "Reuse of an old secret detected", "settings.change": "Settings changed",
};
function eventItem(e) {
  return h("li", {},
    h("strong", {}, EVENTS[e.type] || e.type), " by ", e.actorId, h("span", { class: "muted" }, ` · ${fmtTime(e.time)}`),
    e.reason ? h("div", {}, "Reason: ", e.reason) : null,
    e.changes.length ? h("div", { class: "hint" }, changesText(e.changes)) : null);
}
// changesText is "Expires: — → 3 Jan 2027; Status: active → revoked".
function changesText(changes) { return changes.map((c) => `${SHOWN[c.field] || label(c.field)}: ${fmtVal(c.from)} → ${fmtVal(c.to)}`).join("; "); }
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
// fmtDay is "3 Jan 2027", with the time (UTC) when it is not midnight.
function fmtDay(s) {
  const d = new Date(s);
  const day = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  const hm = d.toISOString().slice(11, 16);
  return hm === "00:00" ? day : `${day}, ${hm} UTC`;
}
function fmtVal(v) {
  if (v === undefined || v === null || v === "") return "—";
  if (typeof v !== "string") return JSON.stringify(v);
  if (/^\d+h0m0s$|^\d+m0s$/.test(v)) return v.replace(/0m0s$|0s$/, ""); // Go durations: "1h0m0s" is 1h
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?Z$/.test(v) ? fmtDay(v) : v;
}

function acl(panel, t) {
  const cols = ["Scope", "Risk", "Allows"];
  panel.replaceChildren(cardTable("Scopes of this token", cols, t.scopes.map((s) => {
    const sc = catalog.scopes.find((x) => x.name === s) || { risk: "low", description: "" };
    return row({}, cols, [h("code", {}, s), badge(sc.risk), sc.description]);
  })),
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
  const onReuse = ["alert", "revoke"].map((v) => h("input", { type: "radio", name: "onReuse", value: v, checked: (t.onReuse || "alert") === v }));
  const settings = h("form", { "aria-label": "Security settings" },
    h("h2", {}, "Restrictions"),
    field("IP allowlist", ips, "ipAllowlist", "Empty: any address."),
    h("fieldset", {}, h("legend", {}, "Rate limit"), h("div", { class: "row" }, rateN, rateP), h("p", { class: "hint" }, "Empty: no limit."), h("p", { class: "error", "data-field": "rateLimit" })),
    h("fieldset", {}, h("legend", {}, "Time window (UTC)"), h("div", { class: "inline" }, days.map((d) => h("label", {}, d, d.value))),
      hours(startH, endH), h("p", { class: "error", "data-field": "timeRestriction" })),
    h("fieldset", {}, h("legend", {}, "When an old secret is used"),
      h("p", { class: "hint" }, "A secret rotated away and presented after its grace period is refused and alerted (banner, email to the owner)."),
      h("label", { class: "inline" }, onReuse[0], "Alert only"),
      h("label", { class: "inline" }, onReuse[1], "Alert and revoke this token and its temporary children"),
      h("p", { class: "error", "data-field": "onReuse" })),
    field("Reason for this change", reason, "reason", "Required: every change here is audited."),
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
    const reuse = onReuse.find((r) => r.checked).value;
    if (reuse !== (t.onReuse || "alert")) body.onReuse = reuse;
    try { await patch(t, body); reload(); } catch (e) { showErrors(settings, e); }
  });

  // Danger zone.
  const emDur = h("select", {}, [1, 2, 3, 4, 5, 6, 7, 8].map((n) => h("option", { value: `${n}h` }, `${n} hour${n > 1 ? "s" : ""}`)));
  const emReason = h("input", { type: "text", maxlength: 500 });
  const emergency = h("form", { "aria-label": "Emergency access" },
    h("h3", {}, "Emergency access"),
    h("p", { class: "hint" }, "Lifts the IP allowlist and time window for 1–8 hours during an incident; scopes and rate limit still apply. Superusers only."),
    t.emergencyAccessUntil ? h("p", { class: "notice warn" }, `On until ${fmtTime(t.emergencyAccessUntil)}.`) : null,
    h("div", { class: "row" }, h("div", {}, field("Duration", emDur, "duration")), h("div", { class: "grow" }, field("Reason for emergency access", emReason, "reason"))),
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

  const rotate = h("form", { "aria-label": "Rotate" },
    h("h3", {}, "Rotate"),
    h("p", { class: "hint" }, "Issues a new secret under the same id. A grace period keeps the old secret working, so clients can switch over."),
    t.rotationGraceUntil ? h("p", { class: "notice" }, `The previous secret works until ${fmtTime(t.rotationGraceUntil)}.`) : null,
    h("div", { class: "actions" }, h("button", { type: "button", disabled: !live, onclick: () => confirmRotate(t, reload) }, "Rotate")));

  const stReason = h("input", { type: "text", maxlength: 500 });
  const status = h("form", { "aria-label": "Status" },
    h("h3", {}, "Status"),
    field("Reason for the status change", stReason, "reason", "Optional; kept in the audit log."),
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

// GRACES are the grace periods people know from Stripe and Unkey; "custom" takes any
// duration up to 24 h.
const GRACES = [["", "Now: the old secret stops at once"], ["1h", "1 hour"], ["24h", "24 hours"], ["custom", "Custom (at most 24 hours)"]];

// graceOf reads a custom grace period: "90m", "6h", "1h30m"; at most 24 h.
function graceOf(s) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(s.trim().toLowerCase());
  if (!m || (!m[1] && !m[2])) return { error: "Give the grace period as a duration such as 90m, 6h or 1h30m." };
  const min = Number(m[1] || 0) * 60 + Number(m[2] || 0);
  if (min < 1 || min > 24 * 60) return { error: "A grace period is from 1 minute to 24 hours." };
  return { value: `${min}m` };
}

// confirmRotate asks before rotating, and for how long the old secret keeps working.
function confirmRotate(t, after) {
  const radios = GRACES.map(([v, l], i) => h("input", { type: "radio", name: "grace", value: v, checked: i === 0 }));
  const custom = h("input", { type: "text", placeholder: "90m", "aria-label": "Custom grace period", disabled: true });
  radios.forEach((r) => r.addEventListener("change", () => { custom.disabled = radios[3].checked === false; if (!custom.disabled) custom.focus(); }));
  const rotExp = h("select", {}, h("option", { value: "" }, "Keep the current expiry"), expiryChoices(true).map(([v, l]) => h("option", { value: v }, l)));
  const dlg = h("dialog", { "aria-labelledby": "rotate-title" });
  const form = h("form", { method: "dialog", novalidate: true },
    h("h2", { id: "rotate-title" }, "Rotate this token?"),
    h("p", {}, "“", h("strong", {}, t.name), "” (", h("code", {}, t.hint), ") gets a new secret, shown once. Clients must switch to it."),
    h("fieldset", { class: "choices", "aria-describedby": "rot-grace-err" }, h("legend", {}, "The old secret keeps working"),
      radios.map((r, i) => h("div", { class: "choice" }, h("label", {}, r, GRACES[i][1]), i === 3 ? custom : null)),
      h("p", { class: "error", id: "rot-grace-err", "data-field": "gracePeriod" })),
    field("New expiry", rotExp, "expiresIn", "Keeping it means expiry notices continue: the token still expires when it did."),
    h("p", { class: "error", "data-field": "expiresAt" }),
    h("p", { class: "error", "data-field": "", role: "alert" }),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "quiet", onclick: () => dlg.close() }, "Cancel"),
      h("button", { type: "submit" }, "Rotate token")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {};
    const choice = radios.find((r) => r.checked).value;
    if (choice === "custom") {
      const g = graceOf(custom.value);
      if (g.error) { showErrors(form, { errors: [{ field: "gracePeriod", message: g.error }] }); custom.focus(); return; }
      body.gracePeriod = g.value;
    } else if (choice) body.gracePeriod = choice;
    if (rotExp.value) body.expiresIn = rotExp.value;
    try {
      const created = await call("POST", `tokens/${encodeURIComponent(t.id)}/rotate`, body);
      dlg.replaceChildren();
      dlg.setAttribute("aria-labelledby", "gen-title");
      dlg.addEventListener("close", after);
      showReveal(dlg, created, "Token rotated");
    } catch (e) { showErrors(form, e); }
  });
  dlg.append(form);
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
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
    const cols = ["Time", "Event", "Actor", "Reason", "Changes"];
    panel.replaceChildren(cardTable("Activity", cols, res.items.map((e) => row({}, cols,
      [fmtTime(e.time), EVENTS[e.type] || e.type, e.actorId, e.reason || "", changesText(e.changes)])), "No activity yet."));
  } catch (e) { panel.replaceChildren(h("p", { class: "error" }, sentence(e))); }
}

// ---- Approvals, Principals ----------------------------------------------------------

async function renderApprovals() {
  const err = h("p", { class: "error", role: "alert" });
  const list = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.replaceChildren(h("h1", {}, "Approvals"),
    h("p", { class: "hint" }, "High-risk tokens wait here until an administrator other than the requester approves them."), err, list);
  let res;
  try { [res] = await Promise.all([call("GET", "approvals"), loadCatalog()]); } catch (e) { err.textContent = sentence(e); list.replaceChildren(); return; }
  if (!res.items.length) { list.replaceChildren(h("p", { class: "notice" }, "Nothing waits for approval.")); main.dataset.ready = "approvals"; return; }
  // The requester's reason is in the record that made the token pending (create, or a
  // rotation that sent it back): read each request's history.
  const reasons = await Promise.all(res.items.map(async (t) => {
    try {
      const hist = await call("GET", `tokens/${encodeURIComponent(t.id)}/history?limit=20`);
      const ev = hist.items.find((e) => e.type === "create" || e.type === "rotate");
      return ev ? ev.reason || "" : "";
    } catch { return null; }
  }));
  list.replaceChildren(...res.items.map((t, i) => {
    const reason = h("input", { type: "text", maxlength: 500 });
    const asked = reasons[i];
    const form = h("form", { class: "notice request", "aria-label": `Request ${t.name}`, "data-id": t.id },
      h("h2", {}, t.name, " ", badge(`${t.risk} risk`, t.risk)),
      h("dl", { class: "meta" },
        h("dt", {}, "Requested by"), h("dd", { class: "requester" }, t.createdBy || t.ownerId, h("span", { class: "muted" }, ` on ${fmtTime(t.createdAt)}`)),
        h("dt", {}, "For"), h("dd", {}, t.ownerId, t.type === "temporary" ? " (temporary)" : ""),
        h("dt", {}, "Reason given"), h("dd", { class: "asked" }, asked === null ? h("span", { class: "muted" }, "Could not be read.") : asked ? h("blockquote", {}, asked) : h("span", { class: "muted" }, "None given.")),
        h("dt", {}, "Risk"), h("dd", {}, badge(t.risk)),
        h("dt", {}, "Scopes"), h("dd", {}, h("div", { class: "scopes" }, t.scopes.map((s) => h("span", {}, h("code", {}, s), " ", badge(riskOf(s)))))),
        h("dt", {}, "Expires"), h("dd", {}, t.expiresAt ? fmtTime(t.expiresAt) : "Never")),
      field("Your reason for the decision", reason, "reason", "Optional; kept in the audit log with your approval or rejection."),
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

// me is the caller's own principal (GET /principals/{own id}: anyone may read its own);
// the console asks once per sign-in, to know whether the caller is a superuser.
let myPrincipal = null;
async function me() {
  if (!myPrincipal) myPrincipal = await call("GET", `principals/${encodeURIComponent(session().ownerId)}`).catch(() => ({ superuser: false }));
  return myPrincipal;
}
let flash = ""; // a sentence the next principal page shows once (where an enrollment went)

async function renderPrincipals() {
  const err = h("p", { class: "error", role: "alert" });
  const slot = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.replaceChildren(h("h1", {}, "Principals"),
    h("div", { class: "bar" }, h("p", { class: "hint grow" }, "The people and applications that own tokens. Open one to see its tokens, add one or send its enrollment."),
      h("button", { type: "button", onclick: () => openAddPrincipal() }, "Add principal")), err, slot);
  const cols = ["ID", "Name", "Kind", "Roles", "Holds", "Email"];
  try {
    const res = await call("GET", "principals?limit=100");
    slot.replaceChildren(cardTable("Principals", cols, res.items.map((p) => row({ "data-id": p.id }, cols, [
      [h("a", { href: `#/principals/${encodeURIComponent(p.id)}` }, h("code", {}, p.id)), p.superuser ? [" ", badge("superuser", "high")] : null], p.name, p.kind,
      p.roles.join(", ") || "—", h("div", { class: "scopes" }, p.holds.map((s) => h("code", {}, s))), p.email || "—"]))));
  } catch (e) { err.textContent = sentence(e); slot.replaceChildren(); }
  main.dataset.ready = "principals";
}

// roleBoxes are a checkbox per role of the catalog, the given ones ticked.
function roleBoxes(cat, ticked) {
  const boxes = cat.roles.map((r) => h("input", { type: "checkbox", value: r.name, checked: ticked.includes(r.name) }));
  const set = h("fieldset", { "aria-describedby": "roles-err" }, h("legend", {}, "Roles"),
    cat.roles.length ? h("div", { class: "inline" }, cat.roles.map((r, i) => h("span", { class: "role-pick" }, h("label", { title: r.description }, boxes[i], r.name), badge(`${r.risk} risk`, r.risk))))
      : h("p", { class: "hint" }, "The catalog has no roles."),
    h("p", { class: "error", id: "roles-err", "data-field": "roles" }));
  return [set, () => boxes.filter((b) => b.checked).map((b) => b.value)];
}

function enrollmentText(en) {
  if (!en) return "It has no email address, so no enrollment mail was sent.";
  if (en.status === "sent") return `An enrollment mail went to ${en.sentTo}; its link works until ${fmtTime(en.expiresAt)}.`;
  return phrase({ message: en.detail || "The enrollment mail could not be sent." }, false);
}

async function openAddPrincipal() {
  const [cat, self] = await Promise.all([loadCatalog(), me()]);
  const id = h("input", { type: "text", maxlength: 100, required: true, autocomplete: "off", placeholder: "alice" });
  const name = h("input", { type: "text", maxlength: 100, required: true });
  const email = h("input", { type: "email", maxlength: 254, autocomplete: "off", class: "wide" });
  const kind = h("select", {}, h("option", { value: "user" }, "User"), h("option", { value: "application" }, "Application"));
  const [rolesSet, roles] = roleBoxes(cat, []);
  const superuser = h("input", { type: "checkbox" });
  const dlg = h("dialog", { "aria-labelledby": "addp-title", id: "add-principal" });
  const form = h("form", { novalidate: true },
    h("h2", { id: "addp-title" }, "Add principal"),
    field("ID", id, "id", "Letters, digits, dots, dashes; it cannot change later."),
    field("Name", name, "name"),
    field("Email", email, "email", "With an address, an enrollment mail goes out at once: the principal gets its first token from it."),
    field("Kind", kind, "kind"),
    rolesSet,
    self.superuser ? h("div", {}, h("label", { class: "inline" }, superuser, "Superuser"), h("p", { class: "error", "data-field": "superuser" })) : null,
    h("p", { class: "error", "data-field": "", role: "alert" }),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "quiet", onclick: () => dlg.close() }, "Cancel"),
      h("button", { type: "submit" }, "Add")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const req = { id: id.value.trim(), name: name.value.trim(), kind: kind.value, roles: roles() };
    if (email.value.trim()) req.email = email.value.trim();
    if (self.superuser && superuser.checked) req.superuser = true;
    try {
      const p = await call("POST", "principals", req);
      flash = `Principal ${p.id} added. ${enrollmentText(p.enrollment)}`;
      dlg.close();
      location.hash = `#/principals/${encodeURIComponent(p.id)}`;
    } catch (e) { showErrors(form, e); }
  });
  dlg.append(form);
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  id.focus();
}

const ptabs = ["Details", "Tokens"];

async function renderPrincipal(id, tab) {
  tab = ptabs.find((t) => t.toLowerCase() === (tab || "").toLowerCase()) || "Details";
  let p;
  try {
    [p] = await Promise.all([call("GET", `principals/${encodeURIComponent(id)}`), loadCatalog()]);
  } catch (e) {
    main.replaceChildren(h("h1", {}, "Principal"), h("p", { class: "error", role: "alert" }, e.status === 404 ? "No such principal." : sentence(e)));
    return;
  }
  const base = `#/principals/${encodeURIComponent(id)}`;
  const tablist = h("div", { role: "tablist", class: "tabs", "aria-label": "Principal sections" },
    ptabs.map((name) => h("button", {
      type: "button", role: "tab", id: `tab-${name}`, "aria-selected": String(name === tab), "aria-controls": "tabpanel",
      tabindex: name === tab ? "0" : "-1", onclick: () => { location.hash = `${base}/${name.toLowerCase()}`; },
    }, name)));
  tablist.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") location.hash = `${base}/${ptabs[(ptabs.indexOf(tab) + 1) % 2].toLowerCase()}`;
  });
  const status = h("p", { class: "notice", role: "status", id: "principal-status", hidden: !flash }, flash);
  flash = "";
  const panel = h("div", { role: "tabpanel", id: "tabpanel", "aria-labelledby": `tab-${tab}`, tabindex: "0" });
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/principals" }, "← Principals")),
    h("h1", {}, p.name, " ", h("code", {}, p.id), p.superuser ? [" ", badge("superuser", "high")] : null),
    status, tablist, panel);
  if (tab === "Details") principalDetails(panel, p, status);
  else await principalTokens(panel, p);
  main.dataset.ready = `principal-${tab}`;
}

function principalDetails(panel, p, status) {
  const codes = (list) => (list.length ? h("div", { class: "scopes" }, list.map((s) => h("code", {}, s))) : "—");
  const rows = [
    ["ID", h("code", {}, p.id)], ["Name", p.name], ["Kind", p.kind], ["Email", p.email || "—"],
    ["Roles", p.roles.join(", ") || "—"], ["Scopes granted directly", codes(p.scopes)], ["Holds", codes(p.holds)],
    ["Superuser", p.superuser ? "Yes" : "No"], ["Created", fmtTime(p.createdAt) || "—"], ["Updated", fmtTime(p.updatedAt) || "—"],
  ];
  const sent = async (btn) => {
    btn.disabled = true;
    try {
      const en = await call("POST", `principals/${encodeURIComponent(p.id)}/enrollment`, {});
      status.className = "notice";
      status.textContent = enrollmentText(en);
    } catch (e) {
      status.className = "notice error";
      status.textContent = sentence(e);
    }
    status.hidden = false;
    btn.disabled = false;
  };
  const enroll = h("button", { type: "button", class: "quiet", disabled: !p.email, title: p.email ? null : "Give it an email address first" }, "Send enrollment");
  enroll.addEventListener("click", () => sent(enroll));
  panel.replaceChildren(
    h("dl", { class: "meta" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("div", { class: "actions start" },
      h("button", { type: "button", onclick: () => openEditPrincipal(p) }, "Edit"), enroll),
    h("p", { class: "hint" }, "An enrollment mails a one-time link; the principal exchanges it for its first token of its own. A new one replaces the last."));
}

async function openEditPrincipal(p) {
  const cat = await loadCatalog();
  const email = h("input", { type: "email", maxlength: 254, value: p.email || "", autocomplete: "off", class: "wide" });
  const [rolesSet, roles] = roleBoxes(cat, p.roles);
  const dlg = h("dialog", { "aria-labelledby": "editp-title", id: "edit-principal" });
  const form = h("form", { novalidate: true },
    h("h2", { id: "editp-title" }, `Edit ${p.id}`),
    field("Email", email, "email", "Leave empty to remove it."),
    rolesSet,
    h("p", { class: "error", "data-field": "", role: "alert" }),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "quiet", onclick: () => dlg.close() }, "Cancel"),
      h("button", { type: "submit" }, "Save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {};
    const e = email.value.trim();
    if (e !== (p.email || "")) body.email = e || null;
    const r = roles();
    if ([...r].sort().join() !== [...p.roles].sort().join()) body.roles = r;
    if (!Object.keys(body).length) { dlg.close(); return; }
    try {
      const res = await fetch(new URL(`principals/${encodeURIComponent(p.id)}`, API), {
        method: "PATCH", body: JSON.stringify(body), credentials: "omit", cache: "no-store",
        headers: { Authorization: `Bearer ${session().token}`, "Content-Type": "application/json", "If-Match": `"${p.version}"` },
      });
      const data = await res.json().catch(() => null);
      if (res.status === 409) throw new APIError(409, { detail: "Someone changed this principal since you opened it. Close this, and edit again from what it is now." });
      if (!res.ok) throw new APIError(res.status, data);
      if (p.id === session().ownerId) myPrincipal = null;
      flash = `Saved the changes to ${p.id}.`;
      dlg.close();
      route();
    } catch (err) { showErrors(form, err); }
  });
  dlg.append(form);
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  email.focus();
}

async function principalTokens(panel, p) {
  const cols = ["Name", "Token", "Scopes", "Status", "Created", "Expires"];
  const add = h("button", { type: "button", id: "add-owned", onclick: () => openGenerate({ ownerId: p.id, onClose: () => renderPrincipal(p.id, "tokens") }) }, "+ Add");
  panel.replaceChildren(h("div", { class: "bar" }, h("p", { class: "hint grow" }, `Tokens owned by ${p.id}. A token you add here is ${p.id}'s, under the same rules as the API's.`), add),
    h("p", { class: "muted" }, "Loading…"));
  try {
    const res = await call("GET", `tokens?ownerId=${encodeURIComponent(p.id)}&limit=100`);
    const items = res.items.filter((t) => !isSession(t)).sort((a, b) => (ORDER[a.status] ?? 3) - (ORDER[b.status] ?? 3));
    panel.lastChild.replaceWith(cardTable("Tokens", cols, items.map((t) => row({ "data-id": t.id }, cols, [
      h("a", { href: `#/tokens/${t.id}` }, t.name), h("code", {}, t.hint), h("div", { class: "scopes" }, t.scopes.map((s) => h("code", {}, s))),
      badge(t.status), h("td", { class: "nowrap" }, fmtDate(t.createdAt)), h("td", { class: "nowrap" }, t.expiresAt ? fmtDate(t.expiresAt) : "Never")])),
    `${p.id} has no tokens yet. “+ Add” makes one.`));
  } catch (e) { panel.lastChild.replaceWith(h("p", { class: "error", role: "alert" }, sentence(e))); }
}

// ---- settings -----------------------------------------------------------------------

// hoursOfDuration reads a Go duration as the API answers it ("168h", "90m", "1h30m",
// "45s") in hours.
function hoursOfDuration(s) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s || "");
  return m ? Number(m[1] || 0) + Number(m[2] || 0) / 60 + Number(m[3] || 0) / 3600 : NaN;
}
function daysText(s) { const d = hoursOfDuration(s) / 24; return `${+d.toFixed(2)} day${d === 1 ? "" : "s"}`; }
function hoursText(s) { const x = hoursOfDuration(s); return `${+x.toFixed(2)} hour${x === 1 ? "" : "s"}`; }

// SETTINGS are the run-time settings as the page edits them: the API field, the label,
// how a value is shown and read, and the hint.
const SETTINGS = [
  { field: "detectionWindow", unit: "days", show: (v) => +(hoursOfDuration(v) / 24).toFixed(2), send: (x) => `${Math.round(x * 24)}h`, min: 1 / 24, max: 366,
    hint: "How long before its expiry a token is announced: notices and alerts.", text: daysText },
  { field: "backoff", unit: "hours", show: (v) => +hoursOfDuration(v).toFixed(2), send: (x) => `${Math.round(x * 60)}m`, min: 1 / 60, max: 8784,
    hint: "The least time between two notices of one token.", text: hoursText },
  { field: "temporaryTokenTtl", unit: "minutes", show: (v) => Math.round(hoursOfDuration(v) * 60), send: (x) => `${Math.round(x)}m`, min: 1, max: 1440,
    hint: "How long a temporary token lives when no expiry is given.", text: (v) => `${Math.round(hoursOfDuration(v) * 60)} minutes` },
  { field: "maxTemporaryTokenLifetime", unit: "minutes", show: (v) => Math.round(hoursOfDuration(v) * 60), send: (x) => `${Math.round(x)}m`, min: 1, max: 1440,
    hint: "The longest a temporary token lives after it is made or rotated.", text: (v) => `${Math.round(hoursOfDuration(v) * 60)} minutes` },
];

// renderSettings is the Settings page: what the notifier and the API use now, each with
// the deployment's default; a superuser changes them with a reason.
async function renderSettings() {
  let st, self;
  try {
    [st, self] = await Promise.all([call("GET", "settings"), me()]);
  } catch (e) {
    main.replaceChildren(h("h1", {}, "Settings"), h("p", { class: "error", role: "alert" }, sentence(e)));
    main.dataset.ready = "settings";
    return;
  }
  const may = !!self.superuser;
  const rows = SETTINGS.map((d) => {
    const input = h("input", { type: "number", step: "any", min: d.min, max: d.max, value: d.show(st[d.field]), disabled: !may, class: "narrow" });
    const useDefault = h("input", { type: "checkbox", checked: !st.set[d.field], disabled: !may });
    // Typing a value turns "use the default" off; ticking it puts the default back.
    useDefault.addEventListener("change", () => { if (useDefault.checked) input.value = d.show(st.defaults[d.field]); });
    input.addEventListener("input", () => { useDefault.checked = false; });
    const id = `set-${d.field}`;
    input.id = id;
    input.setAttribute("aria-describedby", `${id}-err`);
    return { d, input, useDefault, el: h("div", { class: "setting" },
      h("label", { for: id }, `${LABELS[d.field]} (${d.unit})`), input,
      h("label", { class: "inline" }, useDefault, `Use the default: ${d.text(st.defaults[d.field])}`),
      h("p", { class: "hint" }, d.hint),
      h("p", { class: "error", id: `${id}-err`, "data-field": d.field })) };
  });
  const rcpt = h("textarea", { rows: 3, disabled: !may, class: "wide" }, st.recipients.join("\n"));
  const rcptDefault = h("input", { type: "checkbox", checked: !st.set.recipients, disabled: !may });
  rcptDefault.addEventListener("change", () => { if (rcptDefault.checked) rcpt.value = st.defaults.recipients.join("\n"); });
  rcpt.addEventListener("input", () => { rcptDefault.checked = false; });
  const reason = h("input", { type: "text", maxlength: 500, disabled: !may, class: "wide" });
  const form = h("form", { "aria-label": "Settings", novalidate: true },
    rows.map((r) => r.el),
    h("div", { class: "setting" },
      field("Extra recipients of expiry notices", rcpt, "recipients", "One address per line. They get every token's notice, besides its owner; empty: none."),
      h("label", { class: "inline" }, rcptDefault, `Use the default: ${st.defaults.recipients.join(", ") || "none"}`)),
    may ? field("Reason for this change", reason, "reason", "Required: every change is audited.") : null,
    h("p", { class: "error", "data-field": "", role: "alert" }),
    may ? h("div", { class: "actions start" }, h("button", { type: "submit" }, "Save settings")) : null);
  const status = h("p", { class: "notice", role: "status", id: "settings-status", hidden: !flash }, flash);
  flash = "";
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { reason: reason.value, reset: [] };
    const local = [];
    for (const r of rows) {
      const { field: f } = r.d;
      if (r.useDefault.checked) { if (st.set[f]) body.reset.push(f); continue; }
      const x = Number(r.input.value);
      if (r.input.value === "" || !Number.isFinite(x) || x < r.d.min || x > r.d.max) {
        local.push({ field: f, message: `must be a number of ${r.d.unit} from ${+r.d.min.toFixed(3)} to ${r.d.max}` });
        continue;
      }
      const v = r.d.send(x);
      if (!st.set[f] || hoursOfDuration(v) !== hoursOfDuration(st[f])) body[f] = v;
    }
    if (rcptDefault.checked) { if (st.set.recipients) body.reset.push("recipients"); } else {
      const list = rcpt.value.split(/[\s,;]+/).filter(Boolean);
      if (!st.set.recipients || list.join() !== st.recipients.join()) body.recipients = list;
    }
    if (local.length) { showErrors(form, { errors: local }); return; }
    if (!body.reset.length) delete body.reset;
    if (Object.keys(body).length === 1) { showErrors(form, { errors: [{ field: "", message: "Nothing changed." }] }); return; }
    try {
      const res = await fetch(new URL("settings", API), {
        method: "PATCH", body: JSON.stringify(body), credentials: "omit", cache: "no-store",
        headers: { Authorization: `Bearer ${session().token}`, "Content-Type": "application/json", "If-Match": `"${st.version}"` },
      });
      const data = await res.json().catch(() => null);
      if (res.status === 409) throw new APIError(409, { detail: "Someone changed the settings since you opened them. Reload the page and make your change again." });
      if (!res.ok) throw new APIError(res.status, data);
      flash = "Saved. Every function uses the new settings within a minute.";
      renderSettings();
    } catch (e) { showErrors(form, e); }
  });
  main.replaceChildren(...[h("h1", {}, "Settings"),
    h("p", { class: "hint" }, "What the expiry notifier and the API use now. The deployment's parameters are the defaults; a change here needs no redeploy and reaches every function within a minute."),
    !may ? h("p", { class: "notice" }, "Only a superuser may change these.") : null,
    st.updatedAt ? h("p", { class: "muted", id: "settings-changed" }, `Last changed by ${st.updatedBy}, ${fmtTime(st.updatedAt)}.`) : null,
    status, form].filter(Boolean));
  main.dataset.ready = "settings";
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
  if (parts[0] === "principals" && parts[1]) return renderPrincipal(parts[1], parts[2]);
  if (parts[0] === "principals") return renderPrincipals();
  if (parts[0] === "settings") return renderSettings();
  return renderTokens();
}

document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
