import { and, count, eq, inArray, isNotNull, max } from "drizzle-orm";
import type { AccountCounts } from "../api/entities/account";
import type { Ctx } from "../context";
import { follows, statuses } from "../db/schema";

/** The time an id was made (ids are milliseconds shifted left 16 bits, see lib/ids.ts). */
function idTime(id: string): string | null {
  try {
    return new Date(Number(BigInt(id) >> 16n)).toISOString();
  } catch {
    return null;
  }
}

/**
 * Follower, following and post counts of accounts as Perch knows them (exact for the owner), in
 * three grouped queries that read only indexes: posts are all the account's rows in the
 * (account_id, id) index minus its tombstones in the partial `statuses_deleted` index, and the last
 * post's time comes from the newest id rather than from the rows.
 */
export async function countsFor(ctx: Ctx, accountIds: string[]): Promise<Map<string, AccountCounts>> {
  const queries = countQueries(ctx, accountIds);
  const [first, ...rest] = queries;
  const results = first ? ((await ctx.db.batch([first, ...rest])) as unknown[][]) : [];
  return combineCounts(accountIds, results);
}

/** The four count queries per chunk of 90 accounts, for a caller that batches them with its own. */
export function countQueries(ctx: Ctx, accountIds: string[]) {
  const unique = [...new Set(accountIds)];
  const out = [];
  for (let i = 0; i < unique.length; i += 90) {
    const ids = unique.slice(i, i + 90);
    out.push(
      ctx.db
        .select({ id: follows.targetAccountId, n: count() })
        .from(follows)
        .where(and(inArray(follows.targetAccountId, ids), eq(follows.accepted, true)))
        .groupBy(follows.targetAccountId),
      ctx.db
        .select({ id: follows.accountId, n: count() })
        .from(follows)
        .where(and(inArray(follows.accountId, ids), eq(follows.accepted, true)))
        .groupBy(follows.accountId),
      ctx.db
        .select({ id: statuses.accountId, n: count(), last: max(statuses.id) })
        .from(statuses)
        .where(inArray(statuses.accountId, ids))
        .groupBy(statuses.accountId),
      ctx.db
        .select({ id: statuses.accountId, n: count() })
        .from(statuses)
        .where(and(inArray(statuses.accountId, ids), isNotNull(statuses.deletedAt)))
        .groupBy(statuses.accountId),
    );
  }
  return out;
}

type CountRow = { id: string; n: number; last?: string | null };

/** Reads the results of countQueries (in order) into counts per account. */
export function combineCounts(accountIds: string[], results: unknown[][]): Map<string, AccountCounts> {
  const f = new Map<string, number>();
  const g = new Map<string, number>();
  const d = new Map<string, number>();
  const p = new Map<string, CountRow>();
  for (let i = 0; i + 3 < results.length; i += 4) {
    for (const r of results[i] as CountRow[]) f.set(r.id, r.n);
    for (const r of results[i + 1] as CountRow[]) g.set(r.id, r.n);
    for (const r of results[i + 2] as CountRow[]) p.set(r.id, r);
    for (const r of results[i + 3] as CountRow[]) d.set(r.id, r.n);
  }
  const out = new Map<string, AccountCounts>();
  for (const id of new Set(accountIds)) {
    const row = p.get(id);
    out.set(id, {
      followers: f.get(id) ?? 0,
      following: g.get(id) ?? 0,
      statuses: Math.max(0, (row?.n ?? 0) - (d.get(id) ?? 0)),
      lastStatusAt: row?.last ? idTime(row.last) : null,
    });
  }
  return out;
}

/** Counts of one account (see countsFor). */
export async function accountCounts(ctx: Ctx, accountId: string): Promise<AccountCounts> {
  return (await countsFor(ctx, [accountId])).get(accountId) as AccountCounts;
}

export async function pendingFollowRequests(ctx: Ctx, accountId: string): Promise<number> {
  const [row] = await ctx.db
    .select({ n: count() })
    .from(follows)
    .where(and(eq(follows.targetAccountId, accountId), eq(follows.accepted, false)));
  return row?.n ?? 0;
}
