/**
 * One chunk of an import job, the unit of background work: a queue message runs one, then sends the
 * next while rows remain. A chunk holds the job's lease while it runs, so no two invocations work on
 * a job at once; each row is settled (done, or failed with its reason) in D1 right after its work,
 * so a chunk that crashes leaves every settled row settled, and the next chunk starts after them.
 */
import { and, eq, gte, isNull, lt, or, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { importJobs, importRows, type ImportKind } from "../../db/schema";
import { d1Usage } from "../../db/metered";
import { invocationUsage } from "../usage";
import { holdDeliveries } from "./deliveries";
import { applyRow, failureReason, overwriteStep } from "./rows";
import type { ImportJob } from "./jobs";

/**
 * How much of an invocation a chunk may spend: the Free plan's 50 subrequests and 50 D1 queries.
 * A chunk takes rows while the worst a row can cost still fits: following an account not yet known
 * costs 3 subrequests (WebFinger, the actor, the Follow, sent from the chunk: ./deliveries.ts) and
 * 12 queries (so 3 rows a chunk), measured in test/services/imports/process.test.ts; a cheap row (a known account, a
 * mute, a domain block) costs a few queries, so more of those fit. At most MAX_ROWS rows, and at most
 * MAX_SENDS signed POSTs: each is an RSA signature, ~0.7 ms of the 10 ms of CPU.
 */
export const INVOCATION_BUDGET = { d1Queries: 50, subrequests: 50 };
/**
 * The most a row of each kind costs, with a little room: a new account is resolved (5 queries, 2
 * subrequests) for every kind but domain blocks; a list row may also create the list and follow
 * (measured: 20 queries); a bookmark may fetch its post and its author (measured: 11).
 */
export const ROW_RESERVE: Record<ImportKind, { d1Queries: number; subrequests: number }> = {
  following: { d1Queries: 14, subrequests: 5 },
  blocking: { d1Queries: 16, subrequests: 5 },
  muting: { d1Queries: 10, subrequests: 3 },
  domain_blocking: { d1Queries: 8, subrequests: 2 },
  bookmarks: { d1Queries: 16, subrequests: 6 },
  lists: { d1Queries: 22, subrequests: 6 },
};
/** The chunk's own queries: the claim, the rows' read, the release. */
const CHUNK_QUERIES = 3;
export const MAX_ROWS = 20;
export const MAX_SENDS = 5;

/**
 * How long a chunk may hold a job; one that crashed is taken over after this. Longer than a chunk can
 * run: each of its fetches gives up after 15 seconds, and it makes a dozen at most.
 */
export const LEASE_MS = 5 * 60_000;

export type ChunkOutcome = "more" | "finished" | "busy" | "gone";

/**
 * Runs one chunk of the job: an overwrite step while overwrite mode still has things to remove, else
 * as many of the next pending rows as fit the invocation's budget (at least one). "busy": another
 * invocation holds the job; "gone": no such job, or it is finished, or `chain` is not its current
 * chain.
 */
export async function processImportChunk(ctx: Ctx, jobId: string, chain?: string): Promise<ChunkOutcome> {
  const startQueries = d1Usage.queries;
  const job = await claim(ctx, jobId, chain);
  if (job === "busy" || job === "gone") return job;
  const budget = invocationBudget(ROW_RESERVE[job.kind], startQueries);
  if (job.phase === "overwrite") {
    const held = holdDeliveries(ctx);
    const removed = await overwriteStep(held.ctx, job, OVERWRITE_STEP);
    await held.send();
    await release(ctx, job, removed < OVERWRITE_STEP ? { phase: "rows" } : {});
    return "more";
  }
  const rows = await ctx.db
    .select({ seq: importRows.seq, data: importRows.data })
    .from(importRows)
    .where(
      and(eq(importRows.jobId, job.id), gte(importRows.seq, job.cursor), eq(importRows.state, "pending")),
    )
    .orderBy(importRows.seq)
    .limit(MAX_ROWS);
  let cursor = job.cursor;
  let sends = 0;
  let taken = 0;
  for (const row of rows) {
    if (taken > 0 && (sends >= MAX_SENDS || !budget.fits(taken))) break;
    const held = holdDeliveries(ctx);
    const failure = await attempt(held.ctx, job, row.data);
    // Sent before the row is settled: a crash in between redoes the row, which sends nothing twice
    // (a follow, block or mute that exists is not announced again).
    sends += await held.send();
    await settle(ctx, job, row.seq, failure);
    cursor = row.seq + 1;
    taken++;
  }
  const finished = taken === rows.length && rows.length < MAX_ROWS;
  await release(
    ctx,
    job,
    finished ? { cursor, phase: "finished", finishedAt: new Date().toISOString() } : { cursor },
  );
  return finished ? "finished" : "more";
}

/**
 * Removals per overwrite chunk: an unfollow costs about 9 queries (measured: 44 for 5, on one host;
 * each other host adds its breaker's row) and sends an Undo, so 4 of them.
 */
const OVERWRITE_STEP = 4;

/**
 * What this invocation has spent so far, from the usage meter (services/usage.ts) when it runs under
 * one, else from the isolate's D1 counter (since `startQueries`) and `reserve`'s subrequests per row.
 */
function invocationBudget(reserve: { d1Queries: number; subrequests: number }, startQueries: number) {
  return {
    /** Whether one more row fits after `taken` rows. */
    fits(taken: number): boolean {
      const metered = invocationUsage();
      const queries = metered?.d1Queries ?? d1Usage.queries - startQueries;
      const subrequests = metered?.subrequests ?? taken * reserve.subrequests;
      return (
        queries + reserve.d1Queries + CHUNK_QUERIES <= INVOCATION_BUDGET.d1Queries &&
        subrequests + reserve.subrequests <= INVOCATION_BUDGET.subrequests
      );
    },
  };
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
  if (!current || current.phase === "finished" || (chain !== undefined && current.chain !== chain))
    return "gone";
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
