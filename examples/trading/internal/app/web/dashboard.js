// dashboard.js: the trading dashboard. Each snapshot refreshes the
// numbers and the book, and redraws the latency chart from the history
// the snapshot carries (so a page opened late shows the last minute too).
"use strict";

(() => {
  const lv = window.liveview;
  const canvas = lv.el("chart");
  const series = [
    { key: "p50", color: "#58a6ff" },
    { key: "p99", color: "#e3b341" },
    { key: "p999", color: "#f85149" },
  ];
  let latest = null;

  const price = (p) => (p ? lv.fixed(p, 2) : "–");
  const size = (q) => (q ? lv.int(q) : "–");
  const signCls = (n) => (n > 0 ? "num pos" : n < 0 ? "num neg" : "num");

  // The chart's scale is logarithmic: the median and the tail of a
  // latency distribution lie decades apart, and both matter.
  const decade = (v, up) => Math.pow(10, (up ? Math.ceil : Math.floor)(Math.log10(v)));

  function drawChart(history) {
    const { ctx, w, h } = lv.fit(canvas);
    ctx.clearRect(0, 0, w, h);
    const left = 56, right = 10, top = 8, bottom = 22;
    const pw = w - left - right, ph = h - top - bottom;
    const points = history.filter((p) => p.n > 0);
    const tEnd = history.length ? history[history.length - 1].t : 60;
    const tStart = Math.max(0, tEnd - 60);
    const lo = decade(Math.max(0.1, Math.min(10, ...points.map((p) => p.p50))), false);
    const hi = decade(Math.max(lo * 10, ...points.map((p) => p.p999)), true);
    const x = (t) => left + ((t - tStart) / Math.max(tEnd - tStart, 1)) * pw;
    const y = (v) => top + ph - ((Math.log10(Math.min(Math.max(v, lo), hi)) - Math.log10(lo)) / Math.log10(hi / lo)) * ph;
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    // A labelled line each decade, faint ones at 2 and 5 times it.
    for (let d = lo; d <= hi * 1.001; d *= 10) {
      for (const m of [1, 2, 5]) {
        const v = d * m;
        if (v > hi * 1.001) break;
        const yy = Math.round(y(v)) + 0.5;
        ctx.strokeStyle = m === 1 ? "#30363d" : "#1d232b";
        ctx.beginPath();
        ctx.moveTo(left, yy);
        ctx.lineTo(w - right, yy);
        ctx.stroke();
        ctx.fillStyle = m === 1 ? "#8b949e" : "#5c636b";
        ctx.fillText(lv.int(v) === "0" ? String(v) : lv.int(v), left - 6, yy);
      }
    }
    ctx.fillStyle = "#8b949e";
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const step = tEnd - tStart > 30 ? 10 : tEnd - tStart > 10 ? 5 : 1;
    for (let t = Math.ceil(tStart / step) * step; t <= tEnd; t += step) {
      ctx.fillText(t + " s", x(t), top + ph + 6);
    }
    // One line a percentile; a quarter second with no order breaks it.
    ctx.lineWidth = 1.8;
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.beginPath();
      let pen = false;
      for (const p of history) {
        if (p.n === 0 || p.t < tStart) { pen = false; continue; }
        if (pen) ctx.lineTo(x(p.t), y(p[s.key]));
        else ctx.moveTo(x(p.t), y(p[s.key]));
        pen = true;
      }
      ctx.stroke();
    }
  }

  function update(d) {
    latest = d;
    lv.text("elapsed", lv.fixed(d.elapsed, 1));
    lv.text("rate", lv.int(d.msgRate));
    lv.text("books", d.books + "/" + d.instruments);
    lv.text("polls", lv.int(d.polls));
    for (const k of ["orders", "replaces", "cancels", "fills", "volume", "riskRejects", "exchangeRejects", "position", "gaps", "recoveries", "reconnects"]) {
      lv.text(k, lv.int(d[k]));
    }
    lv.text("rejects", lv.int(d.riskRejects + d.exchangeRejects));
    const pnl = lv.el("pnl");
    lv.text(pnl, lv.signed(d.pnl, 2));
    pnl.className = "value " + (d.pnl > 0 ? "pos" : d.pnl < 0 ? "neg" : "");
    lv.text("p50", lv.fixed(d.latency.p50, 1));
    lv.text("p99", lv.fixed(d.latency.p99, 1));
    lv.text("p999", lv.fixed(d.latency.p999, 1));
    lv.text("count", lv.int(d.latency.n));
    lv.rows("book", d.book, (b) => [
      { text: b.symbol, cls: b.stale ? "stale" : "" },
      { text: size(b.bidQty), cls: "num" }, { text: price(b.bid), cls: "num" },
      { text: price(b.ask), cls: "num" }, { text: size(b.askQty), cls: "num" },
      { text: price(b.last), cls: "num" },
      { text: price(b.quoteBid), cls: "num" }, { text: price(b.quoteAsk), cls: "num" },
      { text: lv.int(b.position), cls: signCls(b.position) },
      { text: lv.int(b.fills), cls: "num" },
      { text: lv.signed(b.pnl, 2), cls: signCls(b.pnl) },
    ]);
    drawChart(d.history);
  }

  lv.connect(update);
  window.addEventListener("resize", () => { if (latest) drawChart(latest.history); });
})();
