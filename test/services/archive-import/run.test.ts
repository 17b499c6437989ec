/**
 * Importing the posts of a Mastodon archive: built in the test with the ZIP writer, stored in the
 * test R2 bucket, imported chunk by chunk into the test D1, then read back through the API.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { d1Usage } from "../../../worker/db/metered";
import { d1Of } from "../../../worker/db/client";
import {
  accounts,
  archiveEntries,
  archiveImports,
  archivePosts,
  mediaAttachments,
  notifications,
  statusTags,
  statuses,
} from "../../../worker/db/schema";
import { importReport } from "../../../worker/services/archive-import/report";
import { runImportChunk, type ChunkOptions } from "../../../worker/services/archive-import/run";
import { api } from "../../helpers/api";
import { userToken } from "../../helpers/oauth";
import { testCtx } from "../../helpers/app";
import { OLD, PNG, create, outbox, queuedImport, zipOf } from "./archive";

afterEach(() => vi.restoreAllMocks());

async function runAll(id: string, options?: ChunkOptions) {
  const results: string[] = [];
  for (let i = 0; i < 50; i++) {
    const r = await runImportChunk(testCtx(), id, options);
    results.push(r);
    if (r !== "more") return results;
  }
  throw new Error("the import did not end");
}

const thread = [
  create(1, {
    content: "<p>Hello <script>alert(1)</script><b>world</b> #Perch</p>",
    tag: [{ type: "Hashtag", name: "#Perch", href: "https://old.example/tags/perch" }],
  }),
  create(2, { inReplyTo: `${OLD}/statuses/1`, content: "<p>A reply to myself</p>" }, "unlisted"),
  create(3, { summary: "spoilers", sensitive: true, content: "<p>Hidden</p>" }, "private"),
  create(
    4,
    {
      content: "<p>@bob hi</p>",
      tag: [{ type: "Mention", href: "https://elsewhere.example/users/bob", name: "@bob@elsewhere.example" }],
    },
    "direct",
  ),
  create(5, {
    type: "Question",
    content: "<p>Tea or coffee?</p>",
    endTime: "2023-07-16T10:00:00Z",
    oneOf: [
      { type: "Note", name: "Tea", replies: { type: "Collection", totalItems: 3 } },
      { type: "Note", name: "Coffee", replies: { type: "Collection", totalItems: 5 } },
    ],
    votersCount: 8,
  }),
  create(6, {
    attachment: [
      {
        type: "Document",
        mediaType: "image/png",
        url: "/system/media_attachments/files/1/a.png",
        name: "A bird",
        focalPoint: [0.5, -0.25],
      },
      { type: "Document", mediaType: "image/png", url: "media_attachments/files/2/b.png", name: "Another" },
      {
        type: "Document",
        mediaType: "image/png",
        url: "/system/media_attachments/files/3/gone.png",
        name: "Lost",
      },
    ],
  }),
  {
    id: `${OLD}/statuses/7/activity`,
    type: "Announce",
    actor: OLD,
    published: "2023-08-01T00:00:00Z",
    to: [],
    object: "https://other.example/notes/1",
  },
  create(8, { inReplyTo: "https://other.example/notes/2", content: "<p>A reply to someone else</p>" }),
];

const archive = () =>
  zipOf({
    "outbox.json": outbox(thread),
    "media_attachments/files/1/a.png": PNG,
    "system/media_attachments/files/2/b.png": PNG,
  });

async function byOld(n: number) {
  const ctx = testCtx();
  const m = (
    await ctx.db
      .select()
      .from(archivePosts)
      .where(eq(archivePosts.oldUri, `${OLD}/statuses/${n}`))
  )[0];
  if (!m) throw new Error(`post ${n} was not imported`);
  const s = (await ctx.db.select().from(statuses).where(eq(statuses.id, m.statusId)))[0];
  if (!s) throw new Error(`post ${n} has no status`);
  return { map: m, status: s };
}

describe("importing an archive's posts", () => {
  it("stores each Create as the owner's post with its date, visibility, warning, tags, poll and media", async () => {
    const id = await queuedImport(await archive());
    // The outbox in one chunk, then a step each for actor.json, likes, bookmarks and the relinks.
    expect(await runAll(id)).toEqual(["more", "more", "more", "more", "done"]);
    const { owner } = await testCtx().instance();

    const one = await byOld(1);
    expect(one.status.accountId).toBe(owner.id);
    expect(one.status.local).toBe(true);
    expect(one.status.publishedAt).toBe("2023-02-11T10:00:00.000Z");
    // The id sorts by the original date.
    expect(BigInt(one.status.id) >> 16n).toBe(BigInt(Date.parse("2023-02-11T10:00:00Z")));
    expect(one.status.uri).toBe(`https://social.example.com/users/alice/statuses/${one.status.id}`);
    expect(one.status.content).not.toContain("script");
    expect(one.status.content).toContain("<b>world</b>");
    expect(one.status.language).toBe("en");
    expect(one.map.oldUrl).toBe("https://old.example/@alice/1");
    const tags = await testCtx().db.select().from(statusTags).where(eq(statusTags.statusId, one.status.id));
    expect(tags.map((t) => t.name)).toEqual(["perch"]);

    expect((await byOld(2)).status.visibility).toBe("unlisted");
    expect((await byOld(2)).status.inReplyToId).toBe(one.status.id);
    expect((await byOld(2)).status.inReplyToUri).toBe(one.status.uri);
    expect((await byOld(1)).status.repliesCount).toBe(1);
    const cw = (await byOld(3)).status;
    expect([cw.visibility, cw.spoilerText, cw.sensitive]).toEqual(["private", "spoilers", true]);
    const dm = (await byOld(4)).status;
    expect(dm.visibility).toBe("direct");
    expect(dm.audience.to).toEqual(["https://elsewhere.example/users/bob"]);
    const poll = (await byOld(5)).status.poll;
    expect(poll?.options).toEqual([
      { name: "Tea", votes: 3 },
      { name: "Coffee", votes: 5 },
    ]);
    expect(poll?.closed).toBe("2023-07-16T10:00:00.000Z");
    const other = (await byOld(8)).status;
    expect([other.inReplyToUri, other.inReplyToId]).toEqual(["https://other.example/notes/2", null]);

    const withMedia = (await byOld(6)).status;
    expect(withMedia.attachments.map((a) => a.name)).toEqual(["A bird", "Another"]);
    expect(withMedia.attachments[0]?.focus).toEqual({ x: 0.5, y: -0.25 });
    const rows = await testCtx()
      .db.select()
      .from(mediaAttachments)
      .where(eq(mediaAttachments.statusId, withMedia.id));
    expect(rows).toHaveLength(2);
    for (const r of rows)
      expect(new Uint8Array(await (await env.MEDIA.get(r.key))!.arrayBuffer())).toEqual(PNG);

    const report = await importReport(testCtx(), id);
    expect(report).toMatchObject({
      state: "done",
      itemsRead: 8,
      posts: { imported: 7, alreadyImported: 0, skipped: 0 },
      media: { imported: 2, skipped: 1 },
      polls: { imported: 1 },
      replies: { threaded: 1, toOthers: 1 },
      boosts: { skipped: 1 },
    });
    expect(report?.skips).toEqual([
      {
        item: 5,
        kind: "media",
        ref: "/system/media_attachments/files/3/gone.png",
        reason: "the file is not in the archive",
      },
      { item: 6, kind: "boost", ref: "https://other.example/notes/1", reason: "a boost addressed to no one" },
    ]);
    const me = (await testCtx().db.select().from(accounts).where(eq(accounts.id, owner.id)))[0];
    expect(me?.statusesCount).toBe(7);
  });

  it("is quiet: nothing is delivered and nobody is notified", async () => {
    const sendBatch = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
    const send = vi.spyOn(env.DELIVERY_QUEUE, "send");
    const id = await queuedImport(await archive());
    await runAll(id);
    expect(sendBatch).not.toHaveBeenCalled();
    expect(send).not.toHaveBeenCalled();
    expect(await testCtx().db.select().from(notifications)).toEqual([]);
  });

  it("shows the imported posts through the API with their original dates", async () => {
    const id = await queuedImport(await archive());
    await runAll(id);
    const { owner } = await testCtx().instance();
    const res = await api("GET", `/api/v1/accounts/${owner.id}/statuses?limit=40`, await userToken());
    expect(res.status).toBe(200);
    const dates = (res.body as { created_at: string }[]).map((s) => s.created_at);
    expect(dates).toHaveLength(7);
    expect(dates[0]).toBe("2023-09-18T10:00:00.000Z");
    expect(dates).toContain("2023-02-11T10:00:00.000Z");
    // Logged out, the private and direct posts stay hidden.
    const anonymous = await api("GET", `/api/v1/accounts/${owner.id}/statuses?limit=40`);
    expect(anonymous.body).toHaveLength(5);
  });

  it("works in chunks, carries items over when the media budget runs out, and counts its queries", async () => {
    const id = await queuedImport(await archive());
    const before = d1Usage.queries;
    const results = await runAll(id, { maxItems: 3, maxMediaSubrequests: 2 });
    expect(results.at(-1)).toBe("done");
    expect(results.length).toBeGreaterThan(3);
    const perChunk = (d1Usage.queries - before) / results.length;
    expect(perChunk).toBeLessThanOrEqual(14);
    expect(await importReport(testCtx(), id)).toMatchObject({
      itemsRead: 8,
      posts: { imported: 7 },
      media: { imported: 2, skipped: 1 },
    });
  });

  it("copies at most its media byte budget in a chunk, but one post's media however large", async () => {
    const id = await queuedImport(await archive());
    const results = await runAll(id, { maxMediaBytes: PNG.length });
    // Posts 1–5; post 6 alone (its two images are over the budget); post 8; then the outbox's end;
    // then the phases after it (actor.json, likes, bookmarks, relinks).
    expect(results).toEqual(["more", "more", "more", "more", "more", "more", "more", "done"]);
    expect(await importReport(testCtx(), id)).toMatchObject({
      itemsRead: 8,
      posts: { imported: 7 },
      media: { imported: 2, skipped: 1 },
    });
  });

  it("threads a reply that comes before its parent, reading no more rows a chunk as the import grows", async () => {
    // Post 1 replies to post 2, which comes after it; then a long thread, each replying to the last.
    const items = [
      create(1, { inReplyTo: `${OLD}/statuses/2` }),
      create(2),
      ...Array.from({ length: 78 }, (_, i) => create(i + 3, { inReplyTo: `${OLD}/statuses/${i + 2}` })),
    ];
    const id = await queuedImport(await zipOf({ "outbox.json": outbox(items) }));
    const reads: number[] = [];
    for (let i = 0; i < 40; i++) {
      const before = d1Usage.rowsRead;
      const r = await runImportChunk(testCtx(), id, { maxItems: 5 });
      reads.push(d1Usage.rowsRead - before);
      // While it runs, the report does not count the replies (that reads every post imported).
      if (i === 0) expect((await importReport(testCtx(), id))?.replies).toBeNull();
      if (r !== "more") break;
    }
    expect((await importReport(testCtx(), id))?.state).toBe("done");
    expect((await importReport(testCtx(), id))?.replies).toEqual({ threaded: 79, toOthers: 0 });
    expect((await byOld(1)).status.inReplyToId).toBe((await byOld(2)).status.id);
    expect((await byOld(80)).status.inReplyToId).toBe((await byOld(79)).status.id);
    // The outbox's 16 chunks: the last reads what the second did (the threading statement used to
    // read every status imported so far: 208 rows at the second chunk, 279 at the last).
    const outboxReads = reads.slice(0, 16);
    expect(outboxReads[15]!).toBeLessThanOrEqual(outboxReads[1]! + 5);
  });

  it("never imports a post twice, in a second run of the same archive either", async () => {
    const bytes = await archive();
    await runAll(await queuedImport(bytes));
    const second = await queuedImport(bytes);
    await runAll(second);
    expect(await testCtx().db.select().from(statuses)).toHaveLength(7);
    expect(await importReport(testCtx(), second)).toMatchObject({
      posts: { imported: 0, alreadyImported: 7 },
      media: { imported: 0 },
    });
  });

  it("loses nothing and duplicates nothing when a chunk crashes after copying media", async () => {
    const id = await queuedImport(await archive());
    const ctx = testCtx();
    const d1 = d1Of(ctx.db);
    const real = d1.batch.bind(d1);
    let n = 0;
    const spy = vi.spyOn(d1, "batch").mockImplementation(async (statements) => {
      // The batch of the second chunk (a chunk's batch is its many statements).
      if (statements.length > 3 && ++n === 2) throw new Error("the isolate went away");
      return real(statements);
    });
    const options = { maxItems: 4, maxMediaSubrequests: 50 };
    expect(await runImportChunk(ctx, id, options)).toBe("more");
    await expect(runImportChunk(ctx, id, options)).rejects.toThrow("the isolate went away");
    spy.mockRestore();
    expect(await runAll(id, options)).toContain("done");
    expect(await ctx.db.select().from(statuses)).toHaveLength(7);
    expect(await ctx.db.select().from(mediaAttachments)).toHaveLength(2);
    const listed = await env.MEDIA.list({ prefix: "media/" });
    expect(listed.objects).toHaveLength(2);
    expect(await importReport(ctx, id)).toMatchObject({
      posts: { imported: 7 },
      media: { imported: 2, skipped: 1 },
    });
  });

  it("stops with a clear error at a malformed outbox, keeping what came before and nothing from there on", async () => {
    const good = outbox([create(1), create(2), create(3)]);
    const text = good.replace('/statuses/3/activity","type"', '/statuses/3/activity" "type"');
    expect(text).not.toBe(good);
    const id = await queuedImport(await zipOf({ "outbox.json": text }));
    const results = await runAll(id, { maxItems: 1 });
    expect(results.at(-1)).toBe("failed");
    const report = await importReport(testCtx(), id);
    expect(report?.state).toBe("failed");
    expect(report?.error).toMatch(/line 1, column \d+/);
    expect(report?.posts.imported).toBe(2);
    const uris = (await testCtx().db.select().from(archivePosts)).map((r) => r.oldUri);
    expect(uris.sort()).toEqual([`${OLD}/statuses/1`, `${OLD}/statuses/2`]);
  });

  it("fails clearly on an archive without outbox.json", async () => {
    const id = await queuedImport(await zipOf({ "actor.json": "{}" }));
    expect(await runAll(id)).toEqual(["failed"]);
    expect((await importReport(testCtx(), id))?.error).toMatch(/no outbox\.json/);
  });
});

/** A post of ~3 KB of varied words (deflate keeps most of it), with a date of its own. */
const long = (n: number, object: Record<string, unknown> = {}) =>
  create(n, {
    published: new Date(Date.UTC(2022, 0, 1) + n * 60_000).toISOString(),
    content: `<p>Post ${n}: ${Array.from({ length: 120 }, (_, w) => `w${(n * 7919 + w * 104_729) % 100_003}`).join(" ")} end${n}</p>`,
    ...object,
  });

