// One campaign, live: polls the status document every second, shows the controls its status
// allows, and lists the rejected and UNKNOWN rows.
"use strict";
(() => {
  const { api, el, rows, show, words, ui } = Dialer;
  const campaign = JSON.parse(document.getElementById("campaign").textContent);
  const base = "/api/campaigns/" + encodeURIComponent(campaign.id);
  const allowed = {
    READY: ["start", "cancel"], RUNNING: ["pause", "cancel"], PAUSED: ["resume", "cancel"],
    DONE: [], CANCELLED: [],
  };
  const order = ["PENDING", "QUEUED", "DIALING", "RETRY_WAIT", "DISPATCHED", "FAILED", "UNKNOWN", "CANCELLED", "REJECTED"];
  const errorBox = document.getElementById("control-error");
  let lastKey = "";

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 90) return `${Math.round(seconds)} ${ui.s}`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} ${ui.m}`;
    return `${(seconds / 3600).toFixed(1)} ${ui.h}`;
  }

  // Why a running campaign dials nothing now: no live worker, or CCC unreachable ("" if it dials).
  function notDialling(s) {
    const at = (ms) => new Date(ms).toLocaleTimeString();
    if (s.activity === "no_workers") {
      return s.workers_last_seen_ms ? ui.no_workers.replace("{time}", at(s.workers_last_seen_ms))
        : ui.no_workers_ever;
    }
    const out = s.ccc_unreachable;
    return s.activity === "ccc_unreachable" && out ? ui.outage.replace("{time}", at(out.since_ms))
      .replace("{seconds}", out.next_probe_in_s ?? 0) : "";
  }

  function render(s) {
    const badge = document.getElementById("status");
    badge.textContent = words.statuses[s.status] || s.status;
    badge.className = "badge s-" + s.status;
    const bar = document.getElementById("bar");
    bar.max = s.total || 1; bar.value = s.done;
    document.getElementById("done").textContent = s.done;
    document.getElementById("total").textContent = s.total;
    show(document.getElementById("not-dialling"), notDialling(s));
    // A rate and a time left only while it dials (not paused, waiting or outside its hours).
    document.getElementById("rate").textContent = s.rate_per_s === null ? "–" : s.rate_per_s.toFixed(1);
    document.getElementById("eta").textContent = duration(s.eta_s);
    const reason = words.pause_reasons[s.pause_reason] || s.pause_reason;
    show(document.getElementById("pause-reason"),
      s.status === "PAUSED" && s.pause_reason ? ui.paused.replace("{reason}", reason) : "");
    show(document.getElementById("resumes-at"), s.activity === "outside_hours" && s.resumes_at_ms
      ? ui.resumes.replace("{time}", new Date(s.resumes_at_ms).toLocaleString()) : "");
    for (const button of document.querySelectorAll("#controls button")) {
      button.hidden = !(allowed[s.status] || []).includes(button.dataset.action);
      button.disabled = false;
    }
    rows(document.querySelector("#counts tbody"), order.filter((k) => s.counts[k]), (k) =>
      [el("th", { scope: "row" }, el("span", { class: "dot st-" + k }), words.states[k] || k),
       el("td", { class: "num", "data-state": k }, s.counts[k])]);
    rows(document.querySelector("#brokers tbody"), s.brokers, (b) =>
      [el("td", {}, b.number), el("td", { class: "num" }, b.dispatched),
       el("td", { class: "num" }, b.achieved_per_s.toFixed(2)), el("td", { class: "num" }, b.limit_per_s),
       el("td", { class: "num" }, b.waiting), el("td", b.down ? { class: "bad" } : {}, b.down ? `${ui.down}: ${b.down}` : "")]);
    const key = `${s.counts.REJECTED || 0}/${s.counts.UNKNOWN || 0}`;
    if (key !== lastKey) { lastKey = key; loadRows(); }
  }

  async function loadRows() {
    for (const [state, table, none] of [["REJECTED", "rejected", "rejected-none"], ["UNKNOWN", "unknown", "unknown-none"]]) {
      const { rows: list } = await api("GET", `${base}/rows?state=${state}&limit=200`);
      rows(document.querySelector(`#${table} tbody`), list, (r) =>
        [el("td", { class: "num" }, r.row), el("td", {}, r.callee),
         el("td", {}, words.reasons[r.error_code] || r.error_code, el("div", { class: "muted small" }, r.error_code)),
         el("td", {}, r.error_message)]);
      document.getElementById(none).hidden = list.length > 0;
      document.getElementById(table).hidden = list.length === 0;
    }
  }

  async function poll() {
    try {
      render(await api("GET", base));
    } catch (error) { /* keep the last picture; the next poll tries again */ }
  }

  async function act(action) {
    show(errorBox, "");
    try {
      await api("POST", `${base}/${action}`);
    } catch (error) {
      show(errorBox, `${ui.failed} ${error.message}`);
    }
    await poll();
  }

  const dialog = document.getElementById("confirm-cancel");
  dialog.addEventListener("close", () => { if (dialog.returnValue === "yes") act("cancel"); });
  for (const button of document.querySelectorAll("#controls button")) {
    button.addEventListener("click", () => {
      if (button.dataset.action === "cancel") { dialog.returnValue = ""; dialog.showModal(); }
      else act(button.dataset.action);
    });
  }
  render(campaign.status);
  setInterval(poll, 1000);
})();
