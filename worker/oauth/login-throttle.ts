import { and, eq, gt, inArray, notExists, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Ctx } from "../context";
import { loginThrottle } from "../db/schema";
import { sha256Hex } from "./secrets";

/**
 * One throttle for every place the owner password is checked. An attempt is counted before the
 * password is evaluated, in one statement that also refuses it while its client or the whole server
 * is locked, so guesses sent in parallel are counted like guesses sent one by one.
 *
 * Two rows count each attempt:
 * - `client:<hash>`, per client network, stops one address from guessing: five attempts are free,
 *   then the address waits 30 s, doubling with each further miss up to an hour; a day without
 *   attempts forgets. Only that address waits, so its lock may grow long.
 * - `global`, all clients together, stops many addresses guessing at once (a botnet): a bucket of
 *   20 attempts that drains one for every 3 minutes since the last attempt; when it is full,
 *   attempts wait until one has drained, so many addresses together get one guess per 3 minutes.
 *   That lock stops the owner too, so it never lasts longer than one drain, and one address alone
 *   cannot fill the bucket: its own lock soon spaces its attempts further apart than the drain.
 *
 * A client is its IPv4 address or its IPv6 /64, so that one IPv6 subscriber is one client.
 */
const CLIENT = { free: 5, firstLockSeconds: 30, maxLockSeconds: 3600, forgetSeconds: 86_400 };
const GLOBAL = { capacity: 20, drainSeconds: 180 };
const GLOBAL_KEY = "global";

/** A counted attempt, or why it was refused. `globalLock` is the lock this attempt set, if any. */
export type Admission =
  { admitted: true; globalLock: string | null } | { admitted: false; retryAfterSeconds: number };

/**
 * The network a client address belongs to: an IPv4 address itself, an IPv6 address's /64 (what one
 * subscriber is usually given, as Mastodon's throttles group them). No address is one "unknown" client.
 */
export function clientNetwork(address: string | undefined): string {
  const a = address?.trim().toLowerCase() ?? "";
  if (!a) return "unknown";
  if (!a.includes(":")) return a;
  const [head = "", tail] = a.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros =
    tail === undefined ? [] : Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0");
  const groups = [...left, ...zeros, ...right].slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16));
  return `${groups.join(":")}::/64`;
}

/** The client's throttle key; only a hash of its address is stored. */
export async function clientKey(address: string | undefined): Promise<string> {
  return `client:${await sha256Hex(clientNetwork(address))}`;
}

const iso = (ms: number) => new Date(ms).toISOString();
const plusSeconds = (now: string, seconds: SQL) =>
  sql`strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '+' || ${seconds} || ' seconds')`;

/** Counts an attempt for `key` and the global row, or refuses it (counting nothing) while either is locked. */
export async function admitAttempt(ctx: Ctx, key: string, now: Date): Promise<Admission> {
  const t = loginThrottle;
  const at = now.toISOString();
  const keys = [key, GLOBAL_KEY];
  const client = sql`CASE WHEN ${t.updatedAt} < ${iso(now.getTime() - CLIENT.forgetSeconds * 1000)} THEN 1 ELSE ${t.failures} + 1 END`;
  const clientLock = sql`CASE WHEN ${client} >= ${CLIENT.free} THEN ${plusSeconds(
    at,
    sql`MIN(${CLIENT.maxLockSeconds}, ${CLIENT.firstLockSeconds} * (1 << MIN(20, ${client} - ${CLIENT.free})))`,
  )} END`;
  // The bucket drains one attempt per drainSeconds since it was last written (never fills backwards).
  const drained = sql`MAX(0, CAST((julianday(${at}) - julianday(${t.updatedAt})) * 86400 / ${GLOBAL.drainSeconds} AS INTEGER))`;
  const bucket = sql`MAX(0, ${t.failures} - ${drained}) + 1`;
  const bucketLock = sql`CASE WHEN ${bucket} >= ${GLOBAL.capacity} THEN ${plusSeconds(at, sql`${GLOBAL.drainSeconds}`)} END`;
  const held = alias(loginThrottle, "held");
  const [, counted, rows] = await ctx.db.batch([
    ctx.db
      .insert(t)
      .values(keys.map((k) => ({ key: k, updatedAt: at })))
      .onConflictDoNothing(),
    // One statement for both rows: its condition is evaluated before either row changes, so the
    // attempt is counted in both or in neither.
    ctx.db
      .update(t)
      .set({
        failures: sql`CASE WHEN ${t.key} = ${GLOBAL_KEY} THEN ${bucket} ELSE ${client} END`,
        lockedUntil: sql`CASE WHEN ${t.key} = ${GLOBAL_KEY} THEN ${bucketLock} ELSE ${clientLock} END`,
        updatedAt: at,
      })
      .where(
        and(
          inArray(t.key, keys),
          notExists(
            ctx.db
              .select({ key: held.key })
              .from(held)
              .where(and(inArray(held.key, keys), gt(held.lockedUntil, at))),
          ),
        ),
      )
      .returning({ key: t.key, lockedUntil: t.lockedUntil }),
    ctx.db.select().from(t).where(inArray(t.key, keys)),
  ]);
  if (counted.length === keys.length) {
    return { admitted: true, globalLock: counted.find((r) => r.key === GLOBAL_KEY)?.lockedUntil ?? null };
  }
  return { admitted: false, retryAfterSeconds: retryAfter(rows, now) };
}

/**
 * After a right password: the client starts afresh, and the global bucket gives back this attempt
 * (and lifts the lock the attempt set), so that the owner's own sign-ins never lock anything.
 */
export async function releaseAttempt(ctx: Ctx, key: string, attempt: Admission, now: Date): Promise<void> {
  const t = loginThrottle;
  const globalLock = attempt.admitted ? attempt.globalLock : null;
  await ctx.db.batch([
    ctx.db
      .update(t)
      .set({ failures: 0, lockedUntil: null, updatedAt: now.toISOString() })
      .where(eq(t.key, key)),
    ctx.db
      .update(t)
      .set({
        failures: sql`MAX(0, ${t.failures} - 1)`,
        lockedUntil: sql`CASE WHEN ${t.lockedUntil} = ${globalLock} THEN NULL ELSE ${t.lockedUntil} END`,
      })
      .where(eq(t.key, GLOBAL_KEY)),
  ]);
}

/**
 * For a password already known to be right: refused while the client or the server is locked, and
 * otherwise the client's earlier misses are forgotten. Counts nothing.
 */
export async function checkLocks(
  ctx: Ctx,
  key: string,
  now: Date,
): Promise<{ locked: false } | { locked: true; retryAfterSeconds: number }> {
  const t = loginThrottle;
  const rows = await ctx.db
    .select()
    .from(t)
    .where(inArray(t.key, [key, GLOBAL_KEY]));
  if (rows.some((r) => r.lockedUntil && r.lockedUntil > now.toISOString()))
    return { locked: true, retryAfterSeconds: retryAfter(rows, now) };
  if (rows.some((r) => r.key === key && r.failures > 0))
    await ctx.db
      .update(t)
      .set({ failures: 0, lockedUntil: null, updatedAt: now.toISOString() })
      .where(eq(t.key, key));
  return { locked: false };
}

function retryAfter(rows: { lockedUntil: string | null }[], now: Date): number {
  const until = Math.max(...rows.map((r) => (r.lockedUntil ? Date.parse(r.lockedUntil) : 0)));
  return Math.max(1, Math.ceil((until - now.getTime()) / 1000));
}
