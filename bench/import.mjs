#!/usr/bin/env node
// npm run bench:import — a Mastodon archive imported through the real routes under `wrangler dev`,
// with the dev server killed hard part-way and started again on the same state, and what it cost as
// the platform bills it.
//   1. A synthetic archive (bench/archive-gen.mjs): BENCH_POSTS posts (10,000), BENCH_MEDIA media files
//      (500) of about BENCH_MB MiB (200) in all, from BENCH_SEED (1).
//   2. Fresh local state; the owner signs in, uploads it in 10 MiB parts (/admin/api/archive/…),
//      completes it, and the perch-import queue runs its chunks.
//   3. When about BENCH_KILL_AT (0.4) of the items are read, the whole dev server (wrangler and its
//      workerd processes, one process group) gets SIGKILL, and starts again on the same state. Queue
//      messages of `wrangler dev` live in memory, so the job's chain is gone: it is the cron's to
//      resume (services/archive-import/jobs.ts: no live lease and no progress for five minutes); the
//      bench calls the cron every 20 s until it does. BENCH_KILL_AT=0 runs without the kill: with
//      BENCH_POSTS=500 BENCH_MEDIA=20 BENCH_MB=10 that is a run of about a minute, for development.
//   4. Checks, in D1 (wrangler d1 execute --local on the same state) and R2 (every file fetched back
//      through /media/ and its CRC-32 compared): each post once by its old id, no status made twice
//      or left without its mapping, every media file there with its bytes.
// Figures: wall time of the upload and of the processing (with and without the outage), the CPU of
// the workerd process that runs the Worker (whole import, and per chunk: mean, p95, max, read from
// /proc between the queue's log lines of consecutive chunks), its peak RSS above its idle level
// (VmRSS sampled every 100 ms, and VmHWM), the isolate's V8 heap through the inspector, and Perch's
// own meter from the owner's dashboard (D1 rows written per post, Queue and R2 operations, the most
// D1 queries and subrequests in one invocation).
// Baseline in the same run: (a) the CPU floor of a request to a Worker that does nothing under
// wrangler dev (bench/bare-worker.js), and (b) the same import, without the kill, of an archive a
// tenth the size (BENCH_BASELINE=0 skips it), so per-post figures show how cost grows with size.
// Ports: BENCH_PORT (8950) and the next few. The local state is in a temp dir, removed at the end
// unless BENCH_KEEP=1.
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { PASSWORD } from "../test/e2e/lib.mjs";
import { generateArchive } from "./archive-gen.mjs";
import { applyMigrations, percentile, processCpuMs, runtimePid, waitFor, wranglerDev } from "./lib.mjs";

