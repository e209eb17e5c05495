// The page: takes files and settings from the operator, hands them to the
// worker (worker.js, where resetwatch's core runs), and draws what comes
// back. It computes nothing about loops itself.

const $ = (sel) => document.querySelector(sel);
const SVG = "http://www.w3.org/2000/svg";

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });

const state = {
  /** The worker's answer for the current files and settings. */
  result: null,
  /** Files picked, in the order given. */
  files: [],
  sort: { key: "pairs", dir: -1 },
  /** The timeline's time range [from, to] in ms, when zoomed. */
  zoom: null,
  busy: false,
  /** The latest request to the worker: answers to older ones are dropped. */
  request: 0,
  /** The worker holds the picked files (a load with a bad configuration reads nothing). */
  loaded: false,
  /** Results shown so far (tests wait on it). */
  runs: 0,
};

/** Sends a request to the worker; only its answer will be shown. */
function ask(message) {
  state.request += 1;
  worker.postMessage({ ...message, id: state.request });
}

// ------------------------------------------------------------ helpers

/** Builds an element: el("td", {class: "num"}, "13"). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, v);
  for (const c of children.flat()) if (c) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const nf = new Intl.NumberFormat("en");
const num = (n) => nf.format(n);

function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let u = -1;
  do {
    n /= 1024;
    u++;
  } while (n >= 1024 && u < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}

/** `2026-11-26T14:17:08.682791Z` -> `2026-11-26 14:17:08`. */
const when = (rfc3339) => (rfc3339 ? `${rfc3339.slice(0, 10)} ${rfc3339.slice(11, 19)}` : "");
/** Milliseconds since the epoch, from RFC 3339. */
const ms = (rfc3339) => Date.parse(rfc3339);

function duration(msec) {
  const s = Math.round(msec / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60 ? `${s % 60} s` : ""}`.trim();
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60 ? `${m % 60} min` : ""}`.trim();
  return `${Math.round(h / 24)} days`;
}

function zoneName(offsetSeconds) {
  if (!offsetSeconds) return "UTC";
  const sign = offsetSeconds < 0 ? "-" : "+";
  const a = Math.abs(offsetSeconds);
  const hh = String(Math.floor(a / 3600)).padStart(2, "0");
  const mm = String(Math.floor((a % 3600) / 60)).padStart(2, "0");
  return `UTC${sign}${hh}:${mm}`;
}

/** Text with `code` spans, as the runbook writes commands. */
function withCode(text) {
  return text.split("`").map((part, i) => (i % 2 ? el("code", { text: part }) : part));
}

const streamName = (r) => `${r.account} > ${r.stream}`;
const keyOf = (r) => JSON.stringify([r.source, r.account, r.stream]);
const SEVERITY_RANK = { critical: 2, warning: 1 };

// ------------------------------------------------------------ settings

const inputs = { window_seconds: $("#window"), warning_pairs: $("#warning"), critical_pairs: $("#critical") };

/** The resetwatch.json the worker gets, or an error message. */
function configText() {
  let doc;
  const extra = $("#extra").value.trim();
  try {
    doc = extra ? JSON.parse(extra) : {};
  } catch (e) {
    return { error: `More options: not JSON (${e.message})` };
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return { error: "More options: must be a JSON object, like {\"line_utc_offset\": \"+01:00\"}" };
  }
  for (const [key, input] of Object.entries(inputs)) {
    if (input.value.trim() === "") continue;
    const n = Number(input.value);
    if (!Number.isFinite(n)) return { error: `${key}: not a number` };
    doc[key] = n;
  }
  return { text: JSON.stringify(doc) };
}

function showConfigError(message) {
  const p = $("#config-error");
  p.hidden = !message;
  p.textContent = message ?? "";
}

let configTimer = 0;
function settingsChanged() {
  clearTimeout(configTimer);
  configTimer = setTimeout(() => {
    const c = configText();
    if (c.error) return showConfigError(c.error);
    showConfigError(null);
    if (!state.files.length) return;
    setBusy(true);
    if (state.loaded) ask({ type: "config", config: c.text });
    else ask({ type: "load", files: state.files, config: c.text });
  }, 350);
}

