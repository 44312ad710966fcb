// Parley misses inbox: the groups of GET /api/misses, and teaching the bot
// from a group through POST /api/misses/teach (add the message to an FAQ
// entry or intent of GET /api/misses/kb, or start a new FAQ entry). Plain
// JavaScript, no build step; texts in Russian and English (i18n.js).
//
// Customers' words and the project's texts go onto the page only through
// textContent / text nodes, never as HTML.
"use strict";

Object.assign(I18N.en, {
  m_title: "Misses", m_from: "From", m_to: "To", m_show: "Show", m_loading: "loading…",
  m_denied: "The misses inbox is for leads and admins.",
  m_intro: "Messages the bot did not understand, or answered and was then corrected or escalated, grouped by similar text. Teach the bot from a group: the change goes into the project's faq.yaml, passes lint and is served at once.",
  m_summary: "Missed messages: {0}, in groups: {1}", m_none: "No missed messages in this period.",
  m_why: "Why", m_taken: "Taken for", m_langs: "Language", m_last: "last {0}", m_times: "×{0}",
  r_not_understood: "not understood", r_out_of_scope: "out of scope", r_did_you_mean_no: "“did you mean” answered no",
  r_corrected: "answered, then corrected", r_escalated: "answered, then asked for a person",
  now_answered: "now answered: {0}", now_unsure: "now asks “did you mean {0}?”", now_none: "still not understood",
  now_oos: "still out of scope", now_same: "still answered as before: {0}",
  m_add: "Add to an entry…", m_new: "New FAQ entry…", m_cancel: "Cancel",
  m_text: "Message to add (you may tidy it)", m_lang: "Language of the message", m_search: "Search entries and intents",
  m_pick: "Pick an FAQ entry or intent.", m_save: "Add the example", m_create: "Create the entry",
  k_faq: "FAQ", k_intent: "intent", m_id: "Id (letters, digits and _)", m_titleL: "Title ({0}), as “did you mean …?” names it",
  m_questions: "Questions ({0}), one a line", m_answer: "Answer ({0})",
  m_saved: "Saved to {0}; version {1} is serving.", m_failed: "Not saved: {0}", m_working: "saving…",
  m_readonly: "Teaching is off: {0}", m_lint: "Not saved: the change fails `parley lint`. Fix what it says and try again:",
});
Object.assign(I18N.ru, {
  m_title: "Промахи", m_from: "С", m_to: "По", m_show: "Показать", m_loading: "загрузка…",
  m_denied: "Промахи бота видят только старшие и администраторы.",
  m_intro: "Сообщения, которые бот не понял, или ответил, а клиент поправил его или позвал оператора; похожие собраны в группы. Научите бота прямо из группы: изменение попадёт в faq.yaml проекта, пройдёт проверку lint и сразу заработает.",
  m_summary: "Промахов: {0}, групп: {1}", m_none: "За этот период промахов нет.",
  m_why: "Почему", m_taken: "Бот принял за", m_langs: "Язык", m_last: "последний {0}", m_times: "×{0}",
  r_not_understood: "не понял", r_out_of_scope: "вне тематики", r_did_you_mean_no: "на «вы имели в виду» ответили нет",
  r_corrected: "ответил, клиент поправил", r_escalated: "ответил, клиент позвал оператора",
  now_answered: "теперь отвечает: {0}", now_unsure: "теперь переспросит «{0}?»", now_none: "по-прежнему не понимает",
  now_oos: "по-прежнему вне тематики", now_same: "отвечает как раньше: {0}",
  m_add: "Добавить в запись…", m_new: "Новая запись FAQ…", m_cancel: "Отмена",
  m_text: "Сообщение (можно поправить)", m_lang: "Язык сообщения", m_search: "Поиск по записям и намерениям",
  m_pick: "Выберите запись FAQ или намерение.", m_save: "Добавить пример", m_create: "Создать запись",
  k_faq: "FAQ", k_intent: "намерение", m_id: "Id (латиница, цифры и _)", m_titleL: "Название ({0}) для вопроса «вы имели в виду …?»",
  m_questions: "Вопросы ({0}), по одному в строке", m_answer: "Ответ ({0})",
  m_saved: "Сохранено в {0}; работает версия {1}.", m_failed: "Не сохранено: {0}", m_working: "сохраняю…",
  m_readonly: "Обучение выключено: {0}", m_lint: "Не сохранено: изменение не проходит проверку `parley lint`. Исправьте и попробуйте снова:",
});

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "data") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c == null) continue;
    e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

