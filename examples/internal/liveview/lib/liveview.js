// liveview.js: what the live pages of the examples share. It opens the
// stream of snapshots (server-sent events from /events), calls the page
// with each one, and shows the state of the connection; the browser
// reconnects by itself when the stream is lost. No library, nothing from
// the internet: the server's Content-Security-Policy forbids it.
"use strict";

window.liveview = (() => {
  const el = (id) => document.getElementById(id);

  function status(text, cls) {
    const s = el("status");
    if (!s) return;
    s.textContent = text;
    s.className = cls || "";
  }

  // connect calls onSnapshot(value, seq) for every snapshot received.
  function connect(onSnapshot) {
    let lastAt = 0;
    const es = new EventSource("/events");
    es.addEventListener("open", () => status("live", "ok"));
    es.addEventListener("error", () => status("reconnecting…", "warn"));
    es.addEventListener("message", (ev) => {
      lastAt = Date.now();
      status("live", "ok");
      onSnapshot(JSON.parse(ev.data), Number(ev.lastEventId));
    });
    // The program ended, or stopped publishing: say so rather than show
    // old numbers as live ones.
    setInterval(() => {
      if (lastAt && Date.now() - lastAt > 3000) status("no update for " + Math.round((Date.now() - lastAt) / 1000) + " s", "warn");
    }, 1000);
    return es;
  }

  const int = (n) => Math.round(n).toLocaleString("en-US");
  const fixed = (n, d) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  const signed = (n, d) => (n > 0 ? "+" : "") + fixed(n, d);

  // text sets an element's text, only when it changed (no relayout).
  function text(id, v) {
    const e = typeof id === "string" ? el(id) : id;
    if (e && e.textContent !== v) e.textContent = v;
  }

  // rows fills a table body: one row per item, cells(item) giving each
  // cell as a string or as {text, cls}.
  function rows(tbody, items, cells) {
    const body = typeof tbody === "string" ? el(tbody) : tbody;
    while (body.rows.length > items.length) body.deleteRow(-1);
    items.forEach((item, i) => {
      const tr = body.rows[i] || body.insertRow();
      cells(item).forEach((c, j) => {
        const td = tr.cells[j] || tr.insertCell();
        const cell = typeof c === "object" ? c : { text: String(c) };
        text(td, cell.text);
        const cls = cell.cls || "";
        if (td.className !== cls) td.className = cls;
      });
    });
  }

  // fit sizes a canvas's backing store to its displayed size and the
  // screen's pixel ratio, and returns its context in CSS pixels.
  function fit(canvas) {
    const r = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * r) || canvas.height !== Math.round(h * r)) {
      canvas.width = Math.round(w * r);
      canvas.height = Math.round(h * r);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return { ctx, w, h };
  }

  return { el, connect, status, int, fixed, signed, text, rows, fit };
})();
