import { beforeEach, describe, expect, it } from "vitest";
import type { Account, Status } from "../../worker/db/client";
import {
  blocks,
  domainBlocks,
  followedTags,
  follows,
  listAccounts,
  lists,
  mutes,
  statuses,
} from "../../worker/db/schema";
import { newId } from "../../worker/lib/ids";
import { publishNote } from "../../worker/services/post-publish";
import { api, remoteAccount, remoteStatus } from "../helpers/api";
import { ACTOR, testCtx } from "../helpers/app";
import { owner } from "../helpers/inbox";
import { userToken } from "../helpers/oauth";
import { expectEntity } from "../helpers/openapi";

async function follow(a: Account, extra: Partial<typeof follows.$inferInsert> = {}) {
  const me = await owner();
  await testCtx()
    .db.insert(follows)
    .values({
      id: newId(),
      accountId: me.id,
      targetAccountId: a.id,
      uri: `${ACTOR}#f${a.id}`,
      accepted: true,
      ...extra,
    });
}

async function boost(by: Account, of: Status): Promise<Status> {
  const [row] = await testCtx()
    .db.insert(statuses)
    .values({
      id: newId(),
      uri: `${by.uri}/boosts/${of.id}`,
      accountId: by.id,
      local: false,
      visibility: "public",
      reblogOfId: of.id,
      audience: { to: [], cc: [] },
      publishedAt: new Date().toISOString(),
    })
    .returning();
  return row as Status;
}

function ids(body: { id: string }[]) {
  return body.map((s) => s.id);
}

function expectStatuses(body: unknown[]) {
  for (const s of body) expectEntity("Status", s);
}

let token: string;
let bob: Account;
let carol: Account;
beforeEach(async () => {
  token = await userToken("read write");
  bob = await remoteAccount("bob");
  carol = await remoteAccount("carol", "other.example");
  await follow(bob);
});

