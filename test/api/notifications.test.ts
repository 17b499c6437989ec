import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BatchItem } from "drizzle-orm/batch";
import { eq } from "drizzle-orm";
import { domainBlocks, follows, markers, mutes, statuses } from "../../worker/db/schema";
import { processActivity } from "../../worker/federation/inbox";
import { newId } from "../../worker/lib/ids";
import { publishNote } from "../../worker/services/post-publish";
import { notifyEndedPolls } from "../../worker/services/notifications";
import { api } from "../helpers/api";
import { ACTOR, testCtx } from "../helpers/app";
import { activityJson, mockFetch, restoreFetch } from "../helpers/fetch-mock";
import { owner, ownerFollows, process, rows } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";
import { createRemoteActor, type RemoteActor } from "../helpers/remote-actor";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
let bob: RemoteActor;
let carol: RemoteActor;
let bobNew: RemoteActor;
let token: string;
beforeEach(async () => {
  bob = await createRemoteActor("https://remote.example/users/bob");
  carol = await createRemoteActor("https://other.example/users/carol");
  bobNew = await createRemoteActor("https://new.example/users/bob", {
    alsoKnownAs: ["https://remote.example/users/bob"],
  });
  mockFetch({
    [bob.id]: () => activityJson(bob.document),
    [carol.id]: () => activityJson(carol.document),
    [bobNew.id]: () => activityJson(bobNew.document),
  });
  token = await userToken("read write");
});
afterEach(() => restoreFetch());

let seq = 0;
function note(actor: RemoteActor, extra: Record<string, unknown> = {}) {
  const id = `${actor.id}/statuses/${++seq}`;
  return {
    id,
    type: "Note",
    attributedTo: actor.id,
    content: "<p>hello</p>",
    published: new Date().toISOString(),
    to: [PUBLIC],
    cc: [`${actor.id}/followers`],
    ...extra,
  };
}
const create = (actor: RemoteActor, object: Record<string, unknown>) => ({
  id: `${object.id as string}/activity`,
  type: "Create",
  actor: actor.id,
  object,
});
const mention = { type: "Mention", href: ACTOR, name: "@alice@social.example.com" };

/**
 * GroupedNotificationsResults, validated with most_recent_notification_id as the number it names:
 * Perch sends it as a string because its 18-digit ids do not survive a JSON number in JavaScript.
 */
function expectGrouped(body: { notification_groups: { most_recent_notification_id: string }[] }) {
  for (const g of body.notification_groups) expect(g.most_recent_notification_id).toMatch(/^\d+$/);
  expectEntity("GroupedNotificationsResults", {
    ...body,
    notification_groups: body.notification_groups.map((g) => ({ ...g, most_recent_notification_id: 1 })),
  });
}

async function list(query = "") {
  const res = await api("GET", `/api/v1/notifications${query}`, token);
  expect(res.status).toBe(200);
  for (const n of res.body) expectEntity("Notification", n);
  return res;
}

