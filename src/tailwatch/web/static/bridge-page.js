/* tailwatch serve, air-bridge page: post the form as a bridge job, follow its progress, then open its result
   page (rendered by the server). Text is set with textContent only; nothing here writes markup. */
"use strict";
(function () {
  const form = document.getElementById("bridge-form");
  const status = document.getElementById("bridge-status");
  if (!form || !status) return;
  const say = (text, cls) => { status.textContent = text; status.className = cls || "muted"; };

  async function call(path, options) {
    const res = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" }, ...(options || {}) });
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) throw new Error((body && body.error) || `${res.status} ${res.statusText}`);
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const name of ["into", "from", "start", "end", "class"]) {
      const value = (form.elements[name].value || "").trim();
      if (value) params.set(name, value);
    }
    say("starting…");
    try {
      let p = await call(`/api/bridge?${params}`, { method: "POST" });
      const deadline = Date.now() + 30 * 60 * 1000;
      while ((p.state === "queued" || p.state === "running") && Date.now() < deadline) {
        say(`${p.stage} (${Math.round((p.fraction || 0) * 100)} %, ${p.elapsed_s} s)`);
        await new Promise((r) => setTimeout(r, 600));
        p = await call(`/api/bridge/jobs/${encodeURIComponent(p.job)}`);
      }
      if (p.state === "done") { window.location.assign(`/bridge/view/${encodeURIComponent(p.job)}`); return; }
      say(p.error || `the bridge ended: ${p.state}`, "error");
    } catch (err) {
      say(err.message, "error");
    }
  });
})();