$("#settings").addEventListener("input", settingsChanged);
$("#settings").addEventListener("submit", (e) => e.preventDefault());

// ------------------------------------------------------------ files

function load(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  const c = configText();
  if (c.error) return showConfigError(c.error);
  showConfigError(null);
  state.files = files;
  state.loaded = false;
  state.result = null;
  state.zoom = null;
  renderLoaded(files.map((f) => ({ name: f.name, size: f.size })));
  setBusy(true);
  progress({ phase: "reading", name: files[0].name, done: 0, total: files.reduce((n, f) => n + f.size, 0) });
  ask({ type: "load", files, config: c.text });
}

$("#files").addEventListener("change", (e) => {
  load(e.target.files);
  e.target.value = "";
});

const drop = $("#drop");
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
}
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  load(e.dataTransfer.files);
});
drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    $("#files").click();
  }
});
// A file dropped beside the target must not replace the page.
for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());

function renderLoaded(files) {
  const ul = $("#loaded");
  ul.replaceChildren(
    ...files.map((f) =>
      el(
        "li",
        { class: f.error ? "failed" : null },
        el("span", { class: "name", text: f.name }),
        el(
          "span",
          { class: "meta" },
          f.bytes !== undefined
            ? `${f.gzip ? `gzip ${bytes(f.size)} → ` : ""}${bytes(f.bytes)}${f.source !== f.name ? ` · source ${f.source}` : ""}`
            : bytes(f.size),
        ),
        f.error ? el("span", { class: "error", text: f.error }) : null,
      ),
    ),
  );
}

function setBusy(busy) {
  state.busy = busy;
  document.body.classList.toggle("busy", busy);
  $("#progress-box").hidden = !busy;
}

function progress({ phase, name, done, total, out }) {
  const p = $("#progress");
  p.max = Math.max(total, 1);
  p.value = done;
  const pct = total ? Math.floor((100 * done) / total) : 100;
  const what = phase === "reading" ? "Reading" : "Analysing";
  const unpacked = out ? ` · ${bytes(out)} unpacked` : "";
  $("#progress-text").textContent = `${what}${name ? ` ${name}` : ""} · ${bytes(done)} of ${bytes(total)} (${pct}%)${unpacked}`;
}

// ------------------------------------------------------------ worker

worker.onmessage = ({ data }) => {
  if (data.id !== undefined && data.id !== state.request) return;
  switch (data.type) {
    case "ready":
      $("#version").textContent = `resetwatch ${data.version}`;
      for (const [key, input] of Object.entries(inputs)) if (input.value === "") input.value = data.settings[key];
      document.body.dataset.ready = "true";
      break;
    case "progress":
      progress(data);
      break;
    case "result":
      state.result = data;
      state.loaded = true;
      setBusy(false);
      renderLoaded(data.files);
      render();
      break;
    case "error":
      if (data.where === "config") {
        setBusy(false);
        showConfigError(data.message);
      } else if (data.where === "start") {
        verdict("bad", "The analyzer did not start.", data.message);
      }
      break;
  }
};
worker.onerror = (e) => verdict("bad", "The analyzer stopped.", e.message ?? String(e));

// ------------------------------------------------------------ results

function render() {
  const r = state.result;
  $("#results").hidden = false;
  renderVerdict(r);
  renderTimeline(r);
  renderTable(r);
  renderAlerts(r);
  state.runs += 1;
  document.body.dataset.runs = String(state.runs);
}

function verdict(kind, headline, ...details) {
  const v = $("#verdict");
  v.className = `verdict ${kind}`;
  v.replaceChildren(el("p", { class: "headline", text: headline }), ...details.filter(Boolean).map((d) => el("p", { class: "detail" }, d)));
}

