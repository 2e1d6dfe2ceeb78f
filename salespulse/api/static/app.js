// SalesPulse dashboard: reads /api with the token from ?token= (kept in localStorage), and
// follows /api/stream (EventSource) so wins, cheers and the leaderboard update without reload.
"use strict";

const KEY = { token: "salespulse.token", scope: "salespulse.scope", metric: "salespulse.metric",
  rep: "salespulse.rep", cheered: "salespulse.cheered" };
const STATUS_TEXT = { ahead: "ahead", on_track: "on track", at_risk: "at risk", behind: "behind" };
const TICKER_SIZE = 15;
const SVG = "http://www.w3.org/2000/svg";

// -- token: taken from the URL once, then removed from it so it does not end up in screenshots.
const url = new URL(location.href);
if (url.searchParams.has("token")) {
  localStorage.setItem(KEY.token, url.searchParams.get("token"));
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}
const token = localStorage.getItem(KEY.token) || "";
const state = {
  scope: url.searchParams.get("scope") ?? localStorage.getItem(KEY.scope) ?? "",
  metric: localStorage.getItem(KEY.metric) || "revenue",
  cheered: new Set(JSON.parse(localStorage.getItem(KEY.cheered) || "[]")),
  stream: null,
  refreshTimer: null,
};

// -- small helpers -------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.setAttribute("class", v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));  // never innerHTML
  }
  return node;
}
const $ = (id) => document.getElementById(id);
// Amounts arrive as decimal strings; Number() is only for display, rounded here.
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const money = (s) => (s === null || s === undefined ? "–" : Number(s) >= 1e5 ? compact.format(Number(s)) : whole.format(Number(s)));
const pct = (s) => (s === null || s === undefined ? "–" : `${Math.round(Number(s) * 100)} %`);

function showError(message) {
  const box = $("error");
  box.hidden = !message;
  box.textContent = message || "";
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const d = body.detail || {};
    const err = new Error(d.error || `${response.status} ${response.statusText}`);
    err.status = response.status;
    err.parameter = d.parameter;
    throw err;
  }
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  return q.toString();
}

// -- goals: one gauge per metric with a target ---------------------------------------------
function point(fraction, r, cx, cy) {
  const angle = Math.PI * (1 - Math.max(0, Math.min(1, fraction)));
  return [cx + r * Math.cos(angle), cy - r * Math.sin(angle)];
}

function gauge(line) {
  const cx = 110, cy = 105, r = 85;
  const done = Number(line.completion ?? 0);
  const expected = Number(line.target) ? Number(line.expected_to_date) / Number(line.target) : 0;
  const [x, y] = point(done, r, cx, cy);
  const [ex1, ey1] = point(expected, r - 16, cx, cy);
  const [ex2, ey2] = point(expected, r + 16, cx, cy);
  const color = `var(--${line.pace_status})`;
  const svg = el("svg:svg", { viewBox: "0 0 220 130", role: "img",
      "aria-label": `${line.metric}: ${pct(line.completion)} of target` },
    el("svg:path", { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${cx + r} ${cy}`,
      stroke: "var(--line)", "stroke-width": 18, fill: "none", "stroke-linecap": "round" }),
    done > 0 ? el("svg:path", { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${x} ${y}`,
      stroke: color, "stroke-width": 18, fill: "none", "stroke-linecap": "round" }) : null,
    el("svg:line", { x1: ex1, y1: ey1, x2: ex2, y2: ey2, stroke: "var(--text)", "stroke-width": 3 },
      el("svg:title", {}, `expected to date: ${money(line.expected_to_date)}`)),
    el("svg:text", { x: cx, y: cy - 12, "text-anchor": "middle", fill: "var(--text)",
      "font-size": 30, "font-weight": 700 }, pct(line.completion)),
    el("svg:text", { x: cx, y: cy + 20, "text-anchor": "middle", fill: color, "font-size": 15 },
      STATUS_TEXT[line.pace_status] || line.pace_status));
  return el("div", { class: "gauge" }, svg,
    el("div", { class: "name" }, line.metric.replaceAll("_", " ")),
    el("div", { class: "detail" }, `${money(line.actual)} of ${money(line.target)}`
      + (line.forecast ? ` · forecast ${money(line.forecast)}` : "")));
}

async function loadGoals() {
  try {
    const goals = await api(`/api/goals?${query({ scope: state.scope })}`);
    $("goals-title").textContent = `${goals.scope} · ${goals.period}`;
    $("period").textContent = `${goals.period} · day ${goals.elapsed_days}/${goals.period_days}`;
    const lines = goals.metrics;
    $("gauges").replaceChildren(...(lines.length ? lines.map(gauge)
      : [el("p", { class: "muted" }, "No targets set for this scope and period.")]));
  } catch (err) {
    $("gauges").replaceChildren(el("p", { class: "muted" }, err.message));
  }
}