describe("notifications from the inbox", () => {
  it("mention: a Create mentioning the owner, once even when redelivered", async () => {
    const object = note(bob, { tag: [mention] });
    await process(create(bob, object));
    await process({ ...create(bob, object), id: `${object.id}/again` });
    const { body } = await list();
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ type: "mention", account: { acct: "bob@remote.example" } });
    expect(body[0].status.uri).toBe(object.id);
  });

  it("mention through the queue consumer's deferred batch", async () => {
    const object = note(bob, { tag: [mention] });
    const writes: BatchItem<"sqlite">[] = [];
    const ctx = testCtx();
    await processActivity(
      ctx,
      {
        activity: create(bob, object),
        signer: bob.id,
        proofVerified: false,
        receivedAt: new Date().toISOString(),
      },
      (w) => writes.push(w),
    );
    expect(await rows("SELECT * FROM notifications")).toEqual([]);
    await ctx.db.batch(writes as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    const { body } = await list();
    expect(body.map((n: { type: string }) => n.type)).toEqual(["mention"]);
  });

  it("mention for a direct message, which also starts a conversation", async () => {
    const object = note(bob, { to: [ACTOR], cc: [], tag: [mention] });
    await process(create(bob, object));
    const { body } = await list();
    expect(body.map((n: { type: string }) => n.type)).toEqual(["mention"]);
    expect(body[0].status.visibility).toBe("direct");
    const convs = await api("GET", "/api/v1/conversations", token);
    expect(convs.body).toHaveLength(1);
    expectEntity("Conversation", convs.body[0]);
    expect(convs.body[0]).toMatchObject({ unread: true, accounts: [{ acct: "bob@remote.example" }] });
  });

  it("status: a post by a followed account with notify on; none without notify", async () => {
    const followed = await ownerFollows(bob.document);
    await process(create(bob, note(bob)));
    expect((await list()).body).toEqual([]);
    await testCtx().db.update(follows).set({ notify: true }).where(eq(follows.targetAccountId, followed.id));
    const object = note(bob);
    await process(create(bob, object));
    const { body } = await list();
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ type: "status", status: { uri: object.id } });
  });

  it("favourite: a Like of the owner's post; its Undo removes it", async () => {
    const post = await publishNote(testCtx(), { text: "like me", visibility: "public" });
    const like = { id: "https://remote.example/likes/1", type: "Like", actor: bob.id, object: post.uri };
    await process(like);
    await process(like);
    let { body } = await list();
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ type: "favourite", status: { id: post.id } });
    await process({ id: "https://remote.example/undo/1", type: "Undo", actor: bob.id, object: like });
    ({ body } = await list());
    expect(body).toEqual([]);
  });

  it("reblog: an Announce of the owner's post; Undo by bare id removes it", async () => {
    const post = await publishNote(testCtx(), { text: "boost me", visibility: "public" });
    await process({
      id: "https://remote.example/boosts/1",
      type: "Announce",
      actor: bob.id,
      object: post.uri,
      to: [PUBLIC],
    });
    let { body } = await list();
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ type: "reblog", status: { id: post.id } });
    await process({
      id: "https://remote.example/undo/2",
      type: "Undo",
      actor: bob.id,
      object: "https://remote.example/boosts/1",
    });
    ({ body } = await list());
    expect(body).toEqual([]);
  });

  it("follow, and follow_request when the owner is locked; Undo removes it", async () => {
    const follow = { id: `${bob.id}#follows/1`, type: "Follow", actor: bob.id, object: ACTOR };
    mockFetch({
      [bob.id]: () => activityJson(bob.document),
      [carol.id]: () => activityJson(carol.document),
      [`${bob.id}/inbox`]: () => new Response(null, { status: 202 }),
    });
    await process(follow);
    let { body } = await list();
    expect(body.map((n: { type: string }) => n.type)).toEqual(["follow"]);
    await process({ id: `${bob.id}#undo/1`, type: "Undo", actor: bob.id, object: follow });
    ({ body } = await list());
    expect(body).toEqual([]);
    const me = await owner();
    await env.DB.prepare("UPDATE accounts SET manually_approves_followers = 1 WHERE id = ?")
      .bind(me.id)
      .run();
    await process({ id: `${carol.id}#follows/1`, type: "Follow", actor: carol.id, object: ACTOR });
    ({ body } = await list());
    expect(body.map((n: { type: string }) => n.type)).toEqual(["follow_request"]);
  });

  it("update: an edit of a post the owner favourited", async () => {
    await ownerFollows(bob.document);
    const object = note(bob);
    await process(create(bob, object));
    const [stored] = await rows<{ id: string }>("SELECT id FROM statuses WHERE uri = ?", object.id);
    const me = await owner();
    await env.DB.prepare("INSERT INTO favourites (id, account_id, status_id, uri) VALUES (?, ?, ?, ?)")
      .bind(newId(), me.id, stored?.id, `${ACTOR}#likes/1`)
      .run();
    const edited = { ...object, content: "<p>edited</p>", updated: new Date().toISOString() };
    await process({ id: `${object.id}#updates/1`, type: "Update", actor: bob.id, object: edited });
    const { body } = await list();
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ type: "update", status: { id: stored?.id, content: "<p>edited</p>" } });
  });

  it("no update notification for an edit of a post the owner did not interact with", async () => {
    await ownerFollows(bob.document);
    const object = note(bob);
    await process(create(bob, object));
    const edited = { ...object, content: "<p>edited</p>", updated: new Date().toISOString() };
    await process({ id: `${object.id}#updates/1`, type: "Update", actor: bob.id, object: edited });
    expect((await list()).body).toEqual([]);
  });

  it("move: a followed account moved", async () => {
    await ownerFollows(bob.document);
    mockFetch({
      [bob.id]: () => activityJson(bob.document),
      [bobNew.id]: () => activityJson(bobNew.document),
      [`${bob.id}/inbox`]: () => new Response(null, { status: 202 }),
      [`${bobNew.id}/inbox`]: () => new Response(null, { status: 202 }),
    });
    await process({
      id: `${bob.id}#moves/1`,
      type: "Move",
      actor: bob.id,
      object: bob.id,
      target: bobNew.id,
    });
    const [bobRow] = await rows<{ id: string }>("SELECT id FROM accounts WHERE uri = ?", bob.id);
    expect(await rows("SELECT type, from_account_id FROM notifications")).toEqual([
      { type: "move", from_account_id: bobRow?.id },
    ]);
    // "move" is not among Mastodon's notification types: clients get it only when they ask for it.
    expect((await list()).body).toEqual([]);
    const asked = await api("GET", "/api/v1/notifications?types[]=move", token);
    expect(asked.body).toHaveLength(1);
    expect(asked.body[0]).toMatchObject({ type: "move", account: { acct: "bob@remote.example" } });
  });

  it("poll: the owner's poll ended (once, by the upkeep)", async () => {
    const post = await publishNote(testCtx(), {
      text: "vote",
      visibility: "public",
      poll: { options: ["a", "b"], expiresIn: 300 },
    } as Parameters<typeof publishNote>[1]);
    const end = new Date(Date.now() + 301_000);
    expect(await notifyEndedPolls(testCtx(), end)).toBe(1);
    expect(await notifyEndedPolls(testCtx(), new Date(end.getTime() + 1000))).toBe(0);
    const { body } = await list();
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ type: "poll", status: { id: post.id } });
  });

  it("nothing from muted accounts (with notifications) or blocked domains", async () => {
    const object = note(bob, { tag: [mention] });
    await process(create(carol, note(carol, { tag: [mention] })));
    const [carolRow] = await rows<{ id: string }>("SELECT id FROM accounts WHERE uri = ?", carol.id);
    expect((await list()).body).toHaveLength(1);
    await testCtx().db.insert(mutes).values({ targetAccountId: carolRow!.id, id: newId() });
    expect((await list()).body).toEqual([]);
    await process(create(carol, note(carol, { tag: [mention] })));
    await testCtx().db.delete(mutes);
    expect((await list()).body).toHaveLength(1);
    await testCtx().db.insert(domainBlocks).values({ domain: "remote.example", id: newId() });
    await process(create(bob, object));
    expect(await rows("SELECT * FROM statuses WHERE uri = ?", object.id)).toEqual([]);
  });
});

