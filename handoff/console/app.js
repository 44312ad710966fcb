// Parley agent console. Plain modern JavaScript, no build step; the texts
// and labels are in i18n.js.
//
// Security rule for this file: customer text is only ever put on the page
// with textContent (never innerHTML), so an HTML or script payload from a
// customer shows as inert text. Links in messages are <a> elements made
// here for http and https URLs only. The Content-Security-Policy forbids
// inline script as a second line of defence.
"use strict";

const state = {
  me: null,
  csrf: "",
  tickets: [], // the queue as loaded
  shown: [], // after filters and search
  known: null, // ids of tickets seen, to tell a new one (null before the first load)
  unread: {}, // ticket id -> customer messages not seen yet
  readSent: {}, // ticket id -> the newest customer message told read (ms)
  current: null, // the open ticket (full JSON)
  card: null, // its customer card
  agents: [],
  canned: [],
  filter: "open",
  hits: null, // search results, or null without a search
  cursor: -1, // keyboard selection in the queue
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

const fmtTime = (s) => (s ? new Date(s).toLocaleString(LANG === "ru" ? "ru-RU" : "en-GB") : "—");

function fmtWait(sec) {
  const [s, m, h] = LANG === "ru" ? ["с", "мин", "ч"] : ["s", "m", "h"];
  if (sec < 60) return sec + " " + s;
  if (sec < 3600) return Math.floor(sec / 60) + " " + m;
  return Math.floor(sec / 3600) + " " + h + " " + Math.floor((sec % 3600) / 60) + " " + m;
}

function agentName(id) {
  const a = state.agents.find((x) => x.id === id);
  return a ? a.display_name : id;
}

const channelName = (ch) => (I18N.en["ch_" + ch] ? tr("ch_" + ch) : ch);

// shortId keeps the end of a long channel id: the start of a web visitor's
// or a Telegram id says little, and the whole one overflows its column.
function shortId(id) {
  return id.length > 12 ? "…" + id.slice(-8) : id;
}

// whoIs is the title of a ticket: the customer's name, or the channel and
// the end of its id (never the internal contact id).
function whoIs(name, address) {
  if (name) return name;
  if (!(address || "").includes(":")) return tr("noName");
  return addressLabel(address);
}

// addressLabel names a channel identity ("telegram:42") for a person: the
// channel's name and the end of the id.
function addressLabel(address) {
  const i = address.indexOf(":");
  return channelName(address.slice(0, i)) + " " + shortId(address.slice(i + 1));
}

// linkify appends text to parent with http(s) URLs as links. Only those two
// schemes become links (never javascript: or data:), the link text is the
// URL as text, and the new tab gets no handle on this one.
function linkify(parent, text) {
  const re = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  let last = 0;
  for (const m of text.matchAll(re)) {
    let url = m[0].replace(/[.,;:!?)\]}»"']+$/, "");
    parent.append(text.slice(last, m.index));
    last = m.index + url.length;
    let ok = false;
    try { ok = ["http:", "https:"].includes(new URL(url).protocol); } catch (e) { ok = false; }
    if (!ok) {
      parent.append(url);
      continue;
    }
    const a = el("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow" });
    a.textContent = url;
    parent.append(a);
  }
  parent.append(text.slice(last));
  return parent;
}

// ---- preferences (this browser) ----

function pref(name, def) {
  try {
    const v = localStorage.getItem("parley." + name);
    return v === null ? def : v === "1";
  } catch (e) { return def; }
}

function setPref(name, on) {
  try { localStorage.setItem("parley." + name, on ? "1" : "0"); } catch (e) { /* storage off */ }
}

// ---- notifications ----

let audio = null;

// beep plays a short two-tone chime made in the page (no sound file).
function beep() {
  if (!pref("sound", true)) return;
  try {
    audio = audio || new AudioContext();
    for (const [i, f] of [880, 1320].entries()) {
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.08, audio.currentTime + i * 0.15);
      g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + i * 0.15 + 0.14);
      o.connect(g).connect(audio.destination);
      o.start(audio.currentTime + i * 0.15);
      o.stop(audio.currentTime + i * 0.15 + 0.15);
    }
  } catch (e) { /* no audio: the desktop notification and the marks remain */ }
}

// notify shows a desktop notification (when allowed and switched on) and
// plays the sound; clicking it opens the ticket.
function notify(title, body, ticketId) {
  beep();
  if (!pref("desktop", true) || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, { body, tag: "parley-" + ticketId });
    n.onclick = () => { window.focus(); openTicket(ticketId).catch(() => {}); };
  } catch (e) { /* some browsers allow notifications from a service worker only */ }
}

