// New campaign: check the sheet with the options (nothing stored), show what would be
// rejected and why, then create the campaign and go to its page.
"use strict";
(() => {
  const { api, el, rows, show, words, ui } = Dialer;
  const form = document.getElementById("new-campaign");
  const fileInput = document.getElementById("file");
  const createButton = document.getElementById("create-button");
  const errorBox = document.getElementById("form-error");
  const busy = document.getElementById("busy");
  const preview = document.getElementById("preview");
  const delimiters = { ",": ui.comma, ";": ui.semicolon, "\t": ui.tab, "|": ui.pipe };
  let checked = false;

  function formData() {
    const data = new FormData();
    for (const field of form.elements) {
      if (!field.name || field.disabled) continue;
      if (field.type === "file") {
        if (field.files.length) data.append(field.name, field.files[0]);
      } else if (field.type === "checkbox") {
        if (field.checked) data.append(field.name, field.value);
      } else if (field.dataset.split) {
        for (const part of field.value.split(/[\s,;，；]+/)) if (part) data.append(field.name, part);
      } else if (field.value.trim()) {
        data.append(field.name, field.value.trim());
      }
    }
    return data;
  }

  function render(p) {
    document.getElementById("pv-file").textContent = p.file;
    document.getElementById("pv-encoding").textContent = p.kind === "xlsx" ? ui.xlsx : p.encoding;
    document.getElementById("pv-delimiter").textContent = p.kind === "xlsx" ? "–" : (delimiters[p.delimiter] || p.delimiter);
    document.getElementById("pv-total").textContent = p.total;
    document.getElementById("pv-accepted").textContent = p.accepted;
    document.getElementById("pv-rejected-count").textContent = p.rejected;
    rows(document.querySelector("#pv-columns tbody"), Object.entries(p.columns), ([field, column]) =>
      [el("td", {}, words.columns[field] || field), el("td", {}, column)]);
    rows(document.querySelector("#pv-brokers tbody"), Object.entries(p.brokers), ([broker, b]) =>
      [el("td", {}, broker), el("td", { class: "num" }, b.rows), el("td", { class: "num" }, b.rate_per_s)]);
    rows(document.querySelector("#pv-rejected tbody"), p.rejected_rows, (r) =>
      [el("td", { class: "num" }, r.row), el("td", {}, words.reasons[r.reason] || r.reason, el("div", { class: "muted small" }, r.reason)),
       el("td", {}, r.detail)]);
    document.getElementById("pv-none-rejected").hidden = p.rejected_rows.length > 0;
    document.getElementById("pv-rejected").hidden = p.rejected_rows.length === 0;
    const fields = ["row", "caller", "callee", "broker", "reason"];
    const head = document.querySelector("#pv-first thead");
    head.replaceChildren(el("tr", {}, ...fields.map((f) => el("th", { scope: "col" }, words.columns[f])),
      ...p.passthrough.map((name) => el("th", { scope: "col" }, name))));
    rows(document.querySelector("#pv-first tbody"), p.first_rows, (r) =>
      [...fields.map((f) => el("td", f === "reason" && r[f] ? { class: "bad" } : {},
         f === "reason" ? (words.reasons[r[f]] || r[f]) : r[f])),
       ...p.passthrough.map((name) => el("td", {}, r[name]))]);
    preview.hidden = false;
  }

  async function check() {
    show(errorBox, "");
    checked = false;
    createButton.disabled = true;
    if (!fileInput.files.length) { show(errorBox, ui.choose_file); return; }
    busy.textContent = ui.checking;
    try {
      render(await api("POST", "/api/campaigns/preview", formData()));
      checked = true;
      createButton.disabled = false;
      preview.scrollIntoView({ behavior: "smooth", block: "start" });
    } catch (error) {
      preview.hidden = true;
      show(errorBox, `${ui.failed} ${error.message}`);
    } finally {
      busy.textContent = "";
    }
  }

  fileInput.addEventListener("change", check);
  document.getElementById("preview-button").addEventListener("click", check);
  // Any option can change what is rejected: the check runs again, and a campaign is created
  // only from options whose check the operator has seen.
  let timer = null;
  form.addEventListener("change", (event) => {
    if (event.target === fileInput) return;
    checked = false;
    clearTimeout(timer);
    if (fileInput.files.length) timer = setTimeout(check, 300);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checked) {
      clearTimeout(timer);
      await check();
      if (checked) busy.textContent = ui.checked_again;
      return;
    }
    createButton.disabled = true;
    busy.textContent = ui.creating;
    try {
      const created = await api("POST", "/api/campaigns", formData());
      location.assign("/campaigns/" + encodeURIComponent(created.id));
    } catch (error) {
      show(errorBox, `${ui.failed} ${error.message}`);
      createButton.disabled = false;
    } finally {
      busy.textContent = "";
    }
  });
  // A sheet chosen before this script ran (a fast hand, a restored form) is checked now.
  if (fileInput.files.length) check();
})();
