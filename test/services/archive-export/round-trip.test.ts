/**
 * Round trip: posts made through the services (every visibility, a content warning, a poll with
 * votes, a reply thread, media with descriptions and focal points, a file larger than one upload
 * part), exported chunk by chunk, then the owner's posts, media rows and media files wiped (a fresh
 * server in the same test environment), the archive imported by Perch's own import, and the result
 * compared post by post.
 */
import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Status } from "../../../worker/db/client";
import { bookmarks, mediaAttachments, statuses } from "../../../worker/db/schema";
import { runImportChunk } from "../../../worker/services/archive-import/run";
import { bookmark } from "../../../worker/services/bookmarks";
import { like } from "../../../worker/services/interactions";
import { createMedia } from "../../../worker/services/media";
import { publishNote } from "../../../worker/services/post-publish";
import { updateProfile } from "../../../worker/services/profile";
import { remoteAccount, remoteStatus } from "../../helpers/api";
import { ACTOR, testCtx } from "../../helpers/app";
import { restoreFetch } from "../../helpers/fetch-mock";
import { PNG, queuedImport } from "../archive-import/archive";
import { sha256 } from "../../lib/archive/fixtures";
import { entriesOf, exportToEnd, json } from "./export";

afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const MiB = 1024 * 1024;

/** A PNG the sniffer accepts, padded past one 5 MiB upload part (bytes after IEND are kept as they are). */
function bigPng(): Uint8Array {
  const out = new Uint8Array(PNG.length + 6 * MiB);
  out.set(PNG);
  for (let i = PNG.length; i < out.length; i++) out[i] = (i * 7919) & 0xff;
  return out;
}

async function media(bytes: Uint8Array, description: string, focus: string) {
  return createMedia(testCtx(), {
    file: new File([bytes], "x.png", { type: "image/png" }),
    description,
    focus,
  });
}

/**
 * The import sanitizes the archive's HTML as it does any untrusted HTML, which sets its own `rel` and
 * `target` on links (rel="tag" becomes rel="nofollow noopener" target="_blank"): those two attributes
 * are left out of the comparison; text, markup, hrefs and classes are compared as they are.
 */
function linkAttributesAside(html: string): string {
  return html.replace(/ (rel|target)="[^"]*"/g, "");
}

async function ownerPosts(): Promise<Status[]> {
  const { owner } = await testCtx().instance();
  return testCtx().db.select().from(statuses).where(eq(statuses.accountId, owner.id)).orderBy(statuses.id);
}

async function bytesOf(key: string): Promise<Uint8Array> {
  const object = await env.MEDIA.get(key);
  if (!object) throw new Error(`${key} is not in R2`);
  return new Uint8Array(await object.arrayBuffer());
}

/** What a post is, in terms that survive a move: its parent by position, its media by bytes. */
async function describe_(posts: Status[]) {
  const ctx = testCtx();
  const position = new Map(posts.map((s, i) => [s.uri, i]));
  const out = [];
  for (const s of posts) {
    const rows = await ctx.db.select().from(mediaAttachments).where(eq(mediaAttachments.statusId, s.id));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const files = [];
    for (const a of s.attachments) {
      const row = byId.get(a.mediaId ?? "");
      expect(row, `post ${s.id}'s attachment has its media row`).toBeDefined();
      files.push({
        size: row!.size,
        sha256: await sha256(await bytesOf(row!.key)),
        description: row!.description,
        focus: row!.focus,
        mime: row!.mimeType,
        attachmentName: a.name,
        attachmentFocus: a.focus,
      });
    }
    out.push({
      published: s.publishedAt,
      content: linkAttributesAside(s.content),
      visibility: s.visibility,
      spoilerText: s.spoilerText,
      sensitive: s.sensitive,
      language: s.language,
      mentions: s.mentions.map((m) => m.uri),
      tags: s.tags.map((t) => t.name.toLowerCase()),
      poll: s.poll && { mode: s.poll.mode, options: s.poll.options, votersCount: s.poll.votersCount },
      parent: s.inReplyToUri ? (position.get(s.inReplyToUri) ?? s.inReplyToUri) : null,
      files,
    });
  }
  return out;
}