function markUnread(id) {
  state.unread[id] = (state.unread[id] || 0) + 1;
  renderQueue();
}

// ---- queue ----

async function loadQueue() {
  const data = await api("GET", "/api/queue?status=" + encodeURIComponent(state.filter));
  const fresh = [];
  if (state.known) {
    for (const t of data.tickets) if (t.status === "queued" && !state.known.has(t.id)) fresh.push(t);
  }
  state.known = state.known || new Set();
  for (const t of data.tickets) state.known.add(t.id);
  state.tickets = data.tickets;
  for (const t of fresh) {
    markUnread(t.id);
    notify(tr("newTicket", whoIs(t.contact_name, t.address)), label("reason", t.reason) + (t.summary ? " — " + t.summary : ""), t.id);
  }
  renderFilters();
  renderQueue();
}

// renderFilters fills the filter menus from what the queue holds, keeping
// the current choices.
function renderFilters() {
  const fill = (id, all, values, name) => {
    const sel = $(id);
    const keep = sel.value;
    const opts = [el("option", { value: "" }, tr(all))];
    for (const v of [...new Set(values)].filter(Boolean).sort()) opts.push(el("option", { value: v }, name(v)));
    if (keep && !values.includes(keep)) opts.push(el("option", { value: keep }, name(keep)));
    sel.replaceChildren(...opts);
    sel.value = keep;
  };
  const ts = state.tickets;
  fill("f-channel", "allChannels", ts.map((t) => t.channel), channelName);
  fill("f-reason", "allReasons", ts.map((t) => t.reason), (v) => label("reason", v));
  fill("f-agent", "allAgents", ts.map((t) => t.agent_id).concat(state.agents.map((a) => a.id)), agentName);
  fill("f-priority", "allPriorities", ts.map((t) => t.priority), (v) => tr("prio_" + v));
}

function filtered(list) {
  const f = { channel: $("f-channel").value, reason: $("f-reason").value, agent: $("f-agent").value, priority: $("f-priority").value };
  return list.filter((t) => (!f.channel || t.channel === f.channel) && (!f.reason || t.reason === f.reason) &&
    (!f.agent || t.agent_id === f.agent) && (!f.priority || t.priority === f.priority));
}

function statusText(t) {
  if (t.status === "assigned") return tr("with", agentName(t.agent_id));
  if (t.status === "queued") return tr("waiting", fmtWait(t.wait_seconds));
  return tr("st_resolved");
}

function renderQueue() {
  const ul = $("queue");
  state.shown = filtered(state.hits || state.tickets);
  ul.replaceChildren();
  state.shown.forEach((t, i) => {
    const n = state.unread[t.id] || 0;
    const li = el("li", { class: "ticket-item prio-" + t.priority + (state.current && state.current.id === t.id ? " selected" : "") + (i === state.cursor ? " cursor" : "") + (n ? " unread" : ""), data: { id: String(t.id), status: t.status } },
      el("div", { class: "row" }, el("span", { class: "badge prio" }, tr("prio_" + t.priority)),
        el("strong", { class: "who" }, whoIs(t.contact_name, t.address)),
        n ? el("span", { class: "unread-count", title: tr("unread", n) }, String(n)) : null,
        el("span", { class: "chan" }, channelName(t.channel))),
      el("div", { class: "row" }, el("span", { class: "reason" }, label("reason", t.reason)), el("span", { class: "muted" }, "#" + t.id + " · " + statusText(t))),
      el("div", { class: "preview muted" }, t.match || t.summary));
    li.tabIndex = 0;
    li.addEventListener("click", () => openTicket(t.id));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openTicket(t.id); });
    ul.append(li);
  });
  $("queue-empty").hidden = state.shown.length > 0;
  // Agents keep the console in a background tab: the title shows the queue
  // and the unread replies.
  const waiting = state.tickets.filter((t) => t.status === "queued").length;
  const unread = Object.values(state.unread).reduce((a, b) => a + b, 0);
  document.title = (waiting || unread ? "(" + waiting + (unread ? "/" + unread : "") + ") " : "") + "Parley";
}

let searchTimer = 0;

// search asks the server (tickets and messages) after a pause in typing.
function search() {
  clearTimeout(searchTimer);
  const q = $("search").value.trim();
  if (q.length < 2) {
    state.hits = null;
    renderQueue();
    return;
  }
  searchTimer = setTimeout(async () => {
    try {
      const data = await api("GET", "/api/search?q=" + encodeURIComponent(q));
      if ($("search").value.trim() !== q) return;
      state.hits = data.tickets;
      renderQueue();
    } catch (e) { showError(e.message); }
  }, 250);
}

// ---- ticket ----

