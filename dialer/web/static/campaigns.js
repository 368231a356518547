// The campaign list keeps its status, progress and calls/s current.
"use strict";
(() => {
  const words = JSON.parse(document.getElementById("words").textContent);
  async function refresh() {
    const response = await fetch("/api/campaigns?limit=200", { credentials: "same-origin" });
    if (!response.ok) return;
    const { campaigns } = await response.json();
    for (const c of campaigns) {
      const row = document.querySelector(`tr[data-id="${c.id}"]`);
      if (!row) continue;
      const badge = row.querySelector('[data-field="status"]');
      badge.textContent = words.statuses[c.status] || c.status;
      badge.className = "badge s-" + c.status;
      const bar = row.querySelector('[data-field="bar"]');
      bar.max = c.total || 1; bar.value = c.done;
      row.querySelector('[data-field="done"]').textContent = `${c.done} / ${c.total}`;
      row.querySelector('[data-field="rate"]').textContent = c.calls_per_s.toFixed(1);
    }
  }
  if (document.getElementById("campaigns")) setInterval(refresh, 3000);
})();
