#!/usr/bin/env node
// npm run bench:api — the Mastodon API under `wrangler dev` with a realistic local D1: 100k statuses,
// 1,000 followed accounts (plus 500 others), replies, boosts and a followed hashtag. Prints home
// timeline latency (p50/p95/p99, 40 items) for the first page and for pages at random depth, with
// verify_credentials (an authenticated one-row read) as the baseline in the same run, workerd CPU ms
// per request, D1 queries and rows read per request (deltas of the owner's /_perch/owner/metrics,
// counted per isolate: wrangler dev runs one), and status-create throughput.
//   BENCH_STATUSES (default 100000), BENCH_FOLLOWS (default 1000), BENCH_N (default 300 requests per
//   measurement), BENCH_CREATE (default 200 posts), BENCH_CONCURRENCY (default 4, for creates).
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { clientToken, PASSWORD } from "../test/e2e/lib.mjs";
import { applyMigrations, freePort, percentile, waitFor, workerdCpuSeconds, wranglerDev } from "./lib.mjs";

const STATUSES = Number(process.env.BENCH_STATUSES ?? 100_000);
const FOLLOWS = Number(process.env.BENCH_FOLLOWS ?? 1000);
const OTHERS = Math.round(FOLLOWS / 2);
const N = Number(process.env.BENCH_N ?? 300);
const CREATE = Number(process.env.BENCH_CREATE ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const STATE = ".bench/api";
const persist = `${STATE}/state`;

rmSync(STATE, { recursive: true, force: true });
mkdirSync(STATE, { recursive: true });
applyMigrations(persist);
const port = await freePort();
const inspector = await freePort();
const host = `127.0.0.1:${port}`;
const base = `http://${host}`;
const devArgs = [
  "--port",
  String(port),
  "--ip",
  "127.0.0.1",
  "--inspector-port",
  String(inspector),
  "--persist-to",
  persist,
  "--var",
  `WEB_DOMAIN:${host}`,
  "--var",
  `ACCOUNT_DOMAIN:${host}`,
  "--var",
  "USERNAME:bench",
  "--var",
  `OWNER_PASSWORD:${PASSWORD}`,
];

let running;
process.on("exit", () => running?.child.kill("SIGTERM"));

async function start() {
  const dev = wranglerDev(devArgs);
  running = dev;
  await waitFor("wrangler dev", async () => (await fetch(`${base}/nodeinfo/2.1`)).ok);
  return dev;
}
async function stopDev(dev) {
  const exited = new Promise((r) => dev.child.once("exit", r));
  dev.child.kill("SIGTERM");
  await exited;
}

function d1(args) {
  const r = spawnSync("wrangler", ["d1", "execute", "DB", "--local", "--persist-to", persist, ...args], {
    encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`d1 execute failed: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

// 1. First start creates the owner and keys; then seed D1 directly while the server is stopped.
let dev = await start();
await stopDev(dev);
const ownerId = JSON.parse(d1(["--json", "--command", "SELECT owner_id AS id FROM instance"]))[0].results[0]
  .id;

const t0 = Date.now() - 90 * 24 * 3600 * 1000;
let seq = 0n;
/** Ids as the Worker makes them: milliseconds << 16 | 16 more bits (here a counter, so unique). */
const idAt = (ms) => ((BigInt(Math.floor(ms)) << 16n) | (seq++ & 0xffffn)).toString();
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

const lines = [];
const accounts = [];
for (let i = 0; i < FOLLOWS + OTHERS; i++) {
  const domain = `remote${i % 60}.example`;
  accounts.push({ id: idAt(t0 - 1000 + i), uri: `https://${domain}/users/u${i}`, domain, username: `u${i}` });
}
const followed = accounts.slice(0, FOLLOWS);
const others = accounts.slice(FOLLOWS);
function insert(table, columns, rows) {
  for (let i = 0; i < rows.length; i += 200) {
    lines.push(
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES\n${rows
        .slice(i, i + 200)
        .map((r) => `(${r.join(", ")})`)
        .join(",\n")};`,
    );
  }
}
insert(
  "accounts",
  ["id", "uri", "url", "username", "domain", "display_name", "inbox", "followers_url", "fetched_at"],
  accounts.map((a) => [
    q(a.id),
    q(a.uri),
    q(`https://${a.domain}/@${a.username}`),
    q(a.username),
    q(a.domain),
    q(`User ${a.username}`),
    q(`${a.uri}/inbox`),
    q(`${a.uri}/followers`),
    q(new Date().toISOString()),
  ]),
);
insert(
  "follows",
  ["id", "account_id", "target_account_id", "uri", "accepted"],
  followed.map((a, i) => [q(idAt(t0 + i)), q(ownerId), q(a.id), q(`${base}/activities/f${i}`), "1"]),
);
lines.push(`INSERT INTO followed_tags (name, id) VALUES ('perch', ${q(idAt(t0))});`);

// Statuses: 80% by followed accounts, 15% by others, 5% the owner's; 10% replies, 5% boosts,
// 5% tagged #perch; mostly public. Times spread over 90 days, ids in time order.
const statusRows = [];
const tagRows = [];
const made = [];
let rnd = 42;
const random = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648;
for (let i = 0; i < STATUSES; i++) {
  const at = t0 + (i / STATUSES) * 90 * 24 * 3600 * 1000;
  const id = idAt(at);
  const r = random();
  const author =
    r < 0.8
      ? followed[Math.floor(random() * followed.length)]
      : r < 0.95
        ? others[Math.floor(random() * others.length)]
        : null;
  const accountId = author ? author.id : ownerId;
  const uri = author ? `${author.uri}/statuses/${id}` : `${base}/users/bench/statuses/${id}`;
  const kind = random();
  const parent = made.length && kind < 0.1 ? made[Math.floor(random() * made.length)] : null;
  const boostOf = made.length && kind >= 0.1 && kind < 0.15 ? made[Math.floor(random() * made.length)] : null;
  const tagged = kind >= 0.15 && kind < 0.2;
  const vis = random() < 0.9 ? "public" : random() < 0.5 ? "unlisted" : "private";
  const audience = JSON.stringify({ to: ["https://www.w3.org/ns/activitystreams#Public"], cc: [] });
  statusRows.push([
    q(id),
    q(uri),
    q(accountId),
    author ? "0" : "1",
    q(vis),
    boostOf ? "''" : q(`<p>Status number ${i} with some words to search${tagged ? " #perch" : ""}</p>`),
    q(audience),
    q(new Date(at).toISOString()),
    parent ? q(parent.uri) : "NULL",
    parent ? q(parent.id) : "NULL",
    parent ? q(parent.accountId) : "NULL",
    boostOf ? q(boostOf.id) : "NULL",
    tagged ? q(JSON.stringify([{ name: "perch" }])) : "'[]'",
  ]);
  if (tagged) tagRows.push([q("perch"), q(id)]);
  if (!boostOf) made.push({ id, uri, accountId });
}
insert(
  "statuses",
  [
    "id",
    "uri",
    "account_id",
    "local",
    "visibility",
    "content",
    "audience",
    "published_at",
    "in_reply_to_uri",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "reblog_of_id",
    "tags",
  ],
  statusRows,
);
insert("status_tags", ["name", "status_id"], tagRows);
// The seed writes rows directly: give them the counts the Worker keeps on them, as migration 0008's
// backfill computes them (its SQL, copied from migrations/0008_counters_usage.sql).
lines.push(
  `UPDATE accounts SET
    followers_count = (SELECT count(*) FROM follows f WHERE f.target_account_id = accounts.id AND f.accepted = 1),
    following_count = (SELECT count(*) FROM follows f WHERE f.account_id = accounts.id AND f.accepted = 1),
    statuses_count = (SELECT count(*) FROM statuses s WHERE s.account_id = accounts.id AND s.deleted_at IS NULL),
    last_status_at = (SELECT strftime('%Y-%m-%dT%H:%M:%fZ', (CAST(max(CAST(s.id AS INTEGER)) AS INTEGER) >> 16) / 1000.0, 'unixepoch')
      FROM statuses s WHERE s.account_id = accounts.id AND s.deleted_at IS NULL);`,
  `UPDATE statuses SET
    replies_count = (SELECT count(*) FROM statuses r WHERE r.in_reply_to_uri = statuses.uri AND r.deleted_at IS NULL),
    reblogs_count = (SELECT count(*) FROM statuses b WHERE b.reblog_of_id = statuses.id AND b.deleted_at IS NULL),
    favourites_count = (SELECT count(*) FROM favourites f WHERE f.status_id = statuses.id AND f.emoji IS NULL)
    WHERE statuses.deleted_at IS NULL;`,
);
writeFileSync(`${STATE}/seed.sql`, lines.join("\n"));
const seedStarted = Date.now();
d1(["--file", `${STATE}/seed.sql`]);
console.log(
  `seeded ${STATUSES} statuses, ${FOLLOWS} follows, ${accounts.length} accounts in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`,
);

// 2. Start again on the seeded data and sign in as a client does.
dev = await start();
const token = await clientToken(base);
const headers = { authorization: `Bearer ${token}` };

const ownerAuth = { authorization: `Basic ${Buffer.from(`owner:${PASSWORD}`).toString("base64")}` };
const d1Now = async () =>
  (await (await fetch(`${base}/_perch/owner/metrics`, { headers: ownerAuth })).json()).d1;
// What one metrics call itself adds (its password check), taken off each measurement.
const d1Probe = async () => {
  const a = await d1Now();
  const b = await d1Now();
  return { queries: b.queries - a.queries, rowsRead: b.rowsRead - a.rowsRead };
};

async function timeGets(paths) {
  const overhead = await d1Probe();
  const d1Before = await d1Now();
  const latencies = [];
  let items = 0;
  const cpu0 = workerdCpuSeconds(dev.child.pid);
  for (const path of paths) {
    const t = performance.now();
    const res = await fetch(`${base}${path}`, { headers });
    const body = await res.json();
    latencies.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`${path} → ${res.status} ${JSON.stringify(body)}`);
    if (Array.isArray(body)) items += body.length;
  }
  const cpuMs = ((workerdCpuSeconds(dev.child.pid) - cpu0) * 1000) / paths.length;
  const d1After = await d1Now();
  const per = (k) => (d1After[k] - d1Before[k] - overhead[k]) / paths.length;
  return {
    latencies,
    items: items / paths.length,
    cpuMs,
    queries: per("queries"),
    rowsRead: per("rowsRead"),
  };
}

const row = (name, r) =>
  console.log(
    `${name.padEnd(34)} p50 ${percentile(r.latencies, 50).toFixed(1).padStart(6)} ms  p95 ${percentile(
      r.latencies,
      95,
    )
      .toFixed(1)
      .padStart(6)} ms  p99 ${percentile(r.latencies, 99).toFixed(1).padStart(6)} ms  CPU ${r.cpuMs
      .toFixed(2)
      .padStart(6)} ms/req  D1 ${r.queries.toFixed(1).padStart(5)} queries ${r.rowsRead
      .toFixed(0)
      .padStart(
        6,
      )} rows read/req${r.items !== undefined && r.items > 0 ? `  ${r.items.toFixed(1)} items` : ""}`,
  );

const home = "/api/v1/timelines/home?limit=40";
await timeGets(Array(20).fill(home)); // warm-up
const deep = Array.from({ length: N }, () => {
  const at = t0 + (0.05 + random() * 0.9) * 90 * 24 * 3600 * 1000;
  return `${home}&max_id=${(BigInt(Math.floor(at)) << 16n).toString()}`;
});
console.log(`\nGET, ${N} sequential requests each, 100k statuses / ${FOLLOWS} follows:`);
row("verify_credentials (baseline)", await timeGets(Array(N).fill("/api/v1/accounts/verify_credentials")));
const first = await timeGets(Array(N).fill(home));
row("home timeline, first page", first);
const paged = await timeGets(deep);
row("home timeline, random max_id", paged);
row("public timeline, first page", await timeGets(Array(N).fill("/api/v1/timelines/public?limit=40")));
row("tag timeline #perch, first page", await timeGets(Array(N).fill("/api/v1/timelines/tag/perch?limit=40")));

// 3. Status creation throughput.
const createLatencies = [];
let next = 0;
let failures = 0;
const cpu0 = workerdCpuSeconds(dev.child.pid);
const started = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < CREATE) {
      const i = next++;
      const t = performance.now();
      const res = await fetch(`${base}/api/v1/statuses`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ status: `Bench post ${i} with a #hashtag and https://example.com/a/link` }),
      });
      await res.arrayBuffer();
      if (res.status !== 200) failures++;
      createLatencies.push(performance.now() - t);
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
const createCpu = ((workerdCpuSeconds(dev.child.pid) - cpu0) * 1000) / CREATE;
console.log(
  `\nPOST /api/v1/statuses, ${CREATE} posts at concurrency ${CONCURRENCY}: ${(CREATE / seconds).toFixed(1)} statuses/s, p50 ${percentile(
    createLatencies,
    50,
  ).toFixed(
    1,
  )} ms, p95 ${percentile(createLatencies, 95).toFixed(1)} ms, CPU ${createCpu.toFixed(2)} ms/post, ${failures} failed`,
);
console.log(
  `\nhome timeline p95 ${percentile(first.latencies, 95).toFixed(1)} ms (first page), ${percentile(paged.latencies, 95).toFixed(1)} ms (random depth); target ≤25 ms`,
);
await stopDev(dev);
process.exit(failures ? 1 : 0);