async function openTicket(id) {
  showError("");
  $("forget-done").hidden = true;
  state.current = await api("GET", "/api/tickets/" + id);
  delete state.unread[id];
  state.cursor = state.shown.findIndex((t) => t.id === id);
  document.body.classList.add("reading");
  renderTicket();
  renderQueue();
  await Promise.all([loadHistory(true), loadCard()]);
  focusReply();
}

function focusReply() {
  if (!$("reply-box").hidden) $("reply-text").focus({ preventScroll: true });
}

async function refreshTicket() {
  if (!state.current) return;
  try {
    state.current = await api("GET", "/api/tickets/" + state.current.id);
  } catch (e) {
    // Transferred away or gone: close the view.
    closeTicket();
    return;
  }
  renderTicket();
}

function closeTicket() {
  state.current = null;
  state.card = null;
  $("ticket").hidden = true;
  $("placeholder").hidden = false;
  document.body.classList.remove("reading");
  renderQueue();
}

function renderTicket() {
  const t = state.current;
  $("placeholder").hidden = true;
  $("ticket").hidden = false;
  $("ticket").dataset.id = String(t.id);
  const name = whoIs(t.contact_name || t.contact.name, t.address);
  $("t-title").textContent = name;
  $("t-title").title = "#" + t.id + " · " + t.contact.id;
  $("t-status").textContent = tr("st_" + t.status) + (t.agent_id ? " · " + agentName(t.agent_id) : "");
  $("t-status").dataset.status = t.status;
  $("t-priority").textContent = tr("prio_" + t.priority);
  $("reason").textContent = label("reason", t.reason);
  $("reason").dataset.code = t.reason;
  $("reason").title = t.reason;
  $("evidence").replaceChildren(...t.evidence.map((e) => el("li", {}, el("mark", { class: "evidence-item" }, e))));
  $("summary").textContent = t.summary;
  const tbody = $("vars").tBodies[0];
  tbody.replaceChildren(...Object.keys(t.vars).sort().map((k) => el("tr", { data: { key: k } }, el("th", { title: k }, label("vars", k)), el("td", {}, varValue(t.vars[k])))));
  $("contact-name").textContent = (t.contact_name || t.contact.name || tr("noName")) + (t.contact.lang ? " · " + t.contact.lang : "");
  renderChannels();
  loadLinks(t);
  $("notes").replaceChildren(...t.notes.map((n) => el("li", {}, el("span", { class: "muted" }, agentName(n.agent_id) + ", " + fmtTime(n.at) + ": "), n.text)));
  const times = [["t_queued", t.created_at], ["t_assigned", t.assigned_at], ["t_first", t.first_reply_at], ["t_resolved", t.resolved_at], ["t_reopened", t.reopened_at]];
  $("times").replaceChildren(...times.flatMap(([k, v]) => [el("dt", {}, tr(k)), el("dd", {}, fmtTime(v))]));
  if (t.csat) $("times").append(el("dt", {}, tr("t_rating")), el("dd", {}, t.csat + " / 5"));

  const mine = t.status === "assigned" && t.agent_id === state.me.id;
  const lead = state.me.role === "lead" || state.me.role === "admin";
  $("forget").hidden = state.me.role !== "admin";
  $("claim").hidden = t.status !== "queued";
  $("reply-box").hidden = !mine;
  renderReplyVia(mine);
  $("transfer").parentElement.hidden = !(t.status !== "resolved" && (mine || lead));
  $("transfer").textContent = tr(mine ? "transfer" : "reassign");
  $("resolve").parentElement.hidden = !(t.status !== "resolved" && (mine || lead));
  // With the project's csat: always every resolve asks for a rating.
  for (const o of $("resolve-outcome").options) o.disabled = o.value === "csat" ? !state.me.csat : !!state.me.csat_every;
  if (state.me.csat_every) $("resolve-outcome").value = "csat";
  renderAgentSelect();
}

// renderReplyVia shows where the reply goes: the channel the customer
// wrote from last (the ticket's reply_via), with the contact's other
// channels to pick for the reply being written. A pick survives a refresh
// of the ticket while it is still one of the contact's channels; after a
// send the choice goes back to the customer's last channel.
function renderReplyVia(mine) {
  const t = state.current;
  const sel = $("reply-via");
  const via = t.reply_via || "";
  const chans = t.contact.channels || [];
  const picked = sel.dataset.ticket === String(t.id) && sel.value !== sel.dataset.auto ? sel.value : "";
  $("reply-via-row").hidden = !mine || !via;
  sel.replaceChildren(...chans.map((a) => el("option", { value: a, title: a }, addressLabel(a))));
  sel.dataset.ticket = String(t.id);
  sel.dataset.auto = via;
  sel.value = picked && chans.includes(picked) ? picked : via;
  noteReplyVia();
}