function renderVerdict(r) {
  const t = r.totals;
  const zone = zoneName(r.settings.line_utc_offset_seconds);
  const span =
    t.first_time && t.last_time
      ? `${when(t.first_time)} → ${when(t.last_time)} ${zone} (${duration(t.last_time_us / 1000 - t.first_time_us / 1000)})`
      : "no timed lines";
  const unknownLayouts = t.unknown_layout_lines
    ? `${num(t.unknown_layout_lines)} NATS event line${t.unknown_layout_lines === 1 ? "" : "s"} came behind a prefix resetwatch does not know (read all the same) on ${t.unknown_layouts
        .map((u) => `${u.source} (${num(u.lines)})`)
        .join(", ")}; the first: ${t.unknown_layouts[0].example}`
    : null;
  const read = `${num(r.files.length)} file${r.files.length === 1 ? "" : "s"} · ${num(t.lines)} lines · ${span} · ${num(t.pairs)} reset pair${t.pairs === 1 ? "" : "s"} · analysed in ${num(r.ms)} ms`;
  const alerted = r.streams.filter((s) => s.severity);
  if (alerted.length) {
    const critical = alerted.some((s) => s.severity === "critical");
    const byStream = new Map();
    for (const s of alerted) {
      const k = streamName(s);
      byStream.set(k, [...(byStream.get(k) ?? []), s.server_name ?? s.source]);
    }
    const names = [...byStream].slice(0, 4).map(([k, where]) => `'${k}' on ${where.join(", ")}`);
    const more = byStream.size > 4 ? ` and ${byStream.size - 4} more` : "";
    const leaking = alerted.filter((s) => s.known_leak === true);
    const versions = [...new Set(leaking.map((s) => s.server_version))].join(", ");
    const leak = !leaking.length
      ? null
      : leaking.length === alerted.length
        ? `On nats-server ${versions}, which reserves max_bytes again on every reset: reserved storage grows with each pair until the disk limit.`
        : `${leaking.length} of them on nats-server ${versions}, which reserves max_bytes again on every reset: reserved storage grows with each pair.`;
    verdict(
      critical ? "bad" : "warn",
      `Reset loop${alerted.length > 1 ? "s" : ""} (${critical ? "critical" : "warning"}): ${names.join("; ")}${more}.`,
      leak,
      unknownLayouts,
      read,
    );
  } else if (r.streams.length) {
    verdict(
      "note",
      `No reset loop: ${num(t.pairs)} reset pair${t.pairs === 1 ? "" : "s"} on ${r.streams.length} stream${r.streams.length === 1 ? "" : "s"}, below ${r.settings.warning_pairs} in ${r.settings.window_seconds} s.`,
      unknownLayouts,
      read,
    );
  } else {
    verdict("ok", "No reset loops.", unknownLayouts, read);
  }
}

// ------------------------------------------------------------ timeline

const LANE_H = 76;
const LABEL_W = 220;
const AXIS_H = 26;
const MAX_LANES = 40;
const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

/** Alert spans of one stream, split where the severity rose: [{from, to, severity}]. */
function firingSpans(alerts, end) {
  const spans = [];
  let open = null;
  for (const a of alerts) {
    const t = ms(a.last_seen);
    if (a.status === "resolved") {
      if (open) spans.push({ ...open, to: t });
      open = null;
    } else if (!open) {
      open = { from: t, severity: a.severity };
    } else if (a.severity !== open.severity) {
      spans.push({ ...open, to: t });
      open = { from: t, severity: a.severity };
    }
  }
  if (open) spans.push({ ...open, to: end });
  return spans;
}

