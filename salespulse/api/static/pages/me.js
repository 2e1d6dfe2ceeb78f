// The rep's workbench (/me; a manager or admin opens a rep's as /me?rep=<id>): goals with pace
// and forecast in words, ranks and the gap to the next place, behaviour rules, daily reports,
// the funnel with stalled deals, and my wins with their cheers. Live: a win re-reads the page.
import {
  $, fill, api, boot, columnFormat, currencyOf, dayText, el, metricName, money, num, paceBadge, pct,
  pagePeriod, periodPicker, query, repName, section, stageName, t, token, unitName,
} from "/static/core.js";
import { diagnosisText, ruleText } from "/static/views.js";

const ctx = { org: null, me: null, rep: null, period: pagePeriod() };

// The pace and the forecast can disagree ("ahead" with a low forecast): say why in words.
function explain(line, days) {
  const done = Number(line.completion ?? 0);
  const elapsed = days.elapsed / days.total;
  const words = [t("me.pace_words", { done: pct(done), elapsed: pct(elapsed), status: t(`pace.${line.pace_status}`) })];
  if (line.forecast_completion !== null) {
    const fc = Number(line.forecast_completion);
    const key = line.forecast_method === "pipeline" ? "me.forecast_pipeline" : "me.forecast_run_rate";
    words.push(t(key, { forecast: pct(fc) }));
    if ((line.pace_status === "ahead" || line.pace_status === "on_track") && fc < 0.8) {
      words.push(t("me.ahead_but_low"));
    } else if ((line.pace_status === "behind" || line.pace_status === "at_risk") && fc >= 1) {
      words.push(t("me.behind_but_covered"));
    }
  }
  return words.join(" ");
}

function goalCard(line, days) {
  const cur = currencyOf(ctx.org, line.metric);
  const f = columnFormat([line.target, line.actual, line.forecast, line.gap], cur);
  const gap = Number(line.gap) > 0 ? t("me.gap", { gap: f(line.gap) }) : t("me.exceeded", { over: f(-Number(line.gap)) });
  return el("div", { class: `goal ${line.pace_status}`, "data-metric": line.metric },
    el("div", { class: "goal-head" }, el("strong", {}, metricName(line.metric)), paceBadge(line.pace_status)),
    el("div", { class: "big" }, pct(line.completion)),
    el("div", { class: "bar" }, el("span", { style: `width:${Math.min(100, Number(line.completion ?? 0) * 100)}%` }),
      el("i", { style: `left:${Math.min(100, 100 * days.elapsed / days.total)}%`, title: t("me.expected_mark") })),
    el("dl", { class: "kv" },
      el("dt", {}, t("col.target")), el("dd", {}, f(line.target)),
      el("dt", {}, t("col.actual")), el("dd", {}, f(line.actual)),
      el("dt", {}, t("col.forecast")), el("dd", {}, f(line.forecast))),
    el("p", { class: "gapline" }, gap),
    el("p", { class: "explain" }, explain(line, days)));
}

async function goals() {
  const g = await api(`/api/goals?${query({ scope: `rep:${ctx.rep}`, period: ctx.period })}`);
  const days = { elapsed: g.elapsed_days, total: g.period_days };
  fill("goals", ...(g.metrics.length ? g.metrics.map((l) => goalCard(l, days))
    : [el("p", { class: "empty" }, t("me.no_targets"))]));
  $("period").textContent = t("me.period", { period: g.period, day: g.elapsed_days, days: g.period_days });
  return g.metrics.map((l) => l.metric);
}

// Goal -> strategy -> action: what the revenue target takes at the rep's own rates.
async function plan() {
  const p = await api(`/api/plan?${query({ scope: `rep:${ctx.rep}`, period: ctx.period, metric: "revenue" })}`);
  if (p.target === null || p.required_wins === null) { fill("plan"); return; }
  const cur = ctx.org.currency;
  fill("plan", el("p", { class: "plan" }, t("me.plan", {
    target: money(p.target, cur), rate: pct(p.win_rate.value), size: money(p.avg_deal_size.value, cur),
    wins: num(p.required_wins), opportunities: num(p.required_opportunities),
    leads: p.required_leads === null ? "–" : num(p.required_leads), visits: p.required_visits === null ? "–" : num(p.required_visits),
  })));
}

