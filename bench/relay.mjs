#!/usr/bin/env node
// npm run bench:relay — relay ingestion under `wrangler dev`, fed by loopback fake relays that sign
// as real peers do (Fedify: HTTP signatures, RsaSignature2017 LD signatures; test/e2e/fake-relay.mjs).
// The owner signs in, subscribes to a Mastodon-style relay, a LitePub relay and a third relay with a
// language filter and a small daily cap, and the relays push BENCH_N (default 10,000) activities:
// LD-signed Creates from a few hundred authors on four origin hosts, Announces of posts on those
// origins, the same posts through both relays, Deletes of relayed posts, forged and missing ones
// (bench/relay-mix.mjs). One post per author goes first and is measured apart (first contact: the
// account and its key); the Deletes go in a second phase, once the posts they delete are counted.
// The I/O-only Worker of bench/inbox.mjs, fed the same bodies, is the baseline.
// Prints activities/s, the buckets and their identity with the activities sent (a mismatch fails the
// run), CPU per activity, D1 rows written per stored post, bytes stored per post, Queue operations
// and outbound requests per activity (counted at the fakes), and R2 bytes written, each beside its
// target. A run during which wrangler reloaded the Worker fails too: its counters start again.
// wrangler's log is kept in .bench/relay/wrangler.log.
//   BENCH_N (10000), BENCH_CONCURRENCY (16), BENCH_AUTHORS (authors per origin, 75), BENCH_STRICT=1
//   (exit non-zero when a target is missed, not only when activities go unaccounted).
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  applyMigrations,
  freePort,
  waitFor,
  workerProfiler,
  workerdCpuSeconds,
  wranglerDev,
} from "./lib.mjs";
import { buildMix } from "./relay-mix.mjs";
import { listRelays, ownerSession } from "../test/e2e/admin.mjs";
import { sendAll, startLitePubRelay, startMastodonRelay, startOrigin } from "../test/e2e/fake-relay.mjs";