// noteReplyVia says, beside the choice, when it is the customer's last
// channel (kept out of the options, so the list fits a phone).
function noteReplyVia() {
  const sel = $("reply-via");
  $("reply-via-note").textContent = sel.value && sel.value === sel.dataset.auto ? "(" + tr("wroteLast") + ")" : "";
}

// renderChannels lists every identity of the customer: the channel's name
// and the id as text that wraps, marking the one this ticket came from.
function renderChannels() {
  const t = state.current;
  const ids = (state.card && state.card.identities) || t.contact.channels;
  const profiles = {};
  for (const p of (state.card && state.card.profiles) || []) profiles[p.identity] = p;
  $("channels").replaceChildren(...ids.map((c) => {
    const i = c.indexOf(":");
    const li = el("li", { class: c === t.address ? "current" : "", title: c },
      el("span", { class: "ch" }, channelName(c.slice(0, i))), " ", el("code", { class: "cid" }, c.slice(i + 1)));
    if (c === t.address) li.append(" ", el("span", { class: "muted" }, "(" + tr("thisTicket") + ")"));
    const p = profiles[c];
    if (p) li.append(...profileLines(p));
    return li;
  }));
}

// profileLines shows what the channel says about the customer: their name
// there, a link to their profile (the server builds it only to t.me and
// vk.com), and for the web chat the page they were on and their browser.
function profileLines(p) {
  const out = [];
  const link = (href, text) => /^https?:\/\//.test(href)
    ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, text) : text;
  if (p.name) out.push(el("div", { class: "pf-name" }, p.name));
  if (p.link) out.push(el("div", { class: "pf-link" }, link(p.link, p.username ? "@" + p.username : p.link)));
  if (p.page) out.push(el("div", { class: "pf-page" }, tr("pf_page") + ": ", link(p.page, p.page)));
  if (p.browser) out.push(el("div", { class: "pf-browser muted" }, tr("pf_browser") + ": " + p.browser));
  return out;
}

// loadCard fetches who the customer is: identities and earlier tickets
// with their outcomes and ratings.
async function loadCard() {
  if (!state.current) return;
  const id = state.current.id;
  let card;
  try {
    card = await api("GET", "/api/tickets/" + id + "/card");
    card.consent = (await api("GET", "/api/tickets/" + id + "/consent").catch(() => ({}))).consent;
  } catch (e) {
    return;
  }
  if (!state.current || state.current.id !== id) return;
  state.card = card;
  renderChannels();
  // What the channel or the flow stored on the contact (the web page and
  // browser of a web visitor, a phone): shown with the variables' labels.
  const fields = card.fields || {};
  $("contact-fields").tBodies[0].replaceChildren(...Object.keys(fields).sort().map((k) =>
    el("tr", { data: { key: k } }, el("th", { title: k }, label("vars", k)), el("td", {}, varValue(fields[k])))),
    // Marketing opt-outs per channel ("стоп", an e-mail's link, the API).
    ...(card.consent || []).filter((c) => c.opted_out).map((c) => el("tr", { class: "consent", data: { key: "consent-" + c.channel } },
      el("th", {}, tr("optedOut")), el("td", {}, c.channel + " · " + fmtTime(c.at)))));
  $("earlier").replaceChildren(...(card.tickets.length ? card.tickets.map((o) => el("li", { data: { id: String(o.id) } },
    el("span", { class: "muted" }, fmtTime(o.created_at) + " · "),
    label("reason", o.reason) + " · " + (o.status === "resolved" ? label("outcome", o.outcome) || tr("st_resolved") : tr("st_" + o.status)),
    o.csat ? el("span", { class: "csat csat-" + o.csat, title: tr("t_rating") }, " ★" + o.csat) : null,
    o.agent_id ? el("span", { class: "muted" }, " · " + agentName(o.agent_id)) : null)) : [el("li", { class: "muted" }, tr("noEarlier"))]));
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
    const li = el("li", { data: { merge: String(m.id) } }, tr("linked", m.from_identities.join(", "), m.reason, fmtTime(m.at)));
    if (lead) {
      const b = el("button", { type: "button", class: "undo-link" }, tr("undoLink"));
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
  const opts = [el("option", { value: "" }, tr("toQueue"))];
  for (const a of state.agents) {
    if (state.current && a.id === state.current.agent_id) continue;
    opts.push(el("option", { value: a.id }, a.display_name + " (" + tr(a.presence) + ")"));
  }
  sel.replaceChildren(...opts);
  sel.value = keep;
}

// loadHistory redraws the conversation; the newest message stays in view
// when the agent was at the bottom, opened the ticket or acted (toEnd).
async function loadHistory(toEnd) {
  if (!state.current) return;
  const id = state.current.id;
  const data = await api("GET", "/api/tickets/" + id + "/history");
  if (!state.current || state.current.id !== id) return;
  const ol = $("history");
  const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
  ol.replaceChildren(...data.messages.map(renderMessage));
  markSeen(ol, data.messages);
  if (toEnd || atBottom || ol.dataset.id !== String(id)) ol.scrollTop = ol.scrollHeight;
  ol.dataset.id = String(id);
  sendRead(data.messages);
}

// Read marks (the web chat only: Telegram and VK give bots no read
// receipts). markSeen puts "seen" under the newest agent reply the web
// visitor has had on screen.
function markSeen(ol, msgs) {
  const seen = Date.parse(state.current.customer_seen_at || "");
  if (!seen) return;
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m.sender === "agent" && Date.parse(m.at) <= seen) {
      ol.children[i].append(el("div", { class: "seen muted", title: fmtTime(state.current.customer_seen_at) }, "✓✓ " + tr("seenByCustomer")));
      return;
    }
  }
}

