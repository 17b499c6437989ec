/**
 * One chunk of an import job, the unit of background work: a queue message runs one, then sends the
 * next while rows remain. A chunk holds the job's lease while it runs, so no two invocations work on
 * a job at once; each row is settled (done, or failed with its reason) in D1 right after its work,
 * so a chunk that crashes leaves every settled row settled, and the next chunk starts after them.
 */
import { and, eq, gte, isNull, lt, or, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { importJobs, importRows } from "../../db/schema";
import { applyRow, failureReason, overwriteStep } from "./rows";
import type { ImportJob } from "./jobs";

/**
 * Rows per chunk. A row that follows an account not yet known costs about 3 subrequests (WebFinger,
 * the actor, the Follow's queue message) and 8 D1 queries (measured: test/services/imports.test.ts),
 * so 5 rows and the chunk's own 4 queries stay within the Free plan's 50 of each per invocation,
 * with room for a slow server's redirect.
 */
export const CHUNK_ROWS = 5;

/** How long a chunk may hold a job; one that crashed is taken over after this. */
export const LEASE_MS = 60_000;

export type ChunkOutcome = "more" | "finished" | "busy" | "gone";

/**
 * Runs one chunk of the job: an overwrite step while overwrite mode still has things to remove, else
 * the next CHUNK_ROWS pending rows. "busy": another invocation holds the job; "gone": no such job,
 * or it is finished, or `chain` is not its current chain.
 */
export async function processImportChunk(ctx: Ctx, jobId: string, chain?: string): Promise<ChunkOutcome> {
  const job = await claim(ctx, jobId, chain);
  if (job === "busy" || job === "gone") return job;
  if (job.phase === "overwrite") {
    const removed = await overwriteStep(ctx, job, CHUNK_ROWS);
    await release(ctx, job, removed < CHUNK_ROWS ? { phase: "rows" } : {});
    return "more";
  }
  const rows = await ctx.db
    .select({ seq: importRows.seq, data: importRows.data })
    .from(importRows)
    .where(and(eq(importRows.jobId, job.id), gte(importRows.seq, job.cursor), eq(importRows.state, "pending")))
    .orderBy(importRows.seq)
    .limit(CHUNK_ROWS);
  let cursor = job.cursor;
  for (const row of rows) {
    await settle(ctx, job, row.seq, await attempt(ctx, job, row.data));
    cursor = row.seq + 1;
  }
  const finished = rows.length < CHUNK_ROWS;
  await release(ctx, job, finished ? { cursor, phase: "finished", finishedAt: new Date().toISOString() } : { cursor });
  return finished ? "finished" : "more";
}

async function attempt(ctx: Ctx, job: ImportJob, data: Record<string, unknown>): Promise<string | null> {
  try {
    await applyRow(ctx, job, data);
    return null;
  } catch (e) {
    const reason = failureReason(e);
    if (reason === null) {
      // Not about the row (a bug, or D1 failing): say so on the row rather than retry it for ever.
      console.error("import row failed", e);
      return `Could not be imported: ${e instanceof Error ? e.message : String(e)}`.slice(0, 500);
    }
    return reason.slice(0, 500);
  }
}

async function settle(ctx: Ctx, job: ImportJob, seq: number, failure: string | null) {
  await ctx.db
    .update(importRows)
    .set(failure === null ? { state: "done" } : { state: "failed", reason: failure })
    .where(and(eq(importRows.jobId, job.id), eq(importRows.seq, seq)));
}

/** Takes the job's lease, unless another invocation holds it or the message is of a dead chain. */
async function claim(ctx: Ctx, jobId: string, chain?: string): Promise<ImportJob | "busy" | "gone"> {
  const now = new Date();
  const [job] = await ctx.db
    .update(importJobs)
    .set({ leaseUntil: new Date(now.getTime() + LEASE_MS).toISOString() })
    .where(
      and(
        eq(importJobs.id, jobId),
        sql`${importJobs.phase} != 'finished'`,
        chain === undefined ? undefined : eq(importJobs.chain, chain),
        or(isNull(importJobs.leaseUntil), lt(importJobs.leaseUntil, now.toISOString())),
      ),
    )
    .returning();
  if (job) return job;
  const current = (await ctx.db.select().from(importJobs).where(eq(importJobs.id, jobId)).limit(1))[0];
  if (!current || current.phase === "finished" || (chain !== undefined && current.chain !== chain)) return "gone";
  return "busy";
}

async function release(ctx: Ctx, job: ImportJob, set: Partial<ImportJob>) {
  await ctx.db
    .update(importJobs)
    .set({ ...set, leaseUntil: null, updatedAt: new Date().toISOString() })
    .where(eq(importJobs.id, job.id));
}

/** Jobs whose chain has not moved for this long are restarted by the cron (a message lost or dead). */
export const STALL_MS = 10 * 60_000;

/** The unfinished jobs no chunk has touched for STALL_MS, for the cron to restart with a new chain. */
export async function stalledImports(ctx: Ctx, now = Date.now()): Promise<ImportJob[]> {
  const before = new Date(now - STALL_MS).toISOString();
  return ctx.db
    .select()
    .from(importJobs)
    .where(
      and(
        sql`${importJobs.phase} != 'finished'`,
        lt(importJobs.updatedAt, before),
        or(isNull(importJobs.leaseUntil), lt(importJobs.leaseUntil, new Date(now).toISOString())),
      ),
    )
    .limit(5);
}