describe("poll votes", () => {
  it("counts a vote on the owner's poll once per account, without storing a status", async () => {
    const post = await publishNote(testCtx(), {
      text: "vote",
      visibility: "public",
      poll: { options: ["yes", "no"], expiresIn: 3600 },
    } as Parameters<typeof publishNote>[1]);
    const vote = (actor: RemoteActor, name: string) =>
      create(actor, note(actor, { name, content: undefined, inReplyTo: post.uri, to: [ACTOR], cc: [] }));
    await process(vote(bob, "yes"));
    await process(vote(bob, "no"));
    await process(vote(carol, "no"));
    const [row] = await rows<{ poll: string }>("SELECT poll FROM statuses WHERE id = ?", post.id);
    const poll = JSON.parse(row!.poll);
    expect(poll.options.map((o: { votes: number }) => o.votes)).toEqual([1, 1]);
    expect(poll.votersCount).toBe(2);
    expect(await rows("SELECT id FROM statuses WHERE local = 0")).toEqual([]);
  });
});

describe("GET /api/v1/notifications", () => {
  async function three() {
    const post = await publishNote(testCtx(), { text: "p", visibility: "public" });
    for (const [i, actor] of [bob, carol].entries()) {
      await process({ id: `${actor.id}#likes/${i}`, type: "Like", actor: actor.id, object: post.uri });
    }
    await process(create(bob, note(bob, { tag: [mention] })));
    return post;
  }

  it("filters by types, exclude_types and account_id, and pages with Link", async () => {
    await three();
    const all = await list();
    expect(all.body.map((n: { type: string }) => n.type)).toEqual(["mention", "favourite", "favourite"]);
    expect((await list("?types[]=mention")).body).toHaveLength(1);
    expect((await list("?exclude_types[]=favourite")).body).toHaveLength(1);
    const bobId = all.body[0].account.id;
    expect((await list(`?account_id=${bobId}`)).body).toHaveLength(2);
    const page = await list("?limit=2");
    expect(page.body.map((n: { id: string }) => n.id)).toEqual(
      all.body.slice(0, 2).map((n: { id: string }) => n.id),
    );
    expect(page.headers.get("link")).toContain(`max_id=${all.body[1].id}`);
    const next = await list(`?limit=2&max_id=${all.body[1].id}`);
    expect(next.body.map((n: { id: string }) => n.id)).toEqual([all.body[2].id]);
    const fwd = await list(`?limit=1&min_id=${all.body[2].id}`);
    expect(fwd.body.map((n: { id: string }) => n.id)).toEqual([all.body[1].id]);
  });

  it("shows one, dismisses one, clears all, counts unread after the marker", async () => {
    await three();
    const all = (await list()).body;
    const one = await api("GET", `/api/v1/notifications/${all[0].id}`, token);
    expect(one.status).toBe(200);
    expectEntity("Notification", one.body);
    expect((await api("GET", "/api/v1/notifications/999", token)).status).toBe(404);
    const unread = await api("GET", "/api/v1/notifications/unread_count", token);
    expect(unread.body).toEqual({ count: 3 });
    await testCtx().db.insert(markers).values({ timeline: "notifications", lastReadId: all[1].id });
    expect((await api("GET", "/api/v1/notifications/unread_count", token)).body).toEqual({ count: 1 });
    const dismissed = await api("POST", `/api/v1/notifications/${all[0].id}/dismiss`, token);
    expect(dismissed).toMatchObject({ status: 200, body: {} });
    expect((await list()).body).toHaveLength(2);
    expect((await api("POST", "/api/v1/notifications/123/dismiss", token)).status).toBe(404);
    expect((await api("POST", "/api/v1/notifications/clear", token)).status).toBe(200);
    expect((await list()).body).toEqual([]);
  });

  it("hides notifications about deleted statuses", async () => {
    const post = await three();
    await testCtx()
      .db.update(statuses)
      .set({ deletedAt: new Date().toISOString() })
      .where(eq(statuses.id, post.id));
    expect((await list()).body.map((n: { type: string }) => n.type)).toEqual(["mention"]);
  });

  it("needs read:notifications / write:notifications", async () => {
    expect((await api("GET", "/api/v1/notifications")).status).toBe(401);
    expect((await api("GET", "/api/v1/notifications", await userToken("read:statuses"))).status).toBe(403);
    expect((await api("POST", "/api/v1/notifications/clear", await userToken("read"))).status).toBe(403);
    expect((await api("GET", "/api/v1/notifications", await userToken("read:notifications"))).status).toBe(
      200,
    );
  });

  it("answers the notification requests and policy probes", async () => {
    expect((await api("GET", "/api/v1/notifications/requests", token)).body).toEqual([]);
    const policy = await api("GET", "/api/v2/notifications/policy", token);
    expect(policy.status).toBe(200);
    expectEntity("NotificationPolicy", policy.body);
    const ok = await api("PATCH", "/api/v2/notifications/policy", token, { for_not_following: "accept" });
    expect(ok.status).toBe(200);
    const refused = await api("PATCH", "/api/v2/notifications/policy", token, { for_not_following: "drop" });
    expect(refused.status).toBe(422);
  });
});