// sendRead tells the server that the agent holding the ticket has read the
// customer's newest message (the ticket on screen in a visible tab); the
// customer's web chat marks it read.
function sendRead(msgs) {
  const t = state.current;
  if (!t || document.hidden || t.status !== "assigned" || t.agent_id !== state.me.id) return;
  let newest = 0;
  for (const m of msgs || []) if (m.dir === "in") newest = Math.max(newest, Date.parse(m.at) || 0);
  if (!newest || newest <= (state.readSent[t.id] || 0) || newest <= (Date.parse(t.agent_read_at || "") || 0)) return;
  state.readSent[t.id] = newest;
  api("POST", "/api/tickets/" + t.id + "/read").catch(() => {});
}

function renderMessage(m) {
  const who = m.sender === "agent" ? (m.sender_name || agentName(m.sender_id)) : tr("who_" + m.sender);
  const text = el("div", { class: "text" });
  if (m.payload && !m.text) text.textContent = "[" + tr("button") + "] " + m.payload;
  else linkify(text, m.text);
  const li = el("li", { class: "msg " + m.dir + " " + m.sender, data: { sender: m.sender, seq: String(m.seq) } },
    el("div", { class: "meta" }, el("span", { class: "who" }, who), el("span", { class: "chan" }, channelName(m.channel)), el("time", {}, fmtTime(m.at))),
    text);
  if (m.buttons && m.buttons.length) {
    li.append(el("div", { class: "buttons" }, ...m.buttons.map((b) => el("span", { class: "btn-chip" }, b.text))));
  }
  const files = renderFiles(m); // files.js
  if (files) li.append(files);
  return li;
}

// ---- saved replies ----

// fillReply puts the ticket's values into a saved reply's {{ variables }}:
// contact.name, agent.name, ticket.id and vars.NAME (what the ticket shows).
// A variable without a value is left for the agent to fill in.
function fillReply(text) {
  const t = state.current;
  const values = {
    "contact.name": t.contact_name || t.contact.name || "",
    "agent.name": state.me.display_name,
    "ticket.id": String(t.id),
  };
  for (const [k, v] of Object.entries(t.vars)) values["vars." + k] = v;
  return text.replace(/\{\{\s*([a-z0-9_.]+)\s*\}\}/gi, (all, k) => values[k] || all);
}

// insertReply puts a saved reply at the cursor of the reply box.
function insertReply(text) {
  const box = $("reply-text");
  const at = box.selectionStart ?? box.value.length, end = box.selectionEnd ?? at;
  box.value = box.value.slice(0, at) + text + box.value.slice(end);
  box.focus();
  box.selectionStart = box.selectionEnd = at + text.length;
}

// ---- live updates ----