const POSTS = Number(process.env.BENCH_POSTS ?? 10_000);
const MEDIA = Number(process.env.BENCH_MEDIA ?? 500);
const MB = Number(process.env.BENCH_MB ?? 200);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const KILL_AT = Number(process.env.BENCH_KILL_AT ?? 0.4);
const BASELINE = process.env.BENCH_BASELINE !== "0";
const FIRST_PORT = Number(process.env.BENCH_PORT ?? 8950);
const CRON = "*/15 * * * *";
const log = (s) => console.log(`[bench:import] ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

const root = mkdtempSync(join(tmpdir(), "perch-bench-import-"));
const started = [];
process.on("exit", () => {
  for (const dev of started) killGroup(dev, "SIGTERM");
  if (process.env.BENCH_KEEP !== "1") rmSync(root, { recursive: true, force: true });
  else console.log(`state kept in ${root}`);
});
process.on("SIGINT", () => process.exit(130));

async function portFree(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
let nextPort = FIRST_PORT;
async function port() {
  while (!(await portFree(nextPort))) nextPort++;
  return nextPort++;
}

function killGroup(dev, signal) {
  try {
    process.kill(-dev.child.pid, signal);
  } catch {
    // already gone
  }
}

// --- /proc readers for the runtime process -----------------------------------------------------------
function memKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** The V8 heap of the Worker's isolate, through wrangler dev's inspector (null where it answers not). */
async function heapWatcher(inspectorPort) {
  try {
    const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
    const target = targets.find((t) => t.webSocketDebuggerUrl);
    if (!target) return null;
    const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    let id = 0;
    const pending = new Map();
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.id && pending.has(msg.id)) {
        pending.get(msg.id)(msg);
        pending.delete(msg.id);
      }
    };
    const call = (method) =>
      new Promise((resolve) => {
        const n = ++id;
        pending.set(n, resolve);
        ws.send(JSON.stringify({ id: n, method }));
        setTimeout(() => pending.has(n) && (pending.delete(n), resolve({})), 2000);
      });
    const first = await call("Runtime.getHeapUsage");
    if (!first.result) return null;
    const w = {
      peakUsed: 0,
      peakTotal: 0,
      peakBacking: 0,
      peakBoth: 0,
      samples: 0,
      idleUsed: first.result.usedSize,
    };
    const timer = setInterval(async () => {
      const { result } = await call("Runtime.getHeapUsage");
      if (!result) return;
      w.samples++;
      w.peakUsed = Math.max(w.peakUsed, result.usedSize);
      w.peakTotal = Math.max(w.peakTotal, result.totalSize);
      w.peakBacking = Math.max(w.peakBacking, result.backingStorageSize ?? 0);
      w.peakBoth = Math.max(w.peakBoth, result.usedSize + (result.backingStorageSize ?? 0));
    }, 250);
    w.stop = () => {
      clearInterval(timer);
      ws.close();
    };
    return w;
  } catch {
    return null;
  }
}

// --- one Perch under wrangler dev ---------------------------------------------------------------------
async function startPerch(persist, ports) {
  const host = `127.0.0.1:${ports.http}`;
  const dev = wranglerDev(
    [
      "--port",
      String(ports.http),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(ports.inspector),
      "--persist-to",
      persist,
      "--test-scheduled",
      "--var",
      `WEB_DOMAIN:${host}`,
      "--var",
      `ACCOUNT_DOMAIN:${host}`,
      "--var",
      "USERNAME:me",
      "--var",
      `OWNER_PASSWORD:${PASSWORD}`,
    ],
    { detached: true },
  );
  started.push(dev);
  const base = `http://${host}`;
  await waitFor("perch", async () => (await fetch(`${base}/nodeinfo/2.1`)).ok, 120_000).catch((e) => {
    console.log(dev.log().split("\n").slice(-30).join("\n"));
    throw e;
  });
  dev.base = base;
  dev.pid = runtimePid(dev.child.pid);
  // The queue's log line for each batch, as it arrives, and the runtime's CPU at that moment.
  dev.batches = [];
  dev.onBatch = null;
  let partial = "";
  const watch = (data) => {
    const lines = (partial + data).split("\n");
    partial = lines.pop();
    for (const raw of lines) {
      const line = raw.replace(/\x1b\[[0-9;]*m/g, "");
      const m = /QUEUE perch-import (\d+)\/(\d+)(?: \((\d+)ms\))?/.exec(line);
      if (!m) continue;
      const b = {
        at: performance.now(),
        cpu: processCpuMs(dev.pid),
        acked: +m[1],
        total: +m[2],
        ms: +(m[3] ?? 0),
      };
      dev.batches.push(b);
      dev.onBatch?.(b);
    }
  };
  dev.child.stdout.on("data", watch);
  dev.child.stderr.on("data", watch);
  return dev;
}

/** Samples the runtime's RSS every 100 ms: the idle level first, then the peak until `stop`. */
function rssSampler(pid) {
  const s = { peak: 0, samples: 0 };
  const timer = setInterval(() => {
    try {
      const { rss } = memKb(pid);
      s.peak = Math.max(s.peak, rss);
      s.samples++;
    } catch {
      // the process is gone (killed)
    }
  }, 100);
  s.stop = () => {
    clearInterval(timer);
    try {
      s.hwm = memKb(pid).hwm;
    } catch {
      s.hwm = null;
    }
    return s;
  };
  return s;
}

async function idleRss(pid) {
  const samples = [];
  for (let i = 0; i < 20; i++) {
    samples.push(memKb(pid).rss);
    await sleep(100);
  }
  return Math.max(...samples);
}

/**
 * fetch, tried again when the connection it reused had just been closed at the other end (undici's
 * keep-alive pool against workerd after a pause: "other side closed"). Only for requests that may be
 * sent twice.
 */
async function fetchAgain(url, init) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      if (attempt >= 3 || e?.cause?.code !== "UND_ERR_SOCKET") throw e;
    }
  }
}

