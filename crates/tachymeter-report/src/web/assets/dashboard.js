// tachymeter live dashboard: polls /api/v1/dashboard every second and renders it; draws the
// selected histogram's distribution from /api/v1/distribution. No dependencies, no requests
// to other origins (the page's Content-Security-Policy forbids them anyway).
"use strict";

const POLL_MS = 1000;
const TIMEOUT_MS = 2500;
const SVG_NS = "http://www.w3.org/2000/svg";
const NUM = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 4 });
const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const TIME_UNITS = { seconds: 1, milliseconds: 1e-3, microseconds: 1e-6, nanoseconds: 1e-9 };

let selected = null; // series key whose distribution is shown
let lastOk = 0; // Date.now() of the last answer
let lastDoc = null;

function $(id) { return document.getElementById(id); }

// Element with text or children; attributes set as properties or data-*.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) {
    e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function fmtNum(v) { return v == null || !isFinite(v) ? "–" : NUM.format(v); }
function fmtInt(v) { return v == null ? "–" : INT.format(v); }
function fmtRate(v) { return v == null ? "–" : NUM.format(v) + "/s"; }
function fmtPct(ratio) { return ratio == null ? "–" : (ratio * 100).toFixed(2) + "%"; }

// A value in `unit`: durations scaled to ns/µs/ms/s, bytes to KiB/MiB/GiB.
function fmtVal(v, unit) {
  if (v == null || !isFinite(v)) return "–";
  if (unit in TIME_UNITS) {
    const s = v * TIME_UNITS[unit];
    const a = Math.abs(s);
    if (a === 0) return "0";
    if (a < 1e-6) return NUM.format(s * 1e9) + " ns";
    if (a < 1e-3) return NUM.format(s * 1e6) + " µs";
    if (a < 1) return NUM.format(s * 1e3) + " ms";
    return NUM.format(s) + " s";
  }
  if (unit === "bytes") return fmtBytes(v);
  if (unit === "ratio") return fmtPct(v);
  return NUM.format(v) + (unit ? " " + unit : "");
}

