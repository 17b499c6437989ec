import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { presentStatuses, serializePoll } from "../../../worker/api/entities/status";
import { bookmarks, favourites, filterKeywords, filters, pins, statuses } from "../../../worker/db/schema";
import { newId } from "../../../worker/lib/ids";
import { favouriteInsertCount } from "../../../worker/services/counters";
import { announce } from "../../../worker/services/interactions";
import { publishNote } from "../../../worker/services/post-publish";
import { ACTOR, testCtx } from "../../helpers/app";
import { remoteAccount, remoteStatus } from "../../helpers/api";
import { owner } from "../../helpers/inbox";
import { expectEntity } from "../../helpers/openapi";

/** A favourite (or an emoji reaction) stored as the inbox stores it, counted when it is a favourite. */
async function react(accountId: string, statusId: string, emoji: string | null = null) {
  const ctx = testCtx();
  const uri = `https://x/${newId()}`;
  const insert = ctx.db.insert(favourites).values({ id: newId(), accountId, statusId, uri, emoji });
  if (emoji) await insert;
  else await ctx.db.batch([favouriteInsertCount(ctx, { statusId, uri }), insert]);
}

/** The status as stored now, with the counts its rows keep. */
async function fresh(id: string) {
  const [row] = await testCtx().db.select().from(statuses).where(eq(statuses.id, id));
  return row!;
}