async function jobRow(id: string) {
  const row = (await testCtx().db.select().from(archiveImports).where(eq(archiveImports.id, id)))[0];
  if (!row) throw new Error("no job");
  return row;
}

describe.each(["deflated", "stored"] as const)("a long outbox.json, %s", (method) => {
  it(
    "is imported whole over many chunks, each resuming where the last one stopped",
    { timeout: 60_000 },
    async () => {
      const text = outbox(Array.from({ length: 300 }, (_, i) => long(i + 1)));
      // Far more than the reader's 16 KiB pieces and a chunk's 128 KiB.
      expect(text.length).toBeGreaterThan(400 * 1024);
      const bytes = await zipOf({ "outbox.json": text }, method === "stored" ? ["outbox.json"] : []);
      const id = await queuedImport(bytes);
      const heads = vi.spyOn(env.MEDIA, "head");
      const gets = vi.spyOn(env.MEDIA, "get");
      const results = await runAll(id, { maxItems: 13 });
      expect(results.at(-1)).toBe("done");
      // The outbox's chunks, then the four steps after it (actor.json, likes, bookmarks, relinks).
      expect(results.length).toBe(Math.ceil(300 / 13) + 4);
      // The job knows its archive's size, and a chunk reads one or two ranges of it (256 KiB at most).
      expect(heads).not.toHaveBeenCalled();
      expect(gets.mock.calls.length).toBeLessThanOrEqual(2 * results.length);
      for (const call of gets.mock.calls)
        expect(call[1]?.range).toMatchObject({ length: expect.any(Number) });
      const sizes = gets.mock.calls.map((c) => (c[1]?.range as { length: number }).length);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);

      const ctx = testCtx();
      const uris = (await ctx.db.select({ u: archivePosts.oldUri }).from(archivePosts)).map((r) => r.u);
      expect(uris).toHaveLength(300);
      expect(new Set(uris)).toEqual(
        new Set(Array.from({ length: 300 }, (_, i) => `${OLD}/statuses/${i + 1}`)),
      );
      expect(await ctx.db.select().from(statuses)).toHaveLength(300);
      for (const n of [1, 13, 14, 150, 300]) expect((await byOld(n)).status.content).toContain(`end${n}</p>`);
      expect(await importReport(ctx, id)).toMatchObject({
        state: "done",
        itemsRead: 300,
        posts: { imported: 300 },
      });
      expect(await ctx.db.select().from(archiveEntries)).toEqual([]);
    },
  );
});