const N = Number(process.env.BENCH_N ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const AUTHORS = Number(process.env.BENCH_AUTHORS ?? 75);
const PASSWORD = "bench-owner-password";
const STATE = ".bench/relay";
const BUCKETS = ["stored", "duplicate", "filtered", "sampled", "capped", "unauthenticated", "invalid"];
const auth = { authorization: `Basic ${Buffer.from(`o:${PASSWORD}`).toString("base64")}` };
const log = (s) => console.log(`[bench:relay] ${s}`);

rmSync(STATE, { recursive: true, force: true });
// A dev registry of our own: wrangler dev reloads the Worker whenever another local `wrangler dev`
// (anyone's, on this machine) starts or stops, which would lose the counters mid-run.
process.env.WRANGLER_REGISTRY_PATH ??= resolve(`${STATE}/registry`);
const perchPort = await freePort();
const host = `127.0.0.1:${perchPort}`;
const base = `http://${host}`;
const persist = `${STATE}/perch`;

// --- the fakes and the traffic, all made and signed before any Worker runs ---------------------------
let t = performance.now();
const origins = await Promise.all(
  Array.from({ length: 4 }, async (_, i) =>
    startOrigin(await freePort(), { authors: AUTHORS, name: `origin${i}` }),
  ),
);
const [mastodon, litepub, filtered] = await Promise.all([
  freePort().then((p) => startMastodonRelay(p)),
  freePort().then((p) => startLitePubRelay(p)),
  freePort().then((p) => startMastodonRelay(p)),
]);
const relays = [mastodon, litepub, filtered];
const fakes = [...origins, ...relays];
log(
  `${origins.length * AUTHORS} authors on ${origins.length} origins, 3 relays (${((performance.now() - t) / 1000).toFixed(1)} s)`,
);

t = performance.now();
const mix = await buildMix(N, { origins, mastodon, litepub, filtered });
const sign = (items) =>
  Promise.all(items.map(async (a) => (await a.relay.prepare([a.activity], `${base}/inbox`))[0]));
const warmup = await sign(mix.warmup);
const first = await sign(mix.first);
const second = await sign(mix.second);
log(`${N} activities built and signed (${((performance.now() - t) / 1000).toFixed(1)} s)`);

function dirBytes(dir) {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

const snapshotCounts = () => fakes.map((f) => ({ ...f.counts }));

// --- baseline: the I/O-only Worker (D1 insert + queue send, consumer insert) on the same bodies --------
let baseline;
{
  const port = await freePort();
  const dev = wranglerDev([
    "--config",
    "bench/io-worker.toml",
    "--persist-to",
    `${STATE}/io`,
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(await freePort()),
  ]);
  const io = `http://127.0.0.1:${port}`;
  const posts = async () => (await (await fetch(io)).json()).posts;
  const bodies = (list) =>
    list.map((r) => ({ url: io, headers: { "content-type": "application/activity+json" }, body: r.body }));
  // A sample of the same traffic is enough for the baseline's per-activity figures.
  const sample = bodies(first.slice(0, 1500));
  try {
    await waitFor(
      "the I/O-only Worker",
      async () => (await fetch(io, { method: "POST", body: "{}" })).status === 202,
    );
    const warmed = (await posts()) + 50;
    await sendAll(sample.slice(0, 50), 4);
    await waitFor("warm-up drain", async () => (await posts()) >= warmed, 60_000);
    const cpu0 = workerdCpuSeconds(dev.child.pid);
    const started = performance.now();
    const run = await sendAll(sample, CONCURRENCY);
    await waitFor("baseline drain", async () => (await posts()) >= warmed + sample.length, 300_000);
    const seconds = (performance.now() - started) / 1000;
    baseline = {
      perSecond: sample.length / seconds,
      cpuMs: ((workerdCpuSeconds(dev.child.pid) - cpu0) * 1000) / sample.length,
      statuses: run.statuses,
    };
  } finally {
    dev.child.kill("SIGTERM");
  }
  log(`baseline: ${baseline.perSecond.toFixed(0)} activities/s, ${baseline.cpuMs.toFixed(2)} CPU ms each`);
}

// --- Perch --------------------------------------------------------------------------------------------
applyMigrations(persist);
const perchInspector = await freePort();
const dev = wranglerDev([
  "--port",
  String(perchPort),
  "--ip",
  "127.0.0.1",
  "--persist-to",
  persist,
  "--inspector-port",
  String(perchInspector),
  "--var",
  `WEB_DOMAIN:${host}`,
  "--var",
  `ACCOUNT_DOMAIN:${host}`,
  "--var",
  "USERNAME:me",
  "--var",
  "ALLOW_LOOPBACK_FEDERATION:true",
  "--var",
  `OWNER_PASSWORD:${PASSWORD}`,
]);
const stopAll = () => {
  dev.child.kill("SIGTERM");
  for (const f of fakes) f.stop();
};
process.on("exit", stopAll);

const metrics = async () => (await fetch(`${base}/_perch/owner/metrics`, { headers: auth })).json();
let admin;
const ids = new Map();

/** The relays' totals, added up over the three subscriptions. */
async function accounted() {
  const sum = Object.fromEntries(BUCKETS.map((b) => [b, 0]));
  for (const relay of relays) {
    const stats = await admin("GET", `/admin/api/relays/${ids.get(relay)}/stats`);
    for (const b of BUCKETS) sum[b] += stats.totals[b] ?? 0;
  }
  return sum;
}
const total = (sum) => BUCKETS.reduce((n, b) => n + sum[b], 0);

/**
 * Waits until `target` activities are counted, or until the count has not moved for STALL_MS (what
 * is never counted must not hang the run: the identity check reports it). Returns the last counts.
 */
const STALL_MS = 15_000;
async function counted(target) {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const sum = await accounted();
    const n = total(sum);
    if (n >= target) return sum;
    if (n !== last) [last, movedAt] = [n, Date.now()];
    if (Date.now() - movedAt > STALL_MS) {
      log(`the count stopped at ${n} of ${target}`);
      return sum;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Queue operations in the log since `from`: 3 per message that was acked, 1 per extra delivery. */
function queueOps(from) {
  const out = { messages: 0, retries: 0, ops: 0 };
  for (const m of dev
    .log()
    .slice(from)
    .matchAll(/QUEUE (\S+) (\d+)\/(\d+)/g)) {
    const acked = Number(m[2]);
    const delivered = Number(m[3]);
    out.messages += acked;
    out.retries += delivered - acked;
  }
  out.ops = 3 * out.messages + out.retries;
  return out;
}

let result;
let warm;
try {
  await waitFor("perch", async () => (await fetch(`${base}/nodeinfo/2.1`)).ok);
  admin = await ownerSession(base, PASSWORD);
  const big = { dailyCap: 100_000, rateCap: 100_000, sampling: false };
  for (const [relay, settings] of [
    [mastodon, big],
    [litepub, big],
    [filtered, { ...big, dailyCap: mix.filteredCap, languages: [mix.filteredLanguage] }],
  ]) {
    const r = await admin("POST", "/admin/api/relays", { url: relay.url, ...settings });
    ids.set(relay, r.id);
  }
  await waitFor(
    "the three relays to be accepted",
    async () => (await listRelays(admin)).every((r) => r.state === "accepted"),
    60_000,
  );
  await waitFor(
    "the LitePub follow-back to be accepted",
    () => litepub.followedBack(`${base}/actor`),
    60_000,
  );
  // Let the subscription's own deliveries settle before measuring.
  await new Promise((r) => setTimeout(r, 2000));
  log("subscribed; first contact with every author");
  const logStart = dev.log().length;
  const r2Before = dirBytes(`${persist}/v3/r2`);
  const countsStart = snapshotCounts();
  const m0 = await metrics();
  await sendAll(warmup, CONCURRENCY);
  await counted(warmup.length);
  await new Promise((r) => setTimeout(r, 1500));
  const warmBuckets = await accounted();
  const before = await metrics();
  const countsBefore = snapshotCounts();
  warm = {
    sent: warmup.length,
    counted: total(warmBuckets),
    rowsWritten: before.d1.rowsWritten - m0.d1.rowsWritten,
    requests: countsBefore.reduce((n, c, i) => n + c.total - countsStart[i].total, 0),
  };
  log("pushing");
  const logFrom = dev.log().length;
  const profiler = process.env.BENCH_PROFILE ? await workerProfiler(perchInspector) : null;
  await profiler?.start();
  const cpu0 = workerdCpuSeconds(dev.child.pid);
  const started = performance.now();

  const phase1 = await sendAll(first, CONCURRENCY);
  await counted(warmup.length + first.length);
  // Every post goes in during phase 1; what phase 2 writes is the Deletes' doing.
  const between = await metrics();
  // The Deletes go once the posts they delete are in; from now on their ids answer 404.
  mix.unpublish();
  const phase2 = await sendAll(second, CONCURRENCY);
  await counted(warmup.length + N);
  const seconds = (performance.now() - started) / 1000;
  // Anything still running (or counted twice) shows up in a second look.
  await new Promise((r) => setTimeout(r, 3000));
  const all = await accounted();
  const buckets = Object.fromEntries(BUCKETS.map((b) => [b, all[b] - warmBuckets[b]]));
  const cpu = workerdCpuSeconds(dev.child.pid) - cpu0;
  if (process.env.BENCH_DUMP_LOG) writeFileSync(process.env.BENCH_DUMP_LOG, dev.log().slice(logFrom));
  if (profiler) for (const line of await profiler.stop(process.env.BENCH_PROFILE)) log(line);
  const after = await metrics();
  const countsAfter = snapshotCounts();
  const outbound = {};
  fakes.forEach((f, i) => {
    for (const [k, v] of Object.entries(countsAfter[i])) {
      if (k === "total") continue;
      const label = `${origins.includes(f) ? "origin" : "relay"} ${k}`;
      outbound[label] = (outbound[label] ?? 0) + v - (countsBefore[i][k] ?? 0);
    }
  });
  const failures = [...phase1.failures, ...phase2.failures];
  const statuses = new Map();
  for (const run of [phase1, phase2])
    for (const [s, k] of run.statuses) statuses.set(s, (statuses.get(s) ?? 0) + k);
  result = {
    seconds,
    pushSeconds: phase1.seconds + phase2.seconds,
    buckets,
    cpuMs: (cpu * 1000) / N,
    rowsWritten: after.d1.rowsWritten - before.d1.rowsWritten,
    rowsWrittenPhase1: between.d1.rowsWritten - before.d1.rowsWritten,
    countingRowsPhase1: between.relayCounting.rowsWritten - before.relayCounting.rowsWritten,
    countingRows: after.relayCounting.rowsWritten - before.relayCounting.rowsWritten,
    rowsWrittenPhase2: after.d1.rowsWritten - between.d1.rowsWritten,
    // The polling of the stats during the run reads too: a few queries a second, small beside these.
    queries: after.d1.queries - before.d1.queries,
    rowsRead: after.d1.rowsRead - before.d1.rowsRead,
    queue: queueOps(logFrom),
    outbound,
    r2Bytes: dirBytes(`${persist}/v3/r2`) - r2Before,
    statuses,
    failures,
    deadLetters: after.counts?.deadLetters ?? 0,
    metricsKeys: Object.keys(after),
    // wrangler dev rebuilds the Worker when a source file changes; counters and unwritten counts of
    // the old isolate are then gone, and the figures mean nothing.
    reloaded: after.d1.since !== m0.d1.since || /Reloading local server/.test(dev.log().slice(logStart)),
  };
} catch (e) {
  console.error(dev.log().split("\n").slice(-60).join("\n"));
  throw e;
} finally {
  stopAll();
  writeFileSync(`${STATE}/wrangler.log`, dev.log());
}
await waitFor(
  "wrangler to stop",
  async () => dev.child.exitCode !== null || dev.child.signalCode !== null,
  20_000,
).catch(() => {});

// --- what a stored post takes, read from the local D1 once the Worker is stopped ------------------------
const columns = [
  "id",
  "uri",
  "url",
  "account_id",
  "relay_id",
  "type",
  "visibility",
  "content",
  "spoiler_text",
  "sensitive",
  "language",
  "in_reply_to_uri",
  "mentions",
  "tags",
  "attachments",
  "poll",
  "published_at",
  "edited_at",
];
const rowBytes = columns.map((c) => `ifnull(length(CAST(${c} AS BLOB)), 0)`).join(" + ");
const quote = (v) => `'${v.replaceAll("'", "''")}'`;
function d1(command) {
  const q = spawnSync(
    "wrangler",
    ["d1", "execute", "DB", "--local", "--persist-to", persist, "--json", "--command", command],
    { encoding: "utf8", env: { ...process.env, CI: "true" }, maxBuffer: 1 << 24 },
  );
  try {
    return JSON.parse(q.stdout)[0].results[0];
  } catch {
    log(`could not query D1: ${q.stderr || q.stdout}`);
    return null;
  }
}
// The uri index holds the uri and the primary key again.
const stored = d1(
  `SELECT count(*) AS posts, sum(${rowBytes}) AS bytes, ` +
    `sum(length(CAST(uri AS BLOB)) + length(CAST(id AS BLOB))) AS indexBytes FROM relay_posts`,
) ?? { posts: 0, bytes: 0, indexBytes: 0 };
// Deletes count as stored (they are the author's word, applied); what they removed is not in the table.
const survivors = mix.deleted.length
  ? (d1(`SELECT count(*) AS n FROM relay_posts WHERE uri IN (${mix.deleted.map(quote).join(",")})`)?.n ?? 0)
  : 0;
const deletions = mix.deleted.length - survivors;
// Posts of the measured run: the warm-up's one post per author is still in the table.
const postsIn = stored.posts + deletions - warm.sent;

// --- report -------------------------------------------------------------------------------------------
const r = result;
const sent = N;
const sum = total(r.buckets);
const per = (x, n = sent) => (n ? x / n : 0);
const bytesPerPost = per(stored.bytes + stored.indexBytes, stored.posts);
const outboundTotal = Object.values(r.outbound).reduce((a, b) => a + b, 0);
const misses = [];
const row = (figure, value, target, ok) => {
  if (ok === false) misses.push(figure);
  return { figure, value, target, "": ok === undefined ? "" : ok ? "✓" : "✗" };
};

console.log(
  `\nrelay benchmark: ${sent} relayed activities through 3 relays (Mastodon-style, LitePub, filtered), ` +
    `${origins.length * AUTHORS} authors on ${origins.length} origins, concurrency ${CONCURRENCY}, loopback, wrangler dev\n`,
);
console.log("buckets (what the relays' stats say):");
console.table(Object.fromEntries(BUCKETS.map((b) => [b, { counted: r.buckets[b] }])));
console.log("what the mix meant to send:", JSON.stringify(mix.expected));
console.log("inbox answers:", JSON.stringify(Object.fromEntries(r.statuses)));
console.log(
  `relay_posts: ${postsIn} posts went in, ${deletions} of them deleted again (${survivors} Deletes found ` +
    `nothing to delete); ${stored.posts} rows left. Stored bucket ${r.buckets.stored} = posts + deletions ` +
    `${postsIn + deletions}`,
);
for (const f of r.failures)
  console.log(`failed on Perch's side: ${f.type} ${f.id} → ${f.status} after ${f.ms} ms`);
console.log("outbound requests, at the fakes:", JSON.stringify(r.outbound));
console.log(
  `Queue messages (from wrangler's log): ${r.queue.messages} acked, ${r.queue.retries} redelivered` +
    (r.metricsKeys.length > 2 ? `; metrics also report: ${r.metricsKeys.join(", ")}` : ""),
);
console.log(
  `first contact with ${warm.sent} authors (warm-up, not in the figures below): ${warm.counted} counted, ` +
    `${warm.rowsWritten} D1 rows written (${per(warm.rowsWritten, warm.sent).toFixed(1)} per author), ` +
    `${warm.requests} requests to the fakes`,
);
if (r.deadLetters) console.warn(`warning: ${r.deadLetters} dead letters`);
console.log();
console.table([
  row(
    "activities/s (push to last one counted)",
    (sent / r.seconds).toFixed(0),
    "≥ 100",
    sent / r.seconds >= 100,
  ),
  row("  of which pushing alone", (sent / r.pushSeconds).toFixed(0), "", undefined),
  row("  I/O-only Worker baseline", baseline.perSecond.toFixed(0), "", undefined),
  row("accounted (sum of buckets) / sent", `${sum} / ${sent}`, "equal", sum === sent),
  row("workerd CPU ms per activity", r.cpuMs.toFixed(2), `baseline ${baseline.cpuMs.toFixed(2)}`, undefined),
  row(
    "D1 rows written per stored post (phase 1 but the hourly counts)",
    per(r.rowsWrittenPhase1 - r.countingRowsPhase1, postsIn).toFixed(2),
    "≤ 2",
    per(r.rowsWrittenPhase1 - r.countingRowsPhase1, postsIn) <= 2,
  ),
  row(
    "  with the hourly counts (phase 1, all buckets)",
    per(r.rowsWrittenPhase1, postsIn).toFixed(3),
    "",
    undefined,
  ),
  row(
    "D1 rows written counting, per activity (≤ 1 per relay per 20 s)",
    per(r.countingRows).toFixed(4),
    "",
    undefined,
  ),
  row(
    "D1 rows written per Delete (phase 2)",
    per(r.rowsWrittenPhase2, mix.second.length).toFixed(2),
    "",
    undefined,
  ),
  row("D1 queries per activity", per(r.queries).toFixed(2), "", undefined),
  row("D1 rows read per activity", per(r.rowsRead).toFixed(2), "", undefined),
  row("bytes stored per post (row + uri index)", bytesPerPost.toFixed(0), "≤ 2048", bytesPerPost <= 2048),
  row("Queue operations per activity", per(r.queue.ops).toFixed(3), "≤ 0.2", per(r.queue.ops) <= 0.2),
  row("outbound requests per activity", per(outboundTotal).toFixed(3), "", undefined),
  row(
    "media fetched from origins",
    String(r.outbound["origin media"] ?? 0),
    "0",
    !r.outbound["origin media"],
  ),
  row("R2 bytes written before any view", String(r.r2Bytes), "0", r.r2Bytes === 0),
]);
if (r.reloaded) {
  console.error(
    "\nFAIL: wrangler dev reloaded the Worker during the run (a source file changed), which loses its " +
      "counters and the counts it had not written: run again on a quiet tree.",
  );
  process.exit(1);
}
if (sum !== sent || warm.counted !== warm.sent) {
  console.error(
    `\nFAIL: ${sent} activities sent, ${sum} counted` +
      (sum !== sent ? ` (${sent > sum ? `${sent - sum} unaccounted` : `${sum - sent} counted twice`})` : "") +
      `; warm-up: ${warm.sent} sent, ${warm.counted} counted`,
  );
  process.exit(1);
}
if (misses.length) console.log(`\ntargets missed: ${misses.join("; ")}`);
process.exit(misses.length && process.env.BENCH_STRICT === "1" ? 1 : 0);