const state = { me: null, report: null, kb: null };

async function call(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET") opts.headers["X-CSRF-Token"] = state.me ? state.me.csrf : "";
  const res = await fetch(path, opts);
  if (res.status === 401) {
    location.assign("/console/login");
    throw new Error("signed out");
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error || res.statusText);
    err.status = res.status;
    err.problems = data.problems || [];
    throw err;
  }
  return data;
}

const dayOf = (iso) => iso.slice(0, 10);
const when = (iso) => new Date(iso).toLocaleString(LANG === "ru" ? "ru-RU" : "en-GB", { dateStyle: "short", timeStyle: "short" });

// counted is "a 2, b 1", most first.
function counted(m, name) {
  return Object.entries(m || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => name(k) + (n > 1 ? " " + tr("m_times", n) : "")).join(", ");
}

// itemName is how an FAQ entry or intent is shown: its title in the
// page's language when it has one, and its id.
function itemName(kind, id) {
  const it = state.kb && (state.kb.items || []).find((x) => x.kind === kind && x.id === id);
  const t = it && it.title && (it.title[LANG] || it.title[""] || Object.values(it.title)[0]);
  return t ? `${id} (${t})` : id;
}

// nowBadge says what the serving project makes of a text now. A group the
// bot answered and was corrected on (or escalated after) is not fixed by
// answering it the same way again.
function nowBadge(n, g) {
  if (!n) return null;
  const wrongBefore = g && (g.taken_for || {})[n.id] && ["corrected", "escalated", "did_you_mean_no"].some((r) => (g.reasons || {})[r]);
  if (n.answered && wrongBefore) return el("span", { class: "now unsure", data: { id: n.id } }, tr("now_same", itemName(n.kind, n.id)));
  if (n.answered) return el("span", { class: "now answered", data: { id: n.id } }, tr("now_answered", itemName(n.kind, n.id)));
  if (n.oos) return el("span", { class: "now" }, tr("now_oos"));
  if (n.kind !== "none" && n.id) return el("span", { class: "now unsure", data: { id: n.id } }, tr("now_unsure", itemName(n.kind, n.id)));
  return el("span", { class: "now" }, tr("now_none"));
}

function topLang(g) {
  const e = Object.entries(g.langs || {}).sort((a, b) => b[1] - a[1]);
  return e.length ? e[0][0] : (state.kb && state.kb.languages && state.kb.languages[0]) || "ru";
}

function langSelect(value) {
  const langs = (state.kb && state.kb.languages && state.kb.languages.length) ? state.kb.languages : [value];
  return el("select", { class: "teach-lang" }, ...langs.map((l) => el("option", { value: l, selected: l === value }, l)));
}

function drawGroups() {
  const r = state.report;
  const box = $("groups");
  box.replaceChildren();
  $("summary").textContent = r.groups.length ? tr("m_summary", r.misses, r.groups.length) : tr("m_none");
  const editable = state.kb && state.kb.editable;
  r.groups.forEach((g, i) => {
    const nowOf = Object.fromEntries((g.now || []).map((n) => [n.text, n]));
    const card = el("article", { class: "miss-group", data: { index: i, example: g.example } },
      el("div", { class: "head" },
        el("span", { class: "count" }, String(g.count)),
        el("span", { class: "example" }, g.example),
        nowBadge(nowOf[g.example], g),
        el("span", { class: "when" }, tr("m_last", when(g.last)))),
      el("div", { class: "facts" },
        tr("m_why") + ": " + counted(g.reasons, (k) => tr("r_" + k)),
        g.taken_for ? " · " + tr("m_taken") + ": " + counted(g.taken_for, (k) => k) : "",
        g.langs ? " · " + tr("m_langs") + ": " + counted(g.langs, (k) => k) : ""),
      g.texts.length > 1 ? el("ul", { class: "texts" }, ...g.texts.slice(1).map((t) => el("li", {}, t, nowBadge(nowOf[t], g)))) : null);
    const result = el("div", { class: "teach-result", role: "status" });
    const panel = el("div", { class: "teach-panel" });
    if (editable) {
      card.append(el("div", { class: "actions" },
        el("button", { type: "button", class: "plain teach-add", onclick: () => openAdd(g, panel, result) }, tr("m_add")),
        el("button", { type: "button", class: "plain teach-new", onclick: () => openNew(g, panel, result) }, tr("m_new"))));
    }
    card.append(panel, result);
    box.append(card);
  });
}

