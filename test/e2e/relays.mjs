#!/usr/bin/env node
// Relays end to end: one Perch instance (`wrangler dev`, loopback federation) and the fakes of
// test/e2e/fake-relay.mjs, which sign with Fedify: an origin with a few authors, a Mastodon-style
// relay, a LitePub relay and a hashtag relay (inbox only). The owner signs in on the web login and
// subscribes to all three through the admin API; each ends accepted (the LitePub relay's follow-back
// accepted by Perch too); a relayed Create, a LitePub Announce and a hashtag relay's Announce show
// up in the public timeline; the same post through two relays is stored once and counted once as a
// duplicate; a Create altered after signing is stored as its origin serves it, and a forged one
// its origin does not have is counted unauthenticated; removing a relay sends it an Undo of the
// Follow. Prints "N passed, N failed" and exits non-zero on any failure.
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { apiToken, listRelays, ownerSession } from "./admin.mjs";
import { startLitePubRelay, startMastodonRelay, startOrigin } from "./fake-relay.mjs";
import { eventually, freePort, startInstance, stepper, waitUp } from "./lib.mjs";

const STATE = ".e2e-relays";
const { step, counts } = stepper();

rmSync(STATE, { recursive: true, force: true });
// A dev registry of our own: wrangler dev reloads the Worker whenever another local `wrangler dev`
// starts or stops, and a reload loses the relay counts not written yet.
process.env.WRANGLER_REGISTRY_PATH ??= resolve(`${STATE}/registry`);
const ports = await Promise.all(Array.from({ length: 6 }, freePort));
const perch = startInstance(STATE, "perch", "me", ports[0], ports[1]);
const [origin, masto, lite, tagRelay] = await Promise.all([
  startOrigin(ports[2], { authors: 4 }),
  startMastodonRelay(ports[3]),
  startLitePubRelay(ports[4]),
  startLitePubRelay(ports[5], { tag: "perchtest" }),
]);
const fakes = [origin, masto, lite, tagRelay];
const stop = () => {
  perch.child.kill("SIGTERM");
  for (const f of fakes) f.stop();
};
process.on("exit", stop);

const instanceActor = `${perch.base}/actor`;
let admin;
let token;
const subscribed = {};

async function publicTimeline() {
  const res = await fetch(`${perch.base}/api/v1/timelines/public?limit=40`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`public timeline answered ${res.status}`);
  return res.json();
}

/** The relay's totals once they add up to at least `n` activities (counts are written in batches). */
async function totals(relay, n) {
  return eventually(`${n} activities counted for ${relay.url}`, async () => {
    const stats = await admin("GET", `/admin/api/relays/${subscribed[relay.url].id}/stats`);
    const sum = Object.values(stats.totals).reduce((a, b) => a + b, 0);
    return sum >= n && stats.totals;
  });
}

function expectCounts(got, want, what) {
  for (const [bucket, n] of Object.entries(want))
    if (got[bucket] !== n)
      throw new Error(`${what}: ${bucket} ${got[bucket]}, expected ${n} (${JSON.stringify(got)})`);
}

