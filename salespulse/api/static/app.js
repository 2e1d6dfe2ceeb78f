// SalesPulse TV dashboard: reads /api with the token from ?token= (kept in localStorage), and
// follows /api/stream (EventSource) so wins, cheers and the leaderboard update without reload.
// Texts, numbers and money come from the shared module (static/core.js), in zh-CN or en.
import {
  api, columnFormat, el, fill, i18n, loadCatalogue, metricName, pct, query, stageName, t, takeToken,
  token,
} from "/static/core.js";
import { celebrate, muteButton } from "/static/tv/celebrate.js";

const KEY = { scope: "salespulse.scope", metric: "salespulse.metric", cheered: "salespulse.cheered" };
const TICKER_SIZE = 15;
// The leaderboard shows as many rows as its panel holds (the stream's limit is at most 100).
const BOARD_MIN = 5, BOARD_MAX = 40;

takeToken();
const url = new URL(location.href);
const state = {
  scope: url.searchParams.get("scope") ?? localStorage.getItem(KEY.scope) ?? "",
  metric: localStorage.getItem(KEY.metric) || "revenue",
  cheered: new Set(JSON.parse(localStorage.getItem(KEY.cheered) || "[]")),
  stream: null,
  refreshTimer: null,
  me: null,  // who the token names: the cheering rep is theirs, never asked for
  org: null,
  units: {},
  reps: {},
  boardRows: 10,
  lastBoard: null,
  fitted: false,
};

const $ = (id) => document.getElementById(id);
const currency = (metric) => (state.org?.money_metrics.includes(metric) ? state.org.currency : null);
const money = (v, cur = state.org?.currency) => columnFormat([v], cur)(v);

function showError(message) {
  const box = $("error");
  box.hidden = !message;
  box.textContent = message || "";
}

// -- names, not ids: scopes, reps and units through the org roster ----------------------------
function scopeName(scope) {
  if (!scope || scope === "company") return t("tv.company");
  const [kind, id] = scope.split(":");
  return (kind === "unit" ? state.units[id]?.name : state.reps[id]?.name) || id;
}

// -- goals: one gauge per metric with a target -----------------------------------------------
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
  const f = columnFormat([line.actual, line.target, line.forecast, line.expected_to_date], currency(line.metric));
  const svg = el("svg:svg", { viewBox: "0 0 220 130", role: "img",
      "aria-label": t("tv.gauge_label", { metric: metricName(line.metric), done: pct(line.completion) }) },
    el("svg:path", { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${cx + r} ${cy}`,
      stroke: "var(--line)", "stroke-width": 18, fill: "none", "stroke-linecap": "round" }),
    done > 0 ? el("svg:path", { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${x} ${y}`,
      stroke: color, "stroke-width": 18, fill: "none", "stroke-linecap": "round" }) : null,
    el("svg:line", { x1: ex1, y1: ey1, x2: ex2, y2: ey2, stroke: "var(--text)", "stroke-width": 3 },
      el("svg:title", {}, t("tv.expected", { value: f(line.expected_to_date) }))),
    el("svg:text", { x: cx, y: cy - 12, "text-anchor": "middle", fill: "var(--text)",
      "font-size": 30, "font-weight": 700 }, pct(line.completion)),
    el("svg:text", { x: cx, y: cy + 20, "text-anchor": "middle", fill: color, "font-size": 15 },
      t(`pace.${line.pace_status}`)));
  return el("div", { class: "gauge" }, svg,
    el("div", { class: "name" }, metricName(line.metric)),
    el("div", { class: "detail" }, t("tv.of_target", { actual: f(line.actual), target: f(line.target) })
      + (line.forecast ? ` · ${t("tv.forecast", { value: f(line.forecast) })}` : "")));
}

async function loadGoals() {
  try {
    const goals = await api(`/api/goals?${query({ scope: state.scope })}`);
    $("goals-title").textContent = `${scopeName(goals.scope)} · ${goals.period}`;
    $("period").textContent = t("tv.day_of", { period: goals.period, day: goals.elapsed_days, days: goals.period_days });
    const lines = goals.metrics;
    fill("gauges", lines.length ? lines.map(gauge) : el("p", { class: "muted" }, t("tv.no_targets")));
  } catch (err) {
    fill("gauges", el("p", { class: "muted" }, err.text || err.message));
  }
}

