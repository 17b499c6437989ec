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
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { clientToken, PASSWORD } from "../test/e2e/lib.mjs";
import { ownerSession } from "../test/e2e/admin.mjs";
import { sendAll, signedPost, startMastodonRelay, startOrigin } from "../test/e2e/fake-relay.mjs";
import { applyMigrations, freePort, runtimeCpuMs, splitConfigs, waitFor, wranglerDev } from "./lib.mjs";
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
mkdirSync(STATE, { recursive: true });
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

// What workerd spends locally on a request to a Worker that does nothing (miniflare's own entry and
// bookkeeping): the floor under every CPU figure below, which production does not pay.
const floorMs = await (async () => {
  const p = await freePort();
  const bare = wranglerDev([
    "bench/bare-worker.js",
    "--compatibility-date",
    "2026-11-01",
    "--port",
    String(p),
  ]);
  await waitFor("the bare Worker", async () => (await fetch(`http://127.0.0.1:${p}/`)).status === 202);
  for (let i = 0; i < 50; i++) await (await fetch(`http://127.0.0.1:${p}/`)).arrayBuffer();
  const cpu0 = runtimeCpuMs(bare.child.pid);
  for (let i = 0; i < 300; i++) await (await fetch(`http://127.0.0.1:${p}/`)).arrayBuffer();
  const ms = (runtimeCpuMs(bare.child.pid) - cpu0) / 300;
  bare.child.kill("SIGTERM");
  log(`CPU floor: ${ms.toFixed(2)} ms per request to a Worker that does nothing, under wrangler dev`);
  return ms;
})();

