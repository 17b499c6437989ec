/**
 * Importing a .tar.gz archive (Mastodon's older exports): the job first turns it into a ZIP in R2, in
 * chunks, then imports that ZIP as any other. Built in the test (ustar, gzipped by the platform) or
 * taken from the fixtures Python's tarfile wrote (PAX and GNU long names), stored in the test R2,
 * run chunk by chunk against the test D1.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { archiveImports, archivePosts, mediaAttachments, statuses } from "../../../worker/db/schema";
import { bytesSource } from "../../../worker/lib/archive/source";
import { ZipReader } from "../../../worker/lib/archive/zip/reader";
import { importReport } from "../../../worker/services/archive-import/report";
import { runImportChunk, type ChunkOptions } from "../../../worker/services/archive-import/run";
import { testCtx } from "../../helpers/app";
import { mockFetch, restoreFetch } from "../../helpers/fetch-mock";
import { fixtures, sha256 } from "../../lib/archive/fixtures";
import { OLD, PNG, create, outbox, queuedImport, queuedTarGzImport, tarGzOf, zipOf } from "./archive";

// The fixture's boost names a server that is not there: it answers 404, and the boost is reported.
beforeEach(() => mockFetch({}));
afterEach(() => {
  restoreFetch();
  vi.restoreAllMocks();
});

const MiB = 1024 * 1024;

/**
 * The ZIP each job's conversion made, taken when the job moved on from converting (the import
 * deletes the archive from R2 once it has read the last of it).
 */
const converted = new Map<string, Uint8Array>();

async function runAll(id: string, options?: ChunkOptions, limit = 400) {
  const results: string[] = [];
  let phase = (await job(id)).phase;
  for (let i = 0; i < limit; i++) {
    const r = await runImportChunk(testCtx(), id, options);
    results.push(r);
    const now = await job(id);
    if (phase === "convert" && now.phase !== "convert" && now.state !== "failed") {
      const object = await env.MEDIA.get(now.key);
      converted.set(id, new Uint8Array(await object!.arrayBuffer()));
    }
    phase = now.phase;
    if (r !== "more") return results;
  }
  throw new Error("the import did not end");
}

const job = async (id: string) =>
  (await testCtx().db.select().from(archiveImports).where(eq(archiveImports.id, id)))[0]!;

const listed = async (prefix: string) => (await env.MEDIA.list({ prefix })).objects.map((o) => o.key);

const posts = (base: string) =>
  outbox([
    create(1, {
      content: "<p>Hello #Perch</p>",
      tag: [{ type: "Hashtag", name: "#Perch", href: "https://old.example/tags/perch" }],
    }),
    create(2, { inReplyTo: `${OLD}/statuses/1`, content: "<p>A reply to myself</p>" }, "unlisted"),
    create(3, { summary: "spoilers", sensitive: true }, "private"),
    create(4, {
      attachment: [
        {
          type: "Document",
          mediaType: "image/png",
          url: "/system/media_attachments/files/1/a.png",
          name: "A",
        },
        { type: "Document", mediaType: "image/png", url: "media_attachments/files/2/b.png", name: "B" },
        { type: "Document", mediaType: "image/png", url: "/system/media_attachments/files/3/gone.png" },
      ],
    }),
  ]).replaceAll(`${OLD}/statuses/`, `${OLD}/statuses/${base}`);

const members = (base: string) => ({
  "outbox.json": posts(base),
  "media_attachments/files/1/a.png": PNG,
  "system/media_attachments/files/2/b.png": PNG,
});

/** What an import made, without the ids: each post (by its old number) with its media's bytes. */
async function imported(id: string, base: string) {
  const ctx = testCtx();
  const rows = await ctx.db
    .select()
    .from(archivePosts)
    .innerJoin(statuses, eq(statuses.id, archivePosts.statusId))
    .where(eq(archivePosts.importId, id));
  const out = [];
  for (const { archive_posts: m, statuses: s } of rows) {
    const media = await ctx.db.select().from(mediaAttachments).where(eq(mediaAttachments.statusId, s.id));
    const files = [];
    for (const f of media.sort((a, b) => a.key.localeCompare(b.key))) {
      const bytes = new Uint8Array(await (await env.MEDIA.get(f.key))!.arrayBuffer());
      files.push({
        type: f.type,
        mime: f.mimeType,
        size: f.size,
        description: f.description,
        sha: await sha256(bytes),
      });
    }
    const parent = s.inReplyToId
      ? rows.find((r) => r.statuses.id === s.inReplyToId)?.archive_posts.oldUri.replace(base, "")
      : null;
    out.push({
      old: m.oldUri.replace(`/statuses/${base}`, "/statuses/"),
      content: s.content,
      visibility: s.visibility,
      publishedAt: s.publishedAt,
      spoiler: s.spoilerText,
      sensitive: s.sensitive,
      tags: s.tags,
      parent,
      files,
    });
  }
  return out.sort((a, b) => a.old.localeCompare(b.old));
}

