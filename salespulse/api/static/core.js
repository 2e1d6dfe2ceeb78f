// The people's pages' shared module: the token, the API, the catalogues, Intl formatting and
// the page header. Pages import it; nothing here knows about a particular page.

const KEY = { token: "salespulse.token", lang: "salespulse.lang" };
export const LANGS = ["zh-CN", "en"];
const SVG = "http://www.w3.org/2000/svg";

// -- the token: a token in the URL is taken once, then removed from the address bar ---------
export function takeToken() {
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    localStorage.setItem(KEY.token, url.searchParams.get("token"));
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return localStorage.getItem(KEY.token) || "";
}
export const token = () => localStorage.getItem(KEY.token) || "";
export const setToken = (t) => (t ? localStorage.setItem(KEY.token, t) : localStorage.removeItem(KEY.token));

// -- language and catalogue -----------------------------------------------------------------
export function chosenLang() {
  const saved = localStorage.getItem(KEY.lang);
  if (LANGS.includes(saved)) return saved;
  const zh = (navigator.languages || [navigator.language]).some((l) => /^zh/i.test(l || ""));
  return zh ? "zh-CN" : "en";
}
export const i18n = { lang: "en", messages: {} };

export async function loadCatalogue(lang = chosenLang()) {
  const response = await fetch(`/static/i18n/${lang}.json`);
  i18n.lang = lang;
  i18n.messages = await response.json();
  document.documentElement.lang = lang;
  return i18n;
}

// t("me.gap", { gap: "US$3" }): the catalogue's text with {name} filled in. A missing key is a bug:
// it is logged as a console error (the browser tests fail on those) and shown bracketed.
export function t(key, vars = {}) {
  let text = i18n.messages[key];
  if (text === undefined) {
    console.error(`missing catalogue key ${key} (${i18n.lang})`);
    return `⟦${key}⟧`;
  }
  for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}
// A key that may be absent (a metric or stage a KPI file added): falls back to the raw id.
export const tOr = (key, fallback) => i18n.messages[key] ?? fallback;
export const metricName = (m) => tOr(`metric.${m}`, m.replaceAll("_", " "));
export const stageName = (s) => tOr(`stage.${s}`, s);

// -- Intl formatting --------------------------------------------------------------------------
const nf = (opts) => new Intl.NumberFormat(i18n.lang, opts);
export const num = (v, digits = 0) => (v === null || v === undefined ? "–"
  : nf({ maximumFractionDigits: digits }).format(Number(v)));
export const pct = (v) => (v === null || v === undefined ? "–"
  : nf({ style: "percent", maximumFractionDigits: 0 }).format(Number(v)));
export const dateText = (d, opts = { dateStyle: "medium" }) =>
  new Intl.DateTimeFormat(i18n.lang, opts).format(typeof d === "string" ? new Date(d) : d);
export const dayText = (iso) => dateText(new Date(`${iso}T12:00:00`), { month: "short", day: "numeric", weekday: "short" });

// One scale for a whole column, so 万 never stands beside plain figures: zh uses 万 / 亿,
// en K / M; the largest value of the column decides.
const SCALES = {
  "zh-CN": [[1e8, "亿"], [1e4, "万"]],
  en: [[1e6, "M"], [1e3, "K"]],
};
export function scaleFor(values) {
  const max = Math.max(0, ...values.filter((v) => v !== null && v !== undefined).map((v) => Math.abs(Number(v))));
  for (const [div, suffix] of SCALES[i18n.lang] || SCALES.en) if (max >= div * 10) return { div, suffix };
  return { div: 1, suffix: "" };
}
// A formatter for a column of values: money (with the currency) or counts.
export function columnFormat(values, currency = null) {
  const { div, suffix } = scaleFor(values);
  const digits = div === 1 ? 0 : 1;
  const f = currency
    ? nf({ style: "currency", currency, maximumFractionDigits: digits, minimumFractionDigits: 0 })
    : nf({ maximumFractionDigits: digits });
  return (v) => {
    if (v === null || v === undefined) return "–";
    return Number(v) === 0 ? f.format(0) : `${f.format(Number(v) / div)}${suffix}`;
  };
}
export const money = (v, currency) => columnFormat([v], currency)(v);

// -- DOM ---------------------------------------------------------------------------------------
export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.setAttribute("class", v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));  // never innerHTML
  }
  return node;
}
export const $ = (id) => document.getElementById(id);
// replaceChildren without the DOM's habit of writing a null child as the text "null".
export function fill(id, ...children) {
  const node = typeof id === "string" ? $(id) : id;
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function showError(message) {
  const box = $("error");
  if (!box) return;
  box.hidden = !message;
  box.textContent = message || "";
}

// -- the API -----------------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, parameter, detail) {
    super(detail || String(status));
    this.status = status;
    this.parameter = parameter;
    this.detail = detail;
  }
  // The known errors, translated; the server's own words follow for the rest.
  get text() {
    const known = { 401: "err.401", 403: "err.403", 404: "err.404", 409: "err.409", 503: "err.503" };
    if (this.status === 0) return t("err.network");
    if (known[this.status]) return t(known[this.status], { detail: this.detail || "" });
    if (this.status === 422 || this.status === 400) return t("err.invalid", { detail: this.detail || "" });
    return t("err.other", { status: this.status, detail: this.detail || "" });
  }
}

