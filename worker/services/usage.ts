import { AsyncLocalStorage } from "node:async_hooks";
import { gte, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import { openDb, type DB } from "../db/client";
import { queueStats, usageHours } from "../db/schema";
import type { Bindings } from "../env";
import { onForgetIsolateCaches } from "../lib/isolate-cache";

/**
 * Perch's own meter of what Cloudflare bills, so the owner sees the day against the plan without
 * Cloudflare's dashboard: invocations (HTTP requests, queue batches, cron runs), subrequests, D1
 * queries and rows (D1's own `meta`), Queue operations and R2 operations, per UTC hour, plus the
 * most any one invocation made of the per-invocation limits (subrequests, queries).
 *
 * Each invocation runs inside `meterInvocation`, which holds its figures in an AsyncLocalStorage so
 * that code deep down (the D1 wrapper, the fetchers, the R2 and Queue wrappers) adds to the
 * invocation it runs for, even with several requests in one isolate at once. When the invocation
 * ends its figures join the isolate's gathering for the hour, written every FLUSH_MS as one upsert
 * per hour (the same way as relay counts, services/relay-accounting.ts): metering costs at most one
 * row written per 20 s, never a row per request. CPU time is not metered: a Worker cannot see its
 * own CPU time (its clock stands still while it computes).
 */

export interface InvocationUsage {
  subrequests: number;
  d1Queries: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  queueOps: number;
  r2ClassA: number;
  r2ClassB: number;
}

export type InvocationKind = "request" | "queue" | "cron";

function emptyInvocation(): InvocationUsage {
  return {
    subrequests: 0,
    d1Queries: 0,
    d1RowsRead: 0,
    d1RowsWritten: 0,
    queueOps: 0,
    r2ClassA: 0,
    r2ClassB: 0,
  };
}

const current = new AsyncLocalStorage<InvocationUsage>();

/** The figures of the invocation this code runs for (undefined outside one, e.g. in a unit test). */
export function invocationUsage(): InvocationUsage | undefined {
  return current.getStore();
}

/** Adds to the running invocation's figures; a no-op outside one. */
export function meter(add: Partial<InvocationUsage>): void {
  const usage = current.getStore();
  if (!usage) return;
  for (const [k, v] of Object.entries(add) as [keyof InvocationUsage, number][]) usage[k] += v;
}

/** One Queue operation per 64 KB of a message written, read or deleted. */
export function queueOpsFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 65_536));
}

/** The Queue operations of writing or reading one message body (JSON, as Perch sends them). */
export function queueOpsOfBody(body: unknown): number {
  let bytes = 0;
  try {
    bytes = typeof body === "string" ? body.length : (JSON.stringify(body)?.length ?? 0);
  } catch {
    bytes = 0;
  }
  return queueOpsFor(bytes);
}

export interface QueueCounts {
  sent: number;
  processed: number;
  retried: number;
  failed: number;
  maxLagMs: number;
}

type HourTotals = {
  requests: number;
  queueBatches: number;
} & InvocationUsage & { maxSubrequests: number; maxD1Queries: number };

function emptyHour(): HourTotals {
  return { requests: 0, queueBatches: 0, ...emptyInvocation(), maxSubrequests: 0, maxD1Queries: 0 };
}

function emptyQueue(): QueueCounts {
  return { sent: 0, processed: 0, retried: 0, failed: 0, maxLagMs: 0 };
}

const DEFAULT_FLUSH_MS = 20_000;
const RETRY_MS = 2000;

// What this isolate gathered and has not written, by hour, and by queue and hour.
let hours = new Map<string, HourTotals>();
let queues = new Map<string, QueueCounts>();
let since = 0;
let generation = 0;

onForgetIsolateCaches(() => {
  hours = new Map();
  queues = new Map();
  since = 0;
  generation++;
});

export function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13);
}

function startGathering() {
  if (hours.size === 0 && queues.size === 0) since = Date.now();
}

function addInvocation(kind: InvocationKind, usage: InvocationUsage, at: Date) {
  startGathering();
  const hour = hourOf(at);
  const h = hours.get(hour) ?? emptyHour();
  if (kind === "queue") h.queueBatches++;
  h.requests++;
  for (const k of Object.keys(usage) as (keyof InvocationUsage)[]) h[k] += usage[k];
  h.maxSubrequests = Math.max(h.maxSubrequests, usage.subrequests);
  h.maxD1Queries = Math.max(h.maxD1Queries, usage.d1Queries);
  hours.set(hour, h);
}

/** Counts messages of a queue ("inbox", "delivery"): sent by producers, or the outcome of consuming them. */
export function countQueue(queue: string, add: Partial<QueueCounts>, at = new Date()): void {
  startGathering();
  const k = `${queue}|${hourOf(at)}`;
  const q = queues.get(k) ?? emptyQueue();
  q.sent += add.sent ?? 0;
  q.processed += add.processed ?? 0;
  q.retried += add.retried ?? 0;
  q.failed += add.failed ?? 0;
  q.maxLagMs = Math.max(q.maxLagMs, add.maxLagMs ?? 0);
  queues.set(k, q);
}