// openAdd shows the form that adds the group's message to an existing FAQ
// entry or intent, picked from a searchable list.
function openAdd(g, panel, result) {
  const text = el("input", { type: "text", class: "teach-text", value: g.example });
  const lang = langSelect(topLang(g));
  const search = el("input", { type: "search", class: "kb-search", placeholder: tr("m_search"), "aria-label": tr("m_search") });
  const list = el("ul", { class: "kb-list" });
  const name = "kb-" + Math.random().toString(36).slice(2);
  const items = (state.kb.items || []);
  const taken = Object.keys(g.taken_for || {});
  const fill = () => {
    const q = search.value.trim().toLowerCase();
    list.replaceChildren(...items.filter((it) => {
      if (!q) return true;
      const hay = [it.id, ...Object.values(it.title || {}), ...Object.values(it.examples || {}).flat()].join(" ").toLowerCase();
      return hay.includes(q);
    }).map((it) => el("li", {}, el("label", {},
      el("input", { type: "radio", name, value: it.kind + ":" + it.id, checked: taken.length === 1 && taken[0] === it.id && !q }),
      el("span", { class: "kind" }, tr("k_" + it.kind)),
      el("b", {}, itemName(it.kind, it.id)),
      el("span", { class: "sample" }, ((it.examples || {})[lang.value] || Object.values(it.examples || {})[0] || []).join(" · "))))));
  };
  search.addEventListener("input", fill);
  lang.addEventListener("change", fill);
  fill();
  const save = el("button", { type: "button", class: "teach-save" }, tr("m_save"));
  save.addEventListener("click", async () => {
    const picked = list.querySelector("input:checked");
    if (!picked) {
      showResult(result, false, tr("m_pick"));
      return;
    }
    const [kind, id] = picked.value.split(":");
    await teach(g, { text: text.value, lang: lang.value, target: { kind, id } }, save, result);
  });
  panel.replaceChildren(el("div", { class: "teach teach-add-form" },
    el("label", {}, tr("m_text"), text), el("label", {}, tr("m_lang"), lang), search, list,
    el("div", { class: "actions" }, save, el("button", { type: "button", class: "plain", onclick: () => panel.replaceChildren() }, tr("m_cancel")))));
  search.focus();
}