function renderTimeline(r) {
  const box = $("#timeline");
  const rows = r.streams.slice(0, MAX_LANES);
  document.querySelector(".legend").hidden = !rows.length;
  if (!rows.length || r.totals.first_time_us === null) {
    box.replaceChildren(el("p", { class: "none", text: "No reset pairs: nothing to draw." }));
    return;
  }
  const offsetMs = r.settings.line_utc_offset_seconds * 1000;
  const end = r.totals.last_time_us / 1000;
  let [t0, t1] = state.zoom ?? [r.totals.first_time_us / 1000, end];
  if (t1 - t0 < 10_000) {
    t0 -= 5_000;
    t1 += 5_000;
  }
  const width = Math.max(box.clientWidth, 640);
  const plotX = LABEL_W + 8;
  const plotW = width - plotX - 58;
  const x = (t) => plotX + ((t - t0) / (t1 - t0)) * plotW;
  const height = rows.length * LANE_H + AXIS_H;
  const root = svg("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `Reset pairs over time for ${rows.length} stream${rows.length === 1 ? "" : "s"}`,
    class: `chart${state.zoom ? " zoomed" : ""}`,
  });
  root.append(svg("clipPath", { id: "plot-area" }, svg("rect", { x: plotX, y: 0, width: plotW, height })));
  const backgrounds = svg("g", {});

  const pairsBy = new Map();
  for (const p of r.pairs) {
    const k = keyOf(p);
    if (!pairsBy.has(k)) pairsBy.set(k, []);
    pairsBy.get(k).push(p);
  }
  const alertsBy = new Map();
  for (const a of r.alerts) {
    const k = keyOf(a);
    if (!alertsBy.has(k)) alertsBy.set(k, []);
    alertsBy.get(k).push(a);
  }
  const { warning_pairs: warn, critical_pairs: crit } = r.settings;

  rows.forEach((row, i) => {
    const top = i * LANE_H;
    const inner = { top: top + 10, bottom: top + LANE_H - 8 };
    const pairs = pairsBy.get(keyOf(row)) ?? [];
    const alerts = alertsBy.get(keyOf(row)) ?? [];
    const yMax = Math.max(crit, row.peak_in_window, 1) * 1.12;
    const y = (v) => inner.bottom - (v / yMax) * (inner.bottom - inner.top);
    const g = svg("g", { class: "lane", "data-key": keyOf(row) });
    g.addEventListener("click", () => zoomTo(row));
    g.addEventListener("mouseenter", () => highlight(keyOf(row), true));
    g.addEventListener("mouseleave", () => highlight(keyOf(row), false));
    const under = svg("g", { "clip-path": "url(#plot-area)" });
    const over = svg("g", { "clip-path": "url(#plot-area)" });
    backgrounds.append(svg("rect", { class: "lane-bg", x: plotX, y: top + 4, width: plotW, height: LANE_H - 8 }));
    g.append(svg("rect", { class: "lane-frame", x: 0, y: top + 2, width: plotX + plotW, height: LANE_H - 4 }), under);

    for (const s of firingSpans(alerts, end)) {
      const x0 = x(s.from);
      under.append(
        svg(
          "rect",
          { class: `span ${s.severity}`, x: x0, y: top + 4, width: Math.max(x(s.to) - x0, 2), height: LANE_H - 8 },
          svg("title", {}, `${s.severity} from ${new Date(s.from + offsetMs).toISOString().slice(11, 19)}`),
        ),
      );
    }
    for (const [v, cls, label] of [
      [warn, "warn", `warning ${warn}`],
      [crit, "crit", `critical ${crit}`],
    ]) {
      g.append(svg("line", { class: `threshold ${cls}`, x1: plotX, x2: plotX + plotW, y1: y(v), y2: y(v) }));
      g.append(svg("text", { class: `threshold-label ${cls}`, x: plotX + plotW + 4, y: y(v) + 3 }, label));
    }
    // pairs in the window at each pair, as a step line, and the pairs themselves
    if (pairs.length) {
      let d = `M${x(pairs[0].time_us / 1000).toFixed(1)},${y(0).toFixed(1)}`;
      for (const p of pairs) {
        const px = x(p.time_us / 1000).toFixed(1);
        d += `H${px}V${y(p.in_window).toFixed(1)}`;
      }
      over.append(svg("path", { class: "steps", d }));
      const dots = pairs.length <= 3000;
      for (const p of dots ? pairs : []) {
        const level = p.in_window >= crit ? "crit" : p.in_window >= warn ? "warn" : "";
        over.append(
          svg(
            "circle",
            { class: `pair ${level}`, cx: x(p.time_us / 1000), cy: y(p.in_window), r: 3.2 },
            svg("title", {}, `${when(p.time)} · ${p.in_window} in window · ${p.cause}`),
          ),
        );
      }
    }
    for (const a of alerts) {
      const ax = x(ms(a.last_seen));
      over.append(
        svg(
          "path",
          { class: `alert-mark ${a.status === "resolved" ? "resolved" : a.severity}`, d: `M${ax - 5},${top + 4}h10l-5,7z` },
          svg(
            "title",
            {},
            a.status === "resolved"
              ? `resolved: no reset pair for ${r.settings.quiet_seconds} s after this one (${when(a.last_seen)})`
              : `${a.severity} at ${when(a.last_seen)}: ${a.pairs_in_window} pairs in ${a.window_seconds} s`,
          ),
        ),
      );
    }
    const server = row.server_name && row.server_name !== row.source ? ` · ${row.server_name}` : "";
    const version = row.server_version ? ` ${row.server_version}` : "";
    g.append(
      over,
      svg("text", { class: "lane-title", x: 8, y: top + 28 }, fit(row.source + server, 26), svg("title", {}, row.source + server)),
      svg("text", { class: "lane-sub", x: 8, y: top + 46 }, fit(`'${streamName(row)}'`, 30), svg("title", {}, streamName(row))),
      svg("text", { class: "lane-sub", x: 8, y: top + 62 }, fit(`${num(row.pairs)} pairs · peak ${row.peak_in_window}${version ? ` · v${version.trim()}` : ""}`, 30)),
    );
    root.append(g);
  });

  // time axis
  const axisY = rows.length * LANE_H + 4;
  const step = TICK_STEPS.find((s) => (t1 - t0) / s <= plotW / 95) ?? 86_400_000 * Math.ceil((t1 - t0) / 86_400_000 / (plotW / 95));
  const axis = svg("g", { class: "axis" });
  axis.append(svg("line", { x1: plotX, x2: plotX + plotW, y1: axisY, y2: axisY }));
  let lastDay = "";
  for (let t = Math.ceil((t0 + offsetMs) / step) * step - offsetMs; t <= t1; t += step) {
    const iso = new Date(t + offsetMs).toISOString();
    const day = iso.slice(0, 10);
    const label = step < 60_000 ? iso.slice(11, 19) : iso.slice(11, 16);
    axis.append(svg("line", { x1: x(t), x2: x(t), y1: axisY, y2: axisY + 5 }));
    axis.append(svg("line", { class: "grid", x1: x(t), x2: x(t), y1: 4, y2: axisY }));
    axis.append(svg("text", { x: x(t), y: axisY + 17, "text-anchor": "middle" }, day !== lastDay && step >= 3_600_000 ? `${day} ${label}` : label));
    lastDay = day;
  }
  axis.append(svg("text", { x: 8, y: axisY + 17, class: "zone" }, zoneName(r.settings.line_utc_offset_seconds)));
  root.prepend(backgrounds, axis);
  const clock = (t) => new Date(t + offsetMs).toISOString().slice(11, 19);
  const bar = state.zoom
    ? el(
        "p",
        { class: "zoombar" },
        `Zoomed to ${clock(t0)} – ${clock(t1)} `,
        el("button", { type: "button", class: "link", id: "unzoom", text: "show the whole logs" }),
      )
    : el("p", { class: "zoombar hint", text: "Click a stream's lane to zoom to its reset pairs; hover a dot for its time and cause." });
  const parts = [bar, root];
  if (r.streams.length > MAX_LANES) parts.push(el("p", { class: "hint", text: `The ${MAX_LANES} streams with most pairs are drawn; the table has all ${r.streams.length}.` }));
  if (r.totals.pairs_not_kept) parts.push(el("p", { class: "hint", text: `${num(r.totals.pairs_not_kept)} later pairs are counted in the table but not drawn.` }));
  box.replaceChildren(...parts);
}