// Perch and its D1 database in two sessions (bench/lib.mjs splitConfigs): on Cloudflare, D1 runs
// outside the Worker, and its SQL is not the Worker's CPU; here it would be, in the same process.
applyMigrations(persist);
const registry = resolve(mkdtempSync(`${STATE}/registry-`));
const split = splitConfigs(`${STATE}/config`);
const d1Port = await freePort();
const d1Host = wranglerDev(
  ["--config", split.host, "--port", String(d1Port), "--ip", "127.0.0.1", "--persist-to", persist],
  { registry },
);
await waitFor("the D1 host", async () => (await fetch(`http://127.0.0.1:${d1Port}/`)).ok);
// Where the replay Worker sends its copies of Perch's deliveries.
const sink = await (async () => {
  const { createServer } = await import("node:http");
  const p = await freePort();
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(202).end());
  });
  await new Promise((r) => server.listen(p, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${p}/inbox`, server };
})();
const replayPort = await freePort();
const replayer = wranglerDev(["--config", split.replay, "--port", String(replayPort), "--ip", "127.0.0.1"], {
  registry,
});
const replayUrl = `http://127.0.0.1:${replayPort}/`;
await waitFor("the replay Worker", async () => (await fetch(replayUrl, { method: "POST", body: "{}" })).ok);
// The replay Worker's own floor: a request that replays nothing.
const replayFloorMs = await (async () => {
  for (let i = 0; i < 50; i++) await (await fetch(replayUrl, { method: "POST", body: "{}" })).arrayBuffer();
  const c = runtimeCpuMs(replayer.child.pid);
  for (let i = 0; i < 200; i++) await (await fetch(replayUrl, { method: "POST", body: "{}" })).arrayBuffer();
  return (runtimeCpuMs(replayer.child.pid) - c) / 200;
})();
const dev = wranglerDev(
  [
    "--config",
    split.perch,
    "--test-scheduled",
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
  ],
  { registry },
);
process.on("exit", () => {
  dev.child.kill("SIGTERM");
  d1Host.child.kill("SIGTERM");
  replayer.child.kill("SIGTERM");
  sink.server.close();
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

// --- the day -------------------------------------------------------------------------------------------
const dashboard = () => admin("GET", "/admin/api/dashboard");
const use = (d) => Object.fromEntries(d.today.use.map((u) => [u.metric, u.used]));

async function day(label, extra) {
  const before = await dashboard();
  const cpu0 = runtimeCpuMs(dev.child.pid);
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
  const cpu = runtimeCpuMs(dev.child.pid) - cpu0;
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
  // With the carrying of D1's calls in it (too many calls to record for a day): the kinds below
  // take it out, and judge each kind.
  rows.push({
    figure: "Worker process CPU ms per invocation (mean, above the floor, D1 transport in)",
    value: +(cpu / Math.max(1, invocations) - floorMs).toFixed(2),
    "Free limit": "",
    "": "",
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

// CPU by kind of invocation: each kind alone, one at a time, on the state the day left. The day's
// figure above is a mean; the limit is per invocation, so the heaviest kind is the one to watch.
async function byKind() {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // Until the Worker's process spends under 10 ms in 2 s: nothing left running.
  const quiet = async () => {
    for (;;) {
      const c = runtimeCpuMs(dev.child.pid);
      await sleep(2000);
      if (runtimeCpuMs(dev.child.pid) - c < 10) return;
    }
  };
  // Over the last 24 hours, hour by hour: unlike today's figures, it does not restart at midnight UTC.
  const requests = async () => (await dashboard()).hours24.reduce((n, h) => n + h.requests, 0);
  // The CPU of `n` calls of `once` and of everything they set off, and the invocations they made
  // (read from the dashboard before and after, outside the window; the first read is one of them).
  // The D1 host records the window's calls; the replay Worker makes them again, and what that cost
  // its process above its floor is taken out: carrying D1's calls, which Cloudflare does not bill
  // like this (the whole of it comes out, so the client side D1 has on Cloudflare stays out too).
  const host = (path) => fetch(`http://127.0.0.1:${d1Port}${path}`, { method: "POST" });
  const replay = async (calls, posts) => {
    const c = runtimeCpuMs(replayer.child.pid);
    let requests = 0;
    const send = async (body) => {
      const r = await fetch(replayUrl, { method: "POST", body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`replay: ${r.status} ${await r.text()}`);
      requests++;
    };
    for (let i = 0; i < calls.length; i += 500) await send({ from: i, calls: calls.slice(i, i + 500) });
    for (let i = 0; i < posts.length; i += 500)
      await send({ posts: posts.slice(i, i + 500), sink: sink.url });
    return runtimeCpuMs(replayer.child.pid) - c - requests * replayFloorMs;
  };
  const receivedSince = (marks) =>
    origins.flatMap((o, i) => o.received.slice(marks[i]).map((r) => JSON.stringify(r.activity).length));
  const measure = async (kind, n, once) => {
    await quiet();
    const r0 = await requests();
    await quiet();
    await host("/record/start");
    const marks = origins.map((o) => o.received.length);
    const c0 = runtimeCpuMs(dev.child.pid);
    for (let i = 0; i < n; i++) await once(i);
    await quiet();
    const cpu = runtimeCpuMs(dev.child.pid) - c0;
    const calls = await (await host("/record/take")).json();
    const posts = receivedSince(marks);
    const carrying = await replay(calls, posts);
    return {
      kind,
      invocations: (await requests()) - r0 - 1,
      cpu,
      calls: calls.length,
      posts: posts.length,
      carrying,
    };
  };
  const rows = [];
  const add = ({ kind, invocations, cpu, calls, posts, carrying }) => {
    const per = (cpu - carrying) / invocations - floorMs;
    rows.push({
      invocation: kind,
      invocations,
      "D1 calls each": +(calls / invocations).toFixed(1),
      "POSTs out each": +(posts / invocations).toFixed(1),
      "carrying them, ms each": +(carrying / invocations).toFixed(2),
      "Worker CPU ms each": +per.toFixed(2),
      "": per <= 10 ? "✓" : "✗",
    });
  };
  add(await measure("owner dashboard (JSON)", 20, () => dashboard()));
  for (const [kind, path] of [
    ["GET home, 40", "/api/v1/timelines/home?limit=40"],
    ["GET notifications, 30", "/api/v1/notifications?limit=30"],
    ["GET verify_credentials", "/api/v1/accounts/verify_credentials"],
    ["GET own statuses, 20", `/api/v1/accounts/${me}/statuses?limit=20`],
    ["GET public, 20", "/api/v1/timelines/public?limit=20"],
    ["GET instance", "/api/v2/instance"],
  ])
    add(await measure(kind, 50, () => api("GET", path)));
  // An activity in: the inbox's answer and the queue batch that stores it, one at a time.
  const { origin, author } = followed[0];
  const creates = [];
  for (let i = 0; i < 20; i++)
    creates.push(
      await signedPost(inbox, await origin.create(origin.note(author, { text: `kind ${i}` })), author),
    );
  add(
    await measure("inbox POST and its queue batch", 20, async (i) => {
      const r = await fetch(creates[i].url, {
        method: "POST",
        headers: creates[i].headers,
        body: creates[i].body,
      });
      if (r.status !== 202) throw new Error(`inbox answered ${r.status}`);
      await sleep(1500);
    }),
  );
  // A post out: the API call, then one delivery invocation per pack of inboxes (200 shared inboxes).
  add(
    await measure("POST a status and its delivery packs", 3, (i) =>
      api("POST", "/api/v1/statuses", { status: `kind post ${i}`, visibility: "public" }),
    ),
  );
  // A cron run does some jobs every run and the others every other run (worker/queues/upkeep.ts):
  // both turns, each as the Worker would run it.
  for (const turn of ["even", "odd"])
    add(
      await measure(`cron upkeep, ${turn} run`, 3, async () => {
        const r = await fetch(`${base}/__scheduled?cron=${encodeURIComponent(`bench-turn:${turn}`)}`);
        if (!r.ok) throw new Error(`__scheduled answered ${r.status}`);
      }),
    );
  // The cron's jobs one at a time (bench/split-worker.js runs job N for the cron `bench-job:N`), to
  // see which of them makes a run heavy; `none` is what every run spends before its first job.
  const cronJob = (job) => async () => {
    const r = await fetch(`${base}/__scheduled?cron=${encodeURIComponent(`bench-job:${job}`)}`);
    if (!r.ok) throw new Error(`__scheduled answered ${r.status}`);
  };
  const jobNames = await (await fetch(`${base}/__bench/cron-jobs`)).json();
  add(await measure("cron: before any job", 3, cronJob("none")));
  for (const [i, name] of jobNames.entries()) add(await measure(`cron: ${name}`, 3, cronJob(i)));
  console.log(
    "\nWorker CPU by kind of invocation: the mean of each kind, above the floor and without carrying its D1 calls",
  );
  console.table(rows);
  return rows;
}
const kinds = await byKind();

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
const missed = [
  ...followsOnly.filter((r) => r[""] === "✗").map((r) => r.figure),
  ...kinds.filter((r) => r[""] === "✗").map((r) => `CPU of ${r.invocation}`),
];
console.log(
  missed.length
    ? `\nover a Free limit on the follows-only day: ${missed.join(", ")}`
    : "\nthe follows-only day is within every Free limit",
);
process.exit(0);
