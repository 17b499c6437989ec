/**
 * The import job's life before and around its chunks: an upload straight into R2 in parts (the
 * browser sends them one by one; R2's binding cannot list a multipart upload's parts, so they are
 * recorded here, and a reloaded page resumes from them), its completion, and finding jobs the cron
 * must resume.
 * https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#multipart-upload
 */
import { and, asc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { archiveImports, archiveRelinks, archiveSkips, archiveUploadParts } from "../../db/schema";
import { CONTAINERS, detectContainer, MAGIC_BYTES, type Container } from "../../lib/archive/container";
import { newId } from "../../lib/ids";
import { deleteStaged } from "./actor";

/** Parts of 10 MiB: R2 wants every part but the last at least 5 MiB and all of one size. */
export const PART_SIZE = 10 * 1024 * 1024;
/** The largest archive taken (R2 allows 10,000 parts; a Worker's import has its own limits first). */
export const MAX_ARCHIVE_SIZE = 8 * 1024 * 1024 * 1024;

export class UploadError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 413 | 422,
    message: string,
  ) {
    super(message);
  }
}

export type ImportJob = typeof archiveImports.$inferSelect;

export const partCount = (job: Pick<ImportJob, "size" | "partSize">) =>
  Math.max(1, Math.ceil(job.size / job.partSize));

/** The length part `n` must have. */
export function partLength(job: Pick<ImportJob, "size" | "partSize">, n: number): number {
  return n < partCount(job) ? job.partSize : job.size - (partCount(job) - 1) * job.partSize;
}

const NOT_AN_ARCHIVE =
  "This file is neither a .zip nor a .tar.gz archive: upload the archive your old server let you download";

/** The container an upload was started as, from its key (which its first bytes decided). */
export const containerOf = (job: Pick<ImportJob, "key">): Container =>
  job.key.endsWith(`.${CONTAINERS["tar.gz"].ext}`) ? "tar.gz" : "zip";

/**
 * Starts an upload. `head` is the file's first bytes (the page reads them before sending anything):
 * they, not the filename, say whether it is a ZIP or a .tar.gz, which names the R2 key and decides
 * whether the job first converts it (phase "convert"). Without them (an older page) it is taken for a
 * ZIP; either way part 1 must start with that container's magic when it arrives.
 */
export async function createUpload(
  ctx: Ctx,
  input: { filename: string; size: number; head?: Uint8Array; announce?: boolean },
): Promise<ImportJob> {
  if (input.size > MAX_ARCHIVE_SIZE)
    throw new UploadError(413, `An archive may be at most ${MAX_ARCHIVE_SIZE} bytes`);
  const container = input.head ? detectContainer(input.head) : "zip";
  if (!container) throw new UploadError(422, NOT_AN_ARCHIVE);
  const id = newId();
  const { ext, type } = CONTAINERS[container];
  const key = `imports/${id}.${ext}`;
  const upload = await ctx.env.MEDIA.createMultipartUpload(key, { httpMetadata: { contentType: type } });
  const [job] = await ctx.db
    .insert(archiveImports)
    .values({
      id,
      filename: input.filename,
      size: input.size,
      key,
      uploadId: upload.uploadId,
      partSize: PART_SIZE,
      phase: container === "tar.gz" ? "convert" : "outbox",
      announce: input.announce ?? false,
    })
    .returning();
  if (!job) throw new Error("import insert returned no row");
  return job;
}

export async function findImport(ctx: Ctx, id: string): Promise<ImportJob | undefined> {
  if (!/^\d{1,20}$/.test(id)) return undefined;
  return (await ctx.db.select().from(archiveImports).where(eq(archiveImports.id, id)))[0];
}

async function uploadingJob(ctx: Ctx, id: string): Promise<ImportJob> {
  const job = await findImport(ctx, id);
  if (!job) throw new UploadError(404, "No such upload");
  if (job.state !== "uploading") throw new UploadError(409, "This upload is already complete");
  return job;
}

export async function uploadedParts(ctx: Ctx, id: string) {
  return ctx.db
    .select({ partNumber: archiveUploadParts.partNumber, size: archiveUploadParts.size })
    .from(archiveUploadParts)
    .where(eq(archiveUploadParts.importId, id))
    .orderBy(asc(archiveUploadParts.partNumber));
}

/** Stores part `n` (exactly the length it must have) and records it; sending a part again replaces it. */
export async function uploadPart(ctx: Ctx, id: string, n: number, bytes: Uint8Array): Promise<void> {
  const job = await uploadingJob(ctx, id);
  if (!Number.isInteger(n) || n < 1 || n > partCount(job)) {
    throw new UploadError(400, `Part numbers run from 1 to ${partCount(job)}`);
  }
  const want = partLength(job, n);
  if (bytes.length !== want)
    throw new UploadError(422, `Part ${n} must be ${want} bytes, not ${bytes.length}`);
  if (n === 1) checkMagic(job, bytes);
  const upload = ctx.env.MEDIA.resumeMultipartUpload(job.key, job.uploadId);
  const part = await upload.uploadPart(n, bytes);
  await ctx.db
    .insert(archiveUploadParts)
    .values({ importId: id, partNumber: n, etag: part.etag, size: bytes.length })
    .onConflictDoUpdate({
      target: [archiveUploadParts.importId, archiveUploadParts.partNumber],
      set: { etag: part.etag, size: bytes.length },
    });
}