/** Cuts `text` to `n` characters. */
const fit = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** Zooms the time axis to one stream's pairs (again: back to the whole logs). */
function zoomTo(row) {
  const first = ms(row.first_seen);
  const last = ms(row.last_seen);
  const pad = Math.max((last - first) * 0.08, 5_000);
  const range = [first - pad, last + pad];
  state.zoom = state.zoom && state.zoom[0] === range[0] && state.zoom[1] === range[1] ? null : range;
  renderTimeline(state.result);
}

$("#timeline").addEventListener("click", (e) => {
  if (e.target.id !== "unzoom") return;
  state.zoom = null;
  renderTimeline(state.result);
});

let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => state.result && renderTimeline(state.result), 150);
});

// ------------------------------------------------------------ table

/** Marks one stream's lane and row together. */
function highlight(key, on) {
  for (const e of document.querySelectorAll(".lane[data-key], tr.stream[data-key]")) {
    if (e.dataset.key === key) e.classList.toggle("hl", on);
  }
}

$("#streams tbody").addEventListener("mouseover", (e) => {
  const tr = e.target.closest("tr.stream");
  for (const x of document.querySelectorAll(".hl")) if (x.dataset.key !== tr?.dataset.key) x.classList.remove("hl");
  if (tr) highlight(tr.dataset.key, true);
});
$("#streams tbody").addEventListener("mouseleave", () => {
  for (const x of document.querySelectorAll(".hl")) x.classList.remove("hl");
});