/** "manual": nothing is written until flushUsage is called (tests that count every query). */
function flushMs(env: Bindings): number | null {
  const configured = env.USAGE_FLUSH_MS;
  if (configured === "manual") return null;
  const n = Number(configured ?? DEFAULT_FLUSH_MS);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_FLUSH_MS;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs one invocation under the meter. A request's `waitUntil` keeps it alive until the gathered
 * figures are written (at most FLUSH_MS later); the first request to wake writes them, from its own
 * context (no request awaits another's promise). A queue batch or cron run is not kept waiting (a
 * consumer held open would hold back the queue's next batch): it writes at its end what has been
 * gathered for a quarter of FLUSH_MS or more, and leaves anything newer to the next invocation. So
 * the figures of an isolate's last few seconds can be lost when it is evicted: the meter is the
 * owner's view of the bill, not the bill.
 */
export async function meterInvocation<T>(
  env: Bindings,
  kind: InvocationKind,
  waitUntil: ((p: Promise<unknown>) => void) | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const usage = emptyInvocation();
  try {
    return await current.run(usage, run);
  } finally {
    addInvocation(kind, usage, new Date());
    const ms = flushMs(env);
    if (ms !== null) {
      if (kind === "request" && waitUntil) waitUntil(writeWhenDue(env, ms, generation));
      else if (Date.now() - since >= ms / 4) await takeAndWrite(openDb(env.DB), false);
    }
  }
}

async function writeWhenDue(env: Bindings, ms: number, gen: number): Promise<void> {
  await sleep(Math.max(0, since + ms - Date.now()));
  if (generation !== gen) return; // another invocation of this moment wrote them
  await takeAndWrite(openDb(env.DB), true);
}

async function takeAndWrite(db: DB, retry: boolean): Promise<void> {
  const takenHours = hours;
  const takenQueues = queues;
  if (takenHours.size === 0 && takenQueues.size === 0) return;
  hours = new Map();
  queues = new Map();
  generation++;
  const add = (col: string, n: number) => sql`${sql.identifier(col)} + ${n}`;
  const statements = [
    ...[...takenHours].map(([hour, h]) =>
      db
        .insert(usageHours)
        .values({ hour, ...h })
        .onConflictDoUpdate({
          target: usageHours.hour,
          set: {
            requests: add("requests", h.requests),
            queueBatches: add("queue_batches", h.queueBatches),
            subrequests: add("subrequests", h.subrequests),
            d1Queries: add("d1_queries", h.d1Queries),
            d1RowsRead: add("d1_rows_read", h.d1RowsRead),
            d1RowsWritten: add("d1_rows_written", h.d1RowsWritten),
            queueOps: add("queue_ops", h.queueOps),
            r2ClassA: add("r2_class_a", h.r2ClassA),
            r2ClassB: add("r2_class_b", h.r2ClassB),
            maxSubrequests: sql`max(max_subrequests, ${h.maxSubrequests})`,
            maxD1Queries: sql`max(max_d1_queries, ${h.maxD1Queries})`,
          },
        }),
    ),
    ...[...takenQueues].map(([k, q]) => {
      const [queue = "", hour = ""] = k.split("|");
      return db
        .insert(queueStats)
        .values({ queue, hour, ...q })
        .onConflictDoUpdate({
          target: [queueStats.queue, queueStats.hour],
          set: {
            sent: add("sent", q.sent),
            processed: add("processed", q.processed),
            retried: add("retried", q.retried),
            failed: add("failed", q.failed),
            maxLagMs: sql`max(max_lag_ms, ${q.maxLagMs})`,
          },
        });
    }),
  ];
  const [first, ...rest] = statements;
  if (!first) return;
  try {
    await db.batch([first, ...rest]);
  } catch (e) {
    console.error("usage: could not write the meter's figures; keeping them for the next write", e);
    startGathering();
    for (const [hour, h] of takenHours) {
      const n = hours.get(hour) ?? emptyHour();
      for (const k of Object.keys(h) as (keyof HourTotals)[]) {
        n[k] = k.startsWith("max") ? Math.max(n[k], h[k]) : n[k] + h[k];
      }
      hours.set(hour, n);
    }
    for (const [k, q] of takenQueues) {
      const [queue = "", hour = ""] = k.split("|");
      countQueue(queue, q, new Date(`${hour}:00:00Z`));
    }
    if (retry) {
      await sleep(RETRY_MS);
      await takeAndWrite(db, false);
    }
  }
}

/** Writes what this isolate gathered now (the dashboard before it reads, tests, the end of a bench). */
export async function flushUsage(ctx: Ctx): Promise<void> {
  await takeAndWrite(ctx.db, false);
}

export type UsageHour = typeof usageHours.$inferSelect;
export type QueueHour = typeof queueStats.$inferSelect;

/** The metered hours since `sinceHour` (inclusive), oldest first. */
export async function usageSince(ctx: Ctx, sinceHour: string): Promise<UsageHour[]> {
  return ctx.db.select().from(usageHours).where(gte(usageHours.hour, sinceHour)).orderBy(usageHours.hour);
}

/** The queues' hours since `sinceHour` (inclusive), oldest first. */
export async function queueHoursSince(ctx: Ctx, sinceHour: string): Promise<QueueHour[]> {
  return ctx.db.select().from(queueStats).where(gte(queueStats.hour, sinceHour)).orderBy(queueStats.hour);
}

/**
 * Counts every outbound fetch as a subrequest of the invocation making it: installed once by the
 * Worker's entry point (worker/index.ts), so no fetcher, library or future code path is missed.
 */
export function installFetchMeter(): void {
  const g = globalThis as { fetch: typeof fetch; __perchFetchMeter?: boolean };
  if (g.__perchFetchMeter) return;
  const original = g.fetch;
  g.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    meter({ subrequests: 1 });
    return original(input, init);
  }) as typeof fetch;
  g.__perchFetchMeter = true;
}