describe("GET /api/v2/notifications (grouped)", () => {
  it("groups favourites of a status, keeps mentions apart, and serves a group", async () => {
    const post = await publishNote(testCtx(), { text: "p", visibility: "public" });
    for (const actor of [bob, carol]) {
      await process({ id: `${actor.id}#likes/1`, type: "Like", actor: actor.id, object: post.uri });
    }
    await process(create(bob, note(bob, { tag: [mention] })));
    const res = await api("GET", "/api/v2/notifications", token);
    expect(res.status).toBe(200);
    expectGrouped(res.body);
    const groups = res.body.notification_groups;
    expect(groups.map((g: { type: string }) => g.type)).toEqual(["mention", "favourite"]);
    expect(groups[0].group_key).toMatch(/^ungrouped-\d+$/);
    expect(groups[1]).toMatchObject({
      group_key: `favourite-${post.id}`,
      notifications_count: 2,
      status_id: post.id,
    });
    expect(groups[1].sample_account_ids).toHaveLength(2);
    expect(res.body.accounts).toHaveLength(2);
    for (const a of res.body.accounts) expectEntity("Account", a);
    for (const s of res.body.statuses) expectEntity("Status", s);
    expect(res.body.statuses).toHaveLength(2);

    const one = await api("GET", `/api/v2/notifications/${groups[1].group_key}`, token);
    expectGrouped(one.body);
    expect(one.body.notification_groups).toHaveLength(1);
    const accounts = await api("GET", `/api/v2/notifications/${groups[1].group_key}/accounts`, token);
    expect(accounts.body).toHaveLength(2);
    for (const a of accounts.body) expectEntity("Account", a);
    expect((await api("GET", "/api/v2/notifications/unread_count", token)).body).toEqual({ count: 2 });
    const ungrouped = await api("GET", "/api/v2/notifications?grouped_types[]=reblog", token);
    expect(ungrouped.body.notification_groups).toHaveLength(3);

    expect((await api("POST", `/api/v2/notifications/${groups[1].group_key}/dismiss`, token)).status).toBe(
      200,
    );
    const after = await api("GET", "/api/v2/notifications", token);
    expect(after.body.notification_groups.map((g: { type: string }) => g.type)).toEqual(["mention"]);
    expect((await api("GET", "/api/v2/notifications/favourite-1", token)).status).toBe(404);
  });

  it("pages groups with Link and partial_avatars", async () => {
    for (let i = 0; i < 3; i++) await process(create(bob, note(bob, { tag: [mention] })));
    const first = await api("GET", "/api/v2/notifications?limit=2&expand_accounts=partial_avatars", token);
    expectGrouped(first.body);
    expect(first.body.notification_groups).toHaveLength(2);
    const link = first.headers.get("link") ?? "";
    const maxId = /max_id=(\d+)/.exec(link)?.[1];
    expect(maxId).toBe(first.body.notification_groups[1].page_min_id);
    const next = await api("GET", `/api/v2/notifications?limit=2&max_id=${maxId}`, token);
    expect(next.body.notification_groups).toHaveLength(1);
  });
});

