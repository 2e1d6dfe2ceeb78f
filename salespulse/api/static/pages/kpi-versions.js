// KPI versions (admins): each projection version's status, description and build progress,
// refreshed while one is building.
import { $, fill, api, boot, dateText, el, num, pct, section, t } from "/static/core.js";

async function load() {
  const { versions } = await api("/api/kpi-versions");
  fill("versions", el("div", { class: "scroll" }, el("table", { class: "table", id: "versions-table" },
    el("thead", {}, el("tr", {}, ["col.version", "col.status", "col.description", "col.progress", "col.created", "col.activated"].map((k) => el("th", {}, t(k))))),
    el("tbody", {}, versions.map((v) => el("tr", { "data-version": v.version },
      el("td", { class: "num" }, `v${v.version}`),
      el("td", {}, el("span", { class: `badge ${v.status === "active" ? "ahead" : v.status === "retired" ? "muted" : "at_risk"}` }, t(`version.${v.status}`))),
      el("td", {}, v.description || "–"),
      el("td", {}, v.progress === null ? "–" : el("span", {}, el("span", { class: "bar inline" }, el("span", { style: `width:${100 * Number(v.progress)}%` })),
        ` ${pct(v.progress)}`, v.lag ? ` · ${t("version.lag", { n: num(v.lag) })}` : "")),
      el("td", {}, v.created_at ? dateText(v.created_at, { dateStyle: "medium", timeStyle: "short" }) : "–"),
      el("td", {}, v.activated_at ? dateText(v.activated_at, { dateStyle: "medium", timeStyle: "short" }) : "–")))))));
  $("versions-help").textContent = t("version.help");
  if (versions.some((v) => v.status === "building")) setTimeout(load, 2000);
}

boot(async () => {
  fill("app", el("div", { class: "page-head" }, el("h1", {}, t("version.title"))),
    section("version.list", el("div", { id: "versions" }), el("p", { id: "versions-help", class: "muted" })));
  await load();
  document.body.dataset.ready = "1";
}, { allow: (me) => me.role === "admin" });
