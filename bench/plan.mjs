#!/usr/bin/env node
// npm run bench:plan — a day of a person who follows friends, accelerated, under `wrangler dev`, and
// each Free-plan figure beside its limit, as Perch's own meter (the dashboard's JSON) counts it:
//   500 followers on 200 shared inboxes (4 origins on loopback) and 150 followed accounts (set up
//   first, not in the day's figures); then the day: 2,000 activities in from followed accounts
//   (posts, likes and boosts of the owner's posts, edits, deletes), 20 posts, 10 boosts and 20 likes
//   out, 3,000 client API requests. Deliveries are counted where they land (the origins' inboxes).
// Then the same day again with a Mastodon-style relay pushing BENCH_RELAY (50,000) activities at its
// default budget: the figures again, and the dashboard's warnings (which cap held the relay).
//   BENCH_RELAY (50000; 0 skips the relay day), BENCH_CONCURRENCY (16).
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { clientToken, PASSWORD } from "../test/e2e/lib.mjs";
import { ownerSession } from "../test/e2e/admin.mjs";
import { sendAll, signedPost, startMastodonRelay, startOrigin } from "../test/e2e/fake-relay.mjs";
import { applyMigrations, freePort, waitFor, workerdCpuSeconds, wranglerDev } from "./lib.mjs";
import { random } from "./relay-mix.mjs";