function connectLive() {
  const es = new EventSource("/api/events");
  es.onopen = () => $("live").classList.replace("off", "on");
  es.onerror = () => $("live").classList.replace("on", "off");
  es.addEventListener("ticket", (ev) => {
    const e = JSON.parse(ev.data);
    loadQueue().catch(() => {});
    if (state.current && state.current.id === e.ticket_id) refreshTicket().then(() => loadHistory()).catch(() => {});
  });
  es.addEventListener("message", (ev) => {
    const e = JSON.parse(ev.data);
    loadQueue().catch(() => {});
    const viewing = state.current && state.current.id === e.ticket_id;
    if (viewing) loadHistory().catch(() => {});
    if (viewing && e.from === "customer") hideCustomerTyping();
    if (e.from === "customer" && e.agent_id === state.me.id) {
      if (!viewing || document.hidden) markUnread(e.ticket_id);
      const t = state.tickets.find((x) => x.id === e.ticket_id);
      notify(tr("newReply", t ? whoIs(t.contact_name, t.address) : "#" + e.ticket_id), "#" + e.ticket_id, e.ticket_id);
    }
  });
  es.addEventListener("presence", () => loadAgents().catch(() => {}));
  es.addEventListener("seen", (ev) => {
    const e = JSON.parse(ev.data);
    if (state.current && state.current.id === e.ticket_id) refreshTicket().then(() => loadHistory()).catch(() => {});
  });
  // The project was reloaded with new lead settings (labels, CSAT,
  // canned replies): read them again and redraw the open ticket.
  es.addEventListener("config", () => api("GET", "/api/me").then((me) => {
    state.me.csat = me.csat;
    state.me.csat_every = me.csat_every;
    VAR_LABELS = me.var_labels || {};
    if (state.current) refreshTicket().catch(() => {});
    return loadCanned();
  }).catch(() => {}));
  es.addEventListener("typing", (ev) => {
    const e = JSON.parse(ev.data);
    if (state.current && state.current.id === e.ticket_id && e.from === "customer") showCustomerTyping();
  });
}

// The customer's widget reports typing at most every 3 s: the line stays
// a little longer than that, and goes when their message arrives.
let customerTypingTimer = 0;
function showCustomerTyping() {
  $("customer-typing").hidden = false;
  clearTimeout(customerTypingTimer);
  customerTypingTimer = setTimeout(hideCustomerTyping, 5000);
}
function hideCustomerTyping() {
  clearTimeout(customerTypingTimer);
  $("customer-typing").hidden = true;
}

// The agent typing a reply is told to the customer (their web chat shows
// it), at most every 3 s; a failure is not worth a word to the agent.
let typedAt = 0;
function agentTyping() {
  const t = state.current;
  if (!t || $("reply-box").hidden || !$("reply-text").value.trim() || Date.now() - typedAt < 3000) return;
  typedAt = Date.now();
  api("POST", "/api/tickets/" + t.id + "/typing").catch(() => {});
}

// When the agent comes back to the tab, the open ticket's replies are read.
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.current) loadHistory().catch(() => {}); // read marks
  if (!document.hidden && state.current && state.unread[state.current.id]) {
    delete state.unread[state.current.id];
    renderQueue();
  }
});

async function loadAgents() {
  state.agents = (await api("GET", "/api/agents")).agents;
  if (state.current) renderAgentSelect();
}

// ---- agents (admins) ----

async function openAgents() {
  $("agents-panel").hidden = false;
  $("agents-secret").hidden = true;
  await loadAdminAgents();
  await loadAPIKeys();
  $("aa-name").focus();
}

function agentsError(msg) {
  $("agents-error").textContent = msg || "";
  $("agents-error").hidden = !msg;
}

async function loadAdminAgents() {
  agentsError("");
  let data;
  try {
    data = await api("GET", "/api/admin/agents");
  } catch (e) {
    agentsError(e.message);
    return;
  }
  const rows = data.agents.map((a) => {
    const role = el("select", { "aria-label": "role", class: "role" }, ...["agent", "lead", "admin"].map((r) => el("option", { value: r }, tr("role_" + r))));
    role.value = a.role;
    const self = a.id === state.me.id;
    role.disabled = self;
    role.addEventListener("change", () => adminAct(async () => {
      await api("POST", "/api/admin/agents/" + encodeURIComponent(a.id) + "/role", { role: role.value });
    }));
    const reset = el("button", { type: "button", class: "plain reset" }, tr("resetPw"));
    reset.disabled = self;
    reset.addEventListener("click", () => adminAct(async () => {
      if (!confirm(tr("confirmReset", a.name))) return;
      const res = await api("POST", "/api/admin/agents/" + encodeURIComponent(a.id) + "/password");
      showSecret(a.name, res.password);
    }));
    const rm = el("button", { type: "button", class: "danger remove" }, tr("remove"));
    rm.disabled = self;
    rm.addEventListener("click", () => adminAct(async () => {
      if (!confirm(tr("confirmRemove", a.name))) return;
      await api("DELETE", "/api/admin/agents/" + encodeURIComponent(a.id));
    }));
    return el("tr", { data: { agent: a.id } },
      el("td", {}, el("strong", {}, a.display_name), " ", el("span", { class: "muted" }, a.name), a.one_time_password ? el("div", { class: "muted" }, tr("oneTime")) : null),
      el("td", {}, role), el("td", {}, tr(a.presence) + " · " + a.assigned + " " + tr("tickets")), el("td", {}, reset, " ", rm));
  });
  $("agents-table").tBodies[0].replaceChildren(...rows);
}