// -- funnel: open deals per stage as centred bars, then the economics -------------------------
async function loadFunnel() {
  try {
    const f = await api(`/api/funnel?${query({ scope: state.scope })}`);
    const rows = [...f.stages.map((s) => ({ label: stageName(s.stage), count: s.open_count, amount: s.open_amount, won: false })),
      { label: stageName("won"), count: f.won, amount: f.won_amount, won: true }];
    const cur = state.org?.currency;
    const m = columnFormat(rows.map((r) => r.amount), cur);
    const max = Math.max(1, ...rows.map((r) => r.count));
    const h = 34, w = 400;
    const svg = el("svg:svg", { viewBox: `0 0 ${w} ${rows.length * h}`, role: "img", "aria-label": t("tv.funnel") },
      rows.map((r, i) => {
        const bw = Math.max(40, (w - 20) * (r.count / max));
        return el("svg:g", {},
          el("svg:rect", { x: (w - bw) / 2, y: i * h + 3, width: bw, height: h - 6, rx: 4,
            fill: r.won ? "var(--ahead)" : "var(--on_track)", opacity: 0.35 + 0.65 * (i + 1) / rows.length }),
          el("svg:text", { x: w / 2, y: i * h + h / 2 + 5, "text-anchor": "middle", fill: "var(--text)", "font-size": 14 },
            `${r.label}: ${r.count} · ${m(r.amount)}`));
      }));
    fill("funnel", svg);
    const stats = [["tv.win_rate", pct(f.win_rate)], ["tv.avg_deal", money(f.avg_deal_size, cur)],
      ["tv.cycle", f.avg_cycle_days ? t("tv.days", { n: Math.round(Number(f.avg_cycle_days)) }) : "–"],
      ["tv.velocity", money(f.velocity_per_month, cur)]];
    fill("funnel-stats", stats.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v)]));
    fill("diagnosis", f.stalled.length ? el("li", {}, t("tv.stalled", { n: f.stalled.length })) : null);
  } catch (err) {
    fill("funnel", el("p", { class: "muted" }, err.text || err.message));
  }
}

// -- leaderboard (pushed by the stream): as many rows as fit, with each rep's team -------------
function renderBoard(board) {
  state.lastBoard = board;
  // The first rows tell how tall a row really is: ask once more for as many as fit.
  if (!state.fitted && board.entries.length) {
    state.fitted = true;
    queueMicrotask(() => { const n = fittingRows(); if (n !== state.boardRows) { state.boardRows = n; connect(); } });
  }
  const f = columnFormat(board.entries.map((e) => e.value), currency(board.metric));
  $("board-title").textContent = `${metricName(board.metric)} · ${scopeName(board.scope)} · ${board.period}`;
  fill($("board").tBodies[0], board.entries.map((e) =>
    el("tr", { class: e.rank === 1 ? "top1" : null, "data-rep": e.rep_id },
      el("td", { class: "rank" }, e.rank),
      el("td", {}, e.name, e.unit_name ? el("span", { class: "team" }, e.unit_name) : null),
      el("td", { class: "num" }, f(e.value)),
      el("td", { class: "num" }, e.completion ? pct(e.completion) : "–"))));
  const total = columnFormat([board.team_total, board.team_target], currency(board.metric));
  $("board-total").textContent = board.team_target
    ? t("tv.total_of", { total: total(board.team_total), target: total(board.team_target), done: pct(board.team_completion) })
    : t("tv.total", { total: total(board.team_total) });
}

// Rows that fit the panel between its title and total line (a TV has no scrolling); elsewhere
// the page scrolls and ten rows are plenty.
const TV_SCREEN = "(min-width: 1101px) and (min-height: 700px)";
function fittingRows() {
  if (!matchMedia(TV_SCREEN).matches) return 10;
  const panel = $("board-panel");
  const table = $("board");
  const row = table.tBodies[0].rows[0]?.getBoundingClientRect().height || 32;
  const head = table.tHead.getBoundingClientRect().height;
  const used = panel.querySelector("h2").getBoundingClientRect().height + $("board-total").getBoundingClientRect().height + head + 40;
  const rows = Math.floor((panel.clientHeight - used) / row);
  return Math.max(BOARD_MIN, Math.min(BOARD_MAX, rows));
}