// --- the owner, signed in as a browser is (test/e2e/admin.mjs, with the cookie kept for raw PUTs) ---
function cookieValue(response, name) {
  for (const c of response.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const eq = pair.indexOf("=");
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return null;
}

async function signIn(base) {
  const origin = new URL(base).origin;
  const page = await fetch(`${base}/login`);
  const loginCsrf = cookieValue(page, "__Host-perch_login_csrf");
  const field = /<input[^>]*name="csrf"[^>]*>/.exec(await page.text())?.[0];
  const csrf = field && /value="([^"]*)"/.exec(field)?.[1];
  const login = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: `__Host-perch_login_csrf=${loginCsrf}`,
      origin,
    },
    body: new URLSearchParams({ password: PASSWORD, csrf, next: "/admin" }),
  });
  const session = cookieValue(login, "__Host-perch_session");
  if (login.status !== 303 || !session) throw new Error(`POST /login answered ${login.status}`);
  const cookie = `__Host-perch_session=${session}`;
  const { csrfToken } = await (
    await fetch(`${base}/admin/api/session`, { headers: { cookie, accept: "application/json" } })
  ).json();
  return { cookie, csrfToken, origin };
}

/** Requests the bench itself makes of Perch while the import runs (they are in the meter's figures). */
let benchRequests = 0;

