// Views shared by the workbench and the cockpit: a behaviour rule and a funnel finding in words.
import { metricName, money, num, pct, stageName, t } from "/static/core.js";

export function ruleText(r) {
  const per = t(`per.${r.rule.match(/per (year|quarter|month|week|day)/)?.[1] || "month"}`);
  const name = metricName(r.metric);
  const head = t("rule.head", { metric: name, required: num(r.required), per });
  if (Number(r.remaining) <= 0) return [head, t("rule.met", { actual: num(r.actual) })];
  const perDay = r.needed_per_day === null ? null : num(r.needed_per_day, 1);
  return [head, perDay === null
    ? t("rule.missed", { remaining: num(r.remaining), metric: name })
    : t("rule.todo", { remaining: num(r.remaining), metric: name, days: r.days_left, per_day: perDay })];
}

// Rates and shares read as percentages; counts, sizes and days as numbers.
const AS_PERCENT = new Set(["low_conversion", "low_win_rate", "stalls"]);
export function diagnosisText(d, currency) {
  const f = AS_PERCENT.has(d.code) ? pct : d.code === "small_deals" ? (v) => money(v, currency) : (v) => num(v, 1);
  return t(`diag.${d.code}`, { stage: d.stage ? stageName(d.stage) : "", value: f(d.value),
    median: f(d.peer_median), peers: d.peers });
}