function fmtBytes(v) {
  if (v == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return NUM.format(v) + " " + units[i];
}

function fmtSeconds(s) {
  if (s == null) return "–";
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function table(id, head, rows) {
  const t = $(id);
  t.replaceChildren(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
}

function setStatus(cls, text) {
  const s = $("status");
  s.className = "status " + cls;
  s.textContent = text;
  document.body.dataset.status = cls;
}

function render(doc) {
  document.title = doc.title + " — tachymeter";
  $("title").textContent = doc.title;
  $("clock").textContent = "uptime " + fmtSeconds(doc.uptime_seconds) + " · snapshot #" + doc.sequence;
  $("range").textContent = "(last " + fmtSeconds(doc.range_seconds) + ")";
  const s = doc.summary;
  const r = doc.resources;
  const cards = [
    ["requests", fmtInt(s.total_requests)],
    ["throughput", fmtRate(s.throughput)],
    ["error rate", fmtPct(s.error_rate)],
    ["p50", fmtVal(s.p50, s.latency_unit)],
    ["p95", fmtVal(s.p95, s.latency_unit)],
    ["p99", fmtVal(s.p99, s.latency_unit)],
    ["active alerts", String(doc.alerts.length)],
    ["CPU", r ? NUM.format(r.cpu_percent) + "%" : "–"],
    ["memory", r ? NUM.format(r.memory_percent) + "%" : "–"],
    ["process RSS", r ? fmtBytes(r.process_resident_memory_bytes) : "–"],
  ];
  $("cards").replaceChildren(...cards.map(([label, value]) =>
    el("div", { className: "card" }, el("div", { className: "label" }, label),
      el("div", { className: "value" }, value))));
  $("cards").title = s.requests_series ? "requests: " + s.requests_series + " (rolling window)" : "";

  $("alerts").replaceChildren(...(doc.alerts.length === 0
    ? [el("p", { className: "muted" }, "none")]
    : doc.alerts.map((a) => el("div", { className: "alert " + a.severity },
      el("strong", {}, a.alert), " · " + a.severity + " · " + a.metric + " = " +
      fmtNum(a.value) + " (threshold " + fmtNum(a.threshold) + ")"))));

  table("monitors", ["monitor", "requests series", "requests", "throughput", "errors",
    "error rate", "p50", "p95", "p99"], doc.monitors.map((m) => el("tr", {},
    el("td", {}, m.monitor), el("td", { className: "key" }, m.requests_series || "–"),
    el("td", {}, fmtInt(m.requests)), el("td", {}, fmtRate(m.throughput)),
    el("td", {}, fmtInt(m.errors)), el("td", {}, fmtPct(m.error_rate)),
    el("td", {}, fmtVal(m.p50, m.latency_unit)), el("td", {}, fmtVal(m.p95, m.latency_unit)),
    el("td", {}, fmtVal(m.p99, m.latency_unit)))));

  table("series", ["series", "kind", "total / value", "throughput", "window", "p50", "p95",
    "p99"], doc.series.map((row) => {
    const hist = row.kind === "histogram";
    const tr = el("tr", { "data-series": row.series },
      el("td", { className: "key" }, row.series), el("td", {}, row.kind),
      el("td", {}, row.kind === "gauge" ? fmtVal(row.value, row.unit) : fmtInt(row.total)),
      el("td", {}, fmtRate(row.throughput)), el("td", {}, fmtRate(row.window_throughput)),
      el("td", {}, fmtVal(row.p50, row.unit)), el("td", {}, fmtVal(row.p95, row.unit)),
      el("td", {}, fmtVal(row.p99, row.unit)));
    if (hist) {
      tr.className = "selectable" + (row.series === selected ? " selected" : "");
      tr.title = "show the latency distribution";
      tr.addEventListener("click", () => select(row.series));
    }
    return tr;
  }));

  const rs = r ? [
    ["CPU (all cores)", NUM.format(r.cpu_percent) + "%"],
    ["memory", NUM.format(r.memory_percent) + "% of " + fmtBytes(r.memory_total_bytes)],
    ["disk /", r.disk_percent == null ? "–" : NUM.format(r.disk_percent) + "%"],
    ["process CPU", r.process_cpu_percent == null ? "–" : NUM.format(r.process_cpu_percent) + "%"],
    ["process RSS", fmtBytes(r.process_resident_memory_bytes)],
    ["process threads", fmtInt(r.process_threads)],
  ] : [["resource monitor", "not configured"]];
  table("resources", ["reading", "value"], rs.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))));

  const e = doc.engine;
  const health = [
    ["aggregator", e.aggregator_running ? "running" : "stopped", !e.aggregator_running],
    ["aggregator panics", fmtInt(e.aggregator_panics), e.aggregator_panics > 0],
    ["collection time", fmtVal(e.collect_seconds, "seconds"), false],
    ["series", fmtInt(e.series), false],
    ["threads / slots", fmtInt(e.threads_active) + " / " + fmtInt(e.slot_capacity), false],
    ["slot claims", fmtInt(e.slot_claims), false],
    ["overflow claims", fmtInt(e.overflow_claims), e.overflow_claims > 0],
    ["rejected inputs", fmtInt(e.rejected), e.rejected > 0],
    ["saturated values", fmtInt(e.saturated), e.saturated > 0],
    ["below resolution", fmtInt(e.below_resolution), false],
    ["gauge overflows", fmtInt(e.gauge_overflows), e.gauge_overflows > 0],
    ["ring overwritten", fmtInt(e.ring_overwritten), e.ring_overwritten > 0],
    ["ring dropped", fmtInt(e.ring_dropped), e.ring_dropped > 0],
    ["registration errors", fmtInt(e.registration_errors), e.registration_errors > 0],
  ];
  table("engine", ["statistic", "value"], health.map(([k, v, bad]) =>
    el("tr", {}, el("td", {}, k), el("td", { className: bad ? "bad" : "" }, v))));
}

