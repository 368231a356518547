// The supervisors' wall: every agent's presence (a colour and its words), their current call
// (masked), time in state, today's figures, and buttons that force a break, ready or sign-out;
// then the callbacks that need someone. Polls /api/agents every 2 s. Rows are kept by agent,
// so a poll never swaps a button out from under a click.
"use strict";
(() => {
  const { api, el, rows, show, words, ui } = Dialer;
  const tbody = document.querySelector("#wall tbody");
  const heads = [...document.querySelectorAll("#wall thead th")].map((th) => th.textContent);
  const errorBox = document.getElementById("wall-error");
  const lines = new Map(); // number -> { tr, line }
  let failures = 0;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, (slot, name) => (name in values ? values[name] : slot));
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 90) return `${Math.round(seconds)} ${ui.s}`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} ${ui.m}`;
    return `${(seconds / 3600).toFixed(1)} ${ui.h}`;
  }

  function reasonWord(reason) {
    return ui.break_reasons[reason] || words.reasons[reason] || reason;
  }

  // What the colour says, in words too: in a call beats ready.
  function look(line) {
    const p = line.presence;
    if (line.call && p.state !== "BREAK" && p.state !== "OFFLINE") return ["CALL", ui.in_call];
    const state = p.state || "NONE"; // never set: not signed in on a screen yet
    return [state, ui.presence[state] || state];
  }

  function cell(i, attrs, ...children) {
    return el("td", { ...attrs, "data-label": heads[i] }, ...children);
  }

  function newLine(line) {
    const tr = el("tr", { "data-number": line.number });
    const buttons = ["BREAK", "READY", "OFFLINE"].map((state) => {
      const button = el("button", { type: "button", "data-state": state,
        "aria-label": fill(ui.force_label, { action: ui.force[state], agent: line.account || line.number }) },
      ui.force[state]);
      button.addEventListener("click", () => force(line.number, state, button));
      return button;
    });
    tr.append(
      cell(0, { class: "who" }, el("b", {}, line.account || line.number),
        line.account ? el("div", { class: "muted small" }, line.number) : ""),
      cell(1, { class: "presence-cell" }), cell(2, { class: "num", "data-field": "in-state" }), cell(3, { class: "call-cell" }),
      cell(4, { class: "num" }), cell(5, { class: "num" }), cell(6, { class: "num" }), cell(7, { class: "num" }),
      cell(8, { class: "num" }), cell(9, { class: "force" }, el("div", { class: "actions" }, ...buttons)));
    return tr;
  }

  function updateLine(tr, line) {
    const [kind, text] = look(line);
    const p = line.presence;
    const c = tr.children;
    tr.className = "w-" + kind;
    c[1].replaceChildren(el("span", { class: "pdot p-" + kind }), el("b", {}, text),
      p.state === "BREAK" && p.reason ? el("div", { class: "small" }, reasonWord(p.reason)) : "",
      ["READY", "BREAK"].includes(p.state) && !p.screen ? el("div", { class: "small muted" }, ui.no_screen) : "");
    c[2].textContent = duration(line.in_state_s);
    const call = line.call;
    c[3].replaceChildren(...(call ? [el("b", { class: "nowrap" }, ui.states[call.state] || call.state), " ", call.callee_masked,
      el("div", { class: "muted small" }, call.campaign_name || call.campaign)] : ["–"]));
    const t = line.today;
    c[4].textContent = t.calls;
    c[5].textContent = t.connects;
    c[6].textContent = duration(t.talk_s);
    c[7].textContent = duration(t.break_s);
    c[8].textContent = t.missed;
    for (const button of c[9].querySelectorAll("button")) {
      button.disabled = button.dataset.state === p.state;
    }
  }

  function render(doc) {
    const agents = doc.agents;
    const seen = new Set();
    for (const line of agents) {
      seen.add(line.number);
      let tr = lines.get(line.number);
      if (!tr) { tr = newLine(line); lines.set(line.number, tr); }
      updateLine(tr, line);
    }
    for (const [number, tr] of lines) {
      if (!seen.has(number)) { tr.remove(); lines.delete(number); }
    }
    tbody.append(...agents.map((line) => lines.get(line.number)));
    document.getElementById("agents-none").hidden = agents.length > 0;
    const count = { READY: 0, CALL: 0, BREAK: 0, OFFLINE: 0, NONE: 0 };
    for (const line of agents) count[look(line)[0]] += 1;
    document.getElementById("wall-counts").textContent = fill(ui.counts,
      { ready: count.READY, in_call: count.CALL, break: count.BREAK, offline: count.OFFLINE + count.NONE });
    const callbacks = doc.callbacks;
    document.getElementById("wall-callbacks-none").hidden = callbacks.length > 0;
    document.getElementById("wall-callbacks").hidden = callbacks.length === 0;
    const now = Date.now();
    rows(document.querySelector("#wall-callbacks tbody"), callbacks, (cb) => [
      el("td", {}, cb.due),
      el("td", { class: "cb-" + cb.state }, ui.callback_states[cb.state] || cb.state,
        cb.state !== "scheduled" && cb.due_ms < now
          ? el("div", { class: "small" }, fill(ui.overdue, { time: duration((now - cb.due_ms) / 1000) })) : ""),
      el("td", {}, cb.customer_name, el("div", { class: "muted small" }, cb.callee_masked || "")),
      el("td", {}, cb.campaign_name || cb.campaign),
      el("td", {}, cb.owner), el("td", {}, ui.callback_for[cb.for] || cb.for)]);
  }

  async function force(number, state, button) {
    show(errorBox, "");
    button.disabled = true;
    try {
      await api("PUT", `/api/agents/${encodeURIComponent(number)}/presence`,
        { state, reason: state === "READY" ? "" : "Supervisor" });
    } catch (error) {
      show(errorBox, `${ui.failed} ${error.message}`);
      button.disabled = false;
    }
    poll();
  }

  let timer = 0;
  async function poll() {
    clearTimeout(timer);
    try {
      render(await api("GET", "/api/agents"));
      failures = 0;
    } catch (error) {
      failures += 1;
    }
    document.getElementById("wall-stale").hidden = failures < 2;
    timer = setTimeout(poll, 2000);
  }
  poll();
})();
