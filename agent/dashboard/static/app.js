// lineside fleet dashboard. Every value that came from MQTT is put into the
// page with textContent or as an attribute value set through the DOM, never
// parsed as HTML.
"use strict";

const devices = new Map();
const SVG = "http://www.w3.org/2000/svg";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function badge(text, state) {
  const b = el("span", "badge", text);
  if (/^[a-z_]+$/.test(state || "")) b.classList.add(state);
  return b;
}

function num(v, digits) {
  return typeof v === "number" && isFinite(v) ? v.toFixed(digits) : "–";
}

function sparkline(points, lo, hi) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 100 20");
  svg.setAttribute("preserveAspectRatio", "none");
  const pts = (points || []).filter(p => typeof p.v === "number" && isFinite(p.v));
  if (pts.length > 1) {
    let min = lo !== undefined ? lo : Math.min(...pts.map(p => p.v));
    let max = hi !== undefined ? hi : Math.max(...pts.map(p => p.v));
    if (max - min < 1e-9) { max = min + 1; }
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", pts.map((p, i) =>
      (i * 100 / (pts.length - 1)).toFixed(2) + "," + (19 - 18 * (p.v - min) / (max - min)).toFixed(2)).join(" "));
    svg.appendChild(line);
  }
  return svg;
}

function chart(label, series, digits, unit) {
  const c = el("div", "chart");
  const last = series && series.length ? series[series.length - 1].v : null;
  c.append(el("div", "label", label), el("div", "value", num(last, digits) + (unit || "")), sparkline(series));
  return c;
}

function render(d) {
  const card = el("section", "device");
  card.dataset.device = d.key;
  const h = el("h2");
  h.append(el("span", "name", d.key), badge(d.online ? "online" : "offline", d.online ? "on" : "off"));
  card.append(h);
  card.append(el("div", "meta", "lineside " + (d.version || "?") + " · started " + (d.started || "?") +
    " · last message " + new Date(d.seen).toLocaleTimeString()));

  const states = el("div", "meta");
  for (const [kind, m] of [["camera", d.cameras], ["sensor", d.sensors]]) {
    for (const [name, st] of Object.entries(m || {})) {
      states.append(el("span", "", kind + " " + name + " "), badge(st, st), el("span", "", "  "));
    }
  }
  card.append(states);

  const s = d.series || {};
  const charts = el("div", "charts");
  charts.append(chart("fps", s.fps, 1), chart("latency p50", s.latency_p50, 1, " ms"),
    chart("latency p99", s.latency_p99, 1, " ms"), chart("outbox depth", s.outbox_depth, 0),
    chart("drops", s.drops, 0), chart("runway", s.runway_h, 1, " h"), chart("cpu", s.cpu, 0, " %"));
  card.append(charts);

  card.append(el("h3", "", "Latest defects"));
  const defects = el("div", "defects");
  for (const ev of d.defects || []) {
    const box = el("div", "defect");
    if (ev.snapshot) {
      const img = el("img");
      img.alt = "snapshot " + ev.snapshot;
      img.src = "snapshot?device=" + encodeURIComponent(d.key) + "&id=" + encodeURIComponent(ev.snapshot);
      box.append(img);
    }
    box.append(el("div", "label", ev.label + " " + num(ev.score, 2)),
      el("div", "meta", ev.camera + " · " + ev.ts), el("div", "meta", "model " + ev.model_version));
    defects.append(box);
  }
  if (!(d.defects || []).length) defects.append(el("span", "meta", "none yet"));
  card.append(defects);

  const assets = Object.values(d.assets || {});
  card.append(el("h3", "", "Asset health"));
  if (assets.length) {
    const t = el("table", "assets");
    const hr = el("tr");
    for (const c of ["asset", "state", "p_fail", "trend", "model"]) hr.append(el("th", "", c));
    t.append(hr);
    for (const a of assets.sort((x, y) => x.name.localeCompare(y.name))) {
      const tr = el("tr");
      tr.dataset.asset = a.name;
      const st = el("td"); st.append(badge(a.state, a.state));
      const tr2 = el("td"); tr2.append(sparkline(a.trend, 0, 1));
      tr.append(el("td", "", a.name), st, el("td", "pfail", num(a.p_fail, 3)), tr2, el("td", "", a.model_version));
      t.append(tr);
    }
    card.append(t);
  } else {
    card.append(el("span", "meta", "no asset reported"));
  }

  card.append(el("h3", "", "Models"));
  const mt = el("table", "models");
  let upd = {};
  try { upd = (d.updates && d.updates.models) || {}; } catch (e) { upd = {}; }
  for (const [name, version] of Object.entries(d.models || {})) {
    const tr = el("tr");
    const u = upd[name] || {};
    const st = el("td"); if (u.state) st.append(badge(u.state, u.state));
    tr.append(el("td", "", name), el("td", "", version), st, el("td", "meta", u.staged ? "staged " + u.staged : ""),
      el("td", "meta", u.last_error || ""));
    mt.append(tr);
  }
  card.append(mt);
  return card;
}

function redraw() {
  const main = document.getElementById("devices");
  const keys = [...devices.keys()].sort();
  main.replaceChildren(...keys.map(k => render(devices.get(k))));
  if (!keys.length) main.append(el("p", "", "No device has reported yet."));
  const online = keys.filter(k => devices.get(k).online).length;
  document.getElementById("summary").textContent = online + " of " + keys.length + " online";
}

function connect() {
  const conn = document.getElementById("conn");
  const es = new EventSource("api/events");
  es.addEventListener("open", () => { conn.textContent = "live"; conn.className = "badge on"; });
  es.addEventListener("error", () => { conn.textContent = "reconnecting…"; conn.className = "badge off"; });
  es.addEventListener("devices", e => {
    let list;
    try { list = JSON.parse(e.data); } catch (err) { return; }
    if (!Array.isArray(list)) return;
    for (const d of list) if (d && typeof d.key === "string") devices.set(d.key, d);
    redraw();
  });
}

connect();