console.log(`e2e relays: Perch = ${perch.base}`);
try {
  await step("Perch starts and the owner signs in on the web login", async () => {
    await waitUp(perch);
    admin = await ownerSession(perch.base);
    token = await apiToken(perch.base, "read");
  });

  await step("subscribing detects each relay's protocol", async () => {
    const want = [
      [masto, "mastodon", null, masto.inbox],
      [lite, "litepub", lite.actor, lite.inbox],
      [tagRelay, "litepub", tagRelay.url, tagRelay.url],
    ];
    for (const [relay, protocol, actorUri, inbox] of want) {
      const r = await admin("POST", "/admin/api/relays", { url: relay.url, sampling: false });
      if (r.protocol !== protocol || r.inbox !== inbox || (actorUri && r.actorUri !== actorUri))
        throw new Error(`${relay.url} was taken as ${JSON.stringify(r)}`);
      if (r.state !== "pending") throw new Error(`a new relay should be pending, not ${r.state}`);
      subscribed[relay.url] = r;
    }
  });

  await step("each relay gets the Follow its protocol expects and ends accepted", async () => {
    const follow = (relay) => relay.find((a) => a.type === "Follow" && a.actor === instanceActor);
    await eventually("the three Follows", () => follow(masto) && follow(lite) && follow(tagRelay));
    const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
    if (follow(masto).object !== PUBLIC) throw new Error("the Mastodon-style Follow should be of Public");
    if (follow(lite).object !== lite.actor)
      throw new Error("the LitePub Follow should be of the relay actor");
    if (follow(tagRelay).object !== tagRelay.url) throw new Error("the hashtag Follow should name its URL");
    await eventually("all three accepted", async () => {
      const list = await listRelays(admin);
      return list.length === 3 && list.every((r) => r.state === "accepted");
    });
  });

  await step("Perch accepts the LitePub relay's follow-back", () =>
    eventually("the follow-back accepted", () => lite.followedBack(instanceActor)),
  );

  const [alice, bob, carol] = origin.authors;
  const viaCreate = origin.note(alice, { text: "Relayed by a Mastodon-style relay" });
  const viaAnnounce = origin.note(bob, { text: "Announced by a LitePub relay" });
  const viaTag = origin.note(carol, { text: "Found by a hashtag relay", tags: ["perchtest"] });

  await step(
    "a relayed Create, an Announce and a hashtag relay's Announce reach the public timeline",
    async () => {
      const statuses = [
        ...(await masto.push([await origin.create(viaCreate)])).statuses.keys(),
        ...(await lite.push([lite.announce(viaAnnounce.id)])).statuses.keys(),
        ...(await tagRelay.push([tagRelay.announce(viaTag.id)])).statuses.keys(),
      ];
      if (statuses.some((s) => s !== 202)) throw new Error(`the inbox answered ${statuses}`);
      await eventually("the three posts in the public timeline", async () => {
        const uris = new Set((await publicTimeline()).map((s) => s.uri));
        return [viaCreate, viaAnnounce, viaTag].every((n) => uris.has(n.id));
      });
      const shown = (await publicTimeline()).find((s) => s.uri === viaCreate.id);
      if (
        !shown.content.includes("Relayed by a Mastodon-style relay") ||
        !shown.account?.acct?.includes("user0")
      )
        throw new Error(`the relayed post shows as ${JSON.stringify(shown)}`);
    },
  );

  await step("the same post through both relays is stored once and counted once as a duplicate", async () => {
    await lite.push([lite.announce(viaCreate.id)]);
    await masto.push([await origin.create(viaCreate)]);
    expectCounts(await totals(masto, 2), { stored: 1, duplicate: 1 }, "Mastodon-style relay");
    expectCounts(await totals(lite, 2), { stored: 1, duplicate: 1 }, "LitePub relay");
    const copies = (await publicTimeline()).filter((s) => s.uri === viaCreate.id);
    if (copies.length !== 1) throw new Error(`${copies.length} copies in the timeline`);
  });

  await step("a Create changed after it was LD-signed is stored as its origin serves it", async () => {
    const note = origin.note(alice, { text: "The real text" });
    const altered = await origin.create(note);
    altered.object.content = "<p>Altered text</p>";
    await masto.push([altered]);
    expectCounts(await totals(masto, 3), { stored: 2, duplicate: 1 }, "altered");
    const shown = await eventually("the post in the public timeline", async () =>
      (await publicTimeline()).find((s) => s.uri === note.id),
    );
    if (!shown.content.includes("The real text") || shown.content.includes("Altered"))
      throw new Error(`stored as ${shown.content}`);
  });

  await step(
    "a post its origin does not have, with a broken LD signature, is counted unauthenticated",
    async () => {
      const note = origin.note(alice, { text: "Never published" });
      origin.unpublish(note.id);
      const forged = await origin.create(note);
      forged.object.content = "<p>Forged text</p>";
      await masto.push([forged]);
      expectCounts(await totals(masto, 4), { stored: 2, duplicate: 1, unauthenticated: 1 }, "forged");
      if ((await publicTimeline()).some((s) => s.uri === note.id))
        throw new Error("the forged post was stored");
    },
  );

  await step("no media was fetched from the origin", () => {
    if (origin.counts.media) throw new Error(`${origin.counts.media} media requests`);
  });

  await step("removing a relay sends it an Undo of the Follow (both protocols)", async () => {
    for (const relay of [masto, lite]) {
      const { id, url } = subscribed[relay.url];
      const res = await admin("DELETE", `/admin/api/relays/${id}`);
      if (res !== null) throw new Error(`DELETE answered a body: ${JSON.stringify(res)}`);
      const follow = relay.find((a) => a.type === "Follow" && a.actor === instanceActor);
      await eventually(`the Undo at ${url}`, () =>
        relay.find(
          (a) =>
            a.type === "Undo" &&
            a.actor === instanceActor &&
            (typeof a.object === "string" ? a.object : a.object?.id) === follow.id,
        ),
      );
      if (relay.subscribers.has(instanceActor)) throw new Error(`${url} still lists Perch`);
    }
    const left = await listRelays(admin);
    if (left.length !== 1 || left[0].url !== tagRelay.url) throw new Error(`left: ${JSON.stringify(left)}`);
  });

  await step("every relay request Perch signed verified with Fedify", () => {
    const bad = [masto, lite, tagRelay].flatMap((r) => r.received.filter((x) => !x.verified));
    if (bad.length) throw new Error(`unverified: ${JSON.stringify(bad.map((b) => b.activity.type))}`);
  });
} catch {
  for (const relay of [masto, lite, tagRelay]) console.log(`  ${relay.describe()}`);
  console.log(`  origin requests: ${JSON.stringify(origin.counts)}`);
  // The log without the polling that fills its tail.
  const quiet = perch
    .log()
    .split("\n")
    .filter((l) => !/GET \/(admin\/api|api\/v1\/timelines)/.test(l));
  console.log(`\n--- perch log (tail, polling left out) ---\n${quiet.slice(-60).join("\n")}`);
} finally {
  stop();
}
console.log(`\ne2e relays: ${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
