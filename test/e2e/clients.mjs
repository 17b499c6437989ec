#!/usr/bin/env node
// Real Mastodon client libraries against two Perch instances on loopback (`wrangler dev`, each with
// its own D1, R2 and Queues): masto.js (the library Elk and Phanpy use) registers an app, signs in
// through the HTML authorization form as a person would, exchanges the code, uploads an image and
// posts with it, pages the home timeline through Link headers, gets follow and favourite notifications
// caused by the second instance, searches and creates a list. megalodon then does the same login and
// reads the timeline. Prints "N passed, N failed" and exits non-zero on any failure.
import { rmSync } from "node:fs";
import zlib from "node:zlib";
import { createOAuthAPIClient, createRestAPIClient } from "masto";
import generator from "megalodon";
import {
  approveInBrowser,
  dumpLogs,
  eventually,
  freePort,
  ownerCall,
  startInstance,
  stepper,
  waitUp,
} from "./lib.mjs";

const STATE = ".e2e-clients";
const REDIRECT = "urn:ietf:wg:oauth:2.0:oob";
const SCOPES = "read write follow push";

/** A real PNG (RGBA, solid colour), so the server's type sniffing and dimension reading see a genuine image. */
function png(width, height) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 4, 0x7f)]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
const PNG = png(4, 3);

const { step, counts } = stepper();
rmSync(STATE, { recursive: true, force: true });
const [pa, pb, ia, ib] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
const A = startInstance(STATE, "a", "alice", pa, ia);
const B = startInstance(STATE, "b", "bob", pb, ib);
const stop = () => {
  for (const i of [A, B]) i.child.kill("SIGTERM");
};
process.on("exit", stop);

/** Registers an app with masto, approves it on the HTML page and exchanges the code. */
async function mastoLogin(instance) {
  const anonymous = createRestAPIClient({ url: instance.base });
  const app = await anonymous.v1.apps.create({
    clientName: "e2e masto",
    redirectUris: REDIRECT,
    scopes: SCOPES,
  });
  const code = await approveInBrowser(instance.base, {
    clientId: app.clientId,
    redirectUri: REDIRECT,
    scope: SCOPES,
  });
  const oauth = createOAuthAPIClient({ url: instance.base });
  const token = await oauth.token.create({
    grantType: "authorization_code",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: REDIRECT,
    code,
    scope: SCOPES,
  });
  return createRestAPIClient({ url: instance.base, accessToken: token.accessToken });
}

