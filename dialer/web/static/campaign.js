// One campaign, live: polls the status document every second, shows the controls its status
// allows, why it is not dialling (in the page's words), its callers, and lists the rejected
// and UNKNOWN rows.
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
  const lang = document.documentElement.lang;
  // On a phone the callers' table folds each caller into a small card: its cells carry their
  // column's heading.
  const callerHeads = [...document.querySelectorAll("#callers thead th")].map((th) => th.textContent);
  let lastKey = "";

  // A time on the campaign's clock, its zone named: the times `dialer status` shows.
  function at(ms, zone) {
    try {
      return new Date(ms).toLocaleString(lang, { timeZone: zone, hour12: false }) + ` (${zone})`;
    } catch (error) { return new Date(ms).toLocaleString(lang); }
  }

  function labelled(heads, cells) {
    cells.forEach((cell, i) => cell.setAttribute("data-label", heads[i]));
    return cells;
  }

  // A catalogue sentence with its {name} slots filled.
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, (slot, name) => (name in values ? values[name] : slot));
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 90) return `${Math.round(seconds)} ${ui.s}`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} ${ui.m}`;
    return `${(seconds / 3600).toFixed(1)} ${ui.h}`;
  }

  // Why a running campaign dials nothing now: no live worker, CCC unreachable, or stalled
  // ("" if it dials; waiting has a list of its own).
  function notDialling(s) {
    if (s.activity === "no_workers") {
      return s.workers_last_seen_ms ? fill(ui.no_workers, { time: at(s.workers_last_seen_ms, s.timezone) })
        : ui.no_workers_ever;
    }
    const out = s.ccc_unreachable;
    if (s.activity === "ccc_unreachable" && out) {
      return fill(ui.outage, { time: at(out.since_ms, s.timezone), seconds: out.next_probe_in_s ?? 0 });
    }
    const stall = s.stalled;
    if (s.activity === "stalled" && stall) {
      return fill(ui.stalled, { idle: duration(stall.idle_s), why: words.stall_causes[stall.cause] || stall.cause });
    }
    return "";
  }

  // Every row left waits: for what, how many, until when; and when dialling resumes.
  function showWaiting(s) {
    const box = document.getElementById("waiting");
    const waits = s.activity === "waiting" ? s.waits || [] : [];
    box.hidden = waits.length === 0;
    if (box.hidden) return;
    document.getElementById("waiting-title").textContent = waits[0].for === "records" ? ui.records
      : fill(ui.waiting, { time: s.resumes_at_ms ? at(s.resumes_at_ms, s.timezone) : "–" });
    document.getElementById("waiting-list").replaceChildren(...waits.map((w) => el("li", {},
      fill(words.waits[w.for] || w.for, { rows: w.rows, cap: w.cap, time: at(w.until_ms, s.timezone) }))));
  }

  // Why it is paused: the operator, or a reason code in the page's words and the engine's own text.
  function pausedBy(s) {
    const word = words.reasons[s.pause_code];
    if (s.pause_code === "Operator.Pause") return word;
    return word ? `${word} (${s.pause_reason})` : s.pause_reason;
  }

  function share(part, whole) {
    return whole ? `${(100 * part / whole).toFixed(1)}%` : "–";
  }

  // What the calls came to: customers reached against calls placed, on which contact, rows
  // waiting for another call, and each row's last outcome (the report's figures, live).
  function showResults(s) {
    const c = s.customers || { dialled: 0, reached: 0, calls: 0, agent_misses: 0, funnel: [] };
    document.getElementById("reach").textContent = c.dialled
      ? fill(ui.reach, { reached: c.reached, dialled: c.dialled, share: share(c.reached, c.dialled), calls: c.calls })
      : ui.nobody;
    show(document.getElementById("agent-misses"), c.agent_misses ? fill(ui.misses, { n: c.agent_misses }) : "");
    show(document.getElementById("recycle-wait"), s.retry_waiting && s.retry_next_ms
      ? fill(ui.recycle_wait, { n: s.retry_waiting, time: at(s.retry_next_ms, s.timezone) }) : "");
    const funnel = document.getElementById("funnel");
    funnel.hidden = c.funnel.length === 0;
    rows(funnel.querySelector("tbody"), c.funnel, (f) =>
      [el("th", { scope: "row", class: "num" }, f.contact), el("td", { class: "num" }, f.reached),
       el("td", { class: "num" }, f.reached_so_far), el("td", { class: "num" }, share(f.reached_so_far, c.dialled))]);
    const outcomes = Object.entries(s.outcomes || {});
    if (s.no_record) outcomes.push(["", s.no_record]);
    const recorded = outcomes.reduce((sum, [, n]) => sum + n, 0);
    document.getElementById("outcomes").hidden = outcomes.length === 0;
    document.getElementById("outcomes-none").hidden = outcomes.length > 0;
    rows(document.querySelector("#outcomes tbody"), outcomes, ([o, n]) =>
      [el("th", { scope: "row", title: words.outcome_meanings[o] || "" }, o ? words.outcomes[o] || o : ui.no_record),
       el("td", { class: "num" }, n), el("td", { class: "num" }, share(n, recorded))]);
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
    show(document.getElementById("pause-reason"),
      s.status === "PAUSED" && s.pause_reason ? fill(ui.paused, { reason: pausedBy(s) }) : "");
    show(document.getElementById("resumes-at"), s.activity === "outside_hours" && s.resumes_at_ms
      ? fill(ui.resumes, { time: at(s.resumes_at_ms, s.timezone) }) : "");
    showWaiting(s);
    show(document.getElementById("webhooks-disabled"), (s.webhooks_disabled || []).map((w) =>
      fill(ui.webhook_disabled, { endpoint: w.endpoint, reason: words.reasons[w.reason] || w.reason })).join("; "));
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
    const callers = s.callers || [];
    document.getElementById("callers-card").hidden = callers.length === 0;
    rows(document.querySelector("#callers tbody"), callers, (c) => labelled(callerHeads,
      [el("td", { class: "who" }, c.masked),
       el("td", { "data-now": c.now }, el("span", { class: "dot now-" + c.now.replace(/\W+/g, "-") }), words.caller_now[c.now] || c.now),
       el("td", { class: "num" }, c.calls), el("td", { class: "num" }, c.connected),
       el("td", { class: "num" }, c.calls ? duration(c.talk_s) : "–"),
       el("td", { class: "num" }, `${Math.round(c.busy_share * 100)}%`),
       el("td", c.missed ? { class: "num bad" } : { class: "num" }, c.missed || 0)]));
    showResults(s);
    const key = `${s.counts.REJECTED || 0}/${s.counts.UNKNOWN || 0}`;
    if (key !== lastKey) { lastKey = key; loadRows(); }
  }

  async function loadRows() {
    for (const [state, table, none] of [["REJECTED", "rejected", "rejected-none"], ["UNKNOWN", "unknown", "unknown-none"]]) {
      const { rows: list } = await api("GET", `${base}/rows?state=${state}&limit=200`);
      rows(document.querySelector(`#${table} tbody`), list, (r) =>
        [el("td", { class: "num" }, r.row), el("td", {}, r.callee),
         el("td", {}, ...[r.error_code, r.reconcile_code].filter(Boolean).map((code) =>
           el("div", {}, words.reasons[code] || code, el("div", { class: "muted small" }, code)))),
         el("td", {}, r.error_message)]);
      document.getElementById(none).hidden = list.length > 0;
      document.getElementById(table).hidden = list.length === 0;
    }
  }

  // The campaign's webhook endpoints and their recent deliveries (`dialer webhooks ID`).
  async function loadWebhooks() {
    try {
      const w = await api("GET", `${base}/webhooks?limit=20`);
      document.getElementById("webhooks-card").hidden = w.endpoints.length === 0;
      rows(document.querySelector("#webhook-endpoints tbody"), w.endpoints, (e) =>
        [el("td", {}, `${e.id}: ${e.url}`),
         el("td", e.disabled ? { class: "bad" } : {}, e.disabled ? (words.reasons[e.disabled] || e.disabled) : "✓"),
         el("td", { class: "num" }, e.delivered), el("td", { class: "num" }, e.pending + e.held)]);
      rows(document.querySelector("#webhook-deliveries tbody"), w.deliveries, (d) =>
        [el("td", {}, d.event), el("td", {}, d.endpoint), el("td", {}, d.state),
         el("td", { class: "num" }, d.attempts), el("td", { class: "num" }, d.last_status || ""),
         el("td", {}, d.last_error || "")]);
    } catch (error) { /* the next round tries again */ }
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
  loadWebhooks();
  setInterval(loadWebhooks, 5000);
})();
