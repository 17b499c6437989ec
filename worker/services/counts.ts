import { and, count, eq, inArray } from "drizzle-orm";
import { countsOf, type AccountCounts } from "../api/entities/account";
import type { Ctx } from "../context";
import { inChunks } from "../db/chunks";
import { accounts, follows } from "../db/schema";

/**
 * Follower, following and post counts of accounts as Perch knows them (exact for the owner): the
 * counts kept on their rows (services/counters.ts), one query per 90 accounts. A caller that has the
 * rows already reads them there (`countsOf`).
 */
export async function countsFor(ctx: Ctx, accountIds: string[]): Promise<Map<string, AccountCounts>> {
  const unique = [...new Set(accountIds)];
  const rows = await inChunks(unique, (ids) =>
    ctx.db
      .select({
        id: accounts.id,
        followersCount: accounts.followersCount,
        followingCount: accounts.followingCount,
        statusesCount: accounts.statusesCount,
        lastStatusAt: accounts.lastStatusAt,
      })
      .from(accounts)
      .where(inArray(accounts.id, ids)),
  );
  const found = new Map(rows.map((r) => [r.id, countsOf(r)]));
  return new Map(
    unique.map((id) => [
      id,
      found.get(id) ?? { followers: 0, following: 0, statuses: 0, lastStatusAt: null },
    ]),
  );
}

/** Counts of one account (see countsFor). */
export async function accountCounts(ctx: Ctx, accountId: string): Promise<AccountCounts> {
  return (await countsFor(ctx, [accountId])).get(accountId) as AccountCounts;
}

/** Follow requests waiting for an answer: not kept as a count, as they are few. */
export async function pendingFollowRequests(ctx: Ctx, accountId: string): Promise<number> {
  const [row] = await ctx.db
    .select({ n: count() })
    .from(follows)
    .where(and(eq(follows.targetAccountId, accountId), eq(follows.accepted, false)));
  return row?.n ?? 0;
}