console.log(`e2e clients: A = ${A.base}, B = ${B.base}`);
let alice;
let bob;
let post;
try {
  await step("both instances start", () => Promise.all([waitUp(A), waitUp(B)]));

  await step("masto: register, sign in on the HTML form, exchange the code (A and B)", async () => {
    [alice, bob] = await Promise.all([mastoLogin(A), mastoLogin(B)]);
    const me = await alice.v1.accounts.verifyCredentials();
    if (me.username !== "alice" || !me.source)
      throw new Error(`verify_credentials gave ${JSON.stringify(me)}`);
    const instance = await alice.v2.instance.fetch();
    if (!instance.version.includes("Perch")) throw new Error(`instance version ${instance.version}`);
  });

  await step(
    "B finds @alice by search with resolve and follows her; A gets a follow notification",
    async () => {
      const found = await bob.v2.search.list({ q: `@${A.handle}`, resolve: true, type: "accounts" });
      const target = found.accounts.find((a) => a.acct === A.handle);
      if (!target) throw new Error(`search found ${JSON.stringify(found.accounts.map((a) => a.acct))}`);
      await bob.v1.accounts.$select(target.id).follow();
      await eventually("B's follow to be accepted", async () => {
        const [rel] = await bob.v1.accounts.relationships.fetch({ id: [target.id] });
        return rel?.following;
      });
      await eventually("a follow notification on A", async () => {
        const list = await alice.v1.notifications.list({ types: ["follow"] });
        return list.some((n) => n.account.acct === B.handle);
      });
    },
  );

  await step("A uploads an image and posts with it", async () => {
    const media = await alice.v2.media.create({
      file: new Blob([PNG], { type: "image/png" }),
      description: "Two by two pixels",
    });
    if (media.type !== "image" || !media.url) throw new Error(`media ${JSON.stringify(media)}`);
    const image = await fetch(media.url);
    if (image.status !== 200 || image.headers.get("content-type") !== "image/png")
      throw new Error(`media URL answered ${image.status} ${image.headers.get("content-type")}`);
    post = await alice.v1.statuses.create({
      status: `Hello from Perch #perchtest, @${B.handle}!`,
      mediaIds: [media.id],
      visibility: "public",
    });
    if (post.mediaAttachments.length !== 1 || post.mediaAttachments[0].description !== "Two by two pixels")
      throw new Error(`status ${JSON.stringify(post)}`);
    if (!post.content.includes('class="mention hashtag"')) throw new Error(`content ${post.content}`);
  });

  let remoteCopy;
  await step("the post reaches B's home timeline with its image; B gets a mention notification", async () => {
    remoteCopy = await eventually("A's post on B", async () => {
      const home = await bob.v1.timelines.home.list({ limit: 20 });
      return home.find((s) => s.uri === post.uri && s.mediaAttachments.length === 1);
    });
    await eventually("a mention notification on B", async () => {
      const list = await bob.v1.notifications.list({ types: ["mention"] });
      return list.some((n) => n.status?.uri === post.uri);
    });
  });

  await step("B favourites the post; A gets a favourite notification (v1 and grouped v2)", async () => {
    await bob.v1.statuses.$select(remoteCopy.id).favourite();
    await eventually("a favourite notification on A", async () => {
      const list = await alice.v1.notifications.list({ types: ["favourite"] });
      return list.some((n) => n.account.acct === B.handle && n.status?.id === post.id);
    });
    const grouped = await alice.v2.notifications.list();
    if (!grouped.notificationGroups.some((g) => g.type === "favourite"))
      throw new Error(`grouped notifications ${JSON.stringify(grouped.notificationGroups)}`);
    const [counted] = await alice.v1.statuses.$select(post.id).favouritedBy.list();
    if (counted?.acct !== B.handle) throw new Error("favourited_by does not list B");
  });

  await step("A pages the home timeline through Link headers", async () => {
    for (let i = 1; i <= 4; i++) await alice.v1.statuses.create({ status: `Paging post ${i}` });
    const seen = [];
    for await (const page of alice.v1.timelines.home.list({ limit: 2 })) {
      seen.push(...page.map((s) => s.id));
      if (seen.length >= 5) break;
    }
    if (seen.length < 5 || new Set(seen).size !== seen.length)
      throw new Error(`paged ids ${JSON.stringify(seen)}`);
    const sorted = [...seen].sort((x, y) => (BigInt(y) > BigInt(x) ? 1 : -1));
    if (JSON.stringify(sorted) !== JSON.stringify(seen)) throw new Error("home timeline is not newest first");
  });

  await step("A searches statuses, accounts and hashtags", async () => {
    const result = await alice.v2.search.list({ q: "Paging" });
    if (result.statuses.length !== 4) throw new Error(`status search found ${result.statuses.length}`);
    const tags = await alice.v2.search.list({ q: "#perchtest", type: "hashtags" });
    if (!tags.hashtags.some((t) => t.name === "perchtest")) throw new Error("hashtag search found nothing");
    const people = await alice.v2.search.list({ q: "bob", type: "accounts" });
    if (!people.accounts.some((a) => a.acct === B.handle)) throw new Error("account search did not find bob");
  });

  await step("A follows B back and puts B in a new list", async () => {
    const [bobAccount] = (await alice.v2.search.list({ q: "bob", type: "accounts" })).accounts;
    await alice.v1.accounts.$select(bobAccount.id).follow();
    await eventually("A's follow to be accepted", async () => {
      const [rel] = await alice.v1.accounts.relationships.fetch({ id: [bobAccount.id] });
      return rel?.following;
    });
    const list = await alice.v1.lists.create({ title: "Friends" });
    await alice.v1.lists.$select(list.id).accounts.create({ accountIds: [bobAccount.id] });
    const members = await alice.v1.lists.$select(list.id).accounts.list();
    if (members.length !== 1 || members[0].id !== bobAccount.id) throw new Error("list members wrong");
    const lists = await alice.v1.lists.list();
    if (!lists.some((l) => l.title === "Friends")) throw new Error("the list is not listed");
  });

  await step("megalodon: the same login, then credentials and the home timeline", async () => {
    const anonymous = generator("mastodon", A.base);
    const app = await anonymous.registerApp("e2e megalodon", {
      scopes: SCOPES.split(" "),
      redirect_uris: REDIRECT,
    });
    const code = await approveInBrowser(A.base, {
      clientId: app.client_id,
      redirectUri: REDIRECT,
      scope: SCOPES,
    });
    const token = await anonymous.fetchAccessToken(app.client_id, app.client_secret, code, REDIRECT);
    const client = generator("mastodon", A.base, token.access_token);
    const me = await client.verifyAccountCredentials();
    if (me.data.username !== "alice") throw new Error(`megalodon verify_credentials: ${me.data.username}`);
    const home = await client.getHomeTimeline({ limit: 40 });
    if (!home.data.some((s) => s.uri === post.uri))
      throw new Error("megalodon's home timeline misses the post");
    const instance = await client.getInstance();
    if (!instance.data.uri && !instance.data.domain) throw new Error("megalodon getInstance gave nothing");
  });

  await step("nothing ended in either dead-letter list", async () => {
    for (const i of [A, B]) {
      const dead = await ownerCall(i, "GET", "/_perch/owner/dead_letters");
      if (dead.length) throw new Error(`${i.name} has dead letters: ${JSON.stringify(dead)}`);
    }
  });
} catch {
  dumpLogs([A, B]);
} finally {
  stop();
}
console.log(`\ne2e clients: ${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
