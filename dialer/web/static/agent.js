// An agent's screen: their presence switch, the card of each call reserved for them (before
// their phone rings: the phone shows only the broker number), the disposition form once the
// call was placed, and their own callbacks. Polls the desk every second while a call is
// reserved or they are ready (every 5 s otherwise) and beats every 10 s, so the dialer knows
// the screen is open. Cards are kept by call, so a poll never wipes what the agent is typing.
"use strict";
(() => {
  const { api, el, show, words, ui } = Dialer;
  const agent = JSON.parse(document.getElementById("agent").textContent);
  const base = "/api/agents/" + encodeURIComponent(agent.number);
  const lang = document.documentElement.lang;
  const template = document.getElementById("call-card");
  const callsBox = document.getElementById("calls");
  const errorBox = document.getElementById("agent-error");
  const reasonsBox = document.getElementById("break-reasons");
  const breakButton = document.getElementById("go-break");
  const cards = new Map(); // "campaign/row" -> { node, call }
  // Words a customer's name may be under, in the sheets agents are given.
  const NAME = /name|姓名|名字|客户名|联系人/i;
  let presence = null;
  let failures = 0;
  let timer = 0;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, (slot, name) => (name in values ? values[name] : slot));
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
    return (h ? h + ":" : "") + mm + ":" + String(s % 60).padStart(2, "0");
  }

  function since(ms) { return clock((Date.now() - ms) / 1000); }

  function at(ms) {
    return new Date(ms).toLocaleString(lang, { dateStyle: "short", timeStyle: "short", hour12: false });
  }

  function reasonWord(reason) {
    return ui.break_reasons[reason] || words.reasons[reason] || reason;
  }

  // --- presence -------------------------------------------------------------------------

  function renderPresence(p) {
    presence = p;
    const state = p.state || "NONE"; // never set: not signed in on a screen yet
    document.getElementById("presence-dot").className = "pdot p-" + state;
    document.getElementById("presence-state").textContent = ui.presence[state] || state;
    document.getElementById("presence-reason").textContent =
      p.state === "BREAK" && p.reason ? "· " + reasonWord(p.reason) : "";
    document.getElementById("presence-for").textContent = p.since_ms ? "· " + since(p.since_ms) : "";
    for (const button of document.querySelectorAll(".switch button")) {
      const current = button === breakButton ? p.state === "BREAK" : button.dataset.state === p.state;
      button.setAttribute("aria-pressed", String(current));
    }
    const banner = p.reason === "System.MissedRings" && !p.missed ? ui.missed_some : ui.banners[p.reason];
    show(document.getElementById("system-banner"),
      p.state !== "READY" && banner ? fill(banner, { count: p.missed }) : "");
    if (!reasonsBox.childElementCount) {
      reasonsBox.replaceChildren(...(p.reasons || []).map((reason) => {
        const button = el("button", { type: "button", class: "big", "data-reason": reason }, reasonWord(reason));
        button.addEventListener("click", () => setPresence("BREAK", reason));
        return button;
      }));
    }
  }

  async function setPresence(state, reason) {
    show(errorBox, "");
    reasonsBox.hidden = true;
    breakButton.setAttribute("aria-expanded", "false");
    try {
      renderPresence(await api("PUT", base + "/presence", { state, reason: reason || "" }));
    } catch (error) { show(errorBox, `${ui.failed} ${error.message}`); }
    poll();
  }

  document.getElementById("go-ready").addEventListener("click", () => setPresence("READY"));
  document.getElementById("go-offline").addEventListener("click", () => setPresence("OFFLINE"));
  breakButton.addEventListener("click", () => {
    reasonsBox.hidden = !reasonsBox.hidden;
    breakButton.setAttribute("aria-expanded", String(!reasonsBox.hidden));
  });

  // --- the call cards -------------------------------------------------------------------

  function field(node, name) { return node.querySelector(`[data-field="${name}"]`); }

  function nameOf(call) {
    const key = Object.keys(call.customer || {}).find((k) => NAME.test(k) && call.customer[k]);
    return key ? [key, call.customer[key]] : ["", call.callee_masked];
  }

  // Built once per call: the customer, the campaign, the codes. Later polls only touch the
  // call's state, its history and whether the form shows.
  function newCard(call, key) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.call = key;
    const [nameKey, name] = nameOf(call);
    field(node, "name").textContent = name;
    field(node, "callee").textContent = call.callee_masked;
    field(node, "columns").replaceChildren(...Object.entries(call.customer || {})
      .filter(([k, v]) => k !== nameKey && v !== "" && v !== null && v !== call.callee_masked)
      .map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
    field(node, "campaign").textContent = call.campaign_name || call.campaign;
    show(field(node, "agent-notes"), call.agent_notes);
    if (call.timezone) field(node, "zone").textContent = fill(ui.zone, { zone: call.timezone });
    const codes = field(node, "codes");
    for (const d of call.dispositions || []) {
      const button = el("button", { type: "button", class: "code a-" + d.action, "aria-pressed": "false", "data-code": d.code },
        // NOT_INTERESTED as "NOT INTERESTED": it wraps between words on a phone.
        el("b", {}, d.code.replace(/_/g, " ")), el("small", {}, ui.actions[d.action] || d.action));
      button.addEventListener("click", () => {
        for (const other of codes.children) other.setAttribute("aria-pressed", String(other === button));
        show(field(node, "form-error"), "");
      });
      codes.append(button);
    }
    const group = "for-" + key.replace(/\W/g, "-");
    field(node, "for-me").name = group;
    field(node, "for-anyone").name = group;
    const form = field(node, "form");
    form.addEventListener("submit", (event) => { event.preventDefault(); submit(key); });
    form.addEventListener("input", () => show(field(node, "form-error"), ""));
    return node;
  }

  function updateCard(entry, call) {
    const { node } = entry;
    entry.call = call;
    node.className = "card call c-" + call.state;
    field(node, "state").textContent = ui.states[call.state] || call.state;
    node.querySelector(".call-state .pdot").className = "pdot c-" + call.state;
    field(node, "state-for").textContent = call.since_ms ? "· " + since(call.since_ms) : "";
    // The desk knows a call was put through, not whether the agent has answered yet.
    field(node, "phone-note").hidden = !["reserved", "ringing", "in_call"].includes(call.state);
    const history = call.history || [];
    field(node, "history-box").hidden = history.length === 0;
    field(node, "history").replaceChildren(...history.map((h) => el("li", {},
      el("span", {}, h.at || at(h.at_ms)), " ",
      el("b", {}, words.outcomes[h.outcome] || h.outcome || ""),
      h.talk_seconds ? ` · ${fill(ui.talk, { time: clock(h.talk_seconds) })}` : "",
      h.agent_masked ? ` · ${fill(ui.by, { agent: h.agent_masked })}` : "",
      h.disposition ? el("span", { class: "badge" }, h.disposition) : "",
      h.notes ? el("div", { class: "notes" }, h.notes) : "")));
    const saved = call.disposition;
    show(field(node, "saved"), saved ? fill(ui.saved, { code: saved.code }) : "");
    // The form once the call was placed: during the call or after it, never before it rings.
    const form = field(node, "form");
    const wasHidden = form.hidden;
    form.hidden = Boolean(saved) || call.state === "reserved";
    if (wasHidden && !form.hidden && call.state === "ended" && !node.contains(document.activeElement)) {
      form.scrollIntoView({ behavior: "smooth", block: "nearest" });
    }
  }

  function renderCalls(calls) {
    const seen = new Set();
    for (const call of calls) {
      const key = `${call.campaign}/${call.row}`;
      seen.add(key);
      let entry = cards.get(key);
      if (!entry) {
        entry = { node: newCard(call, key), call };
        cards.set(key, entry);
      }
      updateCard(entry, call);
    }
    for (const [key, entry] of cards) {
      if (!seen.has(key)) { entry.node.remove(); cards.delete(key); }
    }
    // Newest first, as the desk lists them; append() moves a node that is already there.
    callsBox.append(...calls.map((call) => cards.get(`${call.campaign}/${call.row}`).node));
    const none = document.getElementById("no-call");
    none.hidden = calls.length > 0;
    none.textContent = presence && presence.state === "READY" ? ui.waiting : ui.not_ready;
  }

  async function submit(key) {
    const entry = cards.get(key);
    if (!entry) return;
    const { node, call } = entry;
    const error = field(node, "form-error");
    const chosen = field(node, "codes").querySelector('[aria-pressed="true"]');
    const code = chosen ? call.dispositions.find((d) => d.code === chosen.dataset.code) : null;
    const when = field(node, "callback-at").value;
    if (!code) { show(error, ui.pick_code); return; }
    if (!when && (code.action === "callback" || call.callback_required)) { show(error, ui.need_time); return; }
    const body = { code: code.code, notes: field(node, "notes").value };
    if (when) {
      body.callback_at = when;
      body.callback_for = field(node, "for-anyone").checked ? "anyone" : "me";
    }
    const button = node.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await api("POST",
        `/api/campaigns/${encodeURIComponent(call.campaign)}/rows/${call.row}/disposition`, body);
      node.remove();
      cards.delete(key);
      show(errorBox, "");
      show(document.getElementById("system-banner"), "");
    } catch (failure) {
      show(error, `${ui.failed} ${failure.message}`);
    } finally {
      button.disabled = false;
    }
    poll();
  }

  // --- callbacks ------------------------------------------------------------------------

  function renderCallbacks(list) {
    document.getElementById("callbacks-none").hidden = list.length > 0;
    document.getElementById("callbacks").replaceChildren(...list.map((c) => el("li", { class: "cb-" + c.state },
      el("b", {}, c.due), " ",
      el("span", { class: "badge" }, ui.callback_states[c.state] || c.state), " ",
      el("span", { class: "muted small" }, ui.callback_for[c.for] || c.for),
      el("div", {}, c.customer_name || c.callee_masked || "",
        el("span", { class: "muted small" }, " · " + (c.campaign_name || c.campaign))))));
  }

  // --- polling and the heartbeat ----------------------------------------------------------

  async function poll() {
    clearTimeout(timer);
    let busy = false;
    try {
      const desk = await api("GET", base + "/desk");
      failures = 0;
      renderPresence(desk.presence);
      renderCalls(desk.calls);
      renderCallbacks(desk.callbacks);
      busy = desk.calls.length > 0 || desk.presence.state === "READY";
    } catch (error) {
      failures += 1;
      if (error.status === 403 || error.status === 404) show(errorBox, `${ui.failed} ${error.message}`);
    }
    document.getElementById("offline-banner").hidden = failures < 3;
    timer = setTimeout(poll, busy ? 1000 : 5000);
  }

  // The clocks tick between polls.
  setInterval(() => {
    if (presence && presence.since_ms) {
      document.getElementById("presence-for").textContent = "· " + since(presence.since_ms);
    }
    for (const { node, call } of cards.values()) {
      if (call.since_ms) field(node, "state-for").textContent = "· " + since(call.since_ms);
    }
  }, 1000);

  async function beat() {
    try { await api("POST", base + "/heartbeat"); } catch (error) { /* the desk poll says so */ }
  }
  if (agent.own) {
    beat();
    setInterval(beat, 10_000);
  }
  poll();
})();
