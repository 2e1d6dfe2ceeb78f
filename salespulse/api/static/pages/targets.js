// Targets: the period's target tree (allocated / unallocated per level), a split form with a
// preview before publishing (admins, managers of the unit), the history (who, when) and locks.
import {
  $, fill, ApiError, api, boot, columnFormat, currencyOf, dateText, el, metricName, pagePeriod, periodPicker, query,
  section, t,
} from "/static/core.js";

const ctx = { org: null, me: null, metric: "revenue", period: pagePeriod(), scope: null, units: [] };

function visibleUnits(org, me) {
  if (me.role === "admin") return org.units;
  if (me.role !== "manager") return [];
  const out = new Set([me.unit_id]);
  for (let grew = true; grew;) {
    grew = false;
    for (const u of org.units) if (u.parent_id && out.has(u.parent_id) && !out.has(u.unit_id)) { out.add(u.unit_id); grew = true; }
  }
  return org.units.filter((u) => out.has(u.unit_id));
}
const scopeOf = (u) => (u.kind === "company" ? "company" : `unit:${u.unit_id}`);

// The tree of the period: each unit with target, allocated and unallocated (its direct
// children's share), and under each team its reps' targets (from the achievement report).
async function tree() {
  const root = ctx.me.role === "admin" ? "company" : `unit:${ctx.me.unit_id}`;
  const [lines, report] = await Promise.all([
    Promise.all(ctx.units.map(async (u) => {
      const g = await api(`/api/goals?${query({ scope: scopeOf(u), period: ctx.period })}`);
      return { u, line: g.metrics.find((m) => m.metric === ctx.metric) || null };
    })),
    api(`/api/achievement?${query({ scope: root, period: ctx.period, metric: ctx.metric })}`),
  ]);
  const f = columnFormat([...lines.flatMap(({ line }) => (line ? [line.target, line.allocated, line.unallocated] : [])),
    ...report.reps.map((r) => r.target)], currencyOf(ctx.org, ctx.metric));
  const by = Object.fromEntries(lines.map((x) => [x.u.unit_id, x]));
  const repLeaf = (r) => el("li", { "data-scope": `rep:${r.rep_id}`, class: "rep" },
    el("a", { href: "#", onclick: (e) => { e.preventDefault(); pick(`rep:${r.rep_id}`); } }, r.name), " ",
    r.target === null ? el("span", { class: "muted" }, t("targets.none")) : el("span", {}, t("targets.rep_line", { target: f(r.target) })));
  const node = ({ u, line }) => el("li", { "data-scope": scopeOf(u) },
    el("a", { href: "#", onclick: (e) => { e.preventDefault(); pick(scopeOf(u)); } }, u.name), " ",
    line ? el("span", {}, t("targets.line", { target: f(line.target), allocated: f(line.allocated), unallocated: f(line.unallocated) }))
      : el("span", { class: "muted" }, t("targets.none")),
    line && line.unallocated !== null && Number(line.unallocated) !== 0 ? el("span", { class: "badge at_risk" },
      Number(line.unallocated) > 0 ? t("targets.unallocated") : t("targets.over")) : null,
    (() => {
      const kids = lines.filter((k) => k.u.parent_id === u.unit_id).map(node);
      const reps = report.reps.filter((r) => r.unit_id === u.unit_id).map(repLeaf);
      return kids.length || reps.length ? el("ul", {}, kids, reps) : null;
    })());
  const roots = lines.filter((x) => !by[x.u.parent_id]);
  fill("tree", el("ul", { class: "tree" }, roots.map(node)));
}

async function history() {
  const h = await api(`/api/targets/history?${query({ scope: ctx.scope, metric: ctx.metric, period: ctx.period })}`);
  const f = columnFormat(h.entries.map((e) => e.value), currencyOf(ctx.org, ctx.metric));
  const value = $("split-value");
  if (value && !value.value && h.current) value.value = h.current.value;
  fill("history", 
    el("p", {}, h.locked ? el("span", { class: "badge behind", id: "locked" }, t("targets.locked")) : el("span", { class: "badge ahead" }, t("targets.open"))),
    h.locks.length ? el("ul", {}, h.locks.map((l) => el("li", {}, t("targets.lock_line", { scope: scopeLabel(l.scope), period: l.period, who: l.set_by || "–", at: dateText(l.at, { dateStyle: "medium", timeStyle: "short" }) })))) : null,
    h.current ? el("p", { id: "current" }, t("targets.current", { value: f(h.current.value) })) : null,
    h.entries.length ? el("table", { class: "table", id: "history-table" },
      el("thead", {}, el("tr", {}, ["col.value", "col.who", "col.when", "col.split"].map((k) => el("th", {}, t(k))))),
      el("tbody", {}, h.entries.map((e) => el("tr", {}, el("td", { class: "num" }, f(e.value)), el("td", {}, e.set_by || "–"),
        el("td", {}, dateText(e.at, { dateStyle: "medium", timeStyle: "short" })),
        el("td", {}, e.decomposition_id ? t("targets.from_split") : t("targets.by_hand"), e.override ? ` · ${t("targets.override")}` : "")))))
      : el("p", { class: "empty" }, t("targets.no_history")));
}