const RELAY_N = Number(process.env.BENCH_RELAY ?? 50_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const STATE = ".bench/plan";
const AS = "https://www.w3.org/ns/activitystreams";
const PUBLIC = `${AS}#Public`;
const log = (s) => console.log(`[bench:plan] ${s}`);
const rand = random(11);
const pick = (list) => list[Math.floor(rand() * list.length)];

const FREE = {
  requests: 100_000,
  d1RowsRead: 5_000_000,
  d1RowsWritten: 100_000,
  queueOps: 10_000,
  r2ClassA: 1_000_000 / 30,
  r2ClassB: 10_000_000 / 30,
};

rmSync(STATE, { recursive: true, force: true });
process.env.WRANGLER_REGISTRY_PATH ??= resolve(`${STATE}/registry`);
const port = await freePort();
const host = `127.0.0.1:${port}`;
const base = `http://${host}`;
const persist = `${STATE}/perch`;

let t = performance.now();
const origins = await Promise.all(
  Array.from({ length: 4 }, async (_, i) =>
    startOrigin(await freePort(), { authors: 125, name: `friends${i}`, sharedInboxes: 50 }),
  ),
);
const people = origins.flatMap((o) => o.authors.map((a) => ({ origin: o, author: a })));
const relay = RELAY_N > 0 ? await startMastodonRelay(await freePort()) : null;
log(`500 people on 4 origins with 200 shared inboxes (${((performance.now() - t) / 1000).toFixed(1)} s)`);

applyMigrations(persist);
const dev = wranglerDev([
  "--port",
  String(port),
  "--ip",
  "127.0.0.1",
  "--persist-to",
  persist,
  "--inspector-port",
  String(await freePort()),
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
process.on("exit", () => {
  dev.child.kill("SIGTERM");
  for (const o of origins) o.stop();
  relay?.stop();
});
await waitFor("perch", async () => (await fetch(`${base}/nodeinfo/2.1`)).ok);
const ownerBasic = { authorization: `Basic ${Buffer.from(`owner:${PASSWORD}`).toString("base64")}` };
const owner = (method, path, body) =>
  fetch(`${base}${path}`, {
    method,
    headers: { ...ownerBasic, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => {
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  });
const admin = await ownerSession(base, PASSWORD);

const token = await clientToken(base);
const api = async (method, path, body) => {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
};
const { id: me } = await api("GET", "/api/v1/accounts/verify_credentials");
const actor = `${base}/users/me`;
const inbox = `${base}/inbox`;

const delivered = () => origins.reduce((n, o) => n + o.received.length, 0);
async function settle(what, probe = delivered) {
  // Until what the origins received stops moving for a few seconds (queues drained).
  let last = -1;
  let still = 0;
  for (;;) {
    const n = probe();
    if (n === last) still++;
    else [last, still] = [n, 0];
    if (still >= 8) return n;
    await new Promise((r) => setTimeout(r, 500));
  }
}

// --- setup: 500 followers, 150 followed --------------------------------------------------------------
t = performance.now();
const follows = await Promise.all(
  people.map(({ author }, i) =>
    signedPost(
      inbox,
      { "@context": AS, id: `${author.id}/follows/${i}`, type: "Follow", actor: author.id, object: actor },
      author,
    ),
  ),
);
await sendAll(follows, CONCURRENCY);
const followed = people.slice(0, 150);
for (const { author } of followed) await owner("POST", "/_perch/owner/follow", { target: author.id });
const followReached = ({ origin, author }) =>
  origin.received.some((r) => r.activity?.type === "Follow" && r.activity.object === author.id);
await waitFor(
  "the owner's 150 Follows to reach their servers",
  () => followed.every(followReached),
  180_000,
).catch((e) => {
  log(`${followed.filter(followReached).length} of 150 Follows arrived; ${delivered()} POSTs in all`);
  log(
    dev
      .log()
      .split("\n")
      .filter((l) => /QUEUE|rror|deliver/i.test(l))
      .slice(-30)
      .join("\n"),
  );
  throw e;
});
await settle("the setup's deliveries");
const accepts = [];
for (const { origin, author } of followed) {
  const follow = origin.received.find(
    (r) => r.activity?.type === "Follow" && r.activity.object === author.id,
  )?.activity;
  if (!follow) throw new Error(`no Follow reached ${author.id}`);
  accepts.push(
    await signedPost(
      inbox,
      { "@context": AS, id: `${author.id}#accepts/1`, type: "Accept", actor: author.id, object: follow },
      author,
    ),
  );
}
await sendAll(accepts, CONCURRENCY);
await settle("the Accepts");
log(`set up: 500 followers, 150 followed (${((performance.now() - t) / 1000).toFixed(0)} s)`);

// What workerd spends on an invocation that does almost nothing (wrangler dev's own proxying and
// bookkeeping included): the floor under the day's CPU per invocation, which production does not pay.
let floorMs;
{
  const cpu0 = workerdCpuSeconds(dev.child.pid);
  for (let i = 0; i < 300; i++) await (await fetch(`${base}/.well-known/nodeinfo`)).arrayBuffer();
  floorMs = ((workerdCpuSeconds(dev.child.pid) - cpu0) * 1000) / 300;
  log(`CPU floor: ${floorMs.toFixed(2)} ms per near-empty request under wrangler dev`);
}

// --- the day -------------------------------------------------------------------------------------------
const dashboard = () => admin("GET", "/admin/api/dashboard");
const use = (d) => Object.fromEntries(d.today.use.map((u) => [u.metric, u.used]));

async function day(label, extra) {
  const before = await dashboard();
  const cpu0 = workerdCpuSeconds(dev.child.pid);
  const deliveredBefore = delivered();
  const started = performance.now();

  // The owner's 20 posts (some answering friends), made during the day.
  const mine = [];
  for (let i = 0; i < 20; i++)
    mine.push(
      await api("POST", "/api/v1/statuses", { status: `Day post ${i} #perchday`, visibility: "public" }),
    );

  // 2,000 activities from followed accounts: their posts, edits and deletes, likes and boosts of the owner's.
  const activities = [];
  const posted = [];
  for (let i = 0; i < 2000; i++) {
    const { origin, author } = pick(followed);
    const r = rand();
    if (r < 0.7 || posted.length < 20) {
      const note = origin.note(author, { text: `a friend's post ${i}` });
      posted.push(note);
      activities.push([author, await origin.create(note)]);
    } else if (r < 0.8) {
      const target = pick(mine);
      activities.push([
        author,
        { "@context": AS, id: `${author.id}#likes/${i}`, type: "Like", actor: author.id, object: target.uri },
      ]);
    } else if (r < 0.9) {
      const target = pick(mine);
      activities.push([
        author,
        {
          "@context": AS,
          id: `${author.id}/statuses/boost-${i}`,
          type: "Announce",
          actor: author.id,
          object: target.uri,
          to: [PUBLIC],
          cc: [`${author.id}/followers`],
          published: new Date().toISOString(),
        },
      ]);
    } else if (r < 0.95) {
      const note = pick(posted);
      const a = people.find((p) => p.author.id === note.attributedTo).author;
      activities.push([
        a,
        {
          "@context": AS,
          id: `${note.id}#updates/${i}`,
          type: "Update",
          actor: a.id,
          object: { ...note, content: `<p>edited ${i}</p>`, updated: new Date().toISOString() },
          to: [PUBLIC],
        },
      ]);
    } else {
      const note = posted.pop();
      const a = people.find((p) => p.author.id === note.attributedTo).author;
      activities.push([
        a,
        {
          "@context": AS,
          id: `${note.id}#delete`,
          type: "Delete",
          actor: a.id,
          object: { id: note.id, type: "Tombstone" },
          to: [PUBLIC],
        },
      ]);
    }
  }
  const signed = await Promise.all(activities.map(([author, a]) => signedPost(inbox, a, author)));

  // 3,000 client requests, in the proportions an app makes them, while the activities arrive.
  const reads = [
    [0.4, () => api("GET", "/api/v1/timelines/home?limit=40")],
    [0.2, () => api("GET", "/api/v1/notifications?limit=30")],
    [0.1, () => api("GET", "/api/v1/accounts/verify_credentials")],
    [0.1, () => api("GET", `/api/v1/accounts/${me}/statuses?limit=20`)],
    [0.1, () => api("GET", "/api/v1/timelines/public?limit=20")],
    [0.1, () => api("GET", "/api/v2/instance")],
  ];
  const client = async () => {
    for (let i = 0; i < 3000; i++) {
      let r = rand();
      const call = reads.find(([share]) => (r -= share) < 0)?.[1] ?? reads[0][1];
      await call();
    }
  };
  const [inbound] = await Promise.all([sendAll(signed, CONCURRENCY), client(), extra?.()]);
  // Boosts and likes out, of friends' posts the owner sees at home.
  const theirs = [];
  for (let page = 0, maxId = ""; page < 20 && theirs.length < 20; page++) {
    const home = await api("GET", `/api/v1/timelines/home?limit=40${maxId}`);
    if (home.length === 0) break;
    theirs.push(...home.filter((s) => s.account.id !== me && !s.reblog && !s.reblogged && !s.favourited));
    maxId = `&max_id=${home[home.length - 1].id}`;
  }
  if (theirs.length < 20) throw new Error(`only ${theirs.length} friends' posts at home to boost and like`);
  for (const s of theirs.slice(0, 10)) await api("POST", `/api/v1/statuses/${s.id}/reblog`);
  for (const s of theirs.slice(0, 20)) await api("POST", `/api/v1/statuses/${s.id}/favourite`);
  await settle("the day's deliveries");
  const seconds = (performance.now() - started) / 1000;
  const cpu = workerdCpuSeconds(dev.child.pid) - cpu0;
  const after = await dashboard();
  const a = use(after);
  const b = use(before);
  const invocations = a.requests - b.requests;
  log(
    `${label}: ${seconds.toFixed(0)} s; inbox answers ${JSON.stringify(Object.fromEntries(inbound.statuses))}`,
  );
  const rows = [];
  for (const [metric, limit] of Object.entries(FREE)) {
    const v = a[metric] - b[metric];
    rows.push({
      figure: metric,
      value: Math.round(v),
      "Free limit": Math.round(limit),
      "": v <= limit ? "✓" : "✗",
    });
  }
  rows.push({
    figure: "max subrequests in one invocation",
    value: after.today.maxSubrequests,
    "Free limit": 50,
    "": after.today.maxSubrequests <= 50 ? "✓" : "✗",
  });
  rows.push({
    figure: "max D1 queries in one invocation",
    value: after.today.maxD1Queries,
    "Free limit": 50,
    "": after.today.maxD1Queries <= 50 ? "✓" : "✗",
  });
  const cpuPer = (cpu * 1000) / Math.max(1, invocations);
  rows.push({
    // Judged above the floor: production does not run wrangler dev's proxy.
    figure: `workerd CPU ms per invocation (mean; floor ${floorMs.toFixed(2)})`,
    value: +cpuPer.toFixed(2),
    "Free limit": 10,
    "": cpuPer - floorMs <= 10 ? "✓" : "✗",
  });
  rows.push({
    figure: "deliveries received at the origins",
    value: delivered() - deliveredBefore,
    "Free limit": "",
    "": "",
  });
  const queues = Object.fromEntries(after.queues.map((q) => [q.queue, q.total24]));
  console.log(`\n${label}`);
  console.table(rows);
  console.log(`queues (last 24 h, whole run): ${JSON.stringify(queues)}`);
  if (after.warnings.length)
    console.log(`dashboard warnings:\n  ${after.warnings.map((w) => w.text).join("\n  ")}`);
  else console.log("dashboard warnings: none");
  return rows;
}

const followsOnly = await day("a follows-only day");

if (relay) {
  // The relay: subscribed at its defaults, accepted, pushing RELAY_N activities while the day runs.
  const { id } = await admin("POST", "/admin/api/relays", { url: relay.url });
  await waitFor(
    "the relay to be accepted",
    async () =>
      (await admin("GET", "/admin/api/relays")).relays.find((r) => r.id === id)?.state === "accepted",
    60_000,
  );
  t = performance.now();
  const relayed = [];
  for (let i = 0; i < RELAY_N; i++) {
    const { origin, author } = pick(people.slice(150));
    relayed.push(await origin.create(origin.note(author, { text: `relayed ${i}` })));
  }
  const prepared = await relay.prepare(relayed, inbox);
  log(`${RELAY_N} relayed activities built and signed (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  await day(
    `the same day with a ${RELAY_N.toLocaleString("en-US")}-activity relay at its default budget`,
    () => sendAll(prepared, CONCURRENCY),
  );
  const stats = await admin("GET", `/admin/api/relays/${id}/stats`);
  console.log(`relay buckets: ${JSON.stringify(stats.totals)}`);
}
const missed = followsOnly.filter((r) => r[""] === "✗").map((r) => r.figure);
console.log(
  missed.length
    ? `\nover a Free limit on the follows-only day: ${missed.join(", ")}`
    : "\nthe follows-only day is within every Free limit",
);
process.exit(0);