const SORTS = {
  source: (r) => r.source,
  stream: (r) => streamName(r),
  pairs: (r) => r.pairs,
  peak_in_window: (r) => r.peak_in_window,
  first_seen: (r) => ms(r.first_seen),
  last_seen: (r) => ms(r.last_seen),
  last_cause: (r) => r.last_cause,
  severity: (r) => (SEVERITY_RANK[r.severity] ?? 0) * 2 + (r.firing ? 1 : 0),
  known_leak: (r) => (r.known_leak === true ? 2 : r.known_leak === false ? 0 : 1),
};

function sorted(rows) {
  const { key, dir } = state.sort;
  const f = SORTS[key];
  return [...rows].sort((a, b) => {
    const va = f(a);
    const vb = f(b);
    const c = typeof va === "string" ? va.localeCompare(vb) : va - vb;
    return c * dir || b.pairs - a.pairs || a.source.localeCompare(b.source);
  });
}

for (const th of document.querySelectorAll("#streams th[data-key]")) {
  const button = el("button", { type: "button", class: "sort" }, ...th.childNodes);
  th.replaceChildren(button);
  button.addEventListener("click", () => {
    const key = th.dataset.key;
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : ["source", "stream", "last_cause", "first_seen"].includes(key) ? 1 : -1 };
    if (state.result) renderTable(state.result);
  });
}

function leakCell(r) {
  const v = r.server_version ? ` (${r.server_version})` : "";
  if (r.known_leak === true) return el("td", { class: "leak yes" }, `yes${v}`);
  if (r.known_leak === false) return el("td", { class: "leak no" }, `no${v}`);
  return el("td", { class: "leak unknown" }, `unknown${v}`);
}

