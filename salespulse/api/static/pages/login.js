// Sign-in: the token is kept in the browser (localStorage); the page shows who it names and
// the pages that role may open, then goes on to the page asked for.
import { $, fill, api, boot, el, pageName, setToken, showError, t, takeToken } from "/static/core.js";

function signedIn(me, next) {
  const pages = me.pages.map((p) => el("li", {}, el("a", { href: p }, pageName(p))));
  fill("app", el("section", { class: "card narrow", id: "signed-in" },
    el("h1", {}, t("login.welcome", { name: me.rep_name || me.name })),
    el("p", {}, t("login.role_line", { role: t(`role.${me.role}`),
      where: me.unit_name || me.unit_id || me.rep_id || t("login.everything") })),
    me.open_mode ? el("p", { class: "muted" }, t("login.open_mode")) : null,
    me.pages.length ? el("p", {}, t("login.your_pages")) : el("p", {}, t("login.no_pages")),
    el("ul", { class: "pages" }, pages),
    next ? el("p", {}, el("a", { href: next, class: "button" }, t("login.continue"))) : null));
}

function form(next) {
  const input = el("input", { id: "token", type: "password", autocomplete: "current-password",
    required: true, minlength: 16, "aria-label": t("login.token") });
  const submit = async (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    try {
      const me = await api("/api/whoami");
      showError("");
      if (next) { location.assign(next); return; }
      location.assign(me.pages[0] || "/login");
    } catch (err) {
      setToken("");
      showError(err.text);
    }
  };
  fill("app", el("section", { class: "card narrow" },
    el("h1", {}, t("login.title")),
    el("p", { class: "muted" }, t("login.explain")),
    el("form", { id: "login", onsubmit: submit },
      el("label", {}, t("login.token"), input),
      el("button", { type: "submit" }, t("login.submit")))));
}

// Only a path of this site: ?next=//elsewhere would send the signed-in user away.
const asked = new URL(location.href).searchParams.get("next");
const next = asked && asked.startsWith("/") && !asked.startsWith("//") ? asked : null;
takeToken();
boot(async ({ me }) => {
  if (me) signedIn(me, next); else form(next);
  document.body.dataset.ready = "1";
}, { public: true });