// -- funnel: open deals per stage as centred bars, then the economics -----------------------
async function loadFunnel() {
  try {
    const f = await api(`/api/funnel?${query({ scope: state.scope })}`);
    const rows = [...f.stages.map((s) => ({ label: s.stage, count: s.open_count, amount: s.open_amount })),
      { label: "won", count: f.won, amount: f.won_amount }];
    const max = Math.max(1, ...rows.map((r) => r.count));
    const h = 34, w = 400;
    const svg = el("svg:svg", { viewBox: `0 0 ${w} ${rows.length * h}`, role: "img", "aria-label": "funnel" },
      rows.map((r, i) => {
        const bw = Math.max(40, (w - 20) * (r.count / max));
        return el("svg:g", {},
          el("svg:rect", { x: (w - bw) / 2, y: i * h + 3, width: bw, height: h - 6, rx: 4,
            fill: r.label === "won" ? "var(--ahead)" : "var(--on_track)", opacity: 0.35 + 0.65 * (i + 1) / rows.length }),
          el("svg:text", { x: w / 2, y: i * h + h / 2 + 5, "text-anchor": "middle", fill: "var(--text)", "font-size": 14 },
            `${r.label}: ${r.count} · ${money(r.amount)}`));
      }));
    $("funnel").replaceChildren(svg);
    const stats = [["win rate", pct(f.win_rate)], ["avg deal", money(f.avg_deal_size)],
      ["cycle", f.avg_cycle_days ? `${Math.round(Number(f.avg_cycle_days))} d` : "–"],
      ["velocity / mo", money(f.velocity_per_month)]];
    $("funnel-stats").replaceChildren(...stats.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    $("diagnosis").replaceChildren(...f.diagnosis.map((d) => el("li", {}, d.message)),
      ...(f.stalled.length ? [el("li", {}, `${f.stalled.length} stalled deal(s)`)] : []));
  } catch (err) {
    $("funnel").replaceChildren(el("p", { class: "muted" }, err.message));
  }
}

// -- leaderboard (pushed by the stream) -----------------------------------------------------
function renderBoard(board) {
  $("board-title").textContent = `${board.metric.replaceAll("_", " ")} · ${board.scope} · ${board.period}`;
  $("board").tBodies[0].replaceChildren(...board.entries.map((e) =>
    el("tr", { class: e.rank === 1 ? "top1" : null },
      el("td", { class: "rank" }, e.rank),
      el("td", {}, e.name),
      el("td", { class: "num" }, money(e.value)),
      el("td", { class: "num" }, e.completion ? pct(e.completion) : "–"))));
  $("board-total").textContent = `total ${money(board.team_total)}`
    + (board.team_target ? ` of ${money(board.team_target)} (${pct(board.team_completion)})` : "");
}

// -- ticker and cheers ---------------------------------------------------------------------
function headline(b) {
  const p = b.payload;
  if (b.kind === "milestone") return [`${p.scope}`, `${p.percent} % of ${p.metric}`, `${p.period}`];
  const what = p.source === "OrderSigned" ? `order ${p.order_id ?? ""}` : `deal ${p.opportunity_id ?? ""}`;
  return [b.rep_name || p.rep_id, money(p.amount), `${what} · ${new Date(b.occurred_at).toLocaleString()}`];
}

function tickerItem(b, fresh) {
  const [who, amount, what] = headline(b);
  const done = state.cheered.has(b.broadcast_id);
  const button = el("button", { class: `cheer${done ? " done" : ""}`, "data-id": b.broadcast_id,
    title: "cheer", onclick: () => cheer(b.broadcast_id, button) }, `👏 ${b.cheers}`);
  return el("li", { class: `${b.kind}${fresh ? " fresh" : ""}`, "data-id": b.broadcast_id },
    el("span", {}, el("span", { class: "who" }, who), " ", el("span", { class: "amount" }, amount)),
    button, el("span", { class: "what" }, what));
}

// By data-id without building a selector: broadcast ids are arbitrary text.
const withId = (nodes, id) => [...nodes].find((n) => n.dataset.id === id);

function addToTicker(b, fresh) {
  const list = $("ticker");
  withId(list.children, b.broadcast_id)?.remove();
  list.prepend(tickerItem(b, fresh));
  while (list.children.length > TICKER_SIZE) list.lastElementChild.remove();
}

function setCheers(id, count) {
  const button = withId($("ticker").querySelectorAll("button"), id);
  if (button) button.textContent = `👏 ${count}`;
}

async function cheer(id, button) {
  const rep = localStorage.getItem(KEY.rep);
  const send = (body) => api(`/api/broadcasts/${encodeURIComponent(id)}/cheers`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  button.disabled = true;
  try {
    let result;
    try {
      result = await send(rep ? { rep_id: rep } : {});
    } catch (err) {
      // Open mode or an admin token: the server needs to know which rep is cheering.
      if (err.parameter !== "rep_id" || err.status === 403) throw err;
      const asked = prompt("Your rep id, to cheer as you:");
      if (!asked) return;
      localStorage.setItem(KEY.rep, asked.trim());
      result = await send({ rep_id: asked.trim() });
    }
    if (!result.already_cheered) setCheers(id, Number(button.textContent.replace(/\D/g, "")) + 1);
    state.cheered.add(id);
    localStorage.setItem(KEY.cheered, JSON.stringify([...state.cheered].slice(-200)));
    button.classList.add("done");
  } catch (err) {
    showError(`cheer failed: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

function banner(text) {
  const box = $("banner");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(banner.timer);
  banner.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

async function loadBroadcasts() {
  try {
    const { broadcasts } = await api(`/api/broadcasts?limit=${TICKER_SIZE}`);
    $("ticker").replaceChildren();
    for (const b of broadcasts.reverse()) addToTicker(b, false);
  } catch (err) {
    showError(err.message);
  }
}

// -- the live stream -----------------------------------------------------------------------
function refreshSoon() {
  // A burst of wins refreshes goals and funnel once.
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => { loadGoals(); loadFunnel(); }, 1000);
}

function connect() {
  state.stream?.close();
  const boardScope = state.scope.startsWith("unit:") ? state.scope : "company";
  const source = new EventSource(`/api/stream?${query({ metric: state.metric, scope: boardScope, limit: 10, token })}`);
  state.stream = source;
  source.onopen = () => { $("live").className = "live on"; showError(""); };
  source.onerror = () => { $("live").className = "live off"; };  // EventSource retries itself
  source.addEventListener("leaderboard", (e) => renderBoard(JSON.parse(e.data)));
  source.addEventListener("cheers", (e) => {
    for (const [id, n] of Object.entries(JSON.parse(e.data).counts)) setCheers(id, n);
  });
  for (const kind of ["deal_won", "milestone"]) {
    source.addEventListener(kind, (e) => {
      const b = JSON.parse(e.data);
      addToTicker(b, true);
      const [who, amount] = headline(b);
      banner(kind === "deal_won" ? `🎉 ${who} · ${amount}` : `🏁 ${who} · ${amount}`);
      refreshSoon();
    });
  }
}

// -- start ---------------------------------------------------------------------------------
async function start() {
  setInterval(() => { $("clock").textContent = new Date().toLocaleTimeString(); }, 1000);
  try {
    const org = await api("/api/org");
    const depth = (u) => { let d = 0; let p = u.parent_id; const by = Object.fromEntries(org.units.map((x) => [x.unit_id, x]));
      while (p && by[p] && d < 10) { d += 1; p = by[p].parent_id; } return d; };
    const scopes = [["", "my scope"], ["company", "company"],
      ...org.units.filter((u) => u.kind !== "company").map((u) => [`unit:${u.unit_id}`, `${"· ".repeat(depth(u))}${u.name}`])];
    $("scope").replaceChildren(...scopes.map(([v, t]) => el("option", { value: v }, t)));
    $("metric").replaceChildren(...org.metrics.map((m) => el("option", { value: m }, m.replaceAll("_", " "))));
  } catch (err) {
    showError(err.status === 401 ? "This dashboard needs a token: open it as /?token=…" : err.message);
    return;
  }
  $("scope").value = state.scope;
  $("metric").value = state.metric;
  $("scope").addEventListener("change", (e) => {
    state.scope = e.target.value;
    localStorage.setItem(KEY.scope, state.scope);
    loadGoals(); loadFunnel(); connect();
  });
  $("metric").addEventListener("change", (e) => {
    state.metric = e.target.value;
    localStorage.setItem(KEY.metric, state.metric);
    connect();
  });
  await Promise.all([loadGoals(), loadFunnel(), loadBroadcasts()]);
  connect();
  // Pace and expected-to-date move with the clock even when nothing is sold.
  setInterval(() => { loadGoals(); loadFunnel(); }, 60000);
}

start();