function renderTable(r) {
  for (const th of document.querySelectorAll("#streams th[data-key]")) {
    th.setAttribute("aria-sort", th.dataset.key === state.sort.key ? (state.sort.dir > 0 ? "ascending" : "descending") : "none");
  }
  const tbody = $("#streams tbody");
  if (!r.streams.length) {
    tbody.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 9, text: "No reset pairs in these files." })));
    return;
  }
  tbody.replaceChildren(
    ...sorted(r.streams).map((s) =>
      el(
        "tr",
        {
          class: `stream ${s.severity ?? "quiet"}`,
          "data-source": s.source,
          "data-account": s.account,
          "data-stream": s.stream,
          "data-key": keyOf(s),
        },
        el("td", { class: "source" }, s.source, s.server_name && s.server_name !== s.source ? el("small", { text: s.server_name }) : null),
        el("td", { class: "name" }, streamName(s)),
        el("td", { class: "num pairs", title: `${s.leaking_pairs} of them with a cause that leaks on affected versions` }, num(s.pairs)),
        el("td", { class: "num peak" }, num(s.peak_in_window)),
        el("td", { class: "time", title: s.first_seen }, when(s.first_seen)),
        el("td", { class: "time", title: s.last_seen }, when(s.last_seen)),
        el("td", { class: "cause", title: s.last_cause }, s.last_cause),
        el(
          "td",
          { class: "severity" },
          s.severity ? el("span", { class: `badge ${s.severity}`, text: s.severity }) : el("span", { class: "badge none", text: "none" }),
          s.severity ? el("small", { text: s.firing ? "firing at end" : "resolved" }) : null,
        ),
        leakCell(s),
      ),
    ),
  );
}

// ------------------------------------------------------------ alerts

function renderAlerts(r) {
  const box = $("#alerts");
  if (!r.alerts.length) {
    box.replaceChildren(
      el("p", { class: "none", text: `No alerts: no stream reached ${r.settings.warning_pairs} reset pairs in ${r.settings.window_seconds} s.` }),
    );
    return;
  }
  const groups = new Map();
  for (const a of r.alerts) {
    const k = keyOf(a);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(a);
  }
  const ordered = [...groups.values()].sort(
    (a, b) =>
      (SEVERITY_RANK[b.at(-1).severity] ?? 0) - (SEVERITY_RANK[a.at(-1).severity] ?? 0) ||
      (a.at(-1).status === "firing" ? 0 : 1) - (b.at(-1).status === "firing" ? 0 : 1) ||
      keyOf(a[0]).localeCompare(keyOf(b[0])),
  );
  const block = (a, latest) =>
    el(
      "div",
      { class: `alert ${a.status} ${a.severity}${latest ? " latest" : ""}` },
      el(
        "p",
        { class: "alert-meta" },
        el("time", { datetime: a.last_seen, text: when(a.last_seen) }),
        ` · ${a.status} ${a.severity} · ${a.pairs_in_window} pairs in ${a.window_seconds} s · ${a.pairs_total} in this episode`,
        a.declined_resets_total ? ` · ${a.declined_resets_total} declined resets` : "",
        a.known_leak === true ? ` · ${a.leaking_resets_total} leaking resets on ${a.server_version}` : "",
      ),
      el("p", { class: "summary", text: a.summary }),
      el(
        "details",
        { class: "runbook", open: latest },
        el("summary", { text: "Runbook" }),
        el("ol", {}, ...a.runbook.map((step) => el("li", {}, ...withCode(step)))),
      ),
    );
  box.replaceChildren(
    ...ordered.map((alerts) => {
      const last = alerts.at(-1);
      const earlier = alerts.slice(0, -1);
      const where = last.server_name && last.server_name !== last.source ? `${last.server_name} (${last.source})` : last.source;
      return el(
        "article",
        { class: `alert-group ${last.severity}`, "data-key": keyOf(last) },
        el(
          "h3",
          {},
          el("span", { class: `badge ${last.severity}`, text: last.severity }),
          ` '${streamName(last)}' on ${where}`,
          el("span", { class: "status", text: last.status === "firing" ? "still firing at the end of the logs" : `resolved: no pair for ${r.settings.quiet_seconds} s after ${when(last.last_seen)}` }),
        ),
        block(last, true),
        earlier.length
          ? el(
              "details",
              { class: "earlier" },
              el(
                "summary",
                {},
                `${earlier.length} earlier alert${earlier.length === 1 ? "" : "s"}: `,
                earlier.map((a) => `${a.status === "resolved" ? "resolved after" : a.severity} at ${when(a.last_seen).slice(11)}`).join(", "),
              ),
              ...earlier.map((a) => block(a, false)),
            )
          : null,
      );
    }),
  );
}
