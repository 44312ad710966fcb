// Sign-in page of the agent console. The session lives in an HttpOnly
// cookie; this script never sees it. The texts are in i18n.js.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  pickLang().then(() => applyI18n(document)).catch(() => {});
  const form = document.getElementById("login-form");
  const errBox = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errBox.hidden = true;
    const body = {
      name: document.getElementById("login-name").value,
      password: document.getElementById("login-password").value,
    };
    let res;
    try {
      res = await fetch("/api/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      errBox.textContent = tr("unreachable");
      errBox.hidden = false;
      return;
    }
    if (res.ok) {
      location.assign("/console/");
      return;
    }
    let msg = tr("signInFailed");
    try { msg = (await res.json()).error || msg; } catch (e) { /* keep the default */ }
    errBox.textContent = msg;
    errBox.hidden = false;
  });
});