/** Part 1 must begin as the container the upload was started as (its key's extension says which). */
function checkMagic(job: ImportJob, bytes: Uint8Array): void {
  const found = detectContainer(bytes.subarray(0, MAGIC_BYTES));
  const want = containerOf(job);
  if (found === want) return;
  if (!found) throw new UploadError(422, NOT_AN_ARCHIVE);
  throw new UploadError(422, `This file is a ${found} archive, but its upload was started as a ${want} one`);
}

/** Completes the upload once every part is there; the job is then queued for its first chunk. */
export async function completeUpload(ctx: Ctx, id: string): Promise<ImportJob> {
  const job = await uploadingJob(ctx, id);
  const parts = await ctx.db.select().from(archiveUploadParts).where(eq(archiveUploadParts.importId, id));
  const missing: number[] = [];
  for (let n = 1; n <= partCount(job); n++) if (!parts.some((p) => p.partNumber === n)) missing.push(n);
  if (missing.length > 0)
    throw new UploadError(409, `Parts still missing: ${missing.slice(0, 20).join(", ")}`);
  const upload = ctx.env.MEDIA.resumeMultipartUpload(job.key, job.uploadId);
  const object = await upload.complete(
    parts
      .sort((a, b) => a.partNumber - b.partNumber)
      .map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
  );
  if (object.size !== job.size)
    throw new UploadError(422, `The archive is ${object.size} bytes, not ${job.size}`);
  const [queued] = await ctx.db.batch([
    ctx.db
      .update(archiveImports)
      .set({ state: "queued", updatedAt: new Date().toISOString() })
      .where(and(eq(archiveImports.id, id), eq(archiveImports.state, "uploading")))
      .returning(),
    ctx.db.delete(archiveUploadParts).where(eq(archiveUploadParts.importId, id)),
  ]);
  if (!queued[0]) throw new UploadError(409, "This upload is already complete");
  return queued[0];
}

/** Jobs waiting or running with no live lease and no progress for five minutes. */
export async function resumableImports(ctx: Ctx, now: Date): Promise<string[]> {
  const quiet = new Date(now.getTime() - 5 * 60_000).toISOString();
  const rows = await ctx.db
    .select({ id: archiveImports.id })
    .from(archiveImports)
    .where(
      and(
        inArray(archiveImports.state, ["queued", "running"]),
        or(isNull(archiveImports.leaseUntil), lt(archiveImports.leaseUntil, now.toISOString())),
        lt(archiveImports.updatedAt, quiet),
      ),
    )
    .limit(5);
  return rows.map((r) => r.id);
}

/**
 * The owner's choice to announce the imported public posts, or not: open until the job is done (a
 * job already announcing stops at its next step when it is turned off).
 */
export async function setAnnounce(ctx: Ctx, id: string, announce: boolean): Promise<ImportJob> {
  const job = await findImport(ctx, id);
  if (!job) throw new UploadError(404, "No such import");
  const [updated] = await ctx.db
    .update(archiveImports)
    .set({ announce, updatedAt: new Date().toISOString() })
    .where(and(eq(archiveImports.id, id), inArray(archiveImports.state, ["uploading", "queued", "running"])))
    .returning();
  if (!updated) throw new UploadError(409, "This import is over: its posts can no longer be announced");
  return updated;
}

/**
 * A stopped job's archive and staged files removed from R2, on the owner's word (a failed job keeps
 * them until then, to be looked into); the job and its report stay.
 */
export async function discardImport(ctx: Ctx, id: string): Promise<ImportJob> {
  const job = await findImport(ctx, id);
  if (!job) throw new UploadError(404, "No such import");
  if (job.state !== "failed") throw new UploadError(409, "Only a stopped import can be discarded");
  await ctx.env.MEDIA.delete(job.key);
  await deleteStaged(ctx, id);
  const [updated] = await ctx.db.batch([
    ctx.db
      .update(archiveImports)
      .set({
        archiveDeletedAt: job.archiveDeletedAt ?? new Date().toISOString(),
        // Its staged images are gone: the old profile can no longer be applied.
        profileState: job.profileState === "pending" ? "declined" : job.profileState,
        updatedAt: new Date().toISOString(),
      })
      .where(eq(archiveImports.id, id))
      .returning(),
    // What was still to be relinked is reported, not dropped.
    ctx.db
      .insert(archiveSkips)
      .select(
        ctx.db
          .select({
            importId: archiveRelinks.importId,
            item: archiveRelinks.item,
            kind: archiveRelinks.kind,
            ref: archiveRelinks.uri,
            reason: sql<string>`'the import stopped before this was done'`.as("reason"),
          })
          .from(archiveRelinks)
          .where(eq(archiveRelinks.importId, id)),
      )
      .onConflictDoNothing(),
    ctx.db.delete(archiveRelinks).where(eq(archiveRelinks.importId, id)),
  ]);
  if (!updated[0]) throw new UploadError(404, "No such import");
  return updated[0];
}
