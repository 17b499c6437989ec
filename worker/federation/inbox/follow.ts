import { and, eq, sql } from "drizzle-orm";
import type { Follow } from "../../db/client";
import { follows } from "../../db/schema";
import { batchOf, followAcceptCounts, followInsertCounts } from "../../services/counters";
import { newId } from "../../lib/ids";
import { followSlot, notify } from "../../services/notifications";
import { markFederated } from "../../services/instance";
import { sendFollowAnswer } from "../../services/following";
import { objectId } from "../schemas";
import type { InboxContext } from "./index";

/**
 * Follow of the owner: accepted at once unless the owner approves followers manually. A repeated
 * Follow (the peer lost our Accept) is answered again, with the new Follow's id. Once the owner has
 * moved away, a new follower is rejected, as Mastodon does, so that it follows the new account.
 * A follower who arrives because an old account moved here is treated like any other: accepted
 * unless the owner approves followers manually (Mastodon makes no exception for them either).
 */
export async function handleFollow({ ctx, activity, actor, local }: InboxContext): Promise<void> {
  if (objectId(activity.object) !== local.owner.uri) return;
  const autoAccept = !local.owner.manuallyApprovesFollowers;
  const existing = (
    await ctx.db
      .select()
      .from(follows)
      .where(and(eq(follows.accountId, actor.id), eq(follows.targetAccountId, local.owner.id)))
      .limit(1)
  )[0];
  if (!existing && local.owner.movedTo) {
    await sendFollowAnswer(ctx, { id: newId(), uri: activity.id }, actor, "Reject");
    return;
  }
  let row;
  if (existing) {
    // A pending request accepted now counts (the counts skip a follow that is accepted already).
    const counts = autoAccept ? followAcceptCounts(ctx, (f) => sql`${f}.id = ${existing.id}`) : [];
    const results = await batchOf(ctx, [
      ...counts,
      ctx.db
        .update(follows)
        .set({ uri: activity.id, accepted: existing.accepted || autoAccept })
        .where(eq(follows.id, existing.id))
        .returning(),
    ]);
    [row] = results[counts.length] as Follow[];
  } else {
    const values = {
      id: newId(),
      accountId: actor.id,
      targetAccountId: local.owner.id,
      uri: activity.id,
      accepted: autoAccept,
    };
    const counts = followInsertCounts(ctx, values);
    const results = await batchOf(ctx, [...counts, ctx.db.insert(follows).values(values).returning()]);
    [row] = results[counts.length] as Follow[];
  }
  await markFederated(ctx.db);
  if (!existing && row) {
    await notify(ctx, {
      type: row.accepted ? "follow" : "follow_request",
      fromAccountId: actor.id,
      key: row.accepted ? `follow-${followSlot()}` : `follow_request-${actor.id}-${row.id}`,
      activityUri: activity.id,
    });
  } else if (existing && !existing.accepted && row?.accepted) {
    // A pending request that is now accepted (the owner unlocked the account): a follow after all.
    await notify(ctx, {
      type: "follow",
      fromAccountId: actor.id,
      key: `follow-${followSlot()}`,
      activityUri: activity.id,
    });
  }
  if (row?.accepted) await sendFollowAnswer(ctx, row, actor, "Accept");
}
