/**
 * The export job around its chunks: starting one (a multipart upload in R2 and a queued row; never a
 * second while one is under way), finding the one the owner page shows, the cron's list of jobs whose
 * chunk crashed, and replacing the previous archive once a new one is done (its object and its row;
 * an export that failed leaves the previous one in place).
 */
import { and, desc, eq, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { archiveExports, statuses } from "../../db/schema";
import { newZipState } from "../../lib/archive/zip/resumable-writer";
import { newId } from "../../lib/ids";

export type ExportJob = typeof archiveExports.$inferSelect;

/** Where an export's objects live in R2: the archive and the writer's state objects. */
export const exportPrefix = (id: string) => `exports/${id}`;
export const exportKey = (id: string) => `${exportPrefix(id)}/archive.zip`;

/** Starts an export, or answers the one already queued or running. */
export async function startExport(ctx: Ctx): Promise<{ job: ExportJob; started: boolean }> {
  const running = await ctx.db
    .select()
    .from(archiveExports)
    .where(inArray(archiveExports.state, ["queued", "running"]))
    .orderBy(desc(archiveExports.id))
    .limit(1);
  if (running[0]) return { job: running[0], started: false };
  const { owner } = await ctx.instance();
  const [top] = await ctx.db
    .select({ id: sql<string | null>`max(${statuses.id})` })
    .from(statuses)
    .where(and(eq(statuses.accountId, owner.id), eq(statuses.local, true)));
  const id = newId();
  const key = exportKey(id);
  const upload = await ctx.env.MEDIA.createMultipartUpload(key, {
    httpMetadata: { contentType: "application/zip" },
  });
  const [job] = await ctx.db
    .insert(archiveExports)
    .values({
      id,
      key,
      uploadId: upload.uploadId,
      snapshot: top?.id ?? "0",
      writer: newZipState(),
    })
    .returning();
  if (!job) throw new Error("export insert returned no row");
  return { job, started: true };
}

export async function findExport(ctx: Ctx, id: string): Promise<ExportJob | undefined> {
  if (!/^\d{1,20}$/.test(id)) return undefined;
  return (await ctx.db.select().from(archiveExports).where(eq(archiveExports.id, id)))[0];
}

/** The newest export (under way, done or failed), and the newest one done if that is another. */
export async function currentExports(ctx: Ctx): Promise<{ latest?: ExportJob; download?: ExportJob }> {
  const latest = (await ctx.db.select().from(archiveExports).orderBy(desc(archiveExports.id)).limit(1))[0];
  if (!latest || latest.state === "done") return { latest, download: latest };
  const download = (
    await ctx.db
      .select()
      .from(archiveExports)
      .where(eq(archiveExports.state, "done"))
      .orderBy(desc(archiveExports.id))
      .limit(1)
  )[0];
  return { latest, download };
}

/** Jobs queued or running with no live lease and no progress for five minutes (their message was lost). */
export async function resumableExports(ctx: Ctx, now: Date): Promise<string[]> {
  const quiet = new Date(now.getTime() - 5 * 60_000).toISOString();
  const rows = await ctx.db
    .select({ id: archiveExports.id })
    .from(archiveExports)
    .where(
      and(
        inArray(archiveExports.state, ["queued", "running"]),
        or(isNull(archiveExports.leaseUntil), lt(archiveExports.leaseUntil, now.toISOString())),
        lt(archiveExports.updatedAt, quiet),
      ),
    )
    .limit(5);
  return rows.map((r) => r.id);
}

/**
 * Once `id` is done, the exports before it go: their archives (or unfinished uploads) and rows. A
 * failure here leaves them for the next export to remove; it does not undo this one.
 */
export async function dropOlderExports(ctx: Ctx, id: string): Promise<number> {
  const older = await ctx.db
    .select()
    .from(archiveExports)
    .where(and(ne(archiveExports.id, id), lt(archiveExports.id, id)));
  for (const job of older) {
    if (job.state !== "done")
      await ctx.env.MEDIA.resumeMultipartUpload(job.key, job.uploadId)
        .abort()
        .catch(() => undefined);
    const listed = await ctx.env.MEDIA.list({ prefix: `${exportPrefix(job.id)}/` });
    if (listed.objects.length > 0) await ctx.env.MEDIA.delete(listed.objects.map((o) => o.key));
  }
  if (older.length > 0)
    await ctx.db.delete(archiveExports).where(
      inArray(
        archiveExports.id,
        older.map((j) => j.id),
      ),
    );
  return older.length;
}
