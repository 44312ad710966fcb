// Parley agent console. Plain modern JavaScript, no build step.
//
// Security rule for this file: customer text is only ever put on the page
// with textContent (never innerHTML), so an HTML or script payload from a
// customer shows as inert text. The Content-Security-Policy forbids inline
// script as a second line of defence.
"use strict";

const state = {
  me: null,
  csrf: "",
  tickets: [],
  current: null, // the open ticket (full JSON)
  agents: [],
  canned: [],
  filter: "open",
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "data") Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c == null) continue;
    e.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return e;
}

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") {
    opts.headers["X-CSRF-Token"] = state.csrf;
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body || {});
  }
  const res = await fetch(path, opts);
  if (res.status === 401) {
    location.assign("/console/login");
    throw new Error("signed out");
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function showError(msg) {
  const box = $("action-error");
  box.textContent = msg || "";
  box.hidden = !msg;
}

// act runs a ticket action and shows its error next to the conversation.
async function act(fn) {
  showError("");
  try {
    await fn();
  } catch (e) {
    showError(e.message);
  }
}

const fmtTime = (s) => (s ? new Date(s).toLocaleString() : "—");

function fmtWait(sec) {
  if (sec < 60) return sec + "s";
  if (sec < 3600) return Math.floor(sec / 60) + "m";
  return Math.floor(sec / 3600) + "h " + Math.floor((sec % 3600) / 60) + "m";
}

function agentName(id) {
  const a = state.agents.find((x) => x.id === id);
  return a ? a.display_name : id;
}

// ---- queue ----

async function loadQueue() {
  const data = await api("GET", "/api/queue?status=" + encodeURIComponent(state.filter));
  state.tickets = data.tickets;
  renderQueue();
}

function renderQueue() {
  const ul = $("queue");
  ul.replaceChildren();
  for (const t of state.tickets) {
    const who = t.contact_name || t.contact;
    const status = t.status === "assigned" ? "with " + agentName(t.agent_id) : t.status === "queued" ? "waiting " + fmtWait(t.wait_seconds) : "resolved";
    const li = el("li", { class: "ticket-item prio-" + t.priority + (state.current && state.current.id === t.id ? " selected" : ""), data: { id: String(t.id), status: t.status } },
      el("div", { class: "row" }, el("span", { class: "badge prio" }, t.priority), el("strong", {}, "#" + t.id + " " + who), el("span", { class: "chan" }, t.channel)),
      el("div", { class: "row" }, el("span", { class: "reason" }, t.reason), el("span", { class: "muted" }, status)),
      el("div", { class: "preview muted" }, t.summary));
    li.tabIndex = 0;
    li.addEventListener("click", () => openTicket(t.id));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openTicket(t.id); });
    ul.append(li);
  }
  $("queue-empty").hidden = state.tickets.length > 0;
  // Agents keep the console in a background tab: the title shows the queue.
  const waiting = state.tickets.filter((t) => t.status === "queued").length;
  document.title = (waiting ? "(" + waiting + ") " : "") + "Parley console";
}

// ---- ticket ----

async function openTicket(id) {
  showError("");
  $("forget-done").hidden = true;
  state.current = await api("GET", "/api/tickets/" + id);
  renderTicket();
  renderQueue();
  await loadHistory();
}

async function refreshTicket() {
  if (!state.current) return;
  try {
    state.current = await api("GET", "/api/tickets/" + state.current.id);
  } catch (e) {
    // Transferred away or gone: close the view.
    state.current = null;
    $("ticket").hidden = true;
    $("placeholder").hidden = false;
    return;
  }
  renderTicket();
}

function renderTicket() {
  const t = state.current;
  $("placeholder").hidden = true;
  $("ticket").hidden = false;
  $("ticket").dataset.id = String(t.id);
  $("t-title").textContent = "#" + t.id + " " + (t.contact.name || t.contact.id);
  $("t-status").textContent = t.status + (t.agent_id ? " · " + agentName(t.agent_id) : "");
  $("t-status").dataset.status = t.status;
  $("t-priority").textContent = t.priority;
  $("reason").textContent = t.reason;
  $("evidence").replaceChildren(...t.evidence.map((e) => el("li", {}, el("mark", { class: "evidence-item" }, e))));
  $("summary").textContent = t.summary;
  const tbody = $("vars").tBodies[0];
  tbody.replaceChildren(...Object.keys(t.vars).sort().map((k) => el("tr", {}, el("th", {}, k), el("td", {}, t.vars[k]))));
  $("contact-name").textContent = (t.contact.name || "(no name)") + (t.contact.lang ? " · " + t.contact.lang : "");
  $("channels").replaceChildren(...t.contact.channels.map((c) => el("li", { class: c === t.address ? "current" : "" }, c + (c === t.address ? " (this ticket)" : ""))));
  loadLinks(t);
  $("notes").replaceChildren(...t.notes.map((n) => el("li", {}, el("span", { class: "muted" }, agentName(n.agent_id) + ", " + fmtTime(n.at) + ": "), n.text)));
  const times = [["queued", t.created_at], ["assigned", t.assigned_at], ["first reply", t.first_reply_at], ["resolved", t.resolved_at], ["reopened", t.reopened_at]];
  $("times").replaceChildren(...times.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, fmtTime(v))]));
  if (t.csat) $("times").append(el("dt", {}, "rating"), el("dd", {}, t.csat + " / 5"));

  const mine = t.status === "assigned" && t.agent_id === state.me.id;
  const lead = state.me.role === "lead" || state.me.role === "admin";
  $("forget").hidden = state.me.role !== "admin";
  $("claim").hidden = t.status !== "queued";
  $("reply-box").hidden = !mine;
  $("transfer").parentElement.hidden = !(t.status !== "resolved" && (mine || lead));
  $("transfer").textContent = mine ? "Transfer" : "Reassign";
  $("resolve").parentElement.hidden = !(t.status !== "resolved" && (mine || lead));
  $("resolve-outcome").querySelector('option[value="csat"]').disabled = !state.me.csat;
  renderAgentSelect();
}

