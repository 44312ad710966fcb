// Saved replies managed by leads and admins: the project's (parley.yaml,
// read-only here) and the console's, which they add, edit and delete. The
// server refuses agents; the button is shown to leads only (app.js).
"use strict";

function repliesError(msg) {
  $("replies-error").textContent = msg || "";
  $("replies-error").hidden = !msg;
}

async function openReplies() {
  $("replies-panel").hidden = false;
  editReply(null);
  await loadRepliesTable();
  $("re-title").focus();
}

async function loadRepliesTable() {
  repliesError("");
  let data;
  try {
    data = await api("GET", "/api/canned");
  } catch (e) {
    repliesError(e.message);
    return;
  }
  $("replies-table").tBodies[0].replaceChildren(...data.canned.map((c) => {
    const actions = el("td", {});
    if (c.editable) {
      const ed = el("button", { type: "button", class: "plain edit" }, tr("edit"));
      ed.addEventListener("click", () => editReply(c));
      const rm = el("button", { type: "button", class: "danger remove" }, tr("remove"));
      rm.addEventListener("click", () => repliesAct(async () => {
        if (!confirm(tr("confirmDeleteReply", c.title))) return;
        await api("DELETE", "/api/canned/" + encodeURIComponent(c.id));
      }));
      actions.append(ed, " ", rm);
    } else {
      actions.append(el("span", { class: "muted" }, tr("fromProject")));
    }
    return el("tr", { data: { reply: c.id } },
      el("td", {}, el("strong", {}, c.title), c.lang ? el("span", { class: "muted" }, " (" + c.lang + ")") : null,
        el("div", { class: "reply-text" }, c.text)),
      actions);
  }));
}

// editReply fills the form with c, or empties it for a new reply.
function editReply(c) {
  $("re-id").value = c ? c.id : "";
  $("re-title").value = c ? c.title : "";
  $("re-lang").value = c ? c.lang || "" : "";
  $("re-text").value = c ? c.text : "";
  $("re-heading").textContent = tr(c ? "editReply" : "newReply");
  $("re-cancel").hidden = !c;
  if (c) $("re-title").focus();
}

async function repliesAct(fn) {
  repliesError("");
  try {
    await fn();
  } catch (e) {
    repliesError(e.message);
  }
  await loadRepliesTable();
}

$("replies-open").addEventListener("click", () => openReplies());
$("replies-close").addEventListener("click", () => { $("replies-panel").hidden = true; });
$("re-cancel").addEventListener("click", () => editReply(null));
$("reply-edit").addEventListener("submit", (ev) => {
  ev.preventDefault();
  repliesAct(async () => {
    await api("POST", "/api/canned", { id: $("re-id").value, title: $("re-title").value, text: $("re-text").value, lang: $("re-lang").value });
    editReply(null);
  });
});
