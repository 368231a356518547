// One's own account: set a password, create an API token (shown once).
"use strict";
(() => {
  const passwordForm = document.getElementById("password-form");
  if (!passwordForm) return; // the console token has no personal account
  const done = document.getElementById("password-done");
  const passwordError = document.getElementById("password-error");
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    Dialer.show(passwordError, "");
    done.hidden = true;
    const input = document.getElementById("new-password");
    try {
      await fetchJson("/api/me/password", { password: input.value });
      input.value = "";
      done.hidden = false;
    } catch (error) { Dialer.show(passwordError, error.message); }
  });
  const tokenForm = document.getElementById("token-form");
  const shown = document.getElementById("token-shown");
  const tokenError = document.getElementById("token-error");
  tokenForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    Dialer.show(tokenError, "");
    try {
      const label = document.getElementById("token-label").value;
      const made = await fetchJson("/api/me/tokens", { label });
      Dialer.show(shown, Dialer.ui.shown_once + " " + made.token);
      document.getElementById("tokens").append(Dialer.el("li", {}, made.label || made.id));
    } catch (error) { Dialer.show(tokenError, error.message); }
  });
  async function fetchJson(path, body) {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch(path, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json", Accept: "application/json" },
    });
    if (response.status === 204) return {};
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || response.statusText);
    return data;
  }
})();