// loadLinks lists the channels the customer linked into this contact (link
// codes, deep links) with an undo button for leads: a wrong link is split
// back into two contacts, each with its own part of the history.
async function loadLinks(t) {
  const ul = $("links");
  let data;
  try {
    data = await api("GET", "/api/contacts/" + encodeURIComponent(t.contact.id) + "/merges");
  } catch (e) {
    ul.replaceChildren();
    return;
  }
  if (!state.current || state.current.id !== t.id) return;
  const lead = state.me.role === "lead" || state.me.role === "admin";
  const rows = data.merges.filter((m) => m.into_id === t.contact.id && !m.undone_at).map((m) => {
    const li = el("li", { data: { merge: String(m.id) } },
      "linked " + m.from_identities.join(", ") + " (" + m.reason + ", " + fmtTime(m.at) + ")");
    if (lead) {
      const b = el("button", { type: "button", class: "undo-link" }, "Undo link");
      b.addEventListener("click", () => act(async () => {
        if (!confirm("Split " + m.from_identities.join(", ") + " back into a separate contact?")) return;
        await api("POST", "/api/merges/" + m.id + "/undo");
        await refreshTicket();
        await loadHistory();
      }));
      li.append(" ", b);
    }
    return li;
  });
  ul.replaceChildren(...rows);
}

function renderAgentSelect() {
  const sel = $("transfer-agent");
  const keep = sel.value;
  const opts = [el("option", { value: "" }, "back to the queue")];
  for (const a of state.agents) {
    if (state.current && a.id === state.current.agent_id) continue;
    opts.push(el("option", { value: a.id }, a.display_name + " (" + a.presence + ")"));
  }
  sel.replaceChildren(...opts);
  sel.value = keep;
}

async function loadHistory() {
  if (!state.current) return;
  const id = state.current.id;
  const data = await api("GET", "/api/tickets/" + id + "/history");
  if (!state.current || state.current.id !== id) return;
  const ol = $("history");
  const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
  ol.replaceChildren(...data.messages.map(renderMessage));
  if (atBottom || ol.dataset.id !== String(id)) ol.scrollTop = ol.scrollHeight;
  ol.dataset.id = String(id);
}

function renderMessage(m) {
  const who = m.sender === "agent" ? (m.sender_name || agentName(m.sender_id)) : m.sender === "bot" ? "Bot" : "Customer";
  const li = el("li", { class: "msg " + m.dir + " " + m.sender, data: { sender: m.sender, seq: String(m.seq) } },
    el("div", { class: "meta" }, el("span", { class: "who" }, who), el("span", { class: "chan" }, m.channel), el("time", {}, fmtTime(m.at))),
    el("div", { class: "text" }, m.text));
  if (m.payload && !m.text) li.querySelector(".text").textContent = "[button] " + m.payload;
  if (m.buttons && m.buttons.length) {
    li.append(el("div", { class: "buttons" }, ...m.buttons.map((b) => el("span", { class: "btn-chip" }, b.text))));
  }
  if (m.attachments && m.attachments.length) {
    li.append(el("div", { class: "muted" }, "attachments: " + m.attachments.join(", ")));
  }
  return li;
}

// ---- live updates ----

function connectLive() {
  const es = new EventSource("/api/events");
  es.onopen = () => $("live").classList.replace("off", "on");
  es.onerror = () => $("live").classList.replace("on", "off");
  es.addEventListener("ticket", (ev) => {
    const e = JSON.parse(ev.data);
    loadQueue().catch(() => {});
    if (state.current && state.current.id === e.ticket_id) refreshTicket().then(loadHistory).catch(() => {});
  });
  es.addEventListener("message", (ev) => {
    const e = JSON.parse(ev.data);
    loadQueue().catch(() => {});
    if (state.current && state.current.id === e.ticket_id) loadHistory().catch(() => {});
  });
  es.addEventListener("presence", () => loadAgents().catch(() => {}));
}