describe("the Status serializer", () => {
  it("serializes a remote status with mentions, tags, a poll, counts and the owner's flags", async () => {
    const ctx = testCtx();
    const me = await owner();
    const bob = await remoteAccount("bob");
    const status = await remoteStatus(bob, {
      content: "<p>Hi @alice #Perch</p>",
      tags: ["Perch"],
      mentions: [ACTOR],
      extra: {
        type: "Question",
        oneOf: [
          { type: "Note", name: "yes", replies: { type: "Collection", totalItems: 3 } },
          { type: "Note", name: "no", replies: { type: "Collection", totalItems: 1 } },
        ],
        endTime: new Date(Date.now() + 3600_000).toISOString(),
      },
    });
    await react(me.id, status.id);
    await ctx.db.insert(bookmarks).values({ id: newId(), statusId: status.id });
    const reply = await remoteStatus(bob, { inReplyTo: status.uri });
    expect(reply.inReplyToId).toBe(status.id);
    expect(reply.inReplyToAccountId).toBe(bob.id);

    const [s] = await presentStatuses(ctx, [await fresh(status.id)]);
    expectEntity("Status", s);
    expect(s).toMatchObject({
      id: status.id,
      uri: status.uri,
      favourited: true,
      bookmarked: true,
      reblogged: false,
      favourites_count: 1,
      replies_count: 1,
      mentions: [{ id: me.id, acct: "alice", username: "alice" }],
      tags: [{ name: "Perch", url: "https://social.example.com/tags/perch" }],
      poll: {
        multiple: false,
        votes_count: 4,
        options: [
          { title: "yes", votes_count: 3 },
          { title: "no", votes_count: 1 },
        ],
      },
      account: { acct: "bob@remote.example" },
    });
    const [r] = await presentStatuses(ctx, [reply]);
    expect(r).toMatchObject({ in_reply_to_id: status.id, in_reply_to_account_id: bob.id });
  });

  it("serializes a boost with its original inside, and pins on the owner's own posts", async () => {
    const ctx = testCtx();
    const me = await owner();
    const bob = await remoteAccount("bob");
    const original = await remoteStatus(bob, { content: "<p>boost me</p>" });
    const boostId = (await announce(ctx, original.uri)).id;
    const own = await publishNote(ctx, { text: "mine", visibility: "public" });
    await ctx.db.insert(pins).values({ accountId: me.id, statusId: own.id });
    const rows = await ctx.db.select().from(statuses);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out = await presentStatuses(ctx, [byId.get(boostId)!, byId.get(own.id)!]);
    for (const s of out) expectEntity("Status", s);
    expect(out[0]).toMatchObject({
      id: boostId,
      reblogged: true,
      reblog: { id: original.id, reblogged: true, reblogs_count: 1, content: "<p>boost me</p>" },
    });
    expect(out[1]).toMatchObject({
      id: own.id,
      pinned: true,
      content: "<p>mine</p>",
      application: { name: "Perch" },
    });
    // A boost of a deleted post is not shown at all.
    await ctx.db
      .update(statuses)
      .set({ deletedAt: new Date().toISOString() })
      .where(eq(statuses.id, original.id));
    expect((await presentStatuses(ctx, [byId.get(boostId)!])).length).toBe(0);
  });

  it("shows emoji reactions per emoji, Pleroma-style and as a top-level list, apart from favourites", async () => {
    const ctx = testCtx();
    const me = await owner();
    const [bob, carol, dave] = await Promise.all(["bob", "carol", "dave"].map((n) => remoteAccount(n)));
    const liked = await publishNote(ctx, { text: "react", visibility: "public" });
    const quiet = await publishNote(ctx, { text: "no reactions", visibility: "public" });
    const reaction = (accountId: string, emoji: string | null) => react(accountId, liked.id, emoji);
    await reaction(bob!.id, "🐦");
    await reaction(carol!.id, ":blobcat:");
    await reaction(carol!.id, "🐦");
    await reaction(dave!.id, "🐦");
    await reaction(me.id, ":blobcat:");
    await reaction(dave!.id, null);
    const boostId = newId();
    await ctx.db.insert(statuses).values({
      id: boostId,
      uri: `${bob!.uri}/boosts/${boostId}`,
      accountId: bob!.id,
      visibility: "public",
      reblogOfId: liked.id,
      audience: { to: [], cc: [] },
      publishedAt: new Date().toISOString(),
    });
    const [boost] = await ctx.db.select().from(statuses).where(eq(statuses.id, boostId));
    const [a, b, c] = await presentStatuses(ctx, [await fresh(liked.id), quiet, boost!]);
    const expected = [
      { name: "🐦", count: 3, me: false },
      { name: ":blobcat:", count: 2, me: true },
    ];
    expectEntity("Status", a);
    expect(a).toMatchObject({ favourites_count: 1, favourited: false });
    expect((a as any).pleroma).toEqual({ emoji_reactions: expected });
    expect((a as any).reactions).toEqual(expected);
    for (const r of (a as any).reactions) expectEntity("Reaction", r);
    expect(b).toMatchObject({ pleroma: { emoji_reactions: [] }, reactions: [] });
    // A boost shows its original's reactions, on the original and on itself.
    expect(c).toMatchObject({ reactions: expected, reblog: { reactions: expected } });
  });

  it("drops statuses hidden by a filter and marks those a warning filter matches", async () => {
    const ctx = testCtx();
    const bob = await remoteAccount("bob");
    const hidden = await remoteStatus(bob, { content: "<p>spoilers for the finale</p>" });
    const warned = await remoteStatus(bob, { content: "<p>a cat picture</p>" });
    const plain = await remoteStatus(bob, { content: "<p>nothing special</p>" });
    const hideId = newId();
    const warnId = newId();
    await ctx.db.insert(filters).values([
      { id: hideId, title: "Finale", context: ["home"], action: "hide" },
      { id: warnId, title: "Cats", context: ["home"], action: "warn" },
    ]);
    await ctx.db.insert(filterKeywords).values([
      { id: newId(), filterId: hideId, keyword: "finale", wholeWord: true },
      { id: newId(), filterId: warnId, keyword: "cat", wholeWord: true },
    ]);
    const out = await presentStatuses(ctx, [hidden, warned, plain], { filterContext: "home" });
    expect(out.map((s) => s.id)).toEqual([warned.id, plain.id]);
    for (const s of out) expectEntity("Status", s);
    expect(out[0]!.filtered).toMatchObject([
      { filter: { title: "Cats", filter_action: "warn" }, keyword_matches: ["cat"] },
    ]);
    expect(out[1]!.filtered).toEqual([]);
    // In another context the same filters do not apply.
    expect((await presentStatuses(ctx, [hidden], { filterContext: "public" })).length).toBe(1);
  });
});

describe("serializePoll", () => {
  const poll = {
    mode: "oneOf" as const,
    options: [
      { name: "tea", votes: 2 },
      { name: "coffee", votes: 1 },
    ],
    votersCount: 3,
    hideTotals: true,
  };

  it("hides per-option counts from others while a hide_totals poll runs, not from its author", () => {
    const running = { ...poll, endTime: new Date(Date.now() + 3600_000).toISOString() };
    const others = serializePoll("1", running, [], false);
    expectEntity("Poll", others);
    expect(others.options).toEqual([
      { title: "tea", votes_count: null },
      { title: "coffee", votes_count: null },
    ]);
    expect(serializePoll("1", running, [], true).options[0]).toEqual({ title: "tea", votes_count: 2 });
  });

  it("shows them once the poll has ended", () => {
    const ended = serializePoll(
      "1",
      { ...poll, endTime: new Date(Date.now() - 1000).toISOString() },
      [],
      false,
    );
    expectEntity("Poll", ended);
    expect(ended).toMatchObject({ expired: true, options: [{ votes_count: 2 }, { votes_count: 1 }] });
  });
});
