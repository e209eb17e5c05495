// The log explorer end to end, in real headless Chromium (Debian's
// /usr/bin/chromium, or $CHROMIUM) driven by playwright-core: the page is
// served from web/ by a static server started here, fed the real s05 reset
// loop (plain and gzip) and a healthy run, and looked at. A screenshot of the
// loop goes to target/web-e2e.png.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile, mkdtemp, writeFile, mkdir, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const webDir = path.join(root, "web");
const corpus = (scenario, node) => path.join(root, "tests/data/corpus", scenario, `${node}.log`);
const S05 = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";
const S01 = "s01_healthy_rolling_restart_v2.10.25";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

let server;
let origin;
let browser;
let page;
let tmp;
/** Every URL the page asked for. */
const requested = [];

before(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const rel = decodeURIComponent(url.pathname).replace(/^\/+/, "") || "index.html";
    const file = path.resolve(webDir, rel);
    if (!file.startsWith(webDir + path.sep) || rel.split("/").some((p) => p.startsWith("."))) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;

  tmp = await mkdtemp(path.join(tmpdir(), "resetwatch-e2e-"));
  await writeFile(path.join(tmp, "n2.log.gz"), gzipSync(readFileSync(corpus(S05, "n2"))));

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1360, height: 900 }, colorScheme: "light" });
  page.on("request", (r) => requested.push(r.url()));
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto(`${origin}/`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Sets the files on the input and waits for the worker's answer. */
async function analyse(files) {
  const runs = await page.evaluate(() => Number(document.body.dataset.runs ?? 0));
  await page.setInputFiles("#files", files);
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, runs, { timeout: 60_000 });
}

async function streamRows() {
  return page.$$eval("#streams tbody tr.stream", (trs) =>
    trs.map((tr) => [tr.dataset.source, tr.dataset.account, tr.dataset.stream, tr.querySelector("td.pairs").textContent]),
  );
}

test("the s05 loop: both ORDERS replicas in the table, alerts with runbooks, a timeline", { timeout: 120_000 }, async () => {
  await analyse([corpus(S05, "n1"), corpus(S05, "n2")]);
  assert.deepEqual(await streamRows(), [
    ["n1", "$G", "ORDERS", "13"],
    ["n2", "$G", "ORDERS", "13"],
  ]);
  const cells = await page.$$eval("#streams tbody tr.stream", (trs) =>
    trs.map((tr) => [tr.querySelector(".peak").textContent, tr.querySelector(".severity .badge").textContent, tr.querySelector(".leak").textContent]),
  );
  assert.deepEqual(cells, [
    ["13", "critical", "yes (2.10.25)"],
    ["13", "critical", "yes (2.10.25)"],
  ]);

  const verdict = await page.textContent("#verdict .headline");
  assert.match(verdict, /^Reset loops? \(critical\): '\$G > ORDERS' on n1, n2/);

  const summaries = await page.$$eval("#alerts .alert .summary", (ps) => ps.map((p) => p.textContent));
  assert.equal(summaries.length, 4, "warning and critical on each of n1 and n2");
  for (const node of ["n1", "n2"]) {
    assert.ok(
      summaries.some((s) =>
        s.startsWith(`Stream '$G > ORDERS' on ${node} is in a reset loop (10 reset pairs in 300s, cause: catchup aborted, no leader`),
      ),
      `critical summary for ${node}`,
    );
  }
  const openRunbooks = await page.$$eval("#alerts details.runbook[open] li", (lis) => lis.map((li) => li.textContent));
  assert.ok(openRunbooks.some((s) => s.includes("restore its quorum first")));
  assert.ok(openRunbooks.some((s) => s.includes("Upgrade nats-server to 2.10.26")));

  assert.equal(await page.locator("#timeline svg.chart g.lane").count(), 2);
  assert.equal(await page.locator("#timeline svg.chart circle.pair").count(), 26);
  assert.equal(await page.locator("#timeline svg.chart rect.span.critical").count(), 2);
  assert.equal(await page.locator("#timeline svg.chart line.threshold").count(), 4);

  await mkdir(path.join(root, "target"), { recursive: true });
  await page.screenshot({ path: path.join(root, "target/web-e2e.png"), fullPage: true });
});

