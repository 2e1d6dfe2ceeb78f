// The contest (PK): two or more units side by side, total and per capita, live; when the lead
// changes hands the page says so (a banner and the new leader's column lit up).
import {
  $, fill, api, boot, columnFormat, currencyOf, el, metricName, pagePeriod, periodPicker, query, section, t, token,
} from "/static/core.js";

const ctx = { org: null, me: null, units: [], metric: "revenue", period: pagePeriod(), leader: undefined };

function defaultUnits(org, me) {
  const teams = org.units.filter((u) => u.kind === "team");
  const mine = me.unit_id && teams.find((u) => u.unit_id === me.unit_id);
  const repUnit = org.reps.find((r) => r.rep_id === me.rep_id)?.unit_id;
  const first = mine || teams.find((u) => u.unit_id === repUnit) || teams[0];
  if (!first) return [];
  // The other teams of the same department first: that is who a team competes with.
  const rivals = teams.filter((u) => u.unit_id !== first.unit_id).sort((a, b) =>
    Number(b.parent_id === first.parent_id) - Number(a.parent_id === first.parent_id));
  return [first.unit_id, ...rivals.slice(0, 1).map((u) => u.unit_id)];
}

function render(c) {
  const cur = currencyOf(ctx.org, ctx.metric);
  const total = columnFormat(c.entries.map((e) => e.total), cur);
  const per = columnFormat(c.entries.map((e) => e.per_capita), cur);
  const max = Math.max(1, ...c.entries.map((e) => Number(e.per_capita || 0)));
  fill("pk", ...c.entries.map((e) => el("div", {
    class: `side${e.unit_id === c.leader ? " leading" : ""}`, "data-unit": e.unit_id },
  el("h3", {}, e.unit_id === c.leader ? "👑 " : "", e.name),
  el("div", { class: "big" }, per(e.per_capita)), el("div", { class: "muted" }, t("contest.per_capita")),
  el("div", { class: "bar tall" }, el("span", { style: `width:${100 * Number(e.per_capita || 0) / max}%` })),
  el("dl", { class: "kv" },
    el("dt", {}, t("contest.total")), el("dd", {}, total(e.total)),
    el("dt", {}, t("contest.headcount")), el("dd", {}, e.headcount),
    el("dt", {}, t("contest.top_rep")), el("dd", {}, e.leader_name || "–")))));
  $("pk-leader").textContent = c.leader
    ? t("contest.leader", { name: c.entries.find((e) => e.unit_id === c.leader).name }) : t("contest.tie");
  if (ctx.leader !== undefined && ctx.leader !== c.leader && c.leader) {
    const box = $("lead-change");
    box.textContent = t("contest.lead_changed", { name: c.entries.find((e) => e.unit_id === c.leader).name });
    box.hidden = false;
    box.classList.remove("pop"); void box.offsetWidth; box.classList.add("pop");
  }
  ctx.leader = c.leader;
}

async function load() {
  if (ctx.units.length < 2) { fill("pk", el("p", { class: "empty" }, t("contest.pick_two"))); return; }
  render(await api(`/api/contest?${query({ units: ctx.units.join(","), metric: ctx.metric, period: ctx.period })}`));
}

function pickers() {
  const teams = ctx.org.units.filter((u) => u.kind !== "company");
  const boxes = teams.map((u) => el("label", { class: "check" }, el("input", { type: "checkbox", value: u.unit_id,
    checked: ctx.units.includes(u.unit_id), onchange: (e) => {
      ctx.units = e.target.checked ? [...ctx.units, u.unit_id] : ctx.units.filter((x) => x !== u.unit_id);
      ctx.leader = undefined; load();
    } }), u.name));
  const metric = el("select", { id: "metric-pick", "aria-label": t("col.metric"), onchange: (e) => { ctx.metric = e.target.value; ctx.leader = undefined; load(); } },
    ctx.org.metrics.map((m) => el("option", { value: m, selected: m === ctx.metric }, metricName(m))));
  return el("div", { class: "pickers" }, el("label", {}, t("col.metric"), metric), periodPicker(ctx.period),
    el("div", { class: "checks" }, boxes));
}

boot(async ({ me, org }) => {
  ctx.me = me; ctx.org = org;
  ctx.units = defaultUnits(org, me);
  fill("app", el("div", { class: "page-head" }, el("h1", {}, t("contest.title")), el("span", { id: "pk-leader", class: "leader-line" })),
    el("div", { id: "lead-change", class: "lead-change", role: "status", hidden: true }),
    section("contest.sides", el("div", { id: "pk", class: "pk" })),
    section("contest.units", pickers()));
  await load();
  const source = new EventSource(`/api/stream?${query({ token: token(), limit: 1 })}`);
  source.onopen = () => { document.body.dataset.live = "1"; };
  let timer = null;
  const soon = () => { clearTimeout(timer); timer = setTimeout(load, 300); };
  source.addEventListener("deal_won", soon);
  source.addEventListener("leaderboard", soon);
  document.body.dataset.ready = "1";
}, { allow: (me) => me.role !== "producer" });