export async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = { ...options, body: JSON.stringify(options.json) };
  }
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (err) {
    throw new ApiError(0, null, String(err));
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const d = body.detail || {};
    throw new ApiError(response.status, d.parameter, d.error);
  }
  return body;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  return q.toString();
}

// -- the page frame ------------------------------------------------------------------------------
const NAV = [["/me", "nav.me"], ["/team/", "nav.team"], ["/contest", "nav.contest"],
  ["/targets", "nav.targets"], ["/kpi-versions", "nav.versions"], ["/", "nav.tv"]];

// A page's name in the catalogue, from its path.
export function pageName(path) {
  const found = NAV.find(([prefix]) => (prefix === "/" ? path === "/" : path.startsWith(prefix)));
  return found ? t(found[1]) : path;
}

function header(me) {
  const here = location.pathname;
  const links = me ? me.pages.map((p) => {
    const current = p === here || (p.startsWith("/team/") && here.startsWith("/team/"));
    return el("a", { href: p, class: current ? "current" : null }, pageName(p));
  }) : [];
  const lang = el("select", { id: "lang", "aria-label": t("nav.language"),
    onchange: (e) => { localStorage.setItem(KEY.lang, e.target.value); location.reload(); } },
  LANGS.map((l) => el("option", { value: l, selected: l === i18n.lang }, t(`lang.${l}`))));
  const who = me ? el("span", { class: "who", id: "whoami" },
    t("login.you_are", { name: me.rep_name || me.name, role: t(`role.${me.role}`) })) : null;
  const out = me ? el("a", { href: "/login", id: "signout",
    onclick: () => setToken("") }, t("nav.sign_out")) : null;
  $("top").replaceChildren(el("a", { class: "brand", href: me?.pages[0] || "/login" }, "Sales", el("span", {}, "Pulse")),
    el("nav", {}, links), el("div", { class: "tools" }, who, lang, out));
}

// Boot a page: catalogue, token, who am I, org; then the page's own render. A missing or
// unknown token goes to the sign-in page; a page the role may not open says so.
export async function boot(render, { allow = null, public: isPublic = false } = {}) {
  takeToken();
  await loadCatalogue();
  document.title = `${t(`title.${document.body.dataset.page}`)} · SalesPulse`;
  let me = null;
  if (!token() && !isPublic) {
    location.replace(`/login?${query({ next: location.pathname + location.search })}`);
    return;
  }
  if (token()) {
    try {
      me = await api("/api/whoami");
    } catch (err) {
      if (err.status === 401 && !isPublic) {
        location.replace(`/login?${query({ next: location.pathname + location.search })}`);
        return;
      }
      if (!isPublic) { header(null); showError(err.text); return; }
    }
  }
  header(me);
  if (allow && me && !allow(me)) {
    $("app").replaceChildren(el("p", { class: "empty" }, t("err.page_not_for_role", { role: t(`role.${me.role}`) })));
    return;
  }
  const org = me && me.role !== "producer" ? await api("/api/org") : null;
  try {
    await render({ me, org });
  } catch (err) {
    showError(err instanceof ApiError ? err.text : String(err));
    if (!(err instanceof ApiError)) throw err;
  }
}

// -- small shared views ----------------------------------------------------------------------------
export const PACE = ["ahead", "on_track", "at_risk", "behind"];
export const paceBadge = (status) => (status
  ? el("span", { class: `badge ${status}` }, t(`pace.${status}`)) : el("span", { class: "muted" }, "–"));

export function unitName(org, unitId) {
  const u = org.units.find((x) => x.unit_id === unitId);
  return u ? u.name : unitId;
}
export function repName(org, repId) {
  const r = org.reps.find((x) => x.rep_id === repId);
  return r ? r.name : repId;
}
export const isMoney = (org, metric) => org.money_metrics.includes(metric);
export const currencyOf = (org, metric) => (isMoney(org, metric) ? org.currency : null);

// The current month as YYYY-MM in the browser's time (the API's default period is the same).
export function thisMonth() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}
// The page's period: ?period= in the address (a bookmark of last month), else this month.
export const pagePeriod = () => new URL(location.href).searchParams.get("period") || thisMonth();
// Another period in the address bar, keeping the other parameters.
export function withPeriod(period) {
  const url = new URL(location.href);
  url.searchParams.set("period", period);
  return url.pathname + url.search;
}
// A period input that reloads the page on the new period (the page reads it at start).
export function periodPicker(period) {
  return el("label", {}, t("col.period"), el("input", { id: "period-pick", value: period, size: 8,
    "aria-label": t("col.period"), onchange: (e) => location.assign(withPeriod(e.target.value.trim())) }));
}

export function section(titleKey, ...children) {
  return el("section", { class: "card" }, el("h2", {}, t(titleKey)), ...children);
}