// loadAPIKeys lists the outbound API's keys (never the keys themselves)
// with a revoke button, and the scopes a new key may get.
async function loadAPIKeys() {
  let data;
  try {
    data = await api("GET", "/api/admin/apikeys");
  } catch (e) {
    agentsError(e.message);
    return;
  }
  if (!$("ak-scopes").children.length) {
    $("ak-scopes").replaceChildren(...data.scopes.map((s) => {
      const box = el("input", { type: "checkbox", value: s });
      box.checked = s !== "broadcasts"; // reserved: nothing uses it yet
      return el("label", { class: "toggle" }, box, " " + s);
    }));
  }
  $("apikeys-table").tBodies[0].replaceChildren(...data.keys.map((k) => {
    const revoke = el("button", { type: "button", class: "danger revoke" }, tr("revoke"));
    revoke.hidden = !!k.revoked_at;
    revoke.addEventListener("click", () => adminAct(async () => {
      if (!confirm(tr("confirmRevoke", k.name))) return;
      await api("POST", "/api/admin/apikeys/" + encodeURIComponent(k.id) + "/revoke");
    }));
    return el("tr", { data: { key: k.id } }, el("td", {}, el("strong", {}, k.name), " ", el("span", { class: "muted" }, k.prefix + "…")),
      el("td", {}, k.scopes.join(", ")), el("td", {}, k.revoked_at ? tr("revokedAt", fmtTime(k.revoked_at)) : fmtTime(k.created_at)), el("td", {}, revoke));
  }));
}

// showSecret shows a one-time password once, for the admin to hand over.
function showSecret(name, pw) {
  $("agents-secret").textContent = tr("secret", name, pw);
  $("agents-secret").hidden = false;
}

async function adminAct(fn) {
  agentsError("");
  try {
    await fn();
  } catch (e) {
    agentsError(e.message);
  }
  await loadAdminAgents();
  await loadAPIKeys();
  await loadAgents();
}

// ---- keyboard ----

const KEYS = [["j / ↓", "k_next"], ["k / ↑", "k_prev"], ["Enter", "k_open"], ["c", "k_claim"], ["r", "k_reply"],
  ["Ctrl+Enter", "k_send"], ["/", "k_search"], ["?", "k_help"], ["Esc", "k_close"]];

function showHelp() {
  $("help-keys").replaceChildren(...KEYS.flatMap(([k, what]) => [el("dt", {}, el("kbd", {}, k)), el("dd", {}, tr(what))]));
  $("help").hidden = false;
}