test("the table sorts by a clicked header", async () => {
  await page.click("#streams th[data-key=source] button");
  assert.deepEqual((await streamRows()).map((r) => r[0]), ["n1", "n2"]);
  assert.equal(await page.getAttribute("#streams th[data-key=source]", "aria-sort"), "ascending");
  await page.click("#streams th[data-key=source] button");
  assert.deepEqual((await streamRows()).map((r) => r[0]), ["n2", "n1"]);
  assert.equal(await page.getAttribute("#streams th[data-key=source]", "aria-sort"), "descending");
});

test("a lane zooms the timeline to its pairs and back", async () => {
  await page.click("#timeline g.lane >> nth=0");
  assert.match(await page.textContent("#timeline .zoombar"), /^Zoomed to 14:17:0\d – 14:18:1\d/);
  await page.click("#unzoom");
  assert.match(await page.textContent("#timeline .zoombar"), /^Click a stream's lane/);
});

test("new thresholds re-run on the loaded files; a bad option names its key", { timeout: 60_000 }, async () => {
  const runs = await page.evaluate(() => Number(document.body.dataset.runs ?? 0));
  await page.fill("#critical", "20");
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, runs, { timeout: 30_000 });
  const badges = await page.$$eval("#streams tbody .severity .badge", (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(badges, ["warning", "warning"]);
  assert.equal(await page.locator("#timeline rect.span.critical").count(), 0);

  await page.click(".more summary");
  await page.fill("#extra", '{"line_utc_offst": "+01:00"}');
  await page.waitForSelector("#config-error:not([hidden])");
  assert.match(await page.textContent("#config-error"), /`line_utc_offst`/);
  await page.fill("#extra", "{}");
  await page.fill("#critical", "10");
  await page.waitForSelector("#config-error", { state: "hidden" });
  await page.waitForFunction(
    () => [...document.querySelectorAll("#streams tbody .severity .badge")].map((b) => b.textContent).join() === "critical,critical",
  );
});

test("gzip files are read like plain ones", { timeout: 60_000 }, async () => {
  await analyse([corpus(S05, "n1"), path.join(tmp, "n2.log.gz")]);
  assert.deepEqual((await streamRows()).sort(), [
    ["n1", "$G", "ORDERS", "13"],
    ["n2", "$G", "ORDERS", "13"],
  ]);
  const loaded = await page.$$eval("#loaded li", (lis) => lis.map((li) => li.textContent));
  assert.ok(loaded.some((t) => t.startsWith("n2.log.gz") && t.includes("gzip") && t.includes("source n2")), loaded.join(" | "));
  assert.equal(await page.locator("#alerts .alert").count(), 4);
});

test("a healthy rolling restart shows no stream and no alert", { timeout: 60_000 }, async () => {
  await analyse(["n1", "n2", "n3"].map((n) => corpus(S01, n)));
  assert.equal(await page.locator("#streams tbody tr.stream").count(), 0);
  assert.equal(await page.locator("#streams tbody tr.empty").count(), 1);
  assert.equal(await page.locator("#alerts .alert").count(), 0);
  assert.match(await page.textContent("#alerts"), /^No alerts/);
  assert.equal(await page.getAttribute("#verdict", "class"), "verdict ok");
  await page.screenshot({ path: path.join(root, "target/web-e2e-healthy.png"), fullPage: true });
});

test("nothing was fetched from anywhere but the page's own server", () => {
  assert.ok(requested.length >= 5, requested.join("\n"));
  const foreign = requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith("data:") && !u.startsWith("blob:"));
  assert.deepEqual(foreign, []);
});