async function ranks(metrics) {
  const repRow = ctx.org.reps.find((r) => r.rep_id === ctx.rep);
  const scopes = [["company", t("me.company")]];
  if (repRow?.unit_id) scopes.push([`unit:${repRow.unit_id}`, unitName(ctx.org, repRow.unit_id)]);
  const rows = [];
  for (const metric of metrics.length ? metrics : ["revenue"]) {
    for (const [scope, label] of scopes) {
      const b = await api(`/api/leaderboard?${query({ metric, scope, period: ctx.period })}`);
      const i = b.entries.findIndex((e) => e.rep_id === ctx.rep);
      if (i < 0) continue;
      const mine = b.entries[i];
      const above = b.entries.slice(0, i).reverse().find((e) => e.rank < mine.rank);
      const f = columnFormat([mine.value, above?.value], currencyOf(ctx.org, metric));
      const gap = above ? t("me.to_next", { gap: f(Number(above.value) - Number(mine.value)), name: above.name, rank: above.rank })
        : t("me.top");
      rows.push(el("tr", { "data-metric": metric },
        el("td", { class: "metric" }, metricName(metric)), el("td", {}, label),
        el("td", { class: "num rank" }, t("me.rank_of", { rank: mine.rank, n: b.entries.length })),
        el("td", { class: "num" }, f(mine.value)), el("td", {}, gap)));
    }
  }
  fill("ranks", rows.length ? el("table", { class: "table" },
    el("thead", {}, el("tr", {}, ["col.metric", "col.board", "col.rank", "col.value", "col.next"].map((k) => el("th", {}, t(k))))),
    el("tbody", {}, rows)) : el("p", { class: "empty" }, t("me.no_rank")));
}

async function rules() {
  const b = await api(`/api/behaviour?${query({ scope: `rep:${ctx.rep}`, period: ctx.period })}`);
  const mine = b.rules.filter((r) => r.subject === `rep:${ctx.rep}`);
  fill("rules", ...(mine.length ? mine.map((r) => {
    const [head, body] = ruleText(r);
    const share = Math.min(1, Number(r.actual) / Math.max(1, Number(r.required)));
    return el("div", { class: `rule ${r.compliant || Number(r.remaining) <= 0 ? "ok" : "todo"}` },
      el("strong", {}, head), el("div", { class: "bar" }, el("span", { style: `width:${share * 100}%` })),
      el("p", { class: "todo-text" }, body));
  }) : [el("p", { class: "empty" }, t("me.no_rules"))]));
}

// Activities per kind (subkinds such as a lead's source are free text: not shown here).
const KINDS = ["visit", "call", "lead", "qualification", "opportunity", "stage", "win", "loss", "order", "payment"];
function activityLine(d) {
  const by = {};
  for (const a of d.activities) by[a.kind] = (by[a.kind] || 0) + a.count;
  const parts = KINDS.filter((k) => by[k]).map((k) => t("daily.activity", { what: t(`activity.${k}`), n: by[k] }));
  return parts.length ? parts.join(" · ") : t("daily.nothing");
}

// Today, or the last day of a past period picked in the address.
function lastDay() {
  const now = new Date();
  const m = /^(\d{4})-(\d{2})$/.exec(ctx.period);
  if (!m) return now;
  const end = new Date(Number(m[1]), Number(m[2]), 0, 12);
  return end < now ? end : now;
}

const MOVES = 8;  // the day's latest pipeline moves; the count says how many more

async function daily() {
  const today = lastDay();
  const days = [...Array(7).keys()].map((i) => {
    const d = new Date(today); d.setDate(d.getDate() - i);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  });
  const reports = await Promise.all(days.map((day) => api(`/api/reps/${encodeURIComponent(ctx.rep)}/daily?date=${day}`)));
  const cur = ctx.org.currency;
  const f = columnFormat(reports.flatMap((r) => [r.payment_amount, ...r.orders.map((o) => o.amount)]), cur);
  const [first, ...rest] = reports;
  const todayCard = el("div", { class: "today" },
    el("h3", {}, t("daily.today", { day: dayText(first.day) })),
    el("p", {}, activityLine(first)),
    el("p", {}, t("daily.moves", { n: first.pipeline_moves.length }), " · ",
      t("daily.wins", { n: first.wins.length }), " · ",
      t("daily.orders", { n: first.orders.length, amount: f(first.orders.reduce((s, o) => s + Number(o.amount), 0)) }), " · ",
      t("daily.payments", { n: first.payments, amount: f(first.payment_amount) })),
    first.pipeline_moves.length ? el("ul", { class: "moves" }, first.pipeline_moves.slice(-MOVES).reverse().map((m) =>
      el("li", {}, t("daily.move", { deal: m.opportunity_id, from: m.from_stage ? stageName(m.from_stage) : "–", to: stageName(m.to_stage) }))),
    first.pipeline_moves.length > MOVES ? el("li", { class: "muted" }, t("daily.more_moves", { n: first.pipeline_moves.length - MOVES })) : null) : null);
  const week = el("table", { class: "table" },
    el("thead", {}, el("tr", {}, ["col.day", "col.activities", "col.wins", "col.orders", "col.payments"].map((k) => el("th", {}, t(k))))),
    el("tbody", {}, rest.map((r) => el("tr", {},
      el("td", {}, dayText(r.day)), el("td", {}, activityLine(r)), el("td", { class: "num" }, num(r.wins.length)),
      el("td", { class: "num" }, f(r.orders.reduce((s, o) => s + Number(o.amount), 0))),
      el("td", { class: "num" }, f(r.payment_amount))))));
  fill("daily", todayCard, el("h3", {}, t("daily.last_days")), week);
}