function owner(dev, auth) {
  return async (method, path, body, { raw = false } = {}) => {
    benchRequests++;
    const res = await (method === "GET" ? fetchAgain : fetch)(`${dev.base}${path}`, {
      method,
      headers: {
        cookie: auth.cookie,
        accept: "application/json",
        ...(method === "GET" ? {} : { "x-csrf-token": auth.csrfToken, origin: auth.origin }),
        ...(body === undefined
          ? {}
          : { "content-type": raw ? "application/octet-stream" : "application/json" }),
      },
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
}

/** Perch's meter over the last 24 hours (the dashboard writes what the isolate gathered first). */
async function meter(call) {
  const d = await call("GET", "/admin/api/dashboard");
  const sum = {};
  for (const h of d.hours24)
    for (const [k, v] of Object.entries(h)) if (typeof v === "number") sum[k] = (sum[k] ?? 0) + v;
  return {
    ...sum,
    maxD1Queries: d.today.maxD1Queries,
    maxSubrequests: d.today.maxSubrequests,
    queueBatches: d.today.queueBatches,
    importQueue: d.queues.find((q) => q.queue === "import")?.total24,
  };
}

function d1(persist, sql) {
  const r = spawnSync(
    "wrangler",
    ["d1", "execute", "DB", "--local", "--persist-to", persist, "--json", "--command", sql],
    {
      encoding: "utf8",
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 256 << 20,
    },
  );
  if (r.status !== 0) throw new Error(`d1 execute failed: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout)[0].results;
}

// --- the floor ---------------------------------------------------------------------------------------
async function cpuFloor() {
  const p = await port();
  const bare = wranglerDev(
    ["bench/bare-worker.js", "--compatibility-date", "2026-11-01", "--port", String(p), "--ip", "127.0.0.1"],
    {
      detached: true,
    },
  );
  started.push(bare);
  await waitFor("the bare Worker", async () => (await fetch(`http://127.0.0.1:${p}/`)).status === 202);
  const pid = runtimePid(bare.child.pid);
  for (let i = 0; i < 50; i++) await (await fetch(`http://127.0.0.1:${p}/`)).arrayBuffer();
  const idle = await idleRss(pid);
  const c0 = processCpuMs(pid);
  for (let i = 0; i < 300; i++) await (await fetch(`http://127.0.0.1:${p}/`)).arrayBuffer();
  const ms = (processCpuMs(pid) - c0) / 300;
  killGroup(bare, "SIGTERM");
  return { ms, idleRssKb: idle };
}

// --- one import ----------------------------------------------------------------------------------------
async function importRun(label, { posts, media, mb, killAt }) {
  const dir = join(root, label);
  mkdirSync(dir, { recursive: true });
  const persist = join(dir, "state");
  const zipPath = join(dir, "archive.zip");
  let t = performance.now();
  const archive = await generateArchive(zipPath, { posts, media, mb, seed: SEED });
  const { expected } = archive;
  log(
    `${label}: archive of ${mib(archive.size)} (${expected.oldUris.length} posts, ${expected.boosts} boosts, ` +
      `${expected.media.length} media of ${mib(archive.mediaBytes)}, outbox.json ${mib(archive.outboxBytes)} inflated) ` +
      `written in ${secs(performance.now() - t)}`,
  );
  applyMigrations(persist);
  const ports = { http: await port(), inspector: await port() };
  let dev = await startPerch(persist, ports);
  const auth = await signIn(dev.base);
  let call = owner(dev, auth);
  await meter(call); // the first dashboard read warms its code paths, outside the figures
  const idle = [await idleRss(dev.pid)];
  const cpuRuns = [];
  let cpuStart = processCpuMs(dev.pid);

  // Upload.
  t = performance.now();
  const upload = await call("POST", "/admin/api/archive/uploads", {
    filename: "archive.zip",
    size: archive.size,
  });
  const fd = openSync(zipPath, "r");
  const buf = Buffer.alloc(upload.partSize);
  for (let n = 1; n <= upload.partCount; n++) {
    const len = readSync(fd, buf, 0, upload.partSize, (n - 1) * upload.partSize);
    await call("PUT", `/admin/api/archive/uploads/${upload.id}/parts/${n}`, buf.subarray(0, len), {
      raw: true,
    });
  }
  closeSync(fd);
  const beforeComplete = await meter(call);
  const uploadCpu = processCpuMs(dev.pid) - cpuStart;
  const uploadMs = performance.now() - t;
  log(
    `${label}: uploaded in ${upload.partCount} parts in ${secs(uploadMs)} (runtime CPU ${uploadCpu.toFixed(0)} ms)`,
  );

  // Processing.
  const chunks = []; // { cpu, ms, noisy }
  let noisy = true; // the next chunk's CPU includes a request of the bench's (complete, a poll)
  const follow = (d) => {
    let last = processCpuMs(d.pid);
    d.onBatch = (b) => {
      chunks.push({ cpu: b.cpu - last, ms: b.ms, acked: b.acked === b.total, noisy });
      last = b.cpu;
      noisy = false;
    };
  };
  follow(dev);
  let rss = rssSampler(dev.pid);
  const rssRuns = [];
  let heap = await heapWatcher(ports.inspector);
  const heaps = [];
  t = performance.now();
  cpuStart = processCpuMs(dev.pid);
  benchRequests = 0;
  await call("POST", `/admin/api/archive/uploads/${upload.id}/complete`);
  const items = expected.items;
  let outage = null;
  let state = "queued";
  let lastNote = performance.now();
  let lastPoll = 0;
  let [lastChunks, lastChunkAt] = [0, performance.now()];
  while (state === "queued" || state === "running") {
    await sleep(killAt > 0 && !outage ? 500 : 3000);
    if (killAt > 0 && !outage && chunks.length * 20 >= killAt * items) {
      // Kill hard, as a crash would: the dashboard read first writes the meter's gathered figures.
      noisy = true;
      const atKill = await call("GET", `/admin/api/archive/imports/${upload.id}`);
      const meterAtKill = await meter(call);
      cpuRuns.push(processCpuMs(dev.pid) - cpuStart);
      rssRuns.push({ ...rss.stop(), idle: idle[0] });
      if (heap) {
        heaps.push(heap);
        heap.stop();
      }
      const killedAt = performance.now();
      const batchesBefore = chunks.length;
      killGroup(dev, "SIGKILL");
      await waitFor(
        "the killed runtime to be gone",
        async () => {
          try {
            const stat = readFileSync(`/proc/${dev.pid}/stat`, "utf8");
            return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
          } catch {
            return true;
          }
        },
        10_000,
      );
      log(
        `${label}: SIGKILL to the dev server's process group after ${batchesBefore} chunks, ` +
          `${atKill.itemsRead} of ${items} items read, ${atKill.posts.imported} posts stored`,
      );
      dev = await startPerch(persist, ports);
      call = owner(dev, auth);
      idle.push(await idleRss(dev.pid));
      rss = rssSampler(dev.pid);
      heap = await heapWatcher(ports.inspector);
      cpuStart = processCpuMs(dev.pid);
      follow(dev);
      const upAt = performance.now();
      // The cron resumes the job once its lease has run out and it made no progress for 5 minutes.
      let crons = 0;
      while (dev.batches.length === 0) {
        noisy = true;
        const r = await fetch(`${dev.base}/__scheduled?cron=${encodeURIComponent(CRON)}`);
        if (!r.ok) throw new Error(`__scheduled answered ${r.status}`);
        crons++;
        benchRequests++;
        for (let i = 0; i < 40 && dev.batches.length === 0; i++) await sleep(500);
      }
      const resumedAt = performance.now();
      outage = { killedAt, upAt, resumedAt, crons, atKill, meterAtKill, batchesBefore };
      log(
        `${label}: up again in ${secs(upAt - killedAt)}; the cron (called ${crons} times) resumed the job ` +
          `${secs(resumedAt - upAt)} later`,
      );
    }
    // The job's state every 3 s (the kill above watches the queue's log lines, not the job).
    if (performance.now() - lastPoll < 3000) continue;
    lastPoll = performance.now();
    noisy = true;
    const now = await call("GET", `/admin/api/archive/imports/${upload.id}`);
    state = now.state;
    // The boosts, likes and bookmarks of the archive name posts on hosts that do not exist
    // (remote.example): once only those are left, the job waits to try them again later (three
    // times, five minutes apart) with no queue message: the import of posts and media is over.
    if (chunks.length !== lastChunks) [lastChunks, lastChunkAt] = [chunks.length, performance.now()];
    if (state === "running" && now.phase === "relinks" && performance.now() - lastChunkAt > 15_000)
      state = "waiting on relinks";
    if (performance.now() - lastNote > 30_000) {
      lastNote = performance.now();
      log(`${label}: ${chunks.length} chunks after ${secs(lastNote - t)} (${state})`);
    }
  }
  const processingMs = performance.now() - t;
  cpuRuns.push(processCpuMs(dev.pid) - cpuStart);
  rssRuns.push({ ...rss.stop(), idle: idle.at(-1) });
  if (heap) {
    heaps.push(heap);
    heap.stop();
  }
  const report = await call("GET", `/admin/api/archive/imports/${upload.id}`);
  const after = await meter(call);
  const ownRequests = benchRequests;
  log(`${label}: job ${state} after ${secs(processingMs)}${report.error ? `: ${report.error}` : ""}`);

  // Checks: D1 (read-only queries on the same state) and R2 (every file back through /media/).
  const problems = [];
  const [counts] = d1(
    persist,
    `SELECT (SELECT count(*) FROM archive_posts) AS mapped,
            (SELECT count(DISTINCT old_uri) FROM archive_posts) AS distinctOld,
            (SELECT count(DISTINCT status_id) FROM archive_posts) AS distinctStatus,
            (SELECT count(*) FROM statuses) AS statuses,
            (SELECT count(*) FROM statuses WHERE id NOT IN (SELECT status_id FROM archive_posts)) AS unmapped,
            (SELECT count(*) FROM archive_posts WHERE status_id NOT IN (SELECT id FROM statuses)) AS dangling,
            (SELECT count(*) FROM media_attachments) AS media,
            (SELECT count(*) FROM media_attachments WHERE status_id IS NULL) AS mediaLoose,
            (SELECT count(DISTINCT key) FROM media_attachments) AS mediaKeys,
            (SELECT count(*) FROM statuses WHERE poll IS NOT NULL) AS polls`,
  );
  const oldUris = new Set(d1(persist, "SELECT old_uri AS u FROM archive_posts").map((r) => r.u));
  const missing = expected.oldUris.filter((u) => !oldUris.has(u));
  const wanted = new Set(expected.oldUris);
  const extra = [...oldUris].filter((u) => !wanted.has(u));
  if (counts.mapped !== expected.oldUris.length || counts.distinctOld !== counts.mapped)
    problems.push(
      `${counts.mapped} mappings (${counts.distinctOld} distinct old ids) for ${expected.oldUris.length} posts`,
    );
  if (missing.length)
    problems.push(`${missing.length} posts missing, e.g. ${missing.slice(0, 3).join(", ")}`);
  if (extra.length) problems.push(`${extra.length} unexpected old ids`);
  if (
    counts.statuses !== expected.oldUris.length ||
    counts.unmapped ||
    counts.dangling ||
    counts.distinctStatus !== counts.mapped
  )
    problems.push(
      `${counts.statuses} statuses (${counts.unmapped} without a mapping, ${counts.dangling} mappings without a status, ` +
        `${counts.distinctStatus} distinct) for ${expected.oldUris.length} posts`,
    );
  if (counts.media !== expected.media.length || counts.mediaLoose || counts.mediaKeys !== counts.media)
    problems.push(
      `${counts.media} media rows (${counts.mediaLoose} on no status, ${counts.mediaKeys} keys) for ${expected.media.length} files`,
    );
  const rows = d1(
    persist,
    "SELECT m.key AS key, m.size AS size, a.old_uri AS oldUri FROM media_attachments m JOIN archive_posts a ON a.status_id = m.status_id",
  );
  const want = new Map();
  for (const m of expected.media) want.set(m.oldUri, [...(want.get(m.oldUri) ?? []), m]);
  const byPost = new Map();
  for (const r of rows) byPost.set(r.oldUri, [...(byPost.get(r.oldUri) ?? []), r]);
  let mediaOk = 0;
  let mediaBad = 0;
  for (const [oldUri, files] of want) {
    const got = (byPost.get(oldUri) ?? []).sort((a, b) =>
      a.key.localeCompare(b.key, "en", { numeric: true }),
    );
    // Keys end in -<item>-<n>/original.<ext>: the n-th attachment of the post.
    for (const [n, file] of files.entries()) {
      const row = got.find((r) => new RegExp(`-${n}/original\\.`).test(r.key));
      const res = row
        ? await fetchAgain(`${dev.base}/media/${row.key}`).catch((e) => {
            console.log(dev.log().split("\n").slice(-40).join("\n"));
            throw e;
          })
        : null;
      const bytes = res?.ok ? new Uint8Array(await res.arrayBuffer()) : null;
      if (bytes && bytes.length === file.size && crc32(bytes) >>> 0 === file.crc) mediaOk++;
      else {
        mediaBad++;
        if (mediaBad <= 3)
          problems.push(
            `media ${file.name} of ${oldUri}: ${row ? `${res.status}, ${bytes?.length ?? 0} bytes (want ${file.size})` : "no row"}`,
          );
      }
    }
  }
  if (mediaBad > 3) problems.push(`… ${mediaBad} media files wrong or missing in all`);
  const skips = { boosts: report.boosts.skipped, posts: report.posts.skipped, media: report.media.skipped };
  if (skips.posts || skips.media)
    problems.push(`the report skips ${skips.posts} posts and ${skips.media} media`);
  if (report.posts.imported !== expected.oldUris.length)
    problems.push(`the report counts ${report.posts.imported} posts imported of ${expected.oldUris.length}`);
  if (report.polls.imported !== expected.polls)
    problems.push(`${report.polls.imported} polls of ${expected.polls}`);
  if (counts.polls !== expected.polls)
    problems.push(`${counts.polls} statuses with a poll of ${expected.polls}`);
  if (state !== "done" && state !== "waiting on relinks") problems.push(`the job ended ${state}`);
  killGroup(dev, "SIGTERM");

  const use = (k) => (after[k] ?? 0) - (beforeComplete[k] ?? 0);
  const cpu = cpuRuns.reduce((a, b) => a + b, 0);
  const clean = chunks.filter((c) => !c.noisy);
  const cpus = clean.map((c) => c.cpu);
  const tenth = Math.max(1, Math.floor(clean.length / 10));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    label,
    posts: expected.oldUris.length,
    media: expected.media.length,
    archiveBytes: archive.size,
    uploadMs,
    uploadCpu,
    processingMs,
    outageMs: outage ? outage.resumedAt - outage.killedAt : 0,
    outage,
    ownRequests,
    cpu,
    chunks: chunks.length,
    failedChunks: chunks.filter((c) => !c.acked).length,
    cleanChunks: clean.length,
    chunkCpu: {
      mean: mean(cpus),
      p50: percentile(cpus, 50),
      p95: percentile(cpus, 95),
      max: Math.max(...cpus),
    },
    chunkCpuFirstTenth: mean(cpus.slice(0, tenth)),
    chunkCpuLastTenth: mean(cpus.slice(-tenth)),
    chunkWall: {
      p95: percentile(
        clean.map((c) => c.ms),
        95,
      ),
      max: Math.max(...clean.map((c) => c.ms)),
    },
    rss: rssRuns.map((r) => ({ idleKb: r.idle, peakKb: r.peak, hwmKb: r.hwm })),
    heap: heaps.map((h) => ({
      idle: h.idleUsed,
      used: h.peakUsed,
      total: h.peakTotal,
      backing: h.peakBacking,
      both: h.peakBoth,
    })),
    meter: {
      requests: use("requests"),
      d1RowsWritten: use("d1RowsWritten"),
      d1RowsRead: use("d1RowsRead"),
      queueOps: use("queueOps"),
      r2ClassA: use("r2ClassA"),
      r2ClassB: use("r2ClassB"),
      maxD1Queries: after.maxD1Queries,
      maxSubrequests: after.maxSubrequests,
      importQueue: after.importQueue,
    },
    report,
    counts,
    mediaOk,
    problems,
  };
}

// --- the run -------------------------------------------------------------------------------------------
log(
  `machine: ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} (shared)`,
);
const floor = await cpuFloor();
log(
  `CPU floor: ${floor.ms.toFixed(2)} ms per request to a Worker that does nothing; its runtime idles at ${mib(floor.idleRssKb * 1024)} RSS`,
);
const runs = [];
if (BASELINE)
  runs.push(
    await importRun("baseline", {
      posts: Math.max(10, Math.round(POSTS / 10)),
      media: Math.max(1, Math.round(MEDIA / 10)),
      mb: MB / 10,
      killAt: 0,
    }),
  );
runs.push(await importRun("main", { posts: POSTS, media: MEDIA, mb: MB, killAt: KILL_AT }));

const f1 = (x) => (Number.isFinite(x) ? +x.toFixed(1) : "–");
const f2 = (x) => (Number.isFinite(x) ? +x.toFixed(2) : "–");
const table = {};
for (const r of runs) {
  const peakAbove = Math.max(...r.rss.map((x) => x.peakKb - x.idleKb));
  const peakHeap = r.heap.length ? Math.max(...r.heap.map((h) => h.used)) : NaN;
  const peakBacking = r.heap.length ? Math.max(...r.heap.map((h) => h.backing)) : NaN;
  const invocations = r.meter.requests;
  table[r.label] = {
    posts: r.posts,
    "media files": r.media,
    "archive MiB": f1(r.archiveBytes / 1048576),
    "upload wall s": f1(r.uploadMs / 1000),
    "processing wall s (all)": f1(r.processingMs / 1000),
    "  of which outage, kill to resumed s": f1(r.outageMs / 1000),
    "processing wall s without the outage": f1((r.processingMs - r.outageMs) / 1000),
    "posts per second (without the outage)": f1(r.posts / ((r.processingMs - r.outageMs) / 1000)),
    "runtime CPU s, processing": f1(r.cpu / 1000),
    "runtime CPU ms per post": f2(r.cpu / r.posts),
    "chunks (queue batches)": r.chunks,
    "chunks retried (not acked)": r.failedChunks,
    "chunk CPU ms mean": f1(r.chunkCpu.mean),
    "chunk CPU ms p95": f1(r.chunkCpu.p95),
    "chunk CPU ms max": f1(r.chunkCpu.max),
    "chunk CPU ms, first tenth of chunks": f1(r.chunkCpuFirstTenth),
    "chunk CPU ms, last tenth of chunks": f1(r.chunkCpuLastTenth),
    "chunk wall ms p95 / max": `${r.chunkWall.p95} / ${r.chunkWall.max}`,
    "runtime RSS idle MiB": r.rss.map((x) => f1(x.idleKb / 1024)).join(" / "),
    "runtime RSS peak above idle MiB": f1(peakAbove / 1024),
    "runtime VmHWM MiB": r.rss.map((x) => f1((x.hwmKb ?? NaN) / 1024)).join(" / "),
    "isolate V8 heap used, peak MiB": f1(peakHeap / 1048576),
    "isolate ArrayBuffer backing, peak MiB": f1(peakBacking / 1048576),
    "isolate heap + ArrayBuffers (one sample), peak MiB": f1(
      r.heap.length ? Math.max(...r.heap.map((h) => h.both)) / 1048576 : NaN,
    ),
    "invocations (metered)": invocations,
    "  of which the bench's own requests (polls, dashboard, cron)": r.ownRequests,
    "D1 rows written": r.meter.d1RowsWritten,
    "D1 rows written per post": f1(r.meter.d1RowsWritten / r.posts),
    "D1 rows read": r.meter.d1RowsRead,
    "D1 rows read per post": f1(r.meter.d1RowsRead / r.posts),
    "Queue operations": r.meter.queueOps,
    "Queue operations per chunk": f2(r.meter.queueOps / Math.max(1, r.chunks)),
    "R2 class A ops": r.meter.r2ClassA,
    "R2 class B ops": r.meter.r2ClassB,
    "max D1 queries in one invocation (Free: 50)": r.meter.maxD1Queries,
    "max subrequests in one invocation (Free: 50)": r.meter.maxSubrequests,
    "import queue sent/processed/retried (24 h)": r.meter.importQueue
      ? `${r.meter.importQueue.sent}/${r.meter.importQueue.processed}/${r.meter.importQueue.retried}`
      : "–",
    "report: posts / media / polls / boosts skipped": `${r.report.posts.imported} / ${r.report.media.imported} / ${r.report.polls.imported} / ${r.report.boosts.skipped}`,
    "checks: posts once each, media bytes back": `${r.counts.mapped === r.posts && r.counts.distinctOld === r.posts ? "✓" : "✗"} ${r.counts.mapped}, ${r.mediaOk}/${r.media}`,
  };
}
console.log(
  `\nbench:import — runtime CPU is the workerd process that runs the Worker (D1's SQLite and R2's local store run in it too under wrangler dev; the floor of a bare request is ${floor.ms.toFixed(2)} ms). Chunk CPU leaves out chunks during which the bench made a request of its own.`,
);
const figures = Object.keys(table[runs[0].label]);
console.table(
  figures.map((figure) => ({
    figure,
    ...Object.fromEntries(runs.map((r) => [r.label, table[r.label][figure]])),
  })),
);
const main = runs.at(-1);
const target = (main.processingMs - main.outageMs) / 1000;
const peak = Math.max(...main.rss.map((x) => x.peakKb - x.idleKb)) / 1024;
console.log(
  `target (10,000 posts): processing under 300 s → ${target.toFixed(0)} s for ${main.posts} posts ${main.posts >= 10_000 ? (target < 300 ? "✓" : "✗") : "(a smaller run)"}; ` +
    `peak Worker memory under 64 MB → runtime RSS +${peak.toFixed(0)} MiB above idle${main.heap.length ? `, V8 heap ${(Math.max(...main.heap.map((h) => h.used)) / 1048576).toFixed(0)} MiB` : ""}`,
);
let failed = false;
for (const r of runs) {
  if (r.problems.length) {
    failed = true;
    console.log(`\n✗ ${r.label}:\n  ${r.problems.join("\n  ")}`);
  } else
    console.log(
      `✓ ${r.label}: every post once, no status twice or unmapped, every media file back with its bytes`,
    );
}
process.exit(failed ? 1 : 0);