describe("importing a .tar.gz archive", () => {
  it("imports the same statuses and media as the ZIP of the same files, and leaves only the ZIP", async () => {
    const zipId = await queuedImport(await zipOf(members("")));
    expect((await runAll(zipId)).at(-1)).toBe("done");
    const tarGz = await tarGzOf(members("77"));
    const id = await queuedTarGzImport(tarGz);
    // Small pieces: many conversion chunks, each resuming the last one's checkpoint.
    const results = await runAll(id, { convertBytes: 300 });
    expect(results.length).toBeGreaterThan(10);
    expect(results.at(-1)).toBe("done");

    const fromZip = await imported(zipId, "");
    expect(fromZip).toHaveLength(4);
    expect(fromZip.find((p) => p.old.endsWith("/4"))?.files).toHaveLength(2);
    expect(await imported(id, "77")).toEqual(fromZip);
    const zipReport = await importReport(testCtx(), zipId);
    const report = await importReport(testCtx(), id);
    expect(report).toMatchObject({ state: "done", posts: zipReport!.posts, media: zipReport!.media });
    expect(report!.skips).toEqual(zipReport!.skips);

    const done = await job(id);
    expect(done).toMatchObject({ state: "done", key: `imports/${id}.zip`, convert: null });
    expect(done.convertedBytes).toBe(tarGz.length);
    expect(await env.MEDIA.head(`imports/${id}.tar.gz`)).toBeNull();
    expect(await listed(`imports/${id}.zip-staged/`)).toEqual([]);
    // Read whole, then deleted with the import's end.
    expect(await env.MEDIA.head(done.key)).toBeNull();
    const zip = await ZipReader.open(bytesSource(converted.get(id)!));
    const names: string[] = [];
    for await (const e of zip.entries()) names.push(e.name);
    expect(names).toEqual(Object.keys(members("77")));
  });

  it.each([
    ["PAX", fixtures.paxTarGz],
    ["GNU", fixtures.gnuTarGz],
  ] as const)(
    "imports Python's tarfile archive with %s long names, and reports the link it left out",
    async (_n, bytes) => {
      const id = await queuedTarGzImport(bytes);
      expect((await runAll(id, { convertBytes: 2048 })).at(-1)).toBe("done");
      const report = await importReport(testCtx(), id);
      // The fixture's outbox: a post with two files this archive does not have, a boost, a poll.
      expect(report).toMatchObject({
        state: "done",
        posts: { imported: 2 },
        media: { skipped: 2 },
        other: { skipped: 1 },
      });
      expect(report!.skips).toContainEqual({
        item: -1,
        kind: "item",
        ref: "link-to-long",
        reason: expect.stringMatching(/^a symbolic link/),
      });
      const zip = await ZipReader.open(bytesSource(converted.get(id)!));
      const index = await zip.index();
      expect(index.get("media_attachments/files/ünïcode-ñame.jpg")?.size).toBe(700);
      expect(
        [...index.values()].some((e) =>
          e.name.endsWith("a-very-long-file-name-that-needs-an-extended-header.png"),
        ),
      ).toBe(true);
    },
  );

  it("refuses an archive with a name that escapes it: nothing imported, nothing staged left", async () => {
    const id = await queuedTarGzImport(fixtures.traversalTarGz);
    expect(await runAll(id)).toEqual(["failed"]);
    const failed = await job(id);
    expect(failed.state).toBe("failed");
    expect(failed.error).toBe(
      'The .tar.gz archive cannot be read: unsafe entry name "../../etc/cron.d/evil"',
    );
    expect(await testCtx().db.select().from(archivePosts).where(eq(archivePosts.importId, id))).toEqual([]);
    expect(await listed(`imports/${id}.zip`)).toEqual([]);
  });

  it("fails a truncated archive with a clear error, having imported nothing", async () => {
    const whole = await tarGzOf({ ...members(""), "padding.bin": new Uint8Array(40_000).fill(1) });
    const id = await queuedTarGzImport(whole.slice(0, whole.length - 20));
    const results = await runAll(id, { convertBytes: 4096 });
    expect(results.at(-1)).toBe("failed");
    const failed = await job(id);
    expect(failed.error).toMatch(/^The \.tar\.gz archive cannot be read: .*the data ends early$/);
    expect(failed.phase).toBe("convert");
    expect(await testCtx().db.select().from(archivePosts)).toEqual([]);
    expect(await testCtx().db.select().from(mediaAttachments)).toEqual([]);
    expect(await listed(`imports/${id}.zip`)).toEqual([]);
    expect(await listed("media/")).toEqual([]);
  });

  it("finishes after crashes mid-conversion, with each entry and post once", async () => {
    const tarGz = await tarGzOf({ "padding.bin": new Uint8Array(400_000).fill(3), ...members("") });
    const id = await queuedTarGzImport(tarGz);
    const ctx = testCtx();
    // A crash after the step's R2 writes, before its save: the job row still has the state before.
    for (let i = 0; i < 3; i++) expect(await runImportChunk(ctx, id, { convertBytes: 50_000 })).toBe("more");
    const before = await job(id);
    expect(before.convertedBytes).toBeGreaterThan(0);
    expect(before.convertedBytes).toBeLessThan(tarGz.length);
    expect(await runImportChunk(ctx, id, { convertBytes: 50_000 })).toBe("more");
    await ctx.db
      .update(archiveImports)
      .set({ convert: before.convert, convertedBytes: before.convertedBytes })
      .where(eq(archiveImports.id, id));
    // A crash inside a step: R2 fails a put; the chunk throws, to be retried, and its lease is left.
    const put = vi.spyOn(env.MEDIA, "put").mockRejectedValueOnce(new Error("R2 is down"));
    await expect(runImportChunk(ctx, id, { convertBytes: 50_000 })).rejects.toThrow("R2 is down");
    expect(put).toHaveBeenCalled();
    put.mockRestore();
    expect(await runImportChunk(ctx, id, { convertBytes: 50_000 })).toBe("more"); // the failure cleared the lease
    expect((await runAll(id, { convertBytes: 50_000 })).at(-1)).toBe("done");

    const zip = await ZipReader.open(bytesSource(converted.get(id)!));
    const names: string[] = [];
    for await (const e of zip.entries()) names.push(e.name);
    expect(names).toEqual(["padding.bin", ...Object.keys(members(""))]);
    const rows = await ctx.db.select().from(archivePosts).where(eq(archivePosts.importId, id));
    expect(rows).toHaveLength(4);
    expect(await importReport(ctx, id)).toMatchObject({ posts: { imported: 4 }, media: { imported: 2 } });
  });

  it("builds a ZIP larger than one 5 MiB part from staged pieces, the media after its first part", async () => {
    const padding = new Uint8Array(11 * MiB);
    for (let i = 0; i < padding.length; i += 4096) padding[i] = i % 251;
    const tarGz = await tarGzOf({ "padding.bin": padding, ...members("") });
    const id = await queuedTarGzImport(tarGz);
    const parts = countParts();
    const results = await runAll(id);
    expect(results.at(-1)).toBe("done");
    expect(results.length).toBeGreaterThan(11 * 4);
    expect(converted.get(id)!.length).toBeGreaterThan(11 * MiB);
    expect(parts).toEqual([1, 2, 3]);
    expect(await importReport(testCtx(), id)).toMatchObject({
      state: "done",
      posts: { imported: 4 },
      media: { imported: 2 },
    });
  }, 120_000);
});

/** The part numbers uploaded to R2 multipart uploads from now on. */
function countParts(): number[] {
  const parts: number[] = [];
  const resume = env.MEDIA.resumeMultipartUpload.bind(env.MEDIA);
  vi.spyOn(env.MEDIA, "resumeMultipartUpload").mockImplementation((key, uploadId) => {
    const upload = resume(key, uploadId);
    return {
      key: upload.key,
      uploadId: upload.uploadId,
      uploadPart: (n: number, value: Parameters<R2MultipartUpload["uploadPart"]>[1]) => {
        parts.push(n);
        return upload.uploadPart(n, value);
      },
      abort: () => upload.abort(),
      complete: (p: R2UploadedPart[]) => upload.complete(p),
    };
  });
  return parts;
}
