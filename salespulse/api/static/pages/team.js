// The manager's cockpit (/team/<unit>, /team/company for admins): 红圈-style gauges (target,
// assessed, achieved), the unit tree rolled up, the sortable per-employee achievement table
// with the reasons of reps behind pace, drill-down to a rep's workbench, and live wins.
import {
  $, fill, api, boot, columnFormat, currencyOf, el, metricName, money, paceBadge, pagePeriod, pct,
  periodPicker, query, section, t, token,
} from "/static/core.js";
import { diagnosisText, ruleText } from "/static/views.js";

const ctx = { me: null, org: null, unit: "", metric: "revenue", period: pagePeriod(), sort: ["completion", -1], data: null };
const scopeOf = (unit) => (unit === "company" ? "company" : `unit:${unit}`);

function subtreeOf(org, root) {
  if (root === "company") return new Set(org.units.map((u) => u.unit_id));
  const out = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const u of org.units) if (u.parent_id && out.has(u.parent_id) && !out.has(u.unit_id)) { out.add(u.unit_id); grew = true; }
  }
  return out;
}

// A half-circle gauge: the achieved arc, and marks at the assessed value and the target.
function gauge(total, cur) {
  const target = Number(total.target || 0), actual = Number(total.actual), assessed = Number(total.assessed || 0);
  const top = Math.max(target * 1.2, actual, 1);
  const cx = 150, cy = 140, r = 110;
  const at = (v) => { const a = Math.PI * (1 - Math.min(1, v / top)); return [cx + r * Math.cos(a), cy - r * Math.sin(a)]; };
  const mark = (v, cls, label) => {
    const a = Math.PI * (1 - Math.min(1, v / top));
    const [x1, y1, x2, y2] = [cx + (r - 22) * Math.cos(a), cy - (r - 22) * Math.sin(a), cx + (r + 22) * Math.cos(a), cy - (r + 22) * Math.sin(a)];
    return el("svg:line", { x1, y1, x2, y2, class: cls }, el("svg:title", {}, label));
  };
  const [x, y] = at(actual);
  const f = columnFormat([target, actual, assessed], cur);
  const status = total.pace_status || "on_track";
  return el("div", { class: "gauge-box", id: "gauge" },
    el("svg:svg", { viewBox: "0 0 300 160", role: "img", "aria-label": t("team.gauge_label", { done: pct(total.completion) }) },
      el("svg:path", { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${cx + r} ${cy}`, class: "track" }),
      actual > 0 ? el("svg:path", { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${x} ${y}`, class: `arc ${status}` }) : null,
      target ? mark(assessed, "mark assessed", t("team.assessed")) : null,
      target ? mark(target, "mark target", t("col.target")) : null,
      el("svg:text", { x: cx, y: cy - 30, class: "gauge-pct" }, pct(total.completion)),
      el("svg:text", { x: cx, y: cy - 4, class: "gauge-sub" }, t(`pace.${status}`))),
    el("dl", { class: "kv three" },
      el("dt", {}, t("col.target")), el("dd", { id: "g-target" }, f(total.target)),
      el("dt", {}, t("team.assessed")), el("dd", { id: "g-assessed" }, f(total.assessed)),
      el("dt", {}, t("team.achieved")), el("dd", { id: "g-actual" }, f(total.actual))),
    el("p", { class: "muted small" }, t("team.assessed_is", { share: pct(ctx.data.assessed_share) })));
}

function tree(units, cur) {
  const by = Object.fromEntries(units.map((u) => [u.unit_id, u]));
  const f = columnFormat(units.flatMap((u) => [u.actual, u.target]), cur);
  const roots = units.filter((u) => !by[u.parent_id]);
  const node = (u) => el("li", {},
    el("a", { href: `/team/${encodeURIComponent(u.unit_id)}` }, u.name),
    el("span", { class: "muted" }, ` · ${t("team.headcount", { n: u.headcount })} · `),
    el("span", {}, `${f(u.actual)} / ${f(u.target)} `), el("strong", {}, pct(u.completion)), " ", paceBadge(u.pace_status),
    (() => { const kids = units.filter((k) => k.parent_id === u.unit_id); return kids.length ? el("ul", {}, kids.map(node)) : null; })());
  return el("ul", { class: "tree", id: "tree" }, roots.map(node));
}