describe("resuming an import", () => {
  /** 120 long posts, every tenth with an image. */
  const withImages = () => {
    const files: Record<string, Uint8Array> = {};
    const posts = Array.from({ length: 120 }, (_, i) => {
      const n = i + 1;
      if (n % 10) return long(n);
      files[`media_attachments/files/${n}/original/p.png`] = PNG;
      const url = `/system/media_attachments/files/${n}/original/p.png`;
      return long(n, { attachment: [{ type: "Document", mediaType: "image/png", url, name: `Image ${n}` }] });
    });
    return zipOf({ "outbox.json": outbox(posts), ...files });
  };

  async function expectAllOnce(id: string, itemsRead = 120) {
    const ctx = testCtx();
    const uris = (await ctx.db.select({ u: archivePosts.oldUri }).from(archivePosts)).map((r) => r.u);
    expect(uris).toHaveLength(120);
    expect(new Set(uris).size).toBe(120);
    expect(await ctx.db.select().from(statuses)).toHaveLength(120);
    expect(await ctx.db.select().from(mediaAttachments)).toHaveLength(12);
    expect((await env.MEDIA.list({ prefix: "media/" })).objects).toHaveLength(12);
    const me = (
      await ctx.db
        .select()
        .from(accounts)
        .where(eq(accounts.id, (await ctx.instance()).owner.id))
    )[0];
    expect(me?.statusesCount).toBe(120);
    expect(await importReport(ctx, id)).toMatchObject({
      state: "done",
      itemsRead,
      media: { imported: 12 },
    });
    expect(await ctx.db.select().from(archiveEntries)).toEqual([]);
  }

  it(
    "loses nothing and duplicates nothing when chunks crash after reading, before their batch",
    { timeout: 60_000 },
    async () => {
      const id = await queuedImport(await withImages());
      const ctx = testCtx();
      const d1 = d1Of(ctx.db);
      const real = d1.batch.bind(d1);
      let n = 0;
      vi.spyOn(d1, "batch").mockImplementation(async (statements) => {
        // Every third chunk dies once, its items read and its media copied, its batch not committed.
        if (statements.length > 2 && ++n % 3 === 0) throw new Error("the isolate went away");
        return real(statements);
      });
      const results: string[] = [];
      for (let i = 0; i < 100 && results.at(-1) !== "done"; i++) {
        results.push(await runImportChunk(ctx, id, { maxItems: 9 }).catch((e: Error) => e.message));
      }
      expect(results.filter((r) => r === "the isolate went away").length).toBeGreaterThanOrEqual(3);
      expect(results.at(-1)).toBe("done");
      await expectAllOnce(id);
      expect(await importReport(ctx, id)).toMatchObject({ posts: { imported: 120, alreadyImported: 0 } });
    },
  );

  it(
    "imports nothing twice when a chunk runs again from a checkpoint already passed",
    { timeout: 60_000 },
    async () => {
      const id = await queuedImport(await withImages());
      const ctx = testCtx();
      const options = { maxItems: 11 };
      expect(await runImportChunk(ctx, id, options)).toBe("more");
      expect(await runImportChunk(ctx, id, options)).toBe("more");
      const passed = await jobRow(id);
      expect(passed.checkpoint).not.toBeNull();
      expect(await runImportChunk(ctx, id, options)).toBe("more");
      expect(await runImportChunk(ctx, id, options)).toBe("more");
      // As if a chunk from two chunks ago ran once more: the same items again.
      await ctx.db
        .update(archiveImports)
        .set({ checkpoint: passed.checkpoint, carry: passed.carry })
        .where(eq(archiveImports.id, id));
      expect((await runAll(id, options)).at(-1)).toBe("done");
      // The 22 items read twice are counted twice, and found imported the second time.
      await expectAllOnce(id, 142);
      const report = await importReport(ctx, id);
      expect(report?.posts.imported).toBe(120);
      expect(report?.posts.alreadyImported).toBe(22);
    },
  );

  it("reads a large central directory into D1 over several chunks, then finds the media there", async () => {
    const padding: Record<string, string> = {};
    for (let i = 0; i < 9; i++) padding[`padding/${i}.txt`] = `file ${i}`;
    const id = await queuedImport(
      await zipOf({
        ...padding,
        "outbox.json": outbox(thread),
        "media_attachments/files/1/a.png": PNG,
        "system/media_attachments/files/2/b.png": PNG,
      }),
    );
    const ctx = testCtx();
    const options = { maxIndexEntries: 4, maxItems: 3 };
    // 12 entries: three chunks that only index, the last of them finding all 12 (no directories).
    for (const stored of [4, 8, 12]) {
      expect(await runImportChunk(ctx, id, options)).toBe("more");
      expect(await ctx.db.select().from(archiveEntries).where(eq(archiveEntries.importId, id))).toHaveLength(
        stored,
      );
      expect(await ctx.db.select().from(statuses)).toHaveLength(0);
    }
    expect((await runAll(id, options)).at(-1)).toBe("done");
    expect(await importReport(ctx, id)).toMatchObject({
      itemsRead: 8,
      posts: { imported: 7 },
      media: { imported: 2, skipped: 1 },
    });
    expect((await byOld(6)).status.attachments.map((a) => a.name)).toEqual(["A bird", "Another"]);
    expect(await ctx.db.select().from(archiveEntries)).toEqual([]);
  });

  it("takes the items before a malformed place in one chunk, then fails there with nothing half-written", async () => {
    const good = outbox([long(1), long(2), long(3), long(4)]);
    const text = good.replace('/statuses/3/activity","type"', '/statuses/3/activity" "type"');
    expect(text).not.toBe(good);
    const id = await queuedImport(await zipOf({ "outbox.json": text, "media_attachments/x.png": PNG }));
    expect(await runAll(id)).toEqual(["more", "failed"]);
    const report = await importReport(testCtx(), id);
    expect(report).toMatchObject({ state: "failed", itemsRead: 2, posts: { imported: 2 } });
    expect(report?.error).toMatch(/malformed JSON at byte \d+ \(line 1, column \d+\)/);
    const uris = (await testCtx().db.select().from(archivePosts)).map((r) => r.oldUri);
    expect(uris.sort()).toEqual([`${OLD}/statuses/1`, `${OLD}/statuses/2`]);
    expect(await testCtx().db.select().from(archiveEntries)).toEqual([]);
  });
});