function onKey(ev) {
  const typing = ev.target.closest && ev.target.closest("input, textarea, select");
  if (ev.key === "Escape") {
    if (!$("help").hidden || !$("agents-panel").hidden || !$("replies-panel").hidden) {
      $("help").hidden = true;
      $("agents-panel").hidden = true;
      $("replies-panel").hidden = true;
    } else if (typing) ev.target.blur();
    return;
  }
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const move = (d) => {
    if (!state.shown.length) return;
    state.cursor = Math.max(0, Math.min(state.shown.length - 1, state.cursor + d));
    renderQueue();
    const li = $("queue").children[state.cursor];
    if (li) li.scrollIntoView({ block: "nearest" });
  };
  switch (ev.key) {
    case "?": showHelp(); break;
    case "j": case "ArrowDown": move(1); break;
    case "k": case "ArrowUp": move(-1); break;
    case "Enter":
      // A focused button or queue row handles its own Enter.
      if (ev.target !== document.body || !state.shown[state.cursor]) return;
      openTicket(state.shown[state.cursor].id);
      break;
    case "c": if (state.current && !$("claim").hidden) $("claim").click(); break;
    case "r": focusReply(); break;
    case "/": $("search").focus(); break;
    default: return;
  }
  ev.preventDefault();
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
      fail(tr("pwDiffer"));
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

function wirePrefs() {
  $("lang").value = LANG;
  $("lang").addEventListener("change", (ev) => {
    try { localStorage.setItem("parley.lang", ev.target.value); } catch (e) { /* storage off */ }
    location.reload();
  });
  for (const name of ["sound", "desktop"]) {
    const box = $("pref-" + name);
    box.checked = pref(name, true);
    box.addEventListener("change", () => {
      setPref(name, box.checked);
      // The browser asks for the permission only after a click.
      if (name === "desktop" && box.checked && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
    });
  }
  if (pref("desktop", true) && "Notification" in window && Notification.permission === "default") {
    document.addEventListener("click", () => Notification.requestPermission(), { once: true });
  }
}

// loadCanned fills the saved replies' menu: the project's and the
// console's, those in the console's language first.
async function loadCanned() {
  state.canned = (await api("GET", "/api/canned")).canned;
  state.canned.sort((a, b) => (a.lang === LANG ? 0 : 1) - (b.lang === LANG ? 0 : 1));
  $("canned").replaceChildren($("canned").options[0],
    ...state.canned.map((c) => el("option", { value: c.id }, c.title + (c.lang && c.lang !== LANG ? " (" + c.lang + ")" : ""))));
}

async function main() {
  await pickLang();
  applyI18n(document);
  state.me = await api("GET", "/api/me");
  state.csrf = state.me.csrf;
  VAR_LABELS = state.me.var_labels || {};
  if (state.me.password_change_required) {
    showPasswordChange();
    return;
  }
  $("me").textContent = state.me.display_name + " (" + label("role", state.me.role) + ")";
  $("dashboard-link").hidden = !(state.me.role === "lead" || state.me.role === "admin");
  $("agents-open").hidden = state.me.role !== "admin";
  $("presence").value = state.me.presence === "away" ? "away" : "online";
  wirePrefs();
  $("replies-open").hidden = !(state.me.role === "lead" || state.me.role === "admin");
  await loadCanned();
  await loadAgents();
  await loadQueue();
  connectLive();
  // A slow safety net for missed events (a sleeping laptop, a proxy hiccup).
  setInterval(() => loadQueue().catch(() => {}), 30000);

  document.addEventListener("keydown", onKey);
  $("help-open").addEventListener("click", showHelp);
  $("help-close").addEventListener("click", () => { $("help").hidden = true; });
  $("agents-open").addEventListener("click", () => openAgents());
  $("agents-close").addEventListener("click", () => { $("agents-panel").hidden = true; });
  $("agent-add").addEventListener("submit", (ev) => {
    ev.preventDefault();
    adminAct(async () => {
      const name = $("aa-name").value.trim();
      const res = await api("POST", "/api/admin/agents", { name, display_name: $("aa-display").value.trim(), role: $("aa-role").value });
      $("aa-name").value = "";
      $("aa-display").value = "";
      showSecret(res.agent.name, res.password);
    });
  });
  $("apikey-add").addEventListener("submit", (ev) => {
    ev.preventDefault();
    adminAct(async () => {
      const scopes = [...$("ak-scopes").querySelectorAll("input:checked")].map((i) => i.value);
      const res = await api("POST", "/api/admin/apikeys", { name: $("ak-name").value.trim(), scopes });
      $("ak-name").value = "";
      $("agents-secret").textContent = tr("keySecret", res.key.name, res.secret);
      $("agents-secret").hidden = false;
    });
  });
  $("back").addEventListener("click", closeTicket);
  $("search").addEventListener("input", search);
  for (const id of ["f-channel", "f-reason", "f-agent", "f-priority"]) $(id).addEventListener("change", renderQueue);
  $("queue-filter").addEventListener("change", (ev) => { state.filter = ev.target.value; loadQueue(); });
  $("presence").addEventListener("change", (ev) => api("POST", "/api/presence", { status: ev.target.value }).catch((e) => alert(e.message)));
  $("logout").addEventListener("click", async () => {
    await api("POST", "/api/logout").catch(() => {});
    location.assign("/console/login");
  });
  $("canned").addEventListener("change", (ev) => {
    const c = state.canned.find((x) => x.id === ev.target.value);
    ev.target.value = "";
    if (c && state.current) insertReply(fillReply(c.text));
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
    await loadHistory(true);
    focusReply();
    await loadQueue();
  }));
  const send = () => act(async () => {
    const text = $("reply-text").value.trim();
    if (!text) return;
    // The channel goes along only when the agent picked another one: the
    // server otherwise follows the customer to where they write now.
    const via = $("reply-via");
    const body = via.value && via.value !== via.dataset.auto ? { text, address: via.value } : { text };
    state.current = await api("POST", "/api/tickets/" + id() + "/reply", body);
    $("reply-text").value = "";
    via.dataset.ticket = "";
    renderTicket();
    await loadHistory(true);
    focusReply();
  });
  $("reply-send").addEventListener("click", send);
  $("reply-via").addEventListener("change", noteReplyVia);
  $("reply-text").addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) send(); });
  $("reply-text").addEventListener("input", agentTyping);
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
    await loadHistory(true);
    await loadQueue();
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  main().catch((e) => {
    if (e.message !== "signed out") showError(e.message);
  });
});
