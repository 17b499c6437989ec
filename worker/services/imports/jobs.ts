/**
 * An import job: the rows parsed from a file are stored with the job in one D1 batch (all or
 * nothing), and the job is then driven by a chain of queue messages, one chunk of rows per message
 * (./process.ts), with the cron restarting a chain that stalled.
 */
import { and, desc, eq, gte, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { importJobs, importRows, type ImportKind, type ImportMode } from "../../db/schema";
import { newId } from "../../lib/ids";
import type { ParsedRow } from "./formats";
import { stalledImports } from "./process";

export type ImportJob = typeof importJobs.$inferSelect;

/** Rows' JSON per INSERT … SELECT FROM json_each: well under D1's 2 MB for a bound value. */
const INSERT_BYTES = 1_000_000;

/** Stores a job and its rows, then starts the chain of messages that processes it. */
export async function createImport(
  ctx: Ctx,
  input: { kind: ImportKind; mode: ImportMode; filename: string | null; rows: ParsedRow[] },
): Promise<ImportJob> {
  const id = newId();
  const chain = newId();
  const job = {
    id,
    kind: input.kind,
    mode: input.mode,
    filename: input.filename?.slice(0, 255) ?? null,
    phase: input.mode === "overwrite" ? ("overwrite" as const) : ("rows" as const),
    total: input.rows.length,
    chain,
  };
  const inserts = rowInserts(ctx.db, id, input.rows);
  const [stored] = await ctx.db.batch([ctx.db.insert(importJobs).values(job).returning(), ...inserts]);
  const row = stored[0];
  if (!row) throw new Error("the import job was not stored");
  await startChain(ctx, id, chain);
  return row;
}

function rowInserts(db: Ctx["db"], jobId: string, rows: ParsedRow[]) {
  const statements: ReturnType<Ctx["db"]["run"]>[] = [];
  let part: unknown[] = [];
  let bytes = 0;
  const flush = () => {
    if (part.length === 0) return;
    const json = JSON.stringify(part);
    statements.push(
      db.run(sql`INSERT INTO import_rows (job_id, seq, key, data, state, reason)
        SELECT ${jobId}, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'),
          json(json_extract(j.value, '$[2]')), json_extract(j.value, '$[3]'), json_extract(j.value, '$[4]')
        FROM json_each(${json}) j`),
    );
    part = [];
    bytes = 0;
  };
  rows.forEach((r, seq) => {
    const entry = [seq, r.key, r.data, r.error === undefined ? "pending" : "failed", r.error ?? null];
    bytes += JSON.stringify(entry).length;
    part.push(entry);
    if (bytes >= INSERT_BYTES) flush();
  });
  flush();
  return statements;
}

/** Sends the first (or, from the cron, a new) message of a job's chain. */
export async function startChain(ctx: Ctx, jobId: string, chain: string): Promise<void> {
  await ctx.env.IMPORT_QUEUE.send({ v: 1, job: jobId, chain }, { contentType: "json" });
}

export async function findImport(ctx: Ctx, id: string): Promise<ImportJob | undefined> {
  return (await ctx.db.select().from(importJobs).where(eq(importJobs.id, id)).limit(1))[0];
}

export async function recentImports(ctx: Ctx, limit = 20): Promise<ImportJob[]> {
  return ctx.db.select().from(importJobs).orderBy(desc(importJobs.id)).limit(limit);
}

export interface ImportProgress {
  pending: number;
  done: number;
  failed: number;
}

/** How many rows of a job are pending, done and failed (read from the rows, so it never drifts). */
export async function importProgress(ctx: Ctx, jobId: string): Promise<ImportProgress> {
  const rows = await ctx.db
    .select({ state: importRows.state, n: sql<number>`count(*)` })
    .from(importRows)
    .where(eq(importRows.jobId, jobId))
    .groupBy(importRows.state);
  const out: ImportProgress = { pending: 0, done: 0, failed: 0 };
  for (const r of rows) out[r.state] = r.n;
  return out;
}

export interface FailedRow {
  seq: number;
  data: Record<string, unknown>;
  reason: string | null;
}

/** A job's failed rows, in file order, from row `from` (0-based) on. */
export async function failedRows(ctx: Ctx, jobId: string, from = 0, limit = 100): Promise<FailedRow[]> {
  return ctx.db
    .select({ seq: importRows.seq, data: importRows.data, reason: importRows.reason })
    .from(importRows)
    .where(and(eq(importRows.jobId, jobId), eq(importRows.state, "failed"), gte(importRows.seq, from)))
    .orderBy(importRows.seq)
    .limit(limit);
}

/**
 * The cron's backstop: a job whose chain stopped (its message lost, or dead after its retries) gets a
 * new chain; the old chain's messages, should one still arrive, are dropped.
 */
export async function restartStalledImports(ctx: Ctx, now = Date.now()): Promise<number> {
  const stalled = await stalledImports(ctx, now);
  for (const job of stalled) {
    const chain = newId();
    await ctx.db
      .update(importJobs)
      .set({ chain, updatedAt: new Date(now).toISOString() })
      .where(eq(importJobs.id, job.id));
    await startChain(ctx, job.id, chain);
  }
  return stalled.length;
}
