// Attachments in the agent console: the customer's pictures shown inline
// and other files as download links (GET /api/files/ID, for signed-in
// agents only), and the agent's File… button that sends a file to the customer
// through their channel (POST /api/tickets/ID/files). Kept apart from
// app.js; app.js calls renderFiles for each message, and this file uses
// app.js's state, $, el, act, renderTicket and loadHistory at run time.
"use strict";

// The button's texts are in i18n.js (fileButton, fileAttach), so the
// page's language pass labels it whenever the language is set; these are
// the texts rendered with each message.
const FILE_TEXTS = {
  en: { removed: "removed by the retention policy", file: "file" },
  ru: { removed: "удалён по сроку хранения", file: "файл" },
};

function fileText(key) {
  return ((typeof LANG !== "undefined" && FILE_TEXTS[LANG]) || FILE_TEXTS.en)[key];
}

function fileSize(n) {
  if (n >= 1048576) return (n / 1048576).toFixed(1) + " MB";
  if (n >= 1024) return Math.round(n / 1024) + " KB";
  return n + " B";
}

// renderFiles is the element showing message m's attachments, or null.
// Stored files come as m.files; other references (a sticker, a location, a
// file the channel would not give) stay text.
function renderFiles(m) {
  const files = m.files || [];
  const other = (m.attachments || []).filter((ref) => ref.indexOf(":parley:") < 0);
  if (!files.length && !other.length) return null;
  const box = el("div", { class: "files" });
  for (const f of files) {
    const name = f.name || fileText("file");
    if (!f.url || f.url.indexOf("/api/files/") !== 0) {
      box.append(el("div", { class: "muted" }, name + " — " + fileText("removed")));
    } else if (f.kind === "image") {
      const img = el("img", { class: "att-image", src: f.url, alt: name, loading: "lazy" });
      img.style.maxWidth = "240px";
      img.style.maxHeight = "240px";
      img.style.display = "block";
      box.append(el("a", { class: "att-link", href: f.url, target: "_blank", rel: "noopener" }, img));
    } else {
      box.append(el("a", { class: "att-file", href: f.url, download: name }, name + " (" + fileSize(f.size) + ")"));
    }
  }
  if (other.length) box.append(el("div", { class: "muted" }, tr("attachments") + ": " + other.join(", ")));
  return box;
}

// sendFile sends one file (with the reply box's text, if any) to the
// current ticket's customer, through the channel a reply would take.
async function sendFile(file) {
  const t = state.current;
  const via = $("reply-via");
  let url = "/api/tickets/" + t.id + "/files?name=" + encodeURIComponent(file.name || "");
  const text = $("reply-text").value.trim();
  if (text) url += "&text=" + encodeURIComponent(text);
  if (via && via.value && via.value !== via.dataset.auto) url += "&address=" + encodeURIComponent(via.value);
  const res = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": state.csrf }, body: file });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.statusText);
  state.current = data;
  $("reply-text").value = "";
  renderTicket();
  await loadHistory(true);
}

function setupAttach() {
  const box = document.getElementById("reply-box");
  if (!box || document.getElementById("reply-attach")) return;
  const picker = el("input", { type: "file", id: "reply-file", hidden: "" });
  const button = el("button", { type: "button", id: "reply-attach", class: "plain", title: tr("fileAttach"), "aria-label": tr("fileAttach"),
    "data-i18n": "fileButton", "data-i18n-title": "fileAttach" }, tr("fileButton"));
  box.insertBefore(button, document.getElementById("reply-send"));
  box.append(picker);
  button.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => act(async () => {
    const files = Array.from(picker.files);
    picker.value = "";
    for (const f of files) await sendFile(f);
  }));
}

document.addEventListener("DOMContentLoaded", setupAttach);