// [field, label, class]: "num" right-aligns; "opt" columns give way on a phone.
const COLUMNS = [
  ["name", "col.rep", ""], ["unit_name", "col.team", "opt"], ["target", "col.target", "num opt"],
  ["assessed", "team.assessed", "num opt"], ["actual", "col.actual", "num"],
  ["completion", "col.completion", "num"], ["pace_status", "col.pace", ""],
  ["forecast", "col.forecast", "num opt"], ["in_healthy_band", "col.band", "opt"],
];
const PACE_ORDER = { behind: 0, at_risk: 1, on_track: 2, ahead: 3 };

function sortValue(row, key) {
  const v = row[key];
  if (key === "pace_status") return v === null ? -1 : PACE_ORDER[v];
  if (key === "name" || key === "unit_name") return v || "";
  if (key === "in_healthy_band") return v === null ? -1 : Number(v);
  return v === null ? -Infinity : Number(v);
}

function reasons(row) {
  const items = [...row.diagnosis.map((d) => diagnosisText(d, ctx.org.currency)), ...row.missed_rules.map((r) => ruleText(r)[1])];
  if (!items.length) items.push(t("team.no_reason"));
  return el("ul", { class: "reasons" }, items.map((x) => el("li", {}, x)));
}

function table(rows, cur) {
  const [key, dir] = ctx.sort;
  const sorted = [...rows].sort((a, b) => {
    const x = sortValue(a, key), y = sortValue(b, key);
    return (x < y ? -1 : x > y ? 1 : 0) * dir || a.name.localeCompare(b.name);
  });
  const money = columnFormat(rows.flatMap((r) => [r.target, r.assessed, r.actual, r.forecast]), cur);
  const head = el("tr", {}, COLUMNS.map(([k, label, cls]) => el("th", {
    class: `sortable ${cls}${k === key ? (dir > 0 ? " asc" : " desc") : ""}`, "data-key": k, tabindex: 0,
    onclick: () => { ctx.sort = [k, k === key ? -dir : (k === "name" || k === "unit_name" ? 1 : -1)]; render(); },
  }, t(label))));
  const body = sorted.map((r) => {
    const behind = r.pace_status === "behind" || r.pace_status === "at_risk";
    return el("tr", { class: behind ? `flag ${r.pace_status}` : null, "data-rep": r.rep_id },
      el("td", {}, el("a", { href: `/me?rep=${encodeURIComponent(r.rep_id)}` }, r.name), behind ? reasons(r) : null),
      el("td", { class: "opt" }, r.unit_name || "–"),
      el("td", { class: "num opt" }, money(r.target)), el("td", { class: "num opt" }, money(r.assessed)),
      el("td", { class: "num" }, money(r.actual)), el("td", { class: "num" }, pct(r.completion)),
      el("td", {}, paceBadge(r.pace_status)), el("td", { class: "num opt" }, money(r.forecast)),
      el("td", { class: "opt" }, r.in_healthy_band === null ? "–" : t(r.in_healthy_band ? "team.in_band" : "team.out_band")));
  });
  return el("div", { class: "scroll" }, el("table", { class: "table sortable-table", id: "achievement" }, el("thead", {}, head), el("tbody", {}, body)));
}