function splitForm() {
  const id = ctx.scope.split(":")[1];
  const hasChildren = ctx.scope === "company" || ctx.org.units.some((u) => u.parent_id === id);
  const into = el("select", { id: "split-into", "aria-label": t("targets.into") },
    ["children", "reps"].map((v) => el("option", { value: v, selected: v === (hasChildren ? "children" : "reps") }, t(`into.${v}`))));
  const by = el("select", { id: "split-by", "aria-label": t("targets.by") }, ["even", "share"].map((v) => el("option", { value: v }, t(`by.${v}`))));
  const value = el("input", { id: "split-value", type: "number", min: 0, step: "any", "aria-label": t("col.value") });
  const prorate = el("input", { id: "split-prorate", type: "checkbox" });
  const body = () => {
    const b = { scope: ctx.scope, metric: ctx.metric, period: ctx.period, value: value.value, into: into.value, by: by.value, prorate: prorate.checked };
    if (by.value === "share") {
      const [y, m] = ctx.period.split("-").map(Number);
      b.reference_period = m ? `${m === 1 ? y - 1 : y}-${String(m === 1 ? 12 : m - 1).padStart(2, "0")}` : String(y - 1);
    }
    return b;
  };
  const send = async (preview) => {
    try {
      const r = await api(`/api/targets/split?${query({ preview })}`, { method: "POST", json: body() });
      const f = columnFormat(r.allocations.map((a) => a.value), currencyOf(ctx.org, ctx.metric));
      fill("split-result", 
        el("p", {}, preview ? t("targets.preview_done") : t("targets.published", { n: r.published, already: r.already_published })),
        el("table", { class: "table", id: "split-table" }, el("thead", {}, el("tr", {}, ["col.scope", "col.value"].map((k) => el("th", {}, t(k))))),
          el("tbody", {}, r.allocations.map((a) => el("tr", {}, el("td", {}, scopeLabel(a.scope)), el("td", { class: "num" }, f(a.value)))))),
        preview ? el("button", { id: "split-publish", type: "button", onclick: () => send(false) }, t("targets.publish")) : null);
      if (!preview) setTimeout(() => { tree(); history(); }, 800);
    } catch (err) {
      fill("split-result", el("p", { class: "error-inline" }, err instanceof ApiError ? err.text : String(err)));
    }
  };
  return el("form", { id: "split", class: "form", onsubmit: (e) => { e.preventDefault(); send(true); } },
    el("p", { id: "split-scope", class: "muted" }, t("targets.split_of", { scope: scopeLabel(ctx.scope) })),
    el("label", {}, t("col.value"), value), el("label", {}, t("targets.into"), into), el("label", {}, t("targets.by"), by),
    el("label", { class: "check" }, prorate, t("targets.prorate")),
    el("button", { type: "submit", id: "split-preview" }, t("targets.preview")), el("div", { id: "split-result" }));
}

function scopeLabel(scope) {
  if (scope === "company") return t("me.company");
  const [kind, id] = scope.split(":");
  if (kind === "unit") return ctx.org.units.find((u) => u.unit_id === id)?.name || id;
  return ctx.org.reps.find((r) => r.rep_id === id)?.name || id;
}

function pick(scope) {
  ctx.scope = scope;
  $("picked").textContent = scopeLabel(scope);
  const canSplit = (ctx.me.role === "admin" || ctx.me.role === "manager") && !scope.startsWith("rep:");
  const why = scope.startsWith("rep:") ? "targets.no_split_rep" : "targets.no_split";
  fill("split-box", canSplit ? splitForm() : el("p", { class: "muted" }, t(why)));
  history();
}

boot(async ({ me, org }) => {
  ctx.me = me; ctx.org = org;
  ctx.units = visibleUnits(org, me);
  const metric = el("select", { id: "metric-pick", "aria-label": t("col.metric"), onchange: (e) => { ctx.metric = e.target.value; tree(); pick(ctx.scope); } },
    org.metrics.map((m) => el("option", { value: m, selected: m === ctx.metric }, metricName(m))));
  fill("app", el("div", { class: "page-head" }, el("h1", {}, t("targets.title")),
    el("div", { class: "pickers" }, el("label", {}, t("col.metric"), metric), periodPicker(ctx.period))),
  el("div", { class: "grid two" },
    section("targets.tree", el("div", { id: "tree" })),
    el("section", { class: "card" }, el("h2", {}, t("targets.selected"), " ", el("span", { id: "picked" })),
      el("div", { id: "split-box" }), el("h3", {}, t("targets.history")), el("div", { id: "history" }))));
  const start = me.role === "admin" ? "company" : `unit:${me.unit_id}`;
  await tree();
  pick(start);
  document.body.dataset.ready = "1";
}, { allow: (me) => me.role === "admin" || me.role === "manager" });
