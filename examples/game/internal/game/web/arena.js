// arena.js: the spectator page. Each snapshot redraws the arena on the
// canvas and refreshes the numbers; see liveview.js for the stream.
"use strict";

(() => {
  const lv = window.liveview;
  const canvas = lv.el("arena");
  // By sim.Kind: 1 prey, 2 predator, 3 ship, 4 bullet.
  const style = {
    1: { color: "#3fb950", r: 2.4 },
    2: { color: "#f85149", r: 3.6 },
    3: { color: "#e3b341", r: 5.5 },
    4: { color: "#e6edf3", r: 1.4 },
  };
  let latest = null;

  function draw(v) {
    const { ctx, w, h } = lv.fit(canvas);
    ctx.fillStyle = "#0d1117";
    ctx.fillRect(0, 0, w, h);
    // Positions come in tenths of a unit.
    const sx = w / (v.w * 10), sy = h / (v.h * 10);
    // A faint grid, one line every ten units.
    ctx.strokeStyle = "#1b222c";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let u = 10; u < v.w; u += 10) { const x = Math.round(u * 10 * sx) + 0.5; ctx.moveTo(x, 0); ctx.lineTo(x, h); }
    for (let u = 10; u < v.h; u += 10) { const y = Math.round(u * 10 * sy) + 0.5; ctx.moveTo(0, y); ctx.lineTo(w, y); }
    ctx.stroke();
    const a = v.agents;
    // Bullets first, ships last: what matters most is drawn on top.
    for (const kind of [4, 1, 2, 3]) {
      const st = style[kind];
      ctx.fillStyle = st.color;
      ctx.beginPath();
      for (let i = 0; i < a.length; i += 3) {
        if (a[i] !== kind) continue;
        const x = a[i + 1] * sx, y = a[i + 2] * sy;
        ctx.moveTo(x + st.r, y);
        ctx.arc(x, y, st.r, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    // Each player's ship gets a ring and its player's number.
    ctx.font = "12px system-ui, sans-serif";
    ctx.lineWidth = 1.5;
    for (const p of v.players) {
      if (!p.ship) continue;
      const x = p.x * 10 * sx, y = p.y * 10 * sy;
      ctx.strokeStyle = style[3].color;
      ctx.beginPath();
      ctx.arc(x, y, 10, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.fillStyle = style[3].color;
      ctx.fillText("#" + p.id, x + 12, y - 8);
    }
  }

  function update(v) {
    latest = v;
    lv.text("tick", lv.int(v.tick));
    lv.text("elapsed", lv.fixed(v.elapsed, 1));
    lv.text("tps", String(v.tps));
    const i = v.join.lastIndexOf(":");
    lv.text("join", v.join ? "nc " + v.join.slice(0, i) + " " + v.join.slice(i + 1) : "–");
    for (const k of ["prey", "predators", "ships", "bullets"]) lv.text(k, lv.int(v.population[k]));
    for (const k of ["spawned", "died", "kills", "bites", "shots", "hits"]) lv.text(k, lv.int(v.stats[k]));
    lv.text("p50", lv.int(v.tickP50Us) + " µs");
    lv.text("p99", lv.int(v.tickP99Us) + " µs");
    lv.text("tasks", lv.int(v.tasks));
    lv.text("polls", lv.int(v.polls));
    lv.rows("hunters", v.hunters, (h) => [h.kind + " " + h.id, { text: lv.int(h.kills), cls: "num" }]);
    lv.rows("players", v.players, (p) => [
      "#" + p.id, p.addr,
      { text: p.ship ? String(p.hp) : "–", cls: "num" },
      { text: lv.int(p.kills), cls: "num" },
      { text: lv.int(p.commands), cls: "num" },
    ]);
    lv.el("noplayers").hidden = v.players.length > 0;
    draw(v);
  }

  lv.connect(update);
  window.addEventListener("resize", () => { if (latest) draw(latest); });
})();