describe("markers", () => {
  it("saves and reads positions, incrementing the version", async () => {
    const empty = await api("GET", "/api/v1/markers?timeline[]=home&timeline[]=notifications", token);
    expect(empty.body).toEqual({});
    const saved = await api("POST", "/api/v1/markers", token, { home: { last_read_id: "100" } });
    expect(saved.status).toBe(200);
    expectEntity("Marker", saved.body.home);
    expect(saved.body.home).toMatchObject({ last_read_id: "100", version: 1 });
    const form = new URLSearchParams({ "home[last_read_id]": "200", "notifications[last_read_id]": "5" });
    const again = await api("POST", "/api/v1/markers", token, form);
    expect(again.body.home).toMatchObject({ last_read_id: "200", version: 2 });
    expect(again.body.notifications).toMatchObject({ last_read_id: "5", version: 1 });
    const read = await api("GET", "/api/v1/markers?timeline[]=home&timeline[]=notifications", token);
    expectEntity("Marker", read.body.home);
    expectEntity("Marker", read.body.notifications);
    expect(read.body.home.last_read_id).toBe("200");
    expect((await api("POST", "/api/v1/markers", token, { home: { last_read_id: "x" } })).status).toBe(422);
    expect((await api("POST", "/api/v1/markers", token, {})).status).toBe(422);
    expect((await api("GET", "/api/v1/markers", await userToken("write"))).status).toBe(403);
  });
});

