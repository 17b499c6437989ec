import { and, eq, or, sql } from "drizzle-orm";
import { blocks, follows } from "../../db/schema";
import { followRemovalCounts } from "../../services/counters";
import { objectId } from "../schemas";
import type { InboxContext } from "./index";

/** Block of the owner: recorded, and follows in both directions end, as on Mastodon. */
export async function handleBlock({ ctx, activity, actor, local }: InboxContext): Promise<void> {
  if (objectId(activity.object) !== local.owner.uri) return;
  const owner = local.owner.id;
  await ctx.db.batch([
    ctx.db
      .insert(blocks)
      .values({ accountId: actor.id, targetAccountId: owner, uri: activity.id })
      .onConflictDoUpdate({ target: [blocks.accountId, blocks.targetAccountId], set: { uri: activity.id } }),
    ...followRemovalCounts(
      ctx,
      (f) => sql`((${f}.account_id = ${actor.id} AND ${f}.target_account_id = ${owner})
        OR (${f}.account_id = ${owner} AND ${f}.target_account_id = ${actor.id}))`,
    ),
    ctx.db
      .delete(follows)
      .where(
        or(
          and(eq(follows.accountId, actor.id), eq(follows.targetAccountId, owner)),
          and(eq(follows.accountId, owner), eq(follows.targetAccountId, actor.id)),
        ),
      ),
  ]);
}
