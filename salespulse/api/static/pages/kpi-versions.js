// KPI versions (admins): each projection version's status and build progress (refreshed while
// one builds); for a version beside the active one, its preview against it in a period (the
// largest differences with names, completions, leaderboard places, rule compliance) and the
// switch, asked twice.
import {
  $, api, boot, columnFormat, currencyOf, dateText, el, fill, metricName, num, pagePeriod, pct,
  periodPicker, query, section, t,
} from "/static/core.js";

const ctx = { org: null, period: pagePeriod(), picked: null, confirming: false };
const when = (at) => (at ? dateText(at, { dateStyle: "medium", timeStyle: "short" }) : "–");
const badge = (status) => ({ active: "ahead", ready: "on_track", building: "at_risk" }[status] || "muted");

async function load() {
  const { versions } = await api("/api/kpi-versions");
  fill("versions", el("div", { class: "scroll" }, el("table", { class: "table", id: "versions-table" },
    el("thead", {}, el("tr", {}, ["col.version", "col.status", "col.description", "col.progress", "col.created", "col.activated", "col.actions"]
      .map((k) => el("th", {}, t(k))))),
    el("tbody", {}, versions.map((v) => el("tr", { "data-version": v.version },
      el("td", { class: "num" }, `v${v.version}`),
      el("td", {}, el("span", { class: `badge ${badge(v.status)}` }, t(`version.${v.status}`))),
      el("td", {}, v.description || "–"),
      el("td", {}, v.progress === null ? "–" : el("span", {}, el("span", { class: "bar inline" }, el("span", { style: `width:${100 * Number(v.progress)}%` })),
        ` ${pct(v.progress)}`, v.lag ? ` · ${t("version.lag", { n: num(v.lag) })}` : "")),
      el("td", {}, when(v.created_at)), el("td", {}, when(v.activated_at)),
      el("td", {}, v.status === "ready" || v.status === "building"
        ? el("button", { type: "button", class: "preview", "data-version": v.version, onclick: () => preview(v) }, t("version.preview"))
        : null)))))));
  if (versions.some((v) => v.status === "building")) setTimeout(load, 2000);
  return versions;
}

// One table per metric, so each column keeps one unit (万 / K) and one currency.
function changesTable(p) {
  if (!p.changes.length) return el("p", { class: "empty" }, t("version.no_changes"));
  const metrics = [...new Set(p.changes.map((c) => c.metric))];
  return el("div", { id: "changes" }, metrics.map((metric) => {
    const rows = p.changes.filter((c) => c.metric === metric);
    const f = columnFormat(rows.flatMap((c) => [c.active, c.candidate, c.difference]), currencyOf(ctx.org, metric));
    return el("div", { class: "scroll" }, el("h3", { class: "metric" }, metricName(metric)), el("table", { class: "table", "data-metric": metric },
      el("thead", {}, el("tr", {}, ["col.scope", "version.before", "version.after", "version.difference"].map((k) => el("th", {}, t(k))))),
      el("tbody", {}, rows.map((c) => el("tr", {}, el("td", {}, c.scope === "company" ? t("me.company") : c.name),
        el("td", { class: "num" }, f(c.active)), el("td", { class: "num" }, f(c.candidate)),
        el("td", { class: "num" }, `${Number(c.difference) > 0 ? "+" : ""}${f(c.difference)}`, c.change ? ` (${pct(c.change)})` : ""))))));
  }));
}

// "the new visit rule puts 7 reps under 12 visits"
function ruleLine(r) {
  const metric = metricName(r.metric), required = num(r.required);
  if (r.missing_before === null) return t("version.rule_new", { n: r.missing_after, metric, required });
  if (r.missing_after === null) return t("version.rule_dropped", { n: r.missing_before, metric, required });
  return t("version.rule_changed", { before: r.missing_before, after: r.missing_after, metric, required })
    + (r.newly_missing.length ? ` ${t("version.newly", { names: r.newly_missing.join("、") })}` : "");
}

function effects(p) {
  const completion = p.completion.slice(0, 12).map((c) => el("li", {},
    t("version.completion_line", { name: c.name, metric: metricName(c.metric), before: pct(c.before), after: pct(c.after) })));
  const ranks = p.ranks.slice(0, 12).map((r) => el("li", {},
    t("version.rank_line", { name: r.name, metric: metricName(r.metric), before: r.before ?? "–", after: r.after ?? "–" })));
  return [
    el("h3", {}, t("version.rules")), el("ul", { id: "rule-effects" }, p.rules.map((r) => el("li", {}, ruleLine(r)))),
    el("h3", {}, t("version.completions", { n: p.completion.length })),
    completion.length ? el("ul", { id: "completion-effects" }, completion) : el("p", { class: "muted" }, t("version.none")),
    el("h3", {}, t("version.ranks", { n: p.ranks.length })),
    ranks.length ? el("ul", { id: "rank-effects" }, ranks) : el("p", { class: "muted" }, t("version.none")),
  ];
}

async function preview(v) {
  ctx.picked = v; ctx.confirming = false;
  fill("preview", el("p", { class: "muted" }, t("version.loading")));
  const p = await api(`/api/kpi-versions/${v.version}/preview?${query({ period: ctx.period })}`);
  const activate = el("button", { type: "button", id: "activate", disabled: v.status !== "ready",
    title: v.status === "ready" ? null : t("version.not_ready"), onclick: () => switchTo(v, activate) }, t("version.activate", { v: v.version }));
  fill("preview",
    el("h2", {}, t("version.preview_title", { v: p.version, active: p.active_version, period: p.period })),
    el("p", { class: "muted" }, p.description),
    el("div", { class: "grid two" },
      el("div", {}, el("h3", {}, t("version.changes")), changesTable(p)),
      el("div", {}, effects(p))),
    el("p", {}, activate, " ", el("span", { id: "activate-note", class: "muted" }, t("version.activate_note"))));
  document.body.dataset.preview = String(v.version);
}

// Asked twice: the first click arms the button, the second switches every reader at once.
async function switchTo(v, button) {
  if (!ctx.confirming) {
    ctx.confirming = true;
    button.textContent = t("version.confirm", { v: v.version });
    button.classList.add("danger");
    return;
  }
  button.disabled = true;
  await api(`/api/kpi-versions/${v.version}/activate`, { method: "POST" });
  await load();
  fill("preview", el("p", { id: "activated", class: "ok" }, t("version.activated", { v: v.version })));
}

boot(async ({ org }) => {
  ctx.org = org;
  fill("app", el("div", { class: "page-head" }, el("h1", {}, t("version.title")), el("div", { class: "pickers" }, periodPicker(ctx.period))),
    section("version.list", el("div", { id: "versions" }), el("p", { class: "muted" }, t("version.help"))),
    el("section", { class: "card", id: "preview" }, el("p", { class: "muted" }, t("version.pick"))));
  const versions = await load();
  const candidate = versions.find((v) => v.status === "ready");
  if (candidate) await preview(candidate);
  document.body.dataset.ready = "1";
}, { allow: (me) => me.role === "admin" });