async function funnel() {
  const fn = await api(`/api/funnel?${query({ scope: `rep:${ctx.rep}`, period: ctx.period })}`);
  const cur = ctx.org.currency;
  const f = columnFormat([...fn.stages.map((s) => s.open_amount), fn.won_amount, ...fn.stalled.map((s) => s.amount)], cur);
  const max = Math.max(1, ...fn.stages.map((s) => s.open_count));
  fill("funnel", 
    el("div", { class: "stages" }, fn.stages.map((s) => el("div", { class: "stage" },
      el("span", { class: "label" }, stageName(s.stage)),
      el("span", { class: "bar" }, el("span", { style: `width:${100 * s.open_count / max}%` })),
      el("span", { class: "num" }, t("funnel.open", { n: s.open_count, amount: f(s.open_amount) }))))),
    el("p", {}, t("funnel.stats", { rate: pct(fn.win_rate), size: money(fn.avg_deal_size, cur), days: num(fn.avg_cycle_days) })),
    fn.diagnosis.length ? el("ul", { class: "diagnosis" }, fn.diagnosis.map((d) => el("li", {}, diagnosisText(d, ctx.org.currency)))) : null,
    el("h3", {}, t("funnel.stalled", { n: fn.stalled.length })),
    fn.stalled.length ? el("table", { class: "table", id: "stalled" },
      el("thead", {}, el("tr", {}, ["col.deal", "col.stage", "col.days_in_stage", "col.amount"].map((k) => el("th", {}, t(k))))),
      el("tbody", {}, fn.stalled.map((s) => el("tr", {}, el("td", {}, s.opportunity_id), el("td", {}, stageName(s.stage)),
        el("td", { class: "num" }, t("funnel.days", { n: s.days_in_stage, limit: s.limit_days })), el("td", { class: "num" }, f(s.amount))))))
      : el("p", { class: "muted" }, t("funnel.none_stalled")));
}

function winItem(b) {
  const p = b.payload;
  return el("li", { "data-id": b.broadcast_id, class: "win" },
    el("strong", { class: "amount" }, money(p.amount, p.currency || ctx.org.currency)),
    " ", el("span", {}, t("me.win_line", { customer: b.account_id || p.account_id || "–", day: dayText(p.day || b.occurred_at.slice(0, 10)) })),
    el("span", { class: "cheers", title: t("me.cheers") }, `👏 ${num(b.cheers)}`));
}

async function wins() {
  const { broadcasts } = await api("/api/broadcasts?limit=200");
  const mine = broadcasts.filter((b) => b.kind === "deal_won" && b.payload.rep_id === ctx.rep).slice(0, 10);
  fill("wins", mine.length ? el("ol", { class: "wins", id: "win-list" }, mine.map(winItem))
    : el("p", { class: "empty", id: "win-list" }, t("me.no_wins")));
}

function live() {
  const source = new EventSource(`/api/stream?${query({ token: token(), limit: 1 })}`);
  source.onopen = () => { document.body.dataset.live = "1"; };
  let timer = null;
  source.addEventListener("deal_won", (e) => {
    const b = JSON.parse(e.data);
    if (b.payload.rep_id !== ctx.rep) return;
    // The win shows at once; the numbers it moves are re-read just after.
    const list = $("win-list");
    const item = winItem(b);
    item.classList.add("fresh");
    if (list.tagName === "OL") list.prepend(item); else list.replaceWith(el("ol", { class: "wins", id: "win-list" }, item));
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
}

async function refresh() {
  const metrics = await goals();
  await Promise.all([ranks(metrics), rules(), daily(), funnel(), wins(), plan()]);
}

boot(async ({ me, org }) => {
  ctx.me = me; ctx.org = org;
  const asked = new URL(location.href).searchParams.get("rep");
  ctx.rep = me.role === "rep" ? me.rep_id : asked;
  if (!ctx.rep) {
    // A manager or admin without ?rep= picks a rep they may see (the cockpit links here).
    fill("app", el("p", { class: "empty" }, t("me.pick_rep")));
    return;
  }
  const title = me.role === "rep" ? t("me.title_mine") : t("me.title_of", { name: repName(org, ctx.rep) });
  fill("app", 
    el("div", { class: "page-head" }, el("h1", {}, title), el("span", { id: "period", class: "muted" }),
      el("div", { class: "pickers" }, periodPicker(ctx.period))),
    el("div", { class: "grid me" },
      section("me.goals", el("div", { id: "goals", class: "goals" }), el("div", { id: "plan" })),
      section("me.rules", el("div", { id: "rules" })),
      section("me.ranks", el("div", { id: "ranks" })),
      section("me.wins", el("div", { id: "wins" })),
      section("me.daily", el("div", { id: "daily" })),
      section("me.funnel", el("div", { id: "funnel" }))));
  await refresh();
  live();
  document.body.dataset.ready = "1";
}, { allow: (me) => me.role === "rep" || me.role === "admin" || me.role === "manager" });