function render() {
  const d = ctx.data, cur = currencyOf(ctx.org, ctx.metric);
  const behind = d.reps.filter((r) => r.pace_status === "behind" || r.pace_status === "at_risk");
  fill("summary", gauge(d.total, cur),
    behind.length ? el("p", { class: "behind-count" }, t("team.behind_count", { n: behind.length, total: d.reps.length }))
      : el("p", { class: "ok" }, t("team.nobody_behind", { total: d.reps.length })));
  fill("units", d.units.length ? tree(d.units, cur) : el("p", { class: "empty" }, t("team.no_units")));
  fill("table", d.reps.length ? table(d.reps, cur) : el("p", { class: "empty" }, t("team.no_reps")));
}

async function load() {
  ctx.data = await api(`/api/achievement?${query({ scope: scopeOf(ctx.unit), metric: ctx.metric, period: ctx.period })}`);
  render();
}

function pickers() {
  const allowed = ctx.me.role === "admin" ? new Set(["company", ...ctx.org.units.map((u) => u.unit_id)]) : subtreeOf(ctx.org, ctx.me.unit_id);
  const units = [...allowed].map((id) => [id, id === "company" ? t("me.company") : (ctx.org.units.find((u) => u.unit_id === id)?.name || id)]);
  const unitPick = el("select", { id: "unit-pick", "aria-label": t("team.unit"),
    onchange: (e) => location.assign(`/team/${encodeURIComponent(e.target.value)}${location.search}`) },
  units.map(([id, name]) => el("option", { value: id, selected: id === ctx.unit }, name)));
  const metricPick = el("select", { id: "metric-pick", "aria-label": t("col.metric"),
    onchange: (e) => { ctx.metric = e.target.value; load(); } },
  ctx.org.metrics.map((m) => el("option", { value: m, selected: m === ctx.metric }, metricName(m))));
  return el("div", { class: "pickers" }, el("label", {}, t("team.unit"), unitPick), el("label", {}, t("col.metric"), metricPick),
    periodPicker(ctx.period));
}

function live() {
  const members = () => new Set(ctx.data?.reps.map((r) => r.rep_id) || []);
  const source = new EventSource(`/api/stream?${query({ token: token(), limit: 1 })}`);
  source.onopen = () => { document.body.dataset.live = "1"; };
  let timer = null;
  source.addEventListener("deal_won", (e) => {
    const b = JSON.parse(e.data);
    if (!members().has(b.payload.rep_id)) return;
    const p = b.payload;
    const list = $("team-wins");
    list.querySelector(".empty")?.remove();
    list.prepend(el("li", { class: "win fresh", "data-id": b.broadcast_id },
      el("strong", {}, b.rep_name || p.rep_name || p.rep_id), " ",
      el("span", { class: "amount" }, money(p.amount, p.currency || ctx.org.currency)), " ",
      el("span", { class: "muted" }, t("me.win_line", { customer: b.account_id || p.account_id || "–", day: p.day || "" }))));
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  });
}

boot(async ({ me, org }) => {
  ctx.me = me; ctx.org = org;
  ctx.unit = decodeURIComponent(location.pathname.split("/")[2] || "") || (me.unit_id || "company");
  const allowed = me.role === "admin" || (ctx.unit !== "company" && subtreeOf(org, me.unit_id).has(ctx.unit));
  if (!allowed) {
    fill("app", el("p", { class: "empty" }, t("team.not_yours")));
    return;
  }
  const name = ctx.unit === "company" ? t("me.company") : (org.units.find((u) => u.unit_id === ctx.unit)?.name || ctx.unit);
  fill("app", 
    el("div", { class: "page-head" }, el("h1", {}, t("team.title", { name })), pickers()),
    el("div", { class: "grid cockpit" },
      section("team.progress", el("div", { id: "summary" })),
      section("team.tree", el("div", { id: "units" })),
      section("team.wins", el("ol", { id: "team-wins", class: "wins" }, el("li", { class: "empty" }, t("team.no_live_wins"))))),
    section("team.table", el("p", { class: "muted" }, t("team.sort_hint")), el("div", { id: "table" })));
  await load();
  live();
  document.body.dataset.ready = "1";
}, { allow: (me) => me.role === "admin" || me.role === "manager" });