describe("GET /api/v1/timelines/home", () => {
  it("has the owner's and followed accounts' statuses, newest first, not strangers'", async () => {
    const mine = await publishNote(testCtx(), { text: "mine", visibility: "public" });
    const fromBob = await remoteStatus(bob, { content: "<p>bob</p>", visibility: "private" });
    await remoteStatus(carol, { content: "<p>stranger</p>" });
    const res = await api("GET", "/api/v1/timelines/home", token);
    expect(res.status).toBe(200);
    expectStatuses(res.body);
    expect(new Set(ids(res.body))).toEqual(new Set([mine.id, fromBob.id]));
    expect(res.body[0].id > res.body[1].id).toBe(true);
  });

  it("shows replies only to the owner, a followed account or the author itself", async () => {
    const carolPost = await remoteStatus(carol);
    const bobPost = await remoteStatus(bob);
    const mine = await publishNote(testCtx(), { text: "root", visibility: "public" });
    const toStranger = await remoteStatus(bob, { inReplyTo: carolPost.uri });
    const toSelf = await remoteStatus(bob, { inReplyTo: bobPost.uri });
    const toOwner = await remoteStatus(bob, { inReplyTo: mine.uri });
    const toUnknown = await remoteStatus(bob, { inReplyTo: "https://nowhere.example/notes/1" });
    const res = await api("GET", "/api/v1/timelines/home?limit=40", token);
    expectStatuses(res.body);
    const got = ids(res.body);
    expect(got).toContain(toSelf.id);
    expect(got).toContain(toOwner.id);
    expect(got).not.toContain(toStranger.id);
    expect(got).not.toContain(toUnknown.id);
  });

  it("shows followed accounts' boosts unless show_reblogs is off", async () => {
    const dan = await remoteAccount("dan");
    await follow(dan, { showReblogs: false });
    const original = await remoteStatus(carol, { content: "<p>boosted</p>" });
    const byBob = await boost(bob, original);
    const byDan = await boost(dan, original);
    const res = await api("GET", "/api/v1/timelines/home", token);
    expectStatuses(res.body);
    expect(ids(res.body)).toEqual([byBob.id]);
    expect(ids(res.body)).not.toContain(byDan.id);
    expect(res.body[0].reblog.id).toBe(original.id);
  });

  it("leaves out a boost by the owner or a followed account of a post already on home", async () => {
    const dan = await remoteAccount("dan");
    await follow(dan);
    const mine = await publishNote(testCtx(), { text: "mine", visibility: "public" });
    const bobPost = await remoteStatus(bob, { content: "<p>bob's</p>" });
    const carolPost = await remoteStatus(carol, { content: "<p>a stranger's</p>" });
    const before = await api("GET", "/api/v1/timelines/home", token);
    expect(ids(before.body)).toEqual([bobPost.id, mine.id]);

    const reblogged = await api("POST", `/api/v1/statuses/${mine.id}/reblog`, token);
    expect(reblogged.status).toBe(200);
    const danBoost = await boost(dan, bobPost);
    const bobBoost = await boost(bob, carolPost);
    const res = await api("GET", "/api/v1/timelines/home", token);
    expectStatuses(res.body);
    // The stranger's post was not at home, so bob's boost of it is; the others are there already.
    expect(ids(res.body)).toEqual([bobBoost.id, bobPost.id, mine.id]);
    expect(ids(res.body)).not.toContain(reblogged.body.id);
    expect(ids(res.body)).not.toContain(danBoost.id);
    // The original still shows that the owner boosted it.
    expect(res.body[2]).toMatchObject({ id: mine.id, reblogged: true, reblogs_count: 1 });

    // Polling for what is new after the first page does not bring the boosts back either.
    const newer = await api("GET", `/api/v1/timelines/home?since_id=${bobPost.id}`, token);
    expect(ids(newer.body)).toEqual([bobBoost.id]);
    const forward = await api("GET", `/api/v1/timelines/home?min_id=${bobPost.id}&limit=5`, token);
    expect(ids(forward.body)).toEqual([bobBoost.id]);
    // Page by page, each status once, with Link headers from what was shown.
    const seen: string[] = [];
    let next = "/api/v1/timelines/home?limit=1";
    for (let i = 0; i < 5 && next; i++) {
      const page = await api("GET", next, token);
      seen.push(...ids(page.body));
      const link = /<([^>]+)>; rel="next"/.exec(page.headers.get("link") ?? "")?.[1];
      next = link && page.body.length ? new URL(link).pathname + new URL(link).search : "";
    }
    expect(seen).toEqual([bobBoost.id, bobPost.id, mine.id]);
  });

  it("still shows a boost that brings back a post from further down than Mastodon's 40", async () => {
    const dan = await remoteAccount("dan");
    await follow(dan);
    const old = await remoteStatus(bob, { content: "<p>an old one</p>" });
    // Then 40 posts by bob, a recent post, and dan's boosts of the old and the recent one, in that
    // order of ids.
    const after = (n: number) => (BigInt(old.id) + BigInt(n)).toString();
    const row = (n: number, reblogOfId: string | null = null) => ({
      id: after(n),
      uri: `${reblogOfId ? dan.uri : bob.uri}/statuses/${n}`,
      accountId: reblogOfId ? dan.id : bob.id,
      visibility: "public" as const,
      reblogOfId,
      audience: { to: [], cc: [] },
      publishedAt: new Date().toISOString(),
    });
    // D1 binds at most 100 parameters per statement: a few rows per insert.
    for (let i = 0; i < 40; i += 5)
      await testCtx()
        .db.insert(statuses)
        .values([1, 2, 3, 4, 5].map((k) => row(i + k)));
    const recent = after(41);
    await testCtx()
      .db.insert(statuses)
      .values([row(41), row(42, old.id), row(43, recent)]);
    const res = await api("GET", "/api/v1/timelines/home?limit=3", token);
    expectStatuses(res.body);
    // The old post comes back to the top; the recent one, just below, is not shown twice.
    expect(ids(res.body)).toEqual([after(42), recent, after(40)]);
    expect(res.body[0].reblog.id).toBe(old.id);
  });

  it("shows direct statuses only when the owner is mentioned", async () => {
    const toOwner = await remoteStatus(bob, { visibility: "direct", mentions: [ACTOR] });
    const toOther = await remoteStatus(bob, { visibility: "direct", mentions: [carol.uri] });
    const res = await api("GET", "/api/v1/timelines/home", token);
    expectStatuses(res.body);
    expect(ids(res.body)).toEqual([toOwner.id]);
    expect(ids(res.body)).not.toContain(toOther.id);
  });

  it("hides muted and blocked accounts, blocked domains and boosts of hidden authors", async () => {
    const dan = await remoteAccount("dan");
    const eve = await remoteAccount("eve", "blocked.example");
    for (const a of [dan, eve]) await follow(a);
    const me = await owner();
    const visible = await remoteStatus(bob);
    await remoteStatus(dan);
    await remoteStatus(eve);
    const carolPost = await remoteStatus(carol);
    await boost(bob, carolPost);
    const db = testCtx().db;
    await db.insert(mutes).values({ targetAccountId: dan.id, id: newId() });
    await db.insert(domainBlocks).values({ domain: "blocked.example", id: newId() });
    await db.insert(blocks).values({ accountId: me.id, targetAccountId: carol.id });
    const res = await api("GET", "/api/v1/timelines/home", token);
    expectStatuses(res.body);
    expect(ids(res.body)).toEqual([visible.id]);
  });

  it("an expired mute hides nothing", async () => {
    const post = await remoteStatus(bob);
    await testCtx()
      .db.insert(mutes)
      .values({ targetAccountId: bob.id, id: newId(), expiresAt: "2000-01-01T00:00:00.000Z" });
    const res = await api("GET", "/api/v1/timelines/home", token);
    expect(ids(res.body)).toEqual([post.id]);
  });

  it("includes public posts with a followed tag, and respects a follow's languages", async () => {
    const tagged = await remoteStatus(carol, { tags: ["Birds"] });
    await remoteStatus(carol, { tags: ["cats"] });
    await remoteStatus(carol, { tags: ["birds"], visibility: "unlisted" });
    await testCtx().db.insert(followedTags).values({ name: "birds", id: newId() });
    const dan = await remoteAccount("dan");
    await follow(dan, { languages: ["en"] });
    const english = await remoteStatus(dan, { extra: { contentMap: { en: "<p>hi</p>" } } });
    await remoteStatus(dan, { extra: { contentMap: { de: "<p>hallo</p>" } } });
    const res = await api("GET", "/api/v1/timelines/home", token);
    expectStatuses(res.body);
    expect(new Set(ids(res.body))).toEqual(new Set([tagged.id, english.id]));
  });

  it("pages with max_id, since_id and min_id and sets the Link header", async () => {
    const posts: Status[] = [];
    for (let i = 0; i < 5; i++)
      posts.push(await publishNote(testCtx(), { text: `n${i}`, visibility: "public" }));
    const newestFirst = posts.map((p) => p.id).reverse();
    const first = await api("GET", "/api/v1/timelines/home?limit=2", token);
    expectStatuses(first.body);
    expect(ids(first.body)).toEqual(newestFirst.slice(0, 2));
    const link = first.headers.get("link") ?? "";
    expect(link).toContain(`max_id=${newestFirst[1]}>; rel="next"`);
    expect(link).toContain(`min_id=${newestFirst[0]}>; rel="prev"`);
    const next = await api("GET", `/api/v1/timelines/home?limit=2&max_id=${newestFirst[1]}`, token);
    expect(ids(next.body)).toEqual(newestFirst.slice(2, 4));
    // min_id: the oldest newer than it, returned newest first.
    const fwd = await api("GET", `/api/v1/timelines/home?limit=2&min_id=${newestFirst[4]}`, token);
    expect(ids(fwd.body)).toEqual([newestFirst[2], newestFirst[3]]);
    const since = await api("GET", `/api/v1/timelines/home?limit=2&since_id=${newestFirst[4]}`, token);
    expect(ids(since.body)).toEqual(newestFirst.slice(0, 2));
    const empty = await api("GET", `/api/v1/timelines/home?since_id=${newestFirst[0]}`, token);
    expect(empty.body).toEqual([]);
    expect(empty.headers.get("link")).toBeNull();
  });

  it("needs a token with read:statuses", async () => {
    expect((await api("GET", "/api/v1/timelines/home")).status).toBe(401);
    expect((await api("GET", "/api/v1/timelines/home", await userToken("write"))).status).toBe(403);
    expect((await api("GET", "/api/v1/timelines/home", await userToken("read:statuses"))).status).toBe(200);
  });

  it("refuses a malformed max_id", async () => {
    const res = await api("GET", "/api/v1/timelines/home?max_id=abc", token);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "max_id must be an id" });
  });

  it("leaves deleted statuses out", async () => {
    const post = await remoteStatus(bob);
    const { eq } = await import("drizzle-orm");
    await testCtx()
      .db.update(statuses)
      .set({ deletedAt: new Date().toISOString() })
      .where(eq(statuses.id, post.id));
    expect((await api("GET", "/api/v1/timelines/home", token)).body).toEqual([]);
  });
});