// -- ticker and cheers -------------------------------------------------------------------------
const rankChange = (p) => (p.rank_before && p.rank_after && p.rank_before !== p.rank_after
  ? t("tv.rank_change", { from: p.rank_before, to: p.rank_after })
  : p.rank_after && !p.rank_before ? t("tv.rank_new", { to: p.rank_after }) : null);

// [who, amount, what, extra] of an announcement, in words and names.
function headline(b) {
  const p = b.payload;
  if (b.kind === "milestone" || b.kind === "milestone_revoked") {
    return [scopeName(p.scope), t("tv.milestone_line", { percent: p.percent, metric: metricName(p.metric) }),
      p.period, money(p.actual)];
  }
  const customer = b.account_id || p.account_id;
  const what = [customer ? t("tv.customer", { customer }) : null, p.unit_name || state.units[p.unit_id]?.name,
    new Date(b.occurred_at).toLocaleString(i18n.lang, { dateStyle: "short", timeStyle: "short" })].filter(Boolean).join(" · ");
  return [b.rep_name || p.rep_name || p.rep_id, money(p.amount, p.currency || state.org?.currency), what, rankChange(p)];
}

function tickerItem(b, fresh) {
  const [who, amount, what, extra] = headline(b);
  const done = state.cheered.has(b.broadcast_id);
  const canCheer = Boolean(state.me?.rep_id);
  const button = el("button", { class: `cheer${done ? " done" : ""}`, "data-id": b.broadcast_id,
    disabled: !canCheer, title: canCheer ? t("tv.cheer") : t("tv.cheer_needs_rep"),
    onclick: () => cheer(b.broadcast_id, button) }, `👏 ${b.cheers}`);
  return el("li", { class: `${b.kind}${fresh ? " fresh" : ""}`, "data-id": b.broadcast_id },
    el("span", {}, el("span", { class: "who" }, who), " ", el("span", { class: "amount" }, amount),
      extra ? el("span", { class: "rank-change" }, ` ${extra}`) : null),
    button, el("span", { class: "what" }, what));
}

// By data-id without building a selector: broadcast ids are arbitrary text.
const withId = (nodes, id) => [...nodes].find((n) => n.dataset.id === id);

// A correction changes the deal it names (payload.deal_id) instead of adding a row: struck
// through when retracted, the new amount when corrected; a revoked milestone is struck too.
const CORRECTIONS = ["deal_retracted", "deal_corrected", "milestone_revoked"];

function applyCorrection(b) {
  const p = b.payload;
  const row = withId($("ticker").children, p.deal_id ?? p.milestone_id);
  if (!row) return null;
  if (b.kind === "deal_corrected") {
    row.classList.remove("retracted");
    row.classList.add("corrected");
    row.querySelector(".amount").textContent = money(p.amount);
    row.title = `corrected (${p.correction}) · was ${money(p.was)}`;
  } else {
    row.classList.add("retracted");
    row.title = `${b.kind === "milestone_revoked" ? "revoked" : "retracted"} (${p.correction ?? "below 100 %"})`;
  }
  return row;
}

function addToTicker(b, fresh) {
  if (CORRECTIONS.includes(b.kind)) {
    applyCorrection(b);
    return;
  }
  const list = $("ticker");
  withId(list.children, b.broadcast_id)?.remove();
  list.prepend(tickerItem(b, fresh));
  while (list.children.length > TICKER_SIZE) list.lastElementChild.remove();
}

function setCheers(id, count) {
  const button = withId($("ticker").querySelectorAll("button"), id);
  if (button) button.textContent = `👏 ${count}`;
}

// The cheering rep is the token's: a rep token cheers as that rep, with no question asked.
async function cheer(id, button) {
  button.disabled = true;
  try {
    const result = await api(`/api/broadcasts/${encodeURIComponent(id)}/cheers`, { method: "POST", json: {} });
    if (!result.already_cheered) setCheers(id, Number(button.textContent.replace(/\D/g, "")) + 1);
    state.cheered.add(id);
    localStorage.setItem(KEY.cheered, JSON.stringify([...state.cheered].slice(-200)));
    button.classList.add("done");
  } catch (err) {
    showError(t("tv.cheer_failed", { error: err.text || err.message }));
  } finally {
    button.disabled = false;
  }
}