function select(key) {
  selected = key;
  for (const tr of document.querySelectorAll("#series tr[data-series]")) {
    tr.classList.toggle("selected", tr.getAttribute("data-series") === key);
  }
  refreshDistribution();
}

async function getJson(path) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    const resp = await fetch(path, { cache: "no-store", signal: ctl.signal });
    if (!resp.ok) throw new Error(path + ": HTTP " + resp.status);
    return await resp.json();
  } finally {
    clearTimeout(timer);
  }
}

async function refreshDistribution() {
  if (selected == null) return;
  const key = selected;
  let d;
  try {
    d = await getJson("/api/v1/distribution?series=" + encodeURIComponent(key));
  } catch (err) {
    return; // the next poll retries; the status badge reports a dead server
  }
  if (key !== selected) return;
  drawDistribution(d);
}

// A bar per bucket (buckets are log-spaced, so equal widths give a log x axis).
function drawDistribution(d) {
  const box = $("distribution");
  const source = d.source === "range" ? "last " + fmtSeconds(lastDoc ? lastDoc.range_seconds : null) : "since start";
  $("dist-title").textContent = d.series + " (" + source + ")";
  box.dataset.series = d.series;
  if (d.buckets.length === 0) {
    box.replaceChildren(el("p", { className: "muted" }, "no observations yet"));
    return;
  }
  const W = 900, H = 220, L = 50, B = 30, T = 10;
  const n = d.buckets.length;
  const max = Math.max(...d.buckets.map((b) => b[2]));
  const bw = (W - L - 10) / n;
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
  root.append(svg("line", { class: "axis", x1: L, y1: H - B, x2: W - 5, y2: H - B }));
  root.append(svg("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  d.buckets.forEach(([lo, hi, count], i) => {
    const h = max > 0 ? (count / max) * (H - B - T) : 0;
    const bar = svg("rect", { class: "bar", x: (L + i * bw + 0.5).toFixed(1), y: (H - B - h).toFixed(1),
      width: Math.max(bw - 1, 0.5).toFixed(1), height: h.toFixed(1) });
    const tip = svg("title", {});
    tip.textContent = "(" + fmtVal(lo, d.unit) + ", " + fmtVal(hi, d.unit) + "]: " + fmtInt(count);
    bar.append(tip);
    root.append(bar);
  });
  const label = (x, y, text, anchor) => {
    const t = svg("text", { x, y, "text-anchor": anchor });
    t.textContent = text;
    root.append(t);
  };
  label(L - 4, T + 10, fmtInt(max), "end");
  label(L - 4, H - B, "0", "end");
  const ticks = Math.min(n, 6);
  for (let k = 0; k < ticks; k++) {
    const i = Math.round((k * (n - 1)) / Math.max(ticks - 1, 1));
    const anchor = k === 0 ? "start" : k === ticks - 1 ? "end" : "middle";
    const x = k === 0 ? L + i * bw : k === ticks - 1 ? L + (i + 1) * bw : L + (i + 0.5) * bw;
    label(x, H - B + 16, fmtVal(d.buckets[i][1], d.unit), anchor);
  }
  box.replaceChildren(root);
}

async function poll() {
  const started = Date.now();
  try {
    const doc = await getJson("/api/v1/dashboard");
    lastOk = Date.now();
    lastDoc = doc;
    render(doc);
    if (doc.sequence === 0) {
      setStatus("stale", "waiting for the first collection");
    } else if (doc.data_age_seconds > doc.stale_after_seconds) {
      setStatus("stale", "stale: data " + fmtSeconds(doc.data_age_seconds) + " old");
    } else {
      setStatus("live", "live");
    }
    if (selected == null && doc.summary.requests_series) {
      select(doc.summary.requests_series); // until the user picks another series
    } else {
      refreshDistribution();
    }
  } catch (err) {
    const since = lastOk ? " since " + new Date(lastOk).toLocaleTimeString("en-GB") : "";
    setStatus("gone", "process gone: no answer" + since);
  }
  setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
}

poll();
