/**
 * An import job: the rows parsed from a file are stored with the job in one D1 batch (all or
 * nothing), and the job is then driven by a chain of queue messages, one chunk of rows per message
 * (./process.ts), with the cron restarting a chain that stalled.
 */
import { and, desc, eq, gte, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { d1Of } from "../../db/client";
import { importJobs, importRows, type ImportKind, type ImportMode } from "../../db/schema";
import { newId } from "../../lib/ids";
import type { ParsedRow } from "./formats";
import { stalledImports } from "./process";

export type ImportJob = typeof importJobs.$inferSelect;

/** Rows' JSON per INSERT … SELECT FROM json_each: well under D1's 2 MB for a bound value. */
const INSERT_BYTES = 1_000_000;

/**
 * Stores a job and its rows in one D1 batch (so a job is never half written), then starts the chain
 * of messages that processes it. Rows go in as JSON through json_each: a few statements for 20,000
 * rows, where one INSERT per row would take hundreds of the invocation's 50 queries.
 */
export async function createImport(
  ctx: Ctx,
  input: { kind: ImportKind; mode: ImportMode; filename: string | null; rows: ParsedRow[] },
): Promise<ImportJob> {
  const id = newId();
  const chain = newId();
  const d1 = d1Of(ctx.db);
  const phase = input.mode === "overwrite" ? "overwrite" : "rows";
  await d1.batch([
    d1
      .prepare(
        "INSERT INTO import_jobs (id, kind, mode, filename, phase, total, chain) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .bind(
        id,
        input.kind,
        input.mode,
        input.filename?.slice(0, 255) ?? null,
        phase,
        input.rows.length,
        chain,
      ),
    ...rowParts(input.rows).map((json) =>
      d1
        .prepare(
          `INSERT INTO import_rows (job_id, seq, key, data, state, reason)
          SELECT ?, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'),
            json(json_extract(j.value, '$[2]')), json_extract(j.value, '$[3]'), json_extract(j.value, '$[4]')
          FROM json_each(?) j`,
        )
        .bind(id, json),
    ),
  ]);
  const job = await findImport(ctx, id);
  if (!job) throw new Error("the import job was not stored");
  await startChain(ctx, id, chain);
  return job;
}

/** The rows as JSON arrays of [seq, key, data, state, reason], each under INSERT_BYTES. */
function rowParts(rows: ParsedRow[]): string[] {
  const parts: string[] = [];
  let part: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (part.length > 0) parts.push(`[${part.join(",")}]`);
    part = [];
    bytes = 0;
  };
  rows.forEach((r, seq) => {
    const entry = JSON.stringify([
      seq,
      r.key,
      r.data,
      r.error === undefined ? "pending" : "failed",
      r.error ?? null,
    ]);
    part.push(entry);
    bytes += entry.length + 1;
    if (bytes >= INSERT_BYTES) flush();
  });
  flush();
  return parts;
}

/** Sends the first (or, from the cron, a new) message of a job's chain. */
export async function startChain(ctx: Ctx, jobId: string, chain: string): Promise<void> {
  await ctx.env.IMPORT_QUEUE.send({ v: 1, kind: "csv", job: jobId, chain }, { contentType: "json" });
}

export async function findImport(ctx: Ctx, id: string): Promise<ImportJob | undefined> {
  return (await ctx.db.select().from(importJobs).where(eq(importJobs.id, id)).limit(1))[0];
}

/** The latest jobs; each one shown costs a count of its rows, so a page shows few. */
export async function recentImports(ctx: Ctx, limit = 10): Promise<ImportJob[]> {
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