// openNew shows the form that starts a new FAQ entry from the group: per
// language a title, questions (the group's messages to begin with) and
// the answer.
function openNew(g, panel, result) {
  const first = topLang(g);
  const langs = (state.kb.languages && state.kb.languages.length) ? state.kb.languages : [first];
  const id = el("input", { type: "text", class: "new-id", pattern: "[A-Za-z][A-Za-z0-9_]*", required: true });
  const blocks = langs.map((l) => {
    const title = el("input", { type: "text", class: "new-title", data: { lang: l } });
    const questions = el("textarea", { class: "new-questions", rows: 4, data: { lang: l } });
    if (l === first) questions.value = g.texts.join("\n");
    const answer = el("textarea", { class: "new-answer", rows: 3, data: { lang: l } });
    return { l, title, questions, answer, box: el("fieldset", { class: "lang-block" }, el("legend", {}, l),
      el("label", {}, tr("m_titleL", l), title), el("label", {}, tr("m_questions", l), questions), el("label", {}, tr("m_answer", l), answer)) };
  });
  const save = el("button", { type: "button", class: "teach-create" }, tr("m_create"));
  save.addEventListener("click", async () => {
    const entry = { id: id.value.trim(), title: {}, questions: {}, answer: {} };
    for (const b of blocks) {
      if (b.title.value.trim()) entry.title[b.l] = b.title.value.trim();
      const qs = b.questions.value.split("\n").map((s) => s.trim()).filter(Boolean);
      if (qs.length) entry.questions[b.l] = qs;
      if (b.answer.value.trim()) entry.answer[b.l] = b.answer.value.trim();
    }
    await teach(g, { text: g.example, lang: first, new: entry }, save, result);
  });
  panel.replaceChildren(el("div", { class: "teach teach-new-form" }, el("label", {}, tr("m_id"), id), ...blocks.map((b) => b.box),
    el("div", { class: "actions" }, save, el("button", { type: "button", class: "plain", onclick: () => panel.replaceChildren() }, tr("m_cancel")))));
  id.focus();
}

function showResult(box, ok, msg, problems, now, g) {
  box.className = "teach-result " + (ok ? "ok" : "error");
  box.replaceChildren(el("div", {}, msg));
  if (problems && problems.length) box.append(el("ul", { class: "problems" }, ...problems.map((p) => el("li", {}, p))));
  if (now && now.length) box.append(el("ul", { class: "now-list" }, ...now.map((n) => el("li", {}, n.text, nowBadge(n, g)))));
}

async function teach(g, body, button, result) {
  body.texts = g.texts;
  button.disabled = true;
  showResult(result, true, tr("m_working"));
  try {
    const res = await call("POST", "/api/misses/teach", body);
    state.kb = await call("GET", "/api/misses/kb");
    await loadReport();
    // The cards were drawn again: show the outcome on the group's new card.
    const card = [...document.querySelectorAll(".miss-group")].find((c) => c.dataset.example === g.example);
    const box = card ? card.querySelector(".teach-result") : result;
    showResult(box, true, tr("m_saved", res.file, res.version), null, res.now, g);
    if (card) card.dataset.taught = "1";
  } catch (e) {
    if (e.status === 422 && e.problems.length) showResult(result, false, tr("m_lint"), e.problems);
    else if (e.message !== "signed out") showResult(result, false, tr("m_failed", e.message), e.problems);
  } finally {
    button.disabled = false;
  }
}

function query() {
  const p = new URLSearchParams();
  if ($("from").value) p.set("from", $("from").value);
  if ($("to").value) p.set("to", $("to").value);
  return p.toString();
}

async function loadReport() {
  const r = await call("GET", "/api/misses?" + query());
  state.report = r;
  if (r.from) $("from").value = dayOf(r.from);
  if (r.to) $("to").value = dayOf(new Date(Date.parse(r.to) - 86400000).toISOString());
  drawGroups();
}

async function load() {
  $("loading").hidden = false;
  document.body.dataset.ready = "";
  $("m-error").hidden = true;
  try {
    if (!state.me) state.me = await call("GET", "/api/me");
    if (state.me.role !== "lead" && state.me.role !== "admin") {
      $("denied").hidden = false;
      return;
    }
    if (!state.kb) state.kb = await call("GET", "/api/misses/kb");
    $("readonly").hidden = !!state.kb.editable;
    $("readonly").textContent = state.kb.editable ? "" : tr("m_readonly", state.kb.why || "");
    await loadReport();
    $("inbox").hidden = false;
    document.body.dataset.ready = "1";
  } catch (e) {
    if (e.message !== "signed out") {
      $("m-error").textContent = e.message;
      $("m-error").hidden = false;
    }
  } finally {
    $("loading").hidden = true;
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  await pickLang();
  $("lang").value = LANG;
  applyI18n(document);
  $("lang").addEventListener("change", () => {
    try { localStorage.setItem("parley.lang", $("lang").value); } catch (e) { /* storage off */ }
    setLang($("lang").value);
    applyI18n(document);
    if (state.report) drawGroups();
  });
  $("period").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  load();
});
