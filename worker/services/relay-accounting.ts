import { and, eq, gte, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import { relayStats } from "../db/schema";

/** Where every relayed activity ends: exactly one of these. */
export const BUCKETS = [
  "stored",
  "duplicate",
  "filtered",
  "sampled",
  "capped",
  "unauthenticated",
  "invalid",
] as const;
export type Bucket = (typeof BUCKETS)[number];
export type BucketCounts = Record<Bucket, number>;

export function emptyCounts(): BucketCounts {
  return { stored: 0, duplicate: 0, filtered: 0, sampled: 0, capped: 0, unauthenticated: 0, invalid: 0 };
}

/** The UTC hour a count belongs to: "YYYY-MM-DDTHH". */
export function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13);
}

/**
 * Counting each relayed activity with its own UPDATE would cost a row written per activity, as much
 * as storing a post, and a capped relay sends far more than it stores. So an isolate gathers its
 * counts for a moment (FLUSH_MS from the first one) and writes them as one upsert per relay and hour:
 * counting costs at most one row written per relay per 20 seconds of traffic (4,320 a day for a
 * relay that never pauses), however many activities it sends. 20 s leaves room within the 30 s an
 * invocation may go on after its response (waitUntil), a retry included.
 *
 * Every request that counted keeps its invocation alive (waitUntil) until the moment is over; the
 * first of them to wake writes the gathered counts, from its own request context (Workers ties I/O
 * to the request that started it, so no request waits on another's promise). A count is therefore
 * lost only if the invocation writing it dies mid-write; a write that fails puts its counts back,
 * and the writer tries once more.
 */
const DEFAULT_FLUSH_MS = 20_000;
const RETRY_MS = 2000;

/** What writing the counts has cost in this isolate (D1's own figures), for the owner's metrics. */
export const countingUsage = { writes: 0, rowsWritten: 0 };

/** The counts gathered since `since` (ms), not yet taken by a writer. */
let gathering = { generation: 0, since: 0, counts: new Map<string, BucketCounts>() };

/** What this isolate counted that is not written yet, per relay and hour. */
const unflushed = new Map<string, BucketCounts>();

/** Posts this isolate stored per relay and UTC day, ever (the budgets add those since they read D1). */
const storedHere = new Map<string, number>();

export function storedInIsolate(relayId: string, day: string): number {
  return storedHere.get(`${relayId}|${day}`) ?? 0;
}

function key(relayId: string, hour: string) {
  return `${relayId}|${hour}`;
}

function addTo(map: Map<string, BucketCounts>, k: string, c: Partial<BucketCounts>) {
  const n = map.get(k) ?? emptyCounts();
  for (const b of BUCKETS) n[b] += c[b] ?? 0;
  map.set(k, n);
}

function flushMs(ctx: Ctx): number {
  const configured = Number(ctx.env.RELAY_COUNT_FLUSH_MS ?? DEFAULT_FLUSH_MS);
  return Number.isFinite(configured) && configured >= 0 ? configured : DEFAULT_FLUSH_MS;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function countRelayed(ctx: Ctx, relayId: string, bucket: Bucket, at = new Date()): void {
  const k = key(relayId, hourOf(at));
  if (gathering.counts.size === 0) gathering.since = Date.now();
  addTo(gathering.counts, k, { [bucket]: 1 });
  addTo(unflushed, k, { [bucket]: 1 });
  if (bucket === "stored") {
    const d = `${relayId}|${at.toISOString().slice(0, 10)}`;
    storedHere.set(d, (storedHere.get(d) ?? 0) + 1);
  }
  ctx.waitUntil(writeWhenDue(ctx, gathering.generation));
}

async function writeWhenDue(ctx: Ctx, generation: number): Promise<void> {
  await sleep(Math.max(0, gathering.since + flushMs(ctx) - Date.now()));
  if (gathering.generation !== generation) return; // another request of this moment took them
  await takeAndWrite(ctx);
}

async function takeAndWrite(ctx: Ctx, retried = false): Promise<void> {
  const taken = gathering.counts;
  if (taken.size === 0) return;
  gathering = { generation: gathering.generation + 1, since: 0, counts: new Map() };
  const writes = [...taken].map(([k, c]) => {
    const [relayId = "", hour = ""] = k.split("|");
    return ctx.db
      .insert(relayStats)
      .values({ relayId, hour, ...c })
      .onConflictDoUpdate({
        target: [relayStats.relayId, relayStats.hour],
        set: Object.fromEntries(BUCKETS.map((b) => [b, sql`${sql.identifier(b)} + ${c[b]}`])),
      });
  });
  const [first, ...rest] = writes;
  if (!first) return;
  try {
    const results = await ctx.db.batch([first, ...rest]);
    countingUsage.writes += results.length;
    countingUsage.rowsWritten += results.reduce((n, r) => n + (r.meta?.rows_written ?? 0), 0);
    for (const [k, c] of taken) {
      const u = unflushed.get(k);
      if (!u) continue;
      for (const b of BUCKETS) u[b] -= c[b];
      if (BUCKETS.every((b) => u[b] <= 0)) unflushed.delete(k);
    }
  } catch (e) {
    console.error("relay accounting: could not write counts; keeping them for the next write", e);
    if (gathering.counts.size === 0) gathering.since = Date.now();
    for (const [k, c] of taken) addTo(gathering.counts, k, c);
    if (!retried) {
      await sleep(Math.min(RETRY_MS, flushMs(ctx)));
      await takeAndWrite(ctx, true);
    }
  }
}

/** Writes what this isolate gathered now (tests, the owner's pages, the end of a benchmark). */
export async function flushRelayCounts(ctx: Ctx): Promise<void> {
  await takeAndWrite(ctx);
}

/** Counted here and not yet written, for one relay since `sinceHour` (inclusive). */
export function unflushedSince(relayId: string, sinceHour: string): BucketCounts {
  const out = emptyCounts();
  for (const [k, c] of unflushed) {
    const [r, hour = ""] = k.split("|");
    if (r !== relayId || hour < sinceHour) continue;
    for (const b of BUCKETS) out[b] += c[b];
  }
  return out;
}

/** The written counts of a relay per hour since `sinceHour`, oldest first. */
export async function relayHours(
  ctx: Ctx,
  relayId: string,
  sinceHour: string,
): Promise<({ hour: string } & BucketCounts)[]> {
  const rows = await ctx.db
    .select()
    .from(relayStats)
    .where(and(eq(relayStats.relayId, relayId), gte(relayStats.hour, sinceHour)))
    .orderBy(relayStats.hour);
  return rows.map(({ relayId: _r, ...rest }) => rest);
}

export function sumCounts(rows: BucketCounts[]): BucketCounts {
  const out = emptyCounts();
  for (const r of rows) for (const b of BUCKETS) out[b] += r[b];
  return out;
}