async function loadAgents() {
  state.agents = (await api("GET", "/api/agents")).agents;
  if (state.current) renderAgentSelect();
}

// ---- first sign-in: choose a password ----

// A generated password opens one session that may only change it (the API
// refuses everything else with 403), so the page shows nothing but the
// form; once the new password is saved the console starts normally.
function showPasswordChange() {
  document.querySelector("header.top").hidden = true;
  document.querySelector(".layout").hidden = true;
  document.body.classList.add("login");
  $("pw-change").hidden = false;
  $("pw-username").value = state.me.name;
  $("pw-old").focus();
  const errBox = $("pw-error");
  const fail = (msg) => { errBox.textContent = msg; errBox.hidden = false; };
  $("pw-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errBox.hidden = true;
    const next = $("pw-new").value;
    if (next !== $("pw-repeat").value) {
      fail("The two new passwords differ.");
      return;
    }
    try {
      await api("POST", "/api/password", { old: $("pw-old").value, new: next });
    } catch (e) {
      if (e.message !== "signed out") fail(e.message);
      return;
    }
    location.assign("/console/");
  });
  $("pw-logout").addEventListener("click", async () => {
    await api("POST", "/api/logout").catch(() => {});
    location.assign("/console/login");
  });
}

// ---- wiring ----

async function main() {
  state.me = await api("GET", "/api/me");
  state.csrf = state.me.csrf;
  if (state.me.password_change_required) {
    showPasswordChange();
    return;
  }
  $("me").textContent = state.me.display_name + " (" + state.me.role + ")";
  $("dashboard-link").hidden = !(state.me.role === "lead" || state.me.role === "admin");
  $("presence").value = state.me.presence === "away" ? "away" : "online";
  state.canned = (await api("GET", "/api/canned")).canned;
  $("canned").append(...state.canned.map((c) => el("option", { value: c.id }, c.title)));
  await loadAgents();
  await loadQueue();
  connectLive();
  // A slow safety net for missed events (a sleeping laptop, a proxy hiccup).
  setInterval(() => loadQueue().catch(() => {}), 30000);

  $("queue-filter").addEventListener("change", (ev) => { state.filter = ev.target.value; loadQueue(); });
  $("presence").addEventListener("change", (ev) => api("POST", "/api/presence", { status: ev.target.value }).catch((e) => alert(e.message)));
  $("logout").addEventListener("click", async () => {
    await api("POST", "/api/logout").catch(() => {});
    location.assign("/console/login");
  });
  $("canned").addEventListener("change", (ev) => {
    const c = state.canned.find((x) => x.id === ev.target.value);
    if (c) $("reply-text").value = c.text;
    ev.target.value = "";
    $("reply-text").focus();
  });
  // An admin erases the customer's data (an erasure request): the contact
  // id must be typed back, since nothing brings the data back.
  $("forget").addEventListener("click", () => act(async () => {
    if (!state.current) return;
    const cid = state.current.contact.id;
    const typed = prompt("Erase this customer's history, channels, session and name for good? Type the contact id " + cid + " to confirm.");
    if (typed === null) return;
    if (typed.trim() !== cid) throw new Error("the contact id did not match; nothing was erased");
    const res = await api("POST", "/api/contacts/" + encodeURIComponent(cid) + "/forget", { confirm: cid });
    $("forget-done").textContent = "Erased " + res.forgotten.messages + " messages of " + cid + " (now " + res.forgotten.anonymous_id + "). " + res.next;
    $("forget-done").hidden = false;
    await refreshTicket();
    await loadQueue();
  }));
  const id = () => state.current.id;
  $("claim").addEventListener("click", () => act(async () => {
    state.current = await api("POST", "/api/tickets/" + id() + "/claim");
    renderTicket();
    await loadQueue();
  }));
  const send = () => act(async () => {
    const text = $("reply-text").value.trim();
    if (!text) return;
    state.current = await api("POST", "/api/tickets/" + id() + "/reply", { text });
    $("reply-text").value = "";
    renderTicket();
    await loadHistory();
  });
  $("reply-send").addEventListener("click", send);
  $("reply-text").addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) send(); });
  $("note-add").addEventListener("click", () => act(async () => {
    const text = $("note-text").value.trim();
    if (!text) return;
    state.current = await api("POST", "/api/tickets/" + id() + "/note", { text });
    $("note-text").value = "";
    renderTicket();
  }));
  $("transfer").addEventListener("click", () => act(async () => {
    const mine = state.current.agent_id === state.me.id;
    const path = "/api/tickets/" + id() + (mine ? "/transfer" : "/reassign");
    state.current = await api("POST", path, { agent: $("transfer-agent").value });
    await refreshTicket();
    await loadQueue();
  }));
  $("resolve").addEventListener("click", () => act(async () => {
    state.current = await api("POST", "/api/tickets/" + id() + "/resolve", { outcome: $("resolve-outcome").value });
    renderTicket();
    await loadHistory();
    await loadQueue();
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  main().catch((e) => {
    if (e.message !== "signed out") showError(e.message);
  });
});