describe("emoji reaction notifications", () => {
  const react = (actor: RemoteActor, object: string, content: string, n = 1) => ({
    id: `${actor.id}#reacts/${n}`,
    type: "EmojiReact",
    actor: actor.id,
    object,
    content,
  });
  /** A Pleroma notification: Mastodon's schema knows neither the type nor `emoji`, so its parts are checked. */
  const expectReaction = (n: Record<string, any>) => {
    expectEntity("Notification", { ...n, type: "favourite" });
    expect(n.type).toBe("pleroma:emoji_reaction");
  };

  it("are listed in v1 with their emoji, filtered by types and exclude_types, and not grouped in v2", async () => {
    const post = await publishNote(testCtx(), { text: "react to me", visibility: "public" });
    await process(react(bob, post.uri, "🎉"));
    await process(react(carol, post.uri, "🎉"));
    await process({ id: `${bob.id}#likes/9`, type: "Like", actor: bob.id, object: post.uri });
    const res = await api("GET", "/api/v1/notifications", token);
    expect(res.body.map((n: { type: string }) => n.type)).toEqual([
      "favourite",
      "pleroma:emoji_reaction",
      "pleroma:emoji_reaction",
    ]);
    for (const n of res.body.slice(1)) {
      expectReaction(n);
      expect(n).toMatchObject({ emoji: "🎉", status: { id: post.id } });
      expect(n.group_key).toMatch(/^ungrouped-\d+$/);
    }
    expect(res.body[0]).not.toHaveProperty("emoji");
    const only = await api("GET", "/api/v1/notifications?types[]=pleroma:emoji_reaction", token);
    expect(only.body).toHaveLength(2);
    const none = await api("GET", "/api/v1/notifications?exclude_types[]=pleroma:emoji_reaction", token);
    expect(none.body.map((n: { type: string }) => n.type)).toEqual(["favourite"]);
    const one = await api("GET", `/api/v1/notifications/${res.body[1].id}`, token);
    expect(one.body).toMatchObject({ type: "pleroma:emoji_reaction", emoji: "🎉" });

    const grouped = await api("GET", "/api/v2/notifications", token);
    expect(grouped.status).toBe(200);
    const groups = grouped.body.notification_groups;
    expect(groups.map((g: { type: string }) => g.type)).toEqual([
      "favourite",
      "pleroma:emoji_reaction",
      "pleroma:emoji_reaction",
    ]);
    for (const g of groups.slice(1)) {
      expect(g).toMatchObject({ notifications_count: 1, status_id: post.id, emoji: "🎉" });
      expect(g.group_key).toMatch(/^ungrouped-\d+$/);
    }
    expect(
      (await api("GET", "/api/v2/notifications?exclude_types[]=pleroma:emoji_reaction", token)).body
        .notification_groups,
    ).toHaveLength(1);
  });

  it("are gone when the reaction is undone, whichever way the Undo names it", async () => {
    const post = await publishNote(testCtx(), { text: "react to me", visibility: "public" });
    const pleroma = react(bob, post.uri, "🔥", 1);
    const misskey = {
      id: `${carol.id}#likes/2`,
      type: "Like",
      actor: carol.id,
      object: post.uri,
      _misskey_reaction: "👀",
    };
    await process(pleroma);
    await process(misskey);
    await process(react(bob, post.uri, "🐦", 3));
    expect((await api("GET", "/api/v1/notifications", token)).body).toHaveLength(3);
    await process({ id: `${bob.id}#undo/1`, type: "Undo", actor: bob.id, object: pleroma });
    await process({ id: `${carol.id}#undo/2`, type: "Undo", actor: carol.id, object: misskey });
    await process({ id: `${bob.id}#undo/3`, type: "Undo", actor: bob.id, object: `${bob.id}#reacts/3` });
    expect((await api("GET", "/api/v1/notifications", token)).body).toEqual([]);
    expect((await api("GET", "/api/v2/notifications", token)).body.notification_groups).toEqual([]);
    expect((await api("GET", "/api/v1/notifications/unread_count", token)).body).toEqual({ count: 0 });
    expect(await rows("SELECT * FROM favourites")).toEqual([]);
  });

  it("come from no muted account or blocked domain", async () => {
    const post = await publishNote(testCtx(), { text: "react to me", visibility: "public" });
    await process(react(carol, post.uri, "🎉"));
    const [carolRow] = await rows<{ id: string }>("SELECT id FROM accounts WHERE uri = ?", carol.id);
    await testCtx().db.insert(mutes).values({ targetAccountId: carolRow!.id, id: newId() });
    expect((await api("GET", "/api/v1/notifications", token)).body).toEqual([]);
    await process(react(carol, post.uri, "🐦", 2));
    await testCtx().db.delete(mutes);
    // The reaction made while muted never notified; the earlier one shows again.
    expect(
      (await api("GET", "/api/v1/notifications", token)).body.map((n: { emoji: string }) => n.emoji),
    ).toEqual(["🎉"]);
    await testCtx().db.insert(domainBlocks).values({ domain: "other.example", id: newId() });
    expect((await api("GET", "/api/v1/notifications", token)).body).toEqual([]);
  });
});
