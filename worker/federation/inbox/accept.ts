import { and, eq, sql } from "drizzle-orm";
import { follows } from "../../db/schema";
import { followAcceptCounts, followRemovalCounts, type RowCondition } from "../../services/counters";
import { objectId } from "../schemas";
import type { InboxContext } from "./index";

/**
 * The owner's follow request, identified by the Follow id the peer echoes back: as a drizzle
 * condition, and as one on a named row for the counts.
 */
function followWhere({ activity, actor, local }: InboxContext) {
  const followId = objectId(activity.object);
  if (!followId) return undefined;
  const row: RowCondition = (f) =>
    sql`${f}.uri = ${followId} AND ${f}.account_id = ${local.owner.id} AND ${f}.target_account_id = ${actor.id}`;
  return {
    where: and(
      eq(follows.uri, followId),
      eq(follows.accountId, local.owner.id),
      eq(follows.targetAccountId, actor.id),
    ),
    row,
  };
}

/** Accept of our Follow: only the followed account can accept it. */
export async function handleAccept(ic: InboxContext): Promise<void> {
  const found = followWhere(ic);
  if (!found) return;
  const db = ic.ctx.db;
  await db.batch([
    ...followAcceptCounts(ic.ctx, found.row),
    db.update(follows).set({ accepted: true }).where(found.where),
  ]);
}

/** Reject of our Follow (or removal of us as a follower later): the follow is gone. */
export async function handleReject(ic: InboxContext): Promise<void> {
  const found = followWhere(ic);
  if (!found) return;
  const db = ic.ctx.db;
  await db.batch([...followRemovalCounts(ic.ctx, found.row), db.delete(follows).where(found.where)]);
}