describe("GET /api/v1/timelines/public", () => {
  it("lists public posts without a token, no boosts, no other visibilities", async () => {
    const mine = await publishNote(testCtx(), { text: "local", visibility: "public" });
    await publishNote(testCtx(), { text: "quiet", visibility: "unlisted" });
    const remote = await remoteStatus(carol);
    await remoteStatus(bob, { visibility: "private" });
    await boost(bob, remote);
    const res = await api("GET", "/api/v1/timelines/public");
    expect(res.status).toBe(200);
    expectStatuses(res.body);
    expect(new Set(ids(res.body))).toEqual(new Set([mine.id, remote.id]));
    const local = await api("GET", "/api/v1/timelines/public?local=true");
    expectStatuses(local.body);
    expect(ids(local.body)).toEqual([mine.id]);
    const fed = await api("GET", "/api/v1/timelines/public?remote=1");
    expect(ids(fed.body)).toEqual([remote.id]);
  });

  it("leaves out replies except an author's replies to itself (as Mastodon's public feed)", async () => {
    const root = await remoteStatus(carol);
    const selfReply = await remoteStatus(carol, { inReplyTo: root.uri });
    await remoteStatus(bob, { inReplyTo: root.uri });
    const res = await api("GET", "/api/v1/timelines/public");
    expectStatuses(res.body);
    expect(ids(res.body)).toEqual([selfReply.id, root.id]);
  });

  it("only_media keeps posts with attachments", async () => {
    await remoteStatus(carol);
    const withMedia = await remoteStatus(carol, {
      extra: {
        attachment: [{ type: "Document", mediaType: "image/png", url: "https://other.example/a.png" }],
      },
    });
    const res = await api("GET", "/api/v1/timelines/public?only_media=true");
    expectStatuses(res.body);
    expect(ids(res.body)).toEqual([withMedia.id]);
  });
});