async function loadBroadcasts() {
  try {
    const { broadcasts } = await api(`/api/broadcasts?limit=${TICKER_SIZE}`);
    fill("ticker");
    for (const b of broadcasts.reverse()) addToTicker(b, false);
  } catch (err) {
    showError(err.text || err.message);
  }
}

// -- the live stream ---------------------------------------------------------------------------
function refreshSoon() {
  // A burst of wins refreshes goals and funnel once.
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => { loadGoals(); loadFunnel(); }, 1000);
}

function connect() {
  state.stream?.close();
  const boardScope = state.scope.startsWith("unit:") ? state.scope : "company";
  const source = new EventSource(`/api/stream?${query({ metric: state.metric, scope: boardScope, limit: state.boardRows, token: token() })}`);
  state.stream = source;
  source.onopen = () => { $("live").className = "live on"; showError(""); };
  source.onerror = () => { $("live").className = "live off"; };  // EventSource retries itself
  source.addEventListener("leaderboard", (e) => renderBoard(JSON.parse(e.data)));
  source.addEventListener("cheers", (e) => {
    for (const [id, n] of Object.entries(JSON.parse(e.data).counts)) setCheers(id, n);
  });
  for (const kind of CORRECTIONS) {
    source.addEventListener(kind, (e) => {
      const b = JSON.parse(e.data);
      if (applyCorrection(b) && kind !== "deal_corrected") banner(`✗ ${headline(b)[0]} · ${kind.replace("_", " ")}`);
      refreshSoon();
    });
  }
  for (const kind of ["deal_won", "milestone"]) {
    source.addEventListener(kind, (e) => {
      const b = JSON.parse(e.data);
      addToTicker(b, true);
      celebrate(kind, headline(b));
      refreshSoon();
    });
  }
}

// Static texts of index.html: data-i18n names the catalogue key.
function translatePage() {
  document.documentElement.lang = i18n.lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
}

// -- start -------------------------------------------------------------------------------------
async function start() {
  await loadCatalogue();
  translatePage();
  $("controls").append(muteButton());
  setInterval(() => { $("clock").textContent = new Date().toLocaleTimeString(i18n.lang); }, 1000);
  try {
    [state.me, state.org] = await Promise.all([api("/api/whoami"), api("/api/org")]);
  } catch (err) {
    showError(err.status === 401 ? t("tv.needs_token") : err.text);
    return;
  }
  const org = state.org;
  state.units = Object.fromEntries(org.units.map((u) => [u.unit_id, u]));
  state.reps = Object.fromEntries(org.reps.map((r) => [r.rep_id, r]));
  const depth = (u) => { let d = 0; let p = u.parent_id;
    while (p && state.units[p] && d < 10) { d += 1; p = state.units[p].parent_id; } return d; };
  // A rep's own scope is "my scope"; the others are the ones this role may see in detail.
  const mayDetail = state.me.role === "admin" ? () => true
    : state.me.role === "manager" ? (u) => { let p = u.unit_id; while (p) { if (p === state.me.unit_id) return true; p = state.units[p]?.parent_id; } return false; }
      : () => false;
  const scopes = [["", t("tv.my_scope")], ...(state.me.role === "admin" ? [["company", t("tv.company")]] : []),
    ...org.units.filter((u) => u.kind !== "company" && mayDetail(u)).map((u) => [`unit:${u.unit_id}`, `${"· ".repeat(depth(u))}${u.name}`])];
  if (!scopes.some(([v]) => v === state.scope)) state.scope = "";
  fill("scope", scopes.map(([v, label]) => el("option", { value: v }, label)));
  fill("metric", org.metrics.map((m) => el("option", { value: m }, metricName(m))));
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
  state.boardRows = fittingRows();
  connect();
  // A resized window (or a TV rotated) asks for as many rows as now fit.
  let resized = null;
  addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => { const n = fittingRows(); if (n !== state.boardRows) { state.boardRows = n; connect(); } }, 500);
  });
  // Pace and expected-to-date move with the clock even when nothing is sold.
  setInterval(() => { loadGoals(); loadFunnel(); }, 60000);
  document.body.dataset.ready = "1";
}

start();