describe("exporting the archive and importing it into a fresh Perch", () => {
  beforeEach(async () => {
    vi.spyOn(env.DELIVERY_QUEUE, "sendBatch").mockResolvedValue(undefined as never);
    vi.spyOn(env.DELIVERY_QUEUE, "send").mockResolvedValue(undefined as never);
  });

  it("gives back every post: content, dates, visibility, CW, polls, threads, media bytes and descriptions", async () => {
    const ctx = testCtx();
    const carol = await remoteAccount("carol", "other.example");
    const theirs = await remoteStatus(carol, { content: "<p>theirs</p>" });
    await updateProfile(ctx, {
      displayName: "Alice",
      note: "I write #things",
      fields: [{ name: "Site", value: "https://alice.example" }],
      avatar: new File([PNG], "a.png", { type: "image/png" }),
    });

    const first = await publishNote(ctx, {
      text: "Hello #perch, public",
      visibility: "public",
      language: "en",
    });
    await publishNote(ctx, { text: "unlisted one", visibility: "unlisted" });
    await publishNote(ctx, { text: "followers only", visibility: "private" });
    await publishNote(ctx, { text: "psst", visibility: "direct", mentions: [carol.uri] });
    await publishNote(ctx, {
      text: "behind a warning",
      visibility: "public",
      spoilerText: "spoilers",
      sensitive: true,
    });
    const poll = await publishNote(ctx, {
      text: "pick one",
      visibility: "public",
      poll: { options: ["tea", "coffee"], expiresIn: 3600 },
    });
    // Votes from others, as their Updates leave them.
    await ctx.db
      .update(statuses)
      .set({
        poll: {
          ...poll.poll!,
          options: [
            { name: "tea", votes: 3 },
            { name: "coffee", votes: 1 },
          ],
          votersCount: 4,
        },
      })
      .where(eq(statuses.id, poll.id));
    const reply = await publishNote(ctx, {
      text: "replying to myself",
      visibility: "public",
      inReplyToId: first.id,
    });
    await publishNote(ctx, { text: "and again", visibility: "unlisted", inReplyToId: reply.id });
    await publishNote(ctx, { text: "to someone else", visibility: "public", inReplyTo: theirs.uri });
    const m1 = await media(PNG, "A one-pixel image", "0.5,-0.25");
    const m2 = await media(bigPng(), "A large one", "-1,1");
    const withMedia = await publishNote(ctx, {
      text: "pictures",
      visibility: "public",
      mediaIds: [m1.id, m2.id],
    });
    await like(ctx, theirs.uri);
    await bookmark(ctx, theirs);
    await bookmark(ctx, withMedia);

    const before = await describe_((await ownerPosts()).filter((s) => s.reblogOfId === null));
    expect(before).toHaveLength(10);
    // What is compared below is what was made (so the comparison can fail on each of them).
    expect(before.map((p) => p.visibility)).toEqual([
      "public",
      "unlisted",
      "private",
      "direct",
      "public",
      "public",
      "public",
      "unlisted",
      "public",
      "public",
    ]);
    expect(before[3]?.mentions).toEqual([carol.uri]);
    expect(before[4]).toMatchObject({ spoilerText: "spoilers", sensitive: true });
    expect(before[5]?.poll?.options).toEqual([
      { name: "tea", votes: 3 },
      { name: "coffee", votes: 1 },
    ]);
    expect(before.map((p) => p.parent)).toEqual([null, null, null, null, null, null, 0, 6, theirs.uri, null]);
    expect(before[9]?.files.map((f) => [f.size, f.description, f.focus])).toEqual([
      [PNG.length, "A one-pixel image", { x: 0.5, y: -0.25 }],
      [PNG.length + 6 * MiB, "A large one", { x: -1, y: 1 }],
    ]);

    const { job, bytes, chunks } = await exportToEnd();
    expect(job).toMatchObject({
      state: "done",
      statusesDone: 10,
      statusesTotal: 10,
      mediaDone: 2,
      skips: [],
    });
    expect(job.size).toBe(bytes.length);
    expect(chunks).toBeGreaterThan(5);

    // The archive in Mastodon's shape.
    const entries = await entriesOf(bytes);
    const outbox = json(entries, "outbox.json");
    expect(outbox).toMatchObject({ type: "OrderedCollection", totalItems: 10 });
    expect(outbox.orderedItems.map((i: any) => i.type)).toEqual(Array(10).fill("Create"));
    const published = outbox.orderedItems.map((i: any) => i.object.published);
    expect([...published].sort()).toEqual(published);
    const pictures = outbox.orderedItems.at(-1).object;
    for (const a of pictures.attachment) {
      expect(a.url).toMatch(/^media_attachments\/files\/[0-9/]+\/original\/\d+\.png$/);
      expect(entries.get(a.url)).toBeDefined();
    }
    expect(pictures.attachment.map((a: any) => [a.name, a.focalPoint])).toEqual([
      ["A one-pixel image", [0.5, -0.25]],
      ["A large one", [-1, 1]],
    ]);
    const actor = json(entries, "actor.json");
    expect(actor).toMatchObject({ id: ACTOR, type: "Person", name: "Alice", icon: { url: "avatar.png" } });
    expect(actor.summary).toContain("things");
    expect(actor.attachment).toEqual([
      expect.objectContaining({
        type: "PropertyValue",
        name: "Site",
        value: expect.stringContaining("alice.example"),
      }),
    ]);
    expect(entries.get("avatar.png")).toEqual(PNG);
    expect(json(entries, "likes.json")).toMatchObject({
      type: "OrderedCollection",
      orderedItems: [theirs.uri],
    });
    expect(json(entries, "bookmarks.json").orderedItems).toEqual([theirs.uri, withMedia.uri]);

    // A fresh server: none of the owner's posts, media rows or media files.
    const { owner } = await ctx.instance();
    await env.DB.batch([
      env.DB.prepare("DELETE FROM statuses WHERE account_id = ?").bind(owner.id),
      env.DB.prepare("DELETE FROM media_attachments"),
      env.DB.prepare("DELETE FROM status_tags"),
      env.DB.prepare("DELETE FROM bookmarks"),
      env.DB.prepare("DELETE FROM favourites"),
      env.DB.prepare("UPDATE accounts SET statuses_count = 0 WHERE id = ?").bind(owner.id),
    ]);
    const listed = await env.MEDIA.list({ prefix: "media/" });
    await env.MEDIA.delete(listed.objects.map((o) => o.key));
    expect(await ownerPosts()).toEqual([]);

    const importId = await queuedImport(bytes);
    for (let i = 0; i < 20; i++) {
      const result = await runImportChunk(ctx, importId);
      if (result === "done") break;
      expect(result).toBe("more");
    }
    const skips = await env.DB.prepare("SELECT * FROM archive_skips WHERE import_id = ?")
      .bind(importId)
      .all();
    expect(skips.results).toEqual([]);

    const after = await describe_(await ownerPosts());
    expect(after).toHaveLength(before.length);
    for (const [i, post] of before.entries()) {
      expect(after[i], `post ${i}`).toEqual(post);
    }
    // Ids sort as the posts did, and each new id is in its post's millisecond (a local post's first id
    // was made a moment before its published_at, so the old ids' milliseconds may differ by one).
    for (const s of await ownerPosts()) expect(Number(BigInt(s.id) >> 16n)).toBe(Date.parse(s.publishedAt));
    // likes.json and bookmarks.json came back too: the like and both bookmarks, relinked by URI (the
    // owner's own post through its old id, the other's post as it is known here).
    const counted = await ctx.db.select({ n: sql<number>`count(*)` }).from(bookmarks);
    expect(counted[0]?.n).toBe(2);
    const liked = await env.DB.prepare("SELECT count(*) AS n FROM favourites").first<{ n: number }>();
    expect(liked?.n).toBe(1);
  }, 60_000);
});
