// The analysis thread: reads the files (streamed, gzip through the browser's
// own DecompressionStream), feeds them to resetwatch's core (WebAssembly,
// built into ./pkg by `cargo xtask web`) chunk by chunk, and keeps the
// decompressed bytes so that new settings re-run on them without reading
// the files again. The page never blocks on any of it.
//
// page -> worker: {type: "load", files: File[], config: string}
//                 {type: "config", config: string}
// worker -> page: {type: "ready", version, settings}
//                 {type: "progress", phase, name, done, total}
//                 {type: "result", alerts, pairs, streams, totals, settings, files, ms}
//                 {type: "error", where: "config" | "file" | "start", message}

import init, { Analyzer, sourceOfFile, version } from "./pkg/resetwatch.js";

/** @type {{name: string, source: string, gzip: boolean, size: number, bytes: number, chunks: Uint8Array[], error: string | null}[]} */
let files = [];
let config = "";
/** Bumped by every request: a run that sees a newer one stops. */
let generation = 0;
/** The page's id of the request being answered (echoed in every answer). */
let request;
const PROGRESS_EVERY_MS = 80;
const YIELD_EVERY_MS = 40;

const ready = init().then(
  () => {
    const a = new Analyzer();
    postMessage({ type: "ready", version: version(), settings: a.settings() });
    a.free();
  },
  (e) => postMessage({ type: "error", where: "start", message: `cannot start the analyzer: ${e}` }),
);

/** The source a file's lines come from, as `resetwatch replay` names it
 * (the core's rule: `n1.log`, `n1.log.1` and `n1.log.2.gz` are all `n1`). */
const sourceOf = (name) => sourceOfFile(name);

const yieldNow = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A new analyzer for `config`, or null after reporting why not. */
function analyzer(cfg) {
  try {
    return new Analyzer(cfg);
  } catch (e) {
    postMessage({ id: request, type: "error", where: "config", message: e instanceof Error ? e.message : String(e) });
    return null;
  }
}

function report(a, started) {
  a.finish();
  postMessage({
    id: request,
    type: "result",
    alerts: a.alerts(),
    pairs: a.pairs(),
    streams: a.streams(),
    totals: a.totals(),
    settings: a.settings(),
    files: files.map(({ name, source, gzip, size, bytes, error }) => ({ name, source, gzip, size, bytes, error })),
    ms: Math.round(performance.now() - started),
  });
  a.free();
}

async function isGzip(file) {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  return head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Reads the files, feeding each chunk as it arrives. */
async function load(list, gen) {
  const started = performance.now();
  const a = analyzer(config);
  if (!a) return;
  files = [];
  const total = list.reduce((n, f) => n + f.size, 0);
  let before = 0;
  let lastPost = 0;
  for (const file of list) {
    const entry = { name: file.name, source: sourceOf(file.name), gzip: false, size: file.size, bytes: 0, chunks: [], error: null };
    files.push(entry);
    let read = 0;
    try {
      entry.gzip = await isGzip(file);
      let stream = file.stream().pipeThrough(
        new TransformStream({
          transform(chunk, out) {
            read += chunk.byteLength;
            out.enqueue(chunk);
          },
        }),
      );
      if (entry.gzip) stream = stream.pipeThrough(new DecompressionStream("gzip"));
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (gen !== generation) {
          await reader.cancel();
          a.free();
          return;
        }
        entry.chunks.push(value);
        entry.bytes += value.byteLength;
        a.feedBytes(entry.source, value);
        const now = performance.now();
        if (now - lastPost > PROGRESS_EVERY_MS) {
          lastPost = now;
          postMessage({ id: request, type: "progress", phase: "reading", name: file.name, done: before + read, total, out: entry.gzip ? entry.bytes : 0 });
        }
      }
    } catch (e) {
      entry.error = entry.gzip ? `not readable as gzip (${e.message ?? e})` : `cannot be read (${e.message ?? e})`;
      postMessage({ id: request, type: "error", where: "file", message: `${file.name}: ${entry.error}` });
    }
    before += file.size;
  }
  postMessage({ id: request, type: "progress", phase: "reading", name: "", done: total, total });
  report(a, started);
}

/** Runs the kept bytes again with new settings. */
async function rerun(gen) {
  const started = performance.now();
  const a = analyzer(config);
  if (!a) return;
  const total = files.reduce((n, f) => n + f.bytes, 0);
  let done = 0;
  let lastYield = performance.now();
  for (const f of files) {
    for (const chunk of f.chunks) {
      a.feedBytes(f.source, chunk);
      done += chunk.byteLength;
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        postMessage({ id: request, type: "progress", phase: "analysing", name: f.name, done, total });
        await yieldNow();
        lastYield = performance.now();
        if (gen !== generation) {
          a.free();
          return;
        }
      }
    }
  }
  report(a, started);
}

onmessage = async ({ data }) => {
  const gen = ++generation;
  await ready;
  if (gen !== generation) return;
  request = data.id;
  if (typeof data.config === "string") config = data.config;
  if (data.type === "load") await load([...data.files], gen);
  else if (data.type === "config") await rerun(gen);
};
