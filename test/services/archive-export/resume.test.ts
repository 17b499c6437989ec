/**
 * Crashes and restarts: every chunk of an export dies once after writing its parts and its writer
 * state but before storing its progress, and runs again; the archive must come out the same as one
 * made without crashes, with no entry twice and nothing left behind in R2. Also: a chunk that finds
 * another's lease waits, the cron resumes a job whose message was lost, boosts are exported as
 * Announces, a file missing from R2 is reported, and a new export replaces the last one.
 */
import { createMessageBatch, env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { archiveExports } from "../../../worker/db/schema";
import { consumeImport } from "../../../worker/queues/import-consumer";
import type { ImportMessage } from "../../../worker/queues/messages";
import { findExport, startExport } from "../../../worker/services/archive-export/jobs";
import { resumeExports } from "../../../worker/services/archive-export/queue";
import { runExportChunk } from "../../../worker/services/archive-export/run";
import { announce } from "../../../worker/services/interactions";
import { createMedia } from "../../../worker/services/media";
import { publishNote } from "../../../worker/services/post-publish";
import { remoteAccount, remoteStatus } from "../../helpers/api";
import { testCtx } from "../../helpers/app";
import { sha256 } from "../../lib/archive/fixtures";
import { PNG } from "../archive-import/archive";
import { SMALL, entriesOf, exportToEnd, json } from "./export";

const MiB = 1024 * 1024;

beforeEach(() => {
  vi.spyOn(env.DELIVERY_QUEUE, "sendBatch").mockResolvedValue(undefined as never);
  vi.spyOn(env.DELIVERY_QUEUE, "send").mockResolvedValue(undefined as never);
});
afterEach(() => vi.restoreAllMocks());

async function somePosts() {
  const ctx = testCtx();
  const big = new Uint8Array(PNG.length + 11 * MiB);
  big.set(PNG);
  for (let i = PNG.length; i < big.length; i++) big[i] = (i * 31) & 0xff;
  for (let i = 0; i < 7; i++) {
    const mediaIds = [];
    if (i === 2 || i === 5) {
      const file = new File([i === 2 ? big : PNG], "x.png", { type: "image/png" });
      mediaIds.push((await createMedia(ctx, { file, description: `picture ${i}` })).id);
    }
    await publishNote(ctx, { text: `post ${i}`, visibility: i % 2 ? "private" : "public", mediaIds });
  }
}

/** Each entry's name and digest (outbox.json's DOS time aside, the same posts give the same bytes). */
async function digests(bytes: Uint8Array) {
  const out: Record<string, string> = {};
  for (const [name, data] of await entriesOf(bytes)) out[name] = await sha256(data);
  return out;
}

describe("an export that crashes", () => {
  it("resumes every chunk after a crash and writes the same archive, each entry once", async () => {
    await somePosts();
    const clean = await exportToEnd();
    const reference = await digests(clean.bytes);
    expect(Object.keys(reference).filter((n) => n.startsWith("media_attachments/"))).toHaveLength(2);

    const ctx = testCtx();
    const { job } = await startExport(ctx);
    let crashes = 0;
    let runs = 0;
    for (let result = ""; result !== "done";) {
      runs += 1;
      expect(runs).toBeLessThan(200);
      // Every other run crashes: each chunk's work is done once, lost, and done again.
      const crash = runs % 2 === 1;
      if (crash) {
        await expect(runExportChunk(ctx, job.id, { ...SMALL, crashBeforeCommit: true })).rejects.toThrow(
          /crash/,
        );
        crashes += 1;
      } else {
        result = await runExportChunk(ctx, job.id, SMALL);
        expect(["more", "done"]).toContain(result);
      }
    }
    expect(crashes).toBe(clean.chunks);
    const done = await findExport(ctx, job.id);
    expect(done).toMatchObject({ state: "done", failures: 0, statusesDone: 7, mediaDone: 2 });
    const object = await env.MEDIA.get(done!.key);
    const bytes = new Uint8Array(await object!.arrayBuffer());
    expect(bytes.length).toBe(clean.bytes.length);
    expect(await digests(bytes)).toEqual(reference);
    // The writer's state objects are gone, and so is the earlier export.
    const left = await env.MEDIA.list({ prefix: "exports/" });
    expect(left.objects.map((o) => o.key)).toEqual([done!.key]);
    expect(await findExport(ctx, clean.job.id)).toBeUndefined();
  }, 120_000);

  it("gives up after five failures in a row at one place, and keeps the last archive", async () => {
    await publishNote(testCtx(), { text: "one", visibility: "public" });
    const first = await exportToEnd();
    const ctx = testCtx();
    const { job } = await startExport(ctx);
    for (let i = 0; i < 4; i++)
      await expect(runExportChunk(ctx, job.id, { crashBeforeCommit: true })).rejects.toThrow();
    expect(await runExportChunk(ctx, job.id, { crashBeforeCommit: true })).toBe("failed");
    expect(await findExport(ctx, job.id)).toMatchObject({
      state: "failed",
      error: expect.stringMatching(/crash/),
    });
    expect(await env.MEDIA.head(first.job.key)).not.toBeNull();
    expect(await runExportChunk(ctx, job.id)).toBe("none");
  });
});

describe("a large file", () => {
  it("is copied in ranges over several chunks, and a file deleted halfway stops the export clearly", async () => {
    const ctx = testCtx();
    const big = new Uint8Array(PNG.length + 8 * MiB);
    big.set(PNG);
    const m = await createMedia(ctx, { file: new File([big], "x.png"), description: "big" });
    await publishNote(ctx, { text: "big one", visibility: "public", mediaIds: [m.id] });
    const { job } = await startExport(ctx);
    let open = false;
    for (let i = 0; i < 10 && !open; i++) {
      expect(await runExportChunk(ctx, job.id)).toBe("more");
      const row = await findExport(ctx, job.id);
      open = row?.phase === "media" && JSON.parse(row.cursor ?? "null")?.file?.offset > 0;
    }
    expect(open).toBe(true);
    await env.MEDIA.delete(m.key);
    expect(await runExportChunk(ctx, job.id)).toBe("failed");
    expect((await findExport(ctx, job.id))?.error).toMatch(/changed or went during the export/);
  });
});

describe("export jobs", () => {
  it("waits while another chunk holds the lease, and the cron resumes a job left waiting", async () => {
    const ctx = testCtx();
    const { job } = await startExport(ctx);
    expect((await startExport(ctx)).started).toBe(false);
    await ctx.db
      .update(archiveExports)
      .set({ leaseUntil: new Date(Date.now() + 30_000).toISOString() })
      .where(eq(archiveExports.id, job.id));
    expect(await runExportChunk(ctx, job.id)).toBe("busy");

    const send = vi.spyOn(env.IMPORT_QUEUE, "send");
    expect(await resumeExports(ctx)).toBe(0);
    await ctx.db
      .update(archiveExports)
      .set({ leaseUntil: null, updatedAt: new Date(Date.now() - 10 * 60_000).toISOString() })
      .where(eq(archiveExports.id, job.id));
    expect(await resumeExports(ctx)).toBe(1);
    expect(send).toHaveBeenCalledWith({ v: 1, kind: "export", exportId: job.id }, { contentType: "json" });
  });

  it("runs from the import queue: a message runs a chunk and sends the next", async () => {
    await publishNote(testCtx(), { text: "one", visibility: "public" });
    const { job } = await startExport(testCtx());
    const send = vi.spyOn(env.IMPORT_QUEUE, "send");
    const body: ImportMessage = { v: 1, kind: "export", exportId: job.id };
    const batch = createMessageBatch<unknown>("perch-import", [
      { id: "m1", timestamp: new Date(), attempts: 1, body },
    ]);
    await consumeImport(batch, env);
    expect(send).toHaveBeenCalledWith(body, { contentType: "json" });
    expect((await findExport(testCtx(), job.id))?.phase).not.toBe("actor");
  });

  it("exports boosts as Announces and reports a media file missing from storage", async () => {
    const ctx = testCtx();
    const bob = await remoteAccount("bob");
    const theirs = await remoteStatus(bob);
    await announce(ctx, theirs.uri);
    const file = new File([PNG], "x.png", { type: "image/png" });
    const m = await createMedia(ctx, { file, description: "gone" });
    await publishNote(ctx, { text: "lost picture", visibility: "public", mediaIds: [m.id] });
    await env.MEDIA.delete(m.key);

    const { job, bytes } = await exportToEnd();
    const items = json(await entriesOf(bytes), "outbox.json").orderedItems;
    expect(items.map((i: any) => i.type)).toEqual(["Announce", "Create"]);
    expect(items[0].object).toBe(theirs.uri);
    expect(items[1].object.attachment[0]).toMatchObject({ name: "gone" });
    expect(job.skips).toEqual([
      { ref: items[1].object.attachment[0].url, reason: expect.stringMatching(/missing from storage/) },
    ]);
  });

  it("leaves out posts made after the export started", async () => {
    const ctx = testCtx();
    await publishNote(ctx, { text: "before", visibility: "public" });
    const { job } = await startExport(ctx);
    await publishNote(ctx, { text: "after", visibility: "public" });
    while ((await runExportChunk(ctx, job.id)) === "more");
    const done = await findExport(ctx, job.id);
    const object = await env.MEDIA.get(done!.key);
    const items = json(
      await entriesOf(new Uint8Array(await object!.arrayBuffer())),
      "outbox.json",
    ).orderedItems;
    expect(items.map((i: any) => i.object.content)).toEqual(["<p>before</p>"]);
  });
});