describe("GET /api/v1/timelines/tag/:hashtag", () => {
  it("finds public posts by tag, case-insensitively, with any/all/none", async () => {
    const birds = await remoteStatus(carol, { tags: ["Birds"] });
    const both = await remoteStatus(carol, { tags: ["birds", "cats"] });
    const cats = await remoteStatus(bob, { tags: ["cats"] });
    await remoteStatus(bob, { tags: ["birds"], visibility: "private" });
    const res = await api("GET", "/api/v1/timelines/tag/birds");
    expect(res.status).toBe(200);
    expectStatuses(res.body);
    expect(new Set(ids(res.body))).toEqual(new Set([birds.id, both.id]));
    const any = await api("GET", "/api/v1/timelines/tag/BIRDS?any[]=cats");
    expect(new Set(ids(any.body))).toEqual(new Set([birds.id, both.id, cats.id]));
    const all = await api("GET", "/api/v1/timelines/tag/birds?all[]=cats");
    expect(ids(all.body)).toEqual([both.id]);
    const none = await api("GET", "/api/v1/timelines/tag/birds?none[]=cats");
    expect(ids(none.body)).toEqual([birds.id]);
    const local = await api("GET", "/api/v1/timelines/tag/birds?local=true");
    expect(local.body).toEqual([]);
  });

  it("answers an empty page, not an error, for a tag name with a percent sign", async () => {
    for (const path of ["/api/v1/timelines/tag/100%25", "/api/v1/timelines/tag/%25E0"]) {
      const res = await api("GET", path);
      expect(res.status, path).toBe(200);
      expect(res.body).toEqual([]);
    }
  });
});

describe("GET /api/v1/timelines/list/:id", () => {
  it("shows the members' posts and follows the list's replies policy", async () => {
    const dan = await remoteAccount("dan");
    await follow(dan);
    const listId = newId();
    const db = testCtx().db;
    await db.insert(lists).values({ id: listId, title: "friends", repliesPolicy: "list" });
    await db.insert(listAccounts).values({ listId, accountId: bob.id });
    const danPost = await remoteStatus(dan);
    const bobPost = await remoteStatus(bob);
    const replyToDan = await remoteStatus(bob, { inReplyTo: danPost.uri });
    const res = await api("GET", `/api/v1/timelines/list/${listId}`, token);
    expect(res.status).toBe(200);
    expectStatuses(res.body);
    expect(ids(res.body)).toEqual([bobPost.id]);
    const { eq } = await import("drizzle-orm");
    await db.update(lists).set({ repliesPolicy: "followed" }).where(eq(lists.id, listId));
    const followed = await api("GET", `/api/v1/timelines/list/${listId}`, token);
    expect(new Set(ids(followed.body))).toEqual(new Set([bobPost.id, replyToDan.id]));
  });

  it("members of an exclusive list leave the home timeline", async () => {
    const listId = newId();
    const db = testCtx().db;
    await db.insert(lists).values({ id: listId, title: "x", exclusive: true });
    await db.insert(listAccounts).values({ listId, accountId: bob.id });
    await remoteStatus(bob);
    expect((await api("GET", "/api/v1/timelines/home", token)).body).toEqual([]);
  });

  it("is 404 for an unknown list and needs read:lists", async () => {
    const res = await api("GET", "/api/v1/timelines/list/123", token);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: "Record not found" });
    expect((await api("GET", "/api/v1/timelines/list/123")).status).toBe(401);
  });
});

describe("GET /api/v1/timelines/link", () => {
  it("answers an empty page for a URL and 422 without one", async () => {
    const res = await api("GET", "/api/v1/timelines/link?url=https%3A%2F%2Fexample.com%2Fa", token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expect((await api("GET", "/api/v1/timelines/link", token)).status).toBe(422);
  });
});
