import { and, count, eq, isNull, max } from "drizzle-orm";
import type { AccountCounts } from "../api/entities/account";
import type { Ctx } from "../context";
import { follows, statuses } from "../db/schema";

/** Follower, following and post counts of an account as Perch knows them (exact for the owner). */
export async function accountCounts(ctx: Ctx, accountId: string): Promise<AccountCounts> {
  const [followers, following, posts] = await ctx.db.batch([
    ctx.db
      .select({ n: count() })
      .from(follows)
      .where(and(eq(follows.targetAccountId, accountId), eq(follows.accepted, true))),
    ctx.db
      .select({ n: count() })
      .from(follows)
      .where(and(eq(follows.accountId, accountId), eq(follows.accepted, true))),
    ctx.db
      .select({ n: count(), last: max(statuses.publishedAt) })
      .from(statuses)
      .where(and(eq(statuses.accountId, accountId), isNull(statuses.deletedAt))),
  ]);
  return {
    followers: followers[0]?.n ?? 0,
    following: following[0]?.n ?? 0,
    statuses: posts[0]?.n ?? 0,
    lastStatusAt: posts[0]?.last ?? null,
  };
}

export async function pendingFollowRequests(ctx: Ctx, accountId: string): Promise<number> {
  const [row] = await ctx.db
    .select({ n: count() })
    .from(follows)
    .where(and(eq(follows.targetAccountId, accountId), eq(follows.accepted, false)));
  return row?.n ?? 0;
}
