import { and, asc, eq, lt } from "drizzle-orm";
import type { Ctx } from "../context";
import { d1Of } from "../db/client";
import { mediaCache, settings } from "../db/schema";

/**
 * The R2 copy of remote media someone looked at (services/remote-media.ts decides what to keep):
 * objects under `proxy/<sha256 of the URL>`, one media_cache row each, within a byte budget, the least
 * recently used out first.
 *
 * The running total of bytes lives in `settings` (`media_cache_bytes`) and changes only in the same
 * D1 batch (D1's transaction) as the rows it counts, so it stays their exact sum without a scan: a
 * SUM over thousands of rows on every store would cost most of the Free plan's 5M daily row reads.
 * Two requests racing on one URL both upsert one row (INSERT … ON CONFLICT), each subtracting what
 * the row held before, so its bytes are counted once.
 */

/**
 * The default budget. MEDIA_CACHE_BUDGET_BYTES (a var) replaces it, and the owner's `settings` row
 * `media_cache_budget_bytes` both (0 turns the cache off).
 */
export const DEFAULT_BUDGET_BYTES = 1024 ** 3;
const BUDGET_KEY = "media_cache_budget_bytes";
const TOTAL_KEY = "media_cache_bytes";
/** `last_used_at` is refreshed at most this often per item: D1 bills every row written. */
export const TOUCH_INTERVAL_MS = 3_600_000;
/** Rows looked at per eviction round: two bound parameters each, under D1's 100. */
const EVICT_BATCH = 45;
const EVICT_ROUNDS = 4;

export function cacheObjectKey(urlHash: string): string {
  // No extension, so serveObject (lib/media/serve.ts) never takes these for the owner's media.
  return `proxy/${urlHash}`;
}

