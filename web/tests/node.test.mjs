// The JS package straight from Node (dist/js-node/, built by `cargo xtask web`):
// the real s05 reset loop, a healthy rolling restart, a bad configuration.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(import.meta.url);
const { Analyzer, sourceOfFile, version } = require(path.join(root, "dist/js-node/resetwatch.js"));

const corpus = (scenario, node) => readFileSync(path.join(root, "tests/data/corpus", scenario, `${node}.log`));
const S05 = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";
const S01 = "s01_healthy_rolling_restart_v2.10.25";

/** Feeds whole files as text, in chunks of `size` characters. */
function analyse(files, { config, size = 1 << 16 } = {}) {
  const a = new Analyzer(config);
  for (const [source, bytes] of files) {
    const text = bytes.toString("utf8");
    for (let i = 0; i < text.length; i += size) a.feedLines(source, text.slice(i, i + size));
  }
  a.finish();
  return a;
}

test("version is the crate's", () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test("the s05 loop: $G > ORDERS critical on n1 and n2, known leak", () => {
  const a = analyse([
    ["n1", corpus(S05, "n1")],
    ["n2", corpus(S05, "n2")],
  ]);
  const alerts = a.alerts();
  assert.deepEqual(
    alerts.map((x) => [x.source, x.severity, x.pairs_total]),
    [
      ["n1", "warning", 3],
      ["n1", "critical", 10],
      ["n2", "warning", 3],
      ["n2", "critical", 10],
    ],
  );
  for (const node of ["n1", "n2"]) {
    const last = alerts.filter((x) => x.source === node).at(-1);
    assert.equal(`${last.account} > ${last.stream}`, "$G > ORDERS");
    assert.equal(last.severity, "critical");
    assert.equal(last.status, "firing");
    assert.equal(last.known_leak, true);
    assert.equal(last.server_version, "2.10.25");
    assert.equal(last.server_name, node);
    assert.match(last.last_cause, /^catchup aborted, no leader/);
    assert.match(last.summary, /^Stream '\$G > ORDERS' on n\d is in a reset loop/);
    assert.ok(last.runbook.some((step) => step.includes("restore its quorum first")));
  }

  const rows = a.streams();
  assert.deepEqual(
    rows.map((r) => [r.source, r.account, r.stream, r.pairs, r.severity, r.known_leak, r.firing]),
    [
      ["n1", "$G", "ORDERS", 13, "critical", true, true],
      ["n2", "$G", "ORDERS", 13, "critical", true, true],
    ],
  );
  assert.ok(rows.every((r) => r.peak_in_window === 13 && r.alert_spans.length === 1 && r.alert_spans[0][1] === null));

  const pairs = a.pairs();
  assert.equal(pairs.length, 26);
  const n1 = pairs.filter((p) => p.source === "n1");
  assert.deepEqual(
    n1.map((p) => p.in_window),
    Array.from({ length: 13 }, (_, i) => i + 1),
  );
  assert.equal(Date.parse(n1[0].time), Math.floor(n1[0].time_us / 1000));

  const t = a.totals();
  assert.equal(t.pairs, 26);
  assert.equal(t.first_time.slice(0, 10), "2026-11-26");
  assert.ok(t.lines > 100 && t.events > 26);
  a.free();
});

test("event lines behind an unknown prefix are read and counted per source", () => {
  // s05's lines as `docker compose logs` prints them (`n1-1  | <line>`)
  const prefixed = (node) => Buffer.from(corpus(S05, node).toString("utf8").replace(/^/gm, `${node}-1  | `));
  const a = analyse([["n1", prefixed("n1")], ["n2", prefixed("n2")]]);
  const t = a.totals();
  assert.deepEqual(t.unknown_layouts.map((u) => u.source), ["n1", "n2"]);
  assert.equal(t.unknown_layout_lines, t.unknown_layouts.reduce((n, u) => n + u.lines, 0));
  assert.ok(t.unknown_layouts[0].example.startsWith("n1-1  | [8368] 2026/11/26 14:17:08.682791 [WRN] Error applying entries"));
  assert.ok(a.streams().some((s) => s.source === "n1" && s.severity === "critical"));
  const plain = analyse([["n1", corpus(S05, "n1")]]).totals();
  assert.equal(plain.unknown_layout_lines, 0);
  assert.deepEqual(["n1.log", "n1.log.1", "n1.log.2.gz", "n1.log.2026.11.26.14.17.08.123456789"].map(sourceOfFile), ["n1", "n1", "n1", "n1"]);
  a.free();
});

test("chunking and bytes: one-character chunks and Uint8Array read the same", () => {
  const files = [
    ["n1", corpus(S05, "n1")],
    ["n2", corpus(S05, "n2")],
  ];
  const whole = analyse(files).alerts();
  assert.deepEqual(analyse(files, { size: 1 }).alerts(), whole);
  const b = new Analyzer();
  for (const [source, bytes] of files) {
    for (let i = 0; i < bytes.length; i += 4096) b.feedBytes(source, new Uint8Array(bytes.subarray(i, i + 4096)));
  }
  b.finish();
  assert.deepEqual(b.alerts(), whole);
});

test("thresholds come from the configuration", () => {
  // (leak_pairs too: on 2.10.25 the leak rule fires at the 3rd leaking reset)
  const a = analyse([["n1", corpus(S05, "n1")]], { config: JSON.stringify({ warning_pairs: 20, critical_pairs: 30, leak_pairs: 20 }) });
  assert.deepEqual(a.alerts(), []);
  assert.equal(a.streams()[0].pairs, 13);
  assert.equal(a.streams()[0].severity, null);
  assert.deepEqual(
    { w: a.settings().warning_pairs, c: a.settings().critical_pairs, l: a.settings().leak_pairs, win: a.settings().window_seconds },
    { w: 20, c: 30, l: 20, win: 300 },
  );
  // a window of 20 s holds at most 5 pairs ~5 s apart: warning, never critical
  const b = analyse([["n1", corpus(S05, "n1")]], { config: '{"window_seconds": 20}' });
  assert.deepEqual([...new Set(b.alerts().map((x) => x.severity))], ["warning"]);
});

test("a healthy rolling restart raises nothing", () => {
  const a = analyse(["n1", "n2", "n3"].map((n) => [n, corpus(S01, n)]));
  assert.deepEqual(a.alerts(), []);
  assert.deepEqual(a.streams(), []);
  assert.deepEqual(a.pairs(), []);
  assert.ok(a.totals().lines > 100);
});

test("a bad configuration throws an Error naming the key", () => {
  assert.throws(() => new Analyzer('{"window_seconds": "5m"}'), (e) => e instanceof Error && e.message.includes("`window_seconds`"));
  assert.throws(() => new Analyzer('{"windw_seconds": 5}'), /`windw_seconds`/);
  assert.throws(() => new Analyzer("not json"), Error);
  // absent or empty means the defaults
  assert.equal(new Analyzer().settings().window_seconds, 300);
  assert.equal(new Analyzer("").settings().critical_pairs, 10);
});
