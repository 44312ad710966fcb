// Parley lead dashboard: charts of GET /api/stats and the flows of
// GET /api/flows drawn as graphs with their funnel. Plain JavaScript that
// draws inline SVG: no build step, no library, nothing from the internet.
//
// Text from the server (flow and node ids, reasons, agent names) goes onto
// the page only through textContent / text nodes, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";

function make(ns, tag, attrs, children) {
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k === "class" && !ns) e.className = v;
    else if (k === "data") Object.assign(e.dataset, v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c == null) continue;
    e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}
const el = (tag, attrs, ...children) => make(null, tag, attrs, children);
const sv = (tag, attrs, ...children) => make(SVGNS, tag, attrs, children);

async function getJSON(path) {
  const res = await fetch(path, { credentials: "same-origin" });
  if (res.status === 401) {
    location.assign("/console/login");
    throw new Error("signed out");
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

const fmtPct = (v) => (v == null ? "—" : (v * 100).toFixed(1) + "%");
const fmtNum = (v) => (v == null ? "—" : v.toFixed(2));
function fmtDur(s) {
  if (s == null) return "—";
  if (s < 60) return Math.round(s) + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + Math.round(s % 60) + "s";
  return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
}
const dayOf = (iso) => iso.slice(0, 10);
// A day or a week (its Monday) is named MM-DD, a month YYYY-MM.
const shortDay = (d) => (d.length === 7 ? d : d.slice(5));

// flowChosen: the lead picked a flow; until then the busiest is shown.
// seen keeps every filter value met, so a filtered report keeps the others
// choosable.
const state = { me: null, report: null, flows: [], agents: {}, flow: "", flowChosen: false,
  seen: { channel: new Set(), flow: new Set(), reason: new Set() } };

// ---- charts ----

// chartFrame sets up an SVG of w x h with plot margins and a y axis of
// ticks (values) labelled by fmt; it returns the frame helpers.
function chartFrame(svg, w, h, m, yMax, ticks, fmt) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  const pw = w - m.l - m.r, ph = h - m.t - m.b;
  const y = (v) => m.t + ph - (yMax > 0 ? (v / yMax) * ph : 0);
  for (const t of ticks) {
    svg.append(sv("line", { class: "grid", x1: m.l, x2: w - m.r, y1: y(t), y2: y(t) }));
    svg.append(sv("text", { class: "axis-label", x: m.l - 6, y: y(t) + 4, "text-anchor": "end" }, fmt(t)));
  }
  return { pw, ph, y };
}

function emptyNote(svg, w, h, text) {
  svg.append(sv("text", { class: "empty", x: w / 2, y: h / 2, "text-anchor": "middle" }, text));
}

function xLabels(svg, days, x, yPos) {
  const step = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((d, i) => {
    // The last day is always named; the regular label before it gives way
    // when they would touch.
    const last = i === days.length - 1;
    if ((i % step === 0 && (last || days.length - 1 - i >= step / 2 + 0.5)) || last) {
      svg.append(sv("text", { class: "x-label", x: x(i), y: yPos, "text-anchor": "middle" }, shortDay(d.key)));
    }
  });
}

function drawContainment(days) {
  const svg = $("chart-containment");
  const w = 520, h = 220, m = { l: 44, r: 12, t: 12, b: 30 };
  const { pw, y } = chartFrame(svg, w, h, m, 1, [0, 0.25, 0.5, 0.75, 1], (v) => Math.round(v * 100) + "%");
  const x = (i) => m.l + ((i + 0.5) * pw) / Math.max(1, days.length);
  xLabels(svg, days, x, h - 10);
  let d = "", pen = false;
  const points = [];
  days.forEach((row, i) => {
    const v = row.containment_rate;
    if (v == null) { pen = false; return; }
    d += (pen ? " L" : " M") + x(i).toFixed(1) + " " + y(v).toFixed(1);
    pen = true;
    const closed = row.conversations - row.open;
    points.push(sv("circle", { class: "point", cx: x(i), cy: y(v), r: 4, "data-day": row.key, "data-value": v },
      sv("title", {}, `${row.key}: ${fmtPct(v)} contained (${row.contained} of ${closed} closed conversations)`)));
  });
  if (!points.length) {
    emptyNote(svg, w, h, "No finished conversations in this period");
    return;
  }
  svg.append(sv("path", { class: "line", d: d.trim() }), ...points);
}

function drawReasons(byReason) {
  const svg = $("chart-reasons");
  const rows = Object.entries(byReason || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const w = 520, barH = 22, gap = 8, m = { l: 130, r: 48, t: 10, b: 10 };
  const h = Math.max(80, m.t + m.b + rows.length * (barH + gap));
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  if (!rows.length) {
    emptyNote(svg, w, h, "No handoffs in this period");
    return;
  }
  const max = rows[0][1];
  rows.forEach(([reason, n], i) => {
    const yy = m.t + i * (barH + gap);
    const bw = Math.max(2, ((w - m.l - m.r) * n) / max);
    const g = sv("g", { class: "bar-row", "data-reason": reason, "data-count": n });
    g.append(
      sv("text", { class: "bar-label", x: m.l - 8, y: yy + barH * 0.7, "text-anchor": "end" }, reason),
      sv("rect", { class: "bar", x: m.l, y: yy, width: bw, height: barH }, sv("title", {}, `${reason}: ${n}`)),
      sv("text", { class: "bar-value", x: m.l + bw + 6, y: yy + barH * 0.7 }, n),
    );
    svg.append(g);
  });
}

function niceMax(v) {
  if (v <= 0) return 60;
  const steps = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800];
  for (const s of steps) if (v <= s) return s;
  return Math.ceil(v / 86400) * 86400;
}

function drawAFRT(days) {
  const svg = $("chart-afrt");
  const w = 520, h = 220, m = { l: 56, r: 12, t: 12, b: 30 };
  const max = niceMax(Math.max(0, ...days.map((d) => d.afrt_p90_seconds ?? d.afrt_median_seconds ?? 0)));
  const { pw, y } = chartFrame(svg, w, h, m, max, [0, max / 2, max], fmtDur);
  const slot = pw / Math.max(1, days.length);
  const x = (i) => m.l + (i + 0.5) * slot;
  xLabels(svg, days, x, h - 10);
  const bw = Math.max(3, Math.min(28, slot * 0.6));
  let n = 0;
  days.forEach((row, i) => {
    const med = row.afrt_median_seconds;
    if (med == null) return;
    n++;
    svg.append(sv("rect", { class: "bar", x: x(i) - bw / 2, y: y(med), width: bw, height: Math.max(1, y(0) - y(med)),
      "data-day": row.key, "data-value": med },
    sv("title", {}, `${row.key}: median ${fmtDur(med)}, p90 ${fmtDur(row.afrt_p90_seconds)} (${row.tickets} tickets)`)));
    if (row.afrt_p90_seconds != null) {
      svg.append(sv("line", { class: "p90", x1: x(i) - bw / 2 - 3, x2: x(i) + bw / 2 + 3, y1: y(row.afrt_p90_seconds), y2: y(row.afrt_p90_seconds), "data-day": row.key }));
    }
  });
  if (!n) emptyNote(svg, w, h, "No agent replies in this period");
}

function drawCSAT(dist, avg, count) {
  const svg = $("chart-csat");
  const w = 520, h = 220, m = { l: 44, r: 12, t: 18, b: 30 };
  const counts = [1, 2, 3, 4, 5].map((s) => (dist || {})[String(s)] || 0);
  const max = Math.max(1, ...counts);
  const { pw, y } = chartFrame(svg, w, h, m, max, [0, max], (v) => String(Math.round(v)));
  const slot = pw / 5, bw = slot * 0.55;
  counts.forEach((c, i) => {
    const cx = m.l + (i + 0.5) * slot;
    svg.append(
      sv("rect", { class: "bar csat-" + (i + 1), x: cx - bw / 2, y: y(c), width: bw, height: Math.max(c ? 1 : 0, y(0) - y(c)), "data-score": i + 1, "data-count": c },
        sv("title", {}, `${i + 1}★: ${c}`)),
      sv("text", { class: "bar-value", x: cx, y: y(c) - 4, "text-anchor": "middle" }, c),
      sv("text", { class: "x-label", x: cx, y: h - 10, "text-anchor": "middle" }, `${i + 1}★`),
    );
  });
  $("csat-average").textContent = count ? `average ${fmtNum(avg)} from ${count} rating${count === 1 ? "" : "s"}` : "no ratings in this period";
}

// ---- the flow graph ----

// layout places nodes in columns by their BFS depth from the start node;
// nodes not reachable from it go to a last column. Edges to another flow
// ("flow.node") get a small stub node next to their source.
function layout(g) {
  const ids = new Set(g.nodes.map((n) => n.id));
  const out = new Map(g.nodes.map((n) => [n.id, []]));
  for (const e of g.edges) if (out.has(e.from) && ids.has(e.to)) out.get(e.from).push(e.to);
  const depth = new Map();
  const start = ids.has(g.start) ? g.start : g.nodes.length ? g.nodes[0].id : null;
  if (start != null) {
    depth.set(start, 0);
    const queue = [start];
    while (queue.length) {
      const id = queue.shift();
      for (const to of out.get(id)) {
        if (!depth.has(to)) {
          depth.set(to, depth.get(id) + 1);
          queue.push(to);
        }
      }
    }
  }
  let maxD = Math.max(-1, ...depth.values());
  const unreachable = g.nodes.filter((n) => !depth.has(n.id));
  if (unreachable.length) {
    maxD++;
    for (const n of unreachable) depth.set(n.id, maxD);
  }
  const boxes = g.nodes.map((n) => ({ id: n.id, kind: n.kind, label: n.label || "", depth: depth.get(n.id), ext: false }));
  const extSeen = new Map();
  for (const e of g.edges) {
    if (ids.has(e.to) || extSeen.has(e.to) || !depth.has(e.from)) continue;
    const b = { id: e.to, kind: "flow", label: "another flow", depth: depth.get(e.from) + 1, ext: true };
    extSeen.set(e.to, b);
    boxes.push(b);
  }
  const cols = new Map();
  for (const b of boxes) {
    if (!cols.has(b.depth)) cols.set(b.depth, []);
    b.row = cols.get(b.depth).length;
    cols.get(b.depth).push(b);
  }
  return { boxes, cols };
}

const NODE_W = 160, NODE_H = 58, COL_GAP = 64, ROW_GAP = 20, PAD = 16;

function dropLevel(rate) {
  if (rate == null || rate === 0) return 0;
  if (rate < 0.1) return 1;
  if (rate < 0.3) return 2;
  return 3;
}

function drawFlow() {
  const svg = $("flow-graph");
  svg.replaceChildren();
  const name = state.flow;
  const g = state.flows.find((f) => f.flow === name);
  const funnel = (state.report.funnels || []).find((f) => f.flow === name);
  const stats = new Map(((funnel && funnel.nodes) || []).map((n) => [n.node, n]));
  const showFunnel = $("show-funnel").checked;
  drawFunnelTable(funnel);
  if (!g) {
    $("flow-empty").hidden = false;
    $("flow-empty").textContent = name
      ? "The structure of this flow is not available (it is not in the loaded project); its funnel is in the table below."
      : "No flows.";
    svg.setAttribute("width", 0);
    svg.setAttribute("height", 0);
    return;
  }
  $("flow-empty").hidden = true;
  const { boxes, cols } = layout(g);
  const maxRows = Math.max(1, ...[...cols.values()].map((c) => c.length));
  const nCols = Math.max(1, cols.size ? Math.max(...cols.keys()) + 1 : 1);
  const w = PAD * 2 + nCols * NODE_W + (nCols - 1) * COL_GAP;
  const h = PAD * 2 + maxRows * NODE_H + (maxRows - 1) * ROW_GAP + 40;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  svg.append(sv("defs", {}, sv("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    sv("path", { d: "M0 0 L10 5 L0 10 z", class: "arrow" }))));
  const pos = new Map();
  for (const b of boxes) {
    pos.set(b.ext ? "ext:" + b.id : b.id, { x: PAD + b.depth * (NODE_W + COL_GAP), y: PAD + b.row * (NODE_H + ROW_GAP), b });
  }
  const ids = new Set(g.nodes.map((n) => n.id));
  const edges = sv("g", { class: "edges" });
  for (const e of g.edges) {
    const a = pos.get(e.from), b = pos.get(ids.has(e.to) ? e.to : "ext:" + e.to);
    if (!a || !b) continue;
    let d, lx, ly;
    if (b.b.depth > a.b.depth) {
      const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2, mx = (x1 + x2) / 2;
      d = `M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}`;
      lx = x2 - 6; ly = y2 - 5; // next to the arrow head: fan-outs stay readable
    } else {
      // Back or same-column edge: loop below the boxes.
      const x1 = a.x + NODE_W / 2, y1 = a.y + NODE_H, x2 = b.x + NODE_W / 2 + 8, y2 = b.y + NODE_H;
      const dip = Math.max(y1, y2) + 26 + Math.abs(a.b.depth - b.b.depth) * 4;
      d = `M${x1} ${y1} C${x1} ${dip} ${x2} ${dip} ${x2} ${y2}`;
      lx = (x1 + x2) / 2; ly = dip - 6;
    }
    const path = sv("path", { class: "edge" + (b.b.ext ? " ext" : ""), d, "marker-end": "url(#arrow)", "data-from": e.from, "data-to": e.to },
      sv("title", {}, `${e.from} → ${e.to}${e.label ? " (" + e.label + ")" : ""}`));
    edges.append(path);
    if (e.label && e.label !== "next") {
      const t = e.label.length > 22 ? e.label.slice(0, 21) + "…" : e.label;
      edges.append(sv("text", { class: "edge-label", x: lx, y: ly, "text-anchor": b.b.depth > a.b.depth ? "end" : "middle" }, t));
    }
  }
  svg.append(edges);
  for (const [, p] of pos) {
    const b = p.b;
    const st = b.ext ? null : stats.get(b.id);
    const level = st ? dropLevel(st.drop_off_rate) : 0;
    const cls = b.ext ? "node ext" : `node kind-${b.kind}` + (showFunnel ? ` drop-${level}` : "");
    const node = sv("g", { class: cls, transform: `translate(${p.x},${p.y})`, "data-node": b.id, "data-kind": b.kind });
    node.append(sv("rect", { width: NODE_W, height: NODE_H, rx: 6 }));
    node.append(sv("text", { class: "node-id", x: 8, y: 18 }, b.id.length > 22 ? b.id.slice(0, 21) + "…" : b.id));
    node.append(sv("text", { class: "node-kind", x: 8, y: 35 }, b.kind));
    let tip = `${b.id} (${b.kind})${b.label ? "\n" + b.label : ""}`;
    if (showFunnel && !b.ext) {
      const entered = st ? st.entered : 0, dropped = st ? st.dropped_off : 0;
      node.append(sv("text", { class: "node-stats", x: NODE_W - 8, y: 35, "text-anchor": "end" }, `${entered} in · ${dropped} left`));
      if (st && (st.fallbacks || st.handoffs)) {
        node.append(sv("text", { class: "node-extra", x: 8, y: 52 }, `${st.fallbacks} fallbacks · ${st.handoffs} handoffs`));
      }
      const bw = st && st.drop_off_rate ? Math.max(2, (NODE_W - 16) * st.drop_off_rate) : 0;
      if (bw) node.append(sv("rect", { class: "drop-bar", x: 8, y: NODE_H - 4, width: bw, height: 3 }));
      tip += st ? `\nentered by ${entered}; dropped off ${dropped} (${fmtPct(st.drop_off_rate)}); abandoned ${st.abandoned}; fallbacks ${st.fallbacks}; handoffs ${st.handoffs}` : "\nnot entered in this period";
    }
    node.append(sv("title", {}, tip));
    svg.append(node);
  }
}

function drawFunnelTable(funnel) {
  const body = $("funnel-table").querySelector("tbody");
  body.replaceChildren();
  const nodes = (funnel && funnel.nodes) || [];
  if (!nodes.length) {
    body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No conversation entered this flow in the period.")));
    return;
  }
  for (const n of nodes) {
    body.append(el("tr", { data: { node: n.node } }, el("td", {}, n.node), el("td", {}, n.entered), el("td", {}, n.dropped_off),
      el("td", {}, n.abandoned), el("td", {}, fmtPct(n.drop_off_rate)), el("td", {}, n.fallbacks), el("td", {}, n.handoffs)));
  }
}

// ---- tables and totals ----

// KPI_KEYS are the headline figures shown as tiles, in order; one with
// no value in the period and before it (business hours not configured)
// is left out.
const KPI_KEYS = ["conversations", "open", "containment_rate", "provisional.containment_rate", "handoff_rate", "abandon_rate",
  "fallback_rate", "queue_wait_median_seconds", "afrt_median_seconds", "afrt_customer_median_seconds",
  "afrt_business_median_seconds", "resolution_median_seconds", "csat_average"];

function fmtKind(kind, v) {
  if (v == null) return "—";
  if (kind === "rate") return fmtPct(v);
  if (kind === "seconds") return fmtDur(v);
  if (kind === "score") return fmtNum(v);
  return String(v);
}

// fmtChange says how a figure moved against the previous period: rates in
// percentage points, counts and times by the difference and in percent.
function fmtChange(h) {
  if (h.previous == null) return "no previous figure";
  if (h.change == null) return "previous " + fmtKind(h.kind, h.previous);
  const sign = h.change > 0 ? "+" : h.change < 0 ? "−" : "±";
  const abs = Math.abs(h.change);
  let d;
  if (h.kind === "rate") d = (abs * 100).toFixed(1) + " pp";
  else if (h.kind === "seconds") d = fmtDur(abs);
  else if (h.kind === "score") d = abs.toFixed(2);
  else d = String(abs);
  const rel = h.change_ratio != null ? ` (${h.change_ratio > 0 ? "+" : ""}${Math.round(h.change_ratio * 100)}%)` : "";
  return `${sign}${d}${rel} vs ${fmtKind(h.kind, h.previous)}`;
}

function drawKPIs(r) {
  const byKey = new Map((r.headline || []).map((h) => [h.key, h]));
  const tiles = KPI_KEYS.map((k) => byKey.get(k)).filter((h) => h && (h.value != null || h.previous != null || h.kind !== "seconds"));
  $("kpis").replaceChildren(...tiles.map((h) =>
    el("div", { class: "kpi" + (h.key.startsWith("provisional") ? " provisional" : ""), data: { kpi: h.key } },
      el("span", { class: "kpi-value" }, fmtKind(h.kind, h.value)),
      el("span", { class: "kpi-label" }, h.label),
      el("span", { class: "kpi-change" + (h.change > 0 ? " up" : h.change < 0 ? " down" : "") }, fmtChange(h)))));
  $("outcomes").textContent = `${r.conversations} conversations = ${r.contained} contained + ${r.handed_off} handed off + ` +
    `${r.abandoned} abandoned + ${r.returned} returned + ${r.open} open` +
    (r.open ? ` · as they stand, the open ones would make ${r.provisional.contained} contained, ${r.provisional.handed_off} handed off, ${r.provisional.abandoned} abandoned in all` : "");
  $("previous-period").textContent = r.previous_from
    ? `period before (${dayOf(r.previous_from)} – ${dayOf(new Date(Date.parse(r.from) - 86400000).toISOString())})`
    : "previous period";
  $("live-queued").textContent = String(r.live.queued);
  $("live-oldest").textContent = r.live.queued ? fmtDur(r.live.oldest_wait_seconds) : "—";
  $("live-online").textContent = String(r.live.agents_online);
}

function drawBreakdown() {
  const table = $("breakdown-by").value;
  const rows = state.report[table] || [];
  setCSV($("breakdown-csv"), table);
  const body = $("breakdown").querySelector("tbody");
  body.replaceChildren(...rows.map((r) => el("tr", { data: { key: r.key } }, el("th", {}, r.key), el("td", {}, r.conversations),
    el("td", {}, r.open), el("td", {}, r.contained), el("td", {}, r.handed_off), el("td", {}, r.abandoned), el("td", {}, r.returned),
    el("td", {}, fmtPct(r.containment_rate)), el("td", { class: "provisional" }, fmtPct(r.provisional.containment_rate)),
    el("td", {}, fmtPct(r.fallback_rate)), el("td", {}, r.tickets), el("td", {}, fmtDur(r.queue_wait_median_seconds)),
    el("td", {}, fmtDur(r.afrt_median_seconds)), el("td", {}, fmtNum(r.csat_average)))));
}

function drawComments(rows) {
  const body = $("comments-table").querySelector("tbody");
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No comments with the ratings in this period.")));
    return;
  }
  body.replaceChildren(...rows.map((c) => el("tr", { data: { ticket: c.ticket } },
    el("td", {}, c.at.slice(0, 16).replace("T", " ")), el("td", {}, c.score + "★"),
    el("td", {}, state.agents[c.agent] || c.agent || "—"), el("td", { class: "comment" }, c.text))));
}

// query is the report's parameters from the controls; the CSV links and
// /api/stats take the same ones.
function query() {
  const q = new URLSearchParams();
  if ($("from").value) q.set("from", $("from").value);
  if ($("to").value) q.set("to", $("to").value);
  q.set("group", $("group").value);
  for (const f of document.querySelectorAll("select.filter")) if (f.value) q.set(f.dataset.param, f.value);
  return q;
}

function setCSV(a, table) {
  const q = query();
  q.set("table", table);
  a.dataset.table = table;
  a.href = "/api/stats.csv?" + q;
  a.setAttribute("download", "");
}

// fillFilters offers every value the reports have shown, keeping the
// chosen one.
function fillFilters(r) {
  for (const row of r.by_channel || []) state.seen.channel.add(row.key);
  for (const row of r.by_flow || []) state.seen.flow.add(row.key);
  for (const k of Object.keys(r.handoffs_by_reason || {})) state.seen.reason.add(k);
  for (const row of r.by_reason || []) state.seen.reason.add(row.key);
  const fill = (sel, values, label) => {
    const cur = sel.value;
    sel.replaceChildren(el("option", { value: "" }, "all"), ...values.map((v) => el("option", { value: v }, label ? label(v) : v)));
    sel.value = values.includes(cur) ? cur : "";
  };
  fill($("f-channel"), [...state.seen.channel].sort());
  fill($("f-flow"), [...state.seen.flow].sort());
  fill($("f-reason"), [...state.seen.reason].sort());
  fill($("f-agent"), Object.keys(state.agents).sort(), (id) => state.agents[id]);
}

function drawAgents(rows) {
  const body = $("agents-table").querySelector("tbody");
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No tickets held by agents in this period.")));
    return;
  }
  body.replaceChildren(...rows.map((a) => el("tr", { data: { agent: a.agent } }, el("td", {}, state.agents[a.agent] || a.agent),
    el("td", {}, a.tickets), el("td", {}, a.resolved), el("td", {}, fmtDur(a.afrt_median_seconds)), el("td", {}, fmtNum(a.csat_average)))));
}

// fillFlowSelect opens on the busiest flow of the period (most
// conversations entered it) until the lead picks one.
function fillFlowSelect() {
  const funnels = state.report.funnels || [];
  const names = [...new Set([...state.flows.map((f) => f.flow), ...funnels.map((f) => f.flow)])].sort();
  if (!state.flowChosen || !names.includes(state.flow)) {
    const busiest = [...funnels].sort((a, b) => b.conversations - a.conversations || a.flow.localeCompare(b.flow))[0];
    state.flow = busiest ? busiest.flow : names[0] || "";
  }
  $("flow-select").replaceChildren(...names.map((n) => el("option", { value: n }, n)));
  $("flow-select").value = state.flow;
}

function render() {
  const r = state.report;
  fillFilters(r);
  for (const a of document.querySelectorAll("a.csv[data-table]")) setCSV(a, a.dataset.table);
  for (const g of document.querySelectorAll(".group-name")) g.textContent = r.group;
  drawKPIs(r);
  drawContainment(r.by_time || []);
  drawReasons(r.handoffs_by_reason);
  drawAFRT(r.by_time || []);
  drawCSAT(r.csat_distribution, r.csat_average, r.csat_responses);
  fillFlowSelect();
  drawFlow();
  drawBreakdown();
  drawAgents(r.agents || []);
  drawComments(r.csat_comments || []);
  document.body.dataset.ready = "1";
}

async function load() {
  const q = query();
  $("loading").hidden = false;
  document.body.dataset.ready = "";
  $("dash-error").hidden = true;
  try {
    // Agents are turned away before asking for figures they may not see
    // (the API refuses them with 403 anyway).
    if (!state.me) state.me = await getJSON("/api/me");
    if (state.me.role !== "lead" && state.me.role !== "admin") {
      const err = new Error("the dashboard is for leads and admins");
      err.status = 403;
      throw err;
    }
    const [report, flows, agents] = await Promise.all([getJSON("/api/stats?" + q), getJSON("/api/flows"), getJSON("/api/agents")]);
    state.report = report;
    state.flows = flows.flows || [];
    state.agents = Object.fromEntries((agents.agents || []).map((a) => [a.id, a.display_name || a.name]));
    $("from").value = dayOf(report.from);
    $("to").value = dayOf(new Date(Date.parse(report.to) - 86400000).toISOString());
    $("dash").hidden = false;
    render();
  } catch (e) {
    if (e.status === 403) {
      $("denied").hidden = false;
      $("dash").hidden = true;
    } else if (e.message !== "signed out") {
      $("dash-error").textContent = e.message;
      $("dash-error").hidden = false;
    }
  } finally {
    $("loading").hidden = true;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("period").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  $("flow-select").addEventListener("change", (ev) => { state.flow = ev.target.value; state.flowChosen = true; drawFlow(); });
  $("csv-all").replaceChildren(...["headline", "by_time", "by_day", "by_channel", "by_lang", "by_flow", "by_reason", "funnels", "agents", "csat", "csat_comments"]
    .flatMap((t, i) => [i ? " · " : "", el("a", { class: "csv", data: { table: t } }, t)]));
  $("show-funnel").addEventListener("change", drawFlow);
  $("breakdown-by").addEventListener("change", drawBreakdown);
  load();
});