function wholeBytes(value: unknown): number | undefined {
  const n = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The byte budget of the R2 cache: the settings row when it holds a whole number of bytes, else
 * MEDIA_CACHE_BUDGET_BYTES when it does, else the default.
 */
export async function cacheBudget(ctx: Ctx): Promise<number> {
  const row = (
    await ctx.db.select({ value: settings.value }).from(settings).where(eq(settings.key, BUDGET_KEY)).limit(1)
  )[0];
  return wholeBytes(row?.value) ?? wholeBytes(ctx.env.MEDIA_CACHE_BUDGET_BYTES) ?? DEFAULT_BUDGET_BYTES;
}

/** A cached item's object, or null when there is none (never stored, evicted, or not an allowed type). */
export async function cachedObject(
  ctx: Ctx,
  urlHash: string,
  range?: { offset: number; length: number },
): Promise<R2ObjectBody | null> {
  return ctx.env.MEDIA.get(cacheObjectKey(urlHash), range ? { range } : {});
}

export async function cachedHead(ctx: Ctx, urlHash: string): Promise<R2Object | null> {
  return ctx.env.MEDIA.head(cacheObjectKey(urlHash));
}

/**
 * Marks an item used, unless it was within the hour: one conditional UPDATE, which writes nothing
 * (and costs one row read) when the row is fresh or gone.
 */
export async function touchCached(ctx: Ctx, urlHash: string, now = Date.now()): Promise<void> {
  await ctx.db
    .update(mediaCache)
    .set({ lastUsedAt: new Date(now).toISOString() })
    .where(
      and(
        eq(mediaCache.urlHash, urlHash),
        lt(mediaCache.lastUsedAt, new Date(now - TOUCH_INTERVAL_MS).toISOString()),
      ),
    );
}

export interface CacheItem {
  urlHash: string;
  url: string;
  contentType: string;
  /** The exact length of the stream to store. */
  bytes: number;
}

/**
 * Writes `body` (exactly `item.bytes` long) to R2, then its row, then evicts down to the budget. A
 * stream that fails (upstream broke off, or it passed its size cap) makes the R2 put fail, so nothing
 * is stored and nothing counted. The object is written before its row: a row without its object only
 * means a refetch, while an object without a row would be bytes no budget sees.
 */
export async function storeInCache(
  ctx: Ctx,
  item: CacheItem,
  body: ReadableStream<Uint8Array>,
  budget: number,
): Promise<void> {
  const fixed = new FixedLengthStream(item.bytes);
  const piping = body.pipeTo(fixed.writable).catch(() => undefined);
  let stored: R2Object | null;
  try {
    stored = await ctx.env.MEDIA.put(cacheObjectKey(item.urlHash), fixed.readable, {
      httpMetadata: { contentType: item.contentType },
    });
  } catch {
    stored = null;
  }
  await piping;
  if (!stored) return;
  const total = await recordCached(ctx, { ...item, bytes: stored.size });
  if (total > budget) await evictOverBudget(ctx, budget, total);
}

/** Upserts an item's row and moves the total by the difference, in one transaction; answers the new total. */
export async function recordCached(ctx: Ctx, item: CacheItem, now = new Date()): Promise<number> {
  const d1 = d1Of(ctx.db);
  const at = now.toISOString();
  const results = await d1.batch<{ total: number }>([
    d1
      .prepare("INSERT INTO settings (key, value) VALUES (?, '0') ON CONFLICT (key) DO NOTHING")
      .bind(TOTAL_KEY),
    d1
      .prepare(
        `UPDATE settings SET value = CAST(value AS INTEGER) + CAST(? AS INTEGER)
           - COALESCE((SELECT bytes FROM media_cache WHERE url_hash = ?), 0) WHERE key = ?`,
      )
      .bind(item.bytes, item.urlHash, TOTAL_KEY),
    d1
      .prepare(
        `INSERT INTO media_cache (url_hash, url, content_type, bytes, last_used_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (url_hash) DO UPDATE SET url = excluded.url, content_type = excluded.content_type,
           bytes = excluded.bytes, last_used_at = excluded.last_used_at`,
      )
      .bind(item.urlHash, item.url, item.contentType, item.bytes, at, at),
    d1.prepare("SELECT CAST(value AS INTEGER) AS total FROM settings WHERE key = ?").bind(TOTAL_KEY),
  ]);
  return results[3]?.results[0]?.total ?? 0;
}

/**
 * Deletes the least recently used items until the total is within the budget. A row is deleted only
 * if it is as it was read (same `last_used_at`): one used or stored again meanwhile stays. The rows go
 * first, then the objects of exactly the rows deleted, so a racing store of the same URL (object, then
 * row) ends with both or, at worst, a row whose object is gone, which the next view refetches.
 */
export async function evictOverBudget(ctx: Ctx, budget: number, total: number): Promise<void> {
  const d1 = d1Of(ctx.db);
  for (let round = 0; total > budget && round < EVICT_ROUNDS; round++) {
    const oldest = await ctx.db
      .select({ urlHash: mediaCache.urlHash, lastUsedAt: mediaCache.lastUsedAt, bytes: mediaCache.bytes })
      .from(mediaCache)
      .orderBy(asc(mediaCache.lastUsedAt), asc(mediaCache.urlHash))
      .limit(EVICT_BATCH);
    if (oldest.length === 0) {
      // A total with no rows behind it: only a row deleted by hand drifts it, so count again.
      total = await recount(ctx);
      continue;
    }
    const victims: typeof oldest = [];
    let freed = 0;
    for (const row of oldest) {
      if (total - freed <= budget) break;
      victims.push(row);
      freed += row.bytes;
    }
    const pairs = victims.map(() => "(?, ?)").join(", ");
    const keys = victims.flatMap((v) => [v.urlHash, v.lastUsedAt]);
    const [, deleted, after] = await d1.batch<{ url_hash: string; total: number }>([
      d1
        .prepare(
          `UPDATE settings SET value = CAST(value AS INTEGER) - (SELECT COALESCE(SUM(bytes), 0) FROM media_cache
             WHERE (url_hash, last_used_at) IN (VALUES ${pairs})) WHERE key = ?`,
        )
        .bind(...keys, TOTAL_KEY),
      d1
        .prepare(
          `DELETE FROM media_cache WHERE (url_hash, last_used_at) IN (VALUES ${pairs}) RETURNING url_hash`,
        )
        .bind(...keys),
      d1.prepare("SELECT CAST(value AS INTEGER) AS total FROM settings WHERE key = ?").bind(TOTAL_KEY),
    ]);
    const gone = (deleted?.results ?? []).map((r) => cacheObjectKey(r.url_hash));
    if (gone.length) await ctx.env.MEDIA.delete(gone);
    total = after?.results[0]?.total ?? 0;
  }
}

async function recount(ctx: Ctx): Promise<number> {
  const d1 = d1Of(ctx.db);
  const [, after] = await d1.batch<{ total: number }>([
    d1
      .prepare("UPDATE settings SET value = (SELECT COALESCE(SUM(bytes), 0) FROM media_cache) WHERE key = ?")
      .bind(TOTAL_KEY),
    d1.prepare("SELECT CAST(value AS INTEGER) AS total FROM settings WHERE key = ?").bind(TOTAL_KEY),
  ]);
  return after?.results[0]?.total ?? 0;
}
