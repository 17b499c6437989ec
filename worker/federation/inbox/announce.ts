import { eq } from "drizzle-orm";
import { statuses } from "../../db/schema";
import type { Status } from "../../db/client";
import { statusInsertCounts } from "../../services/counters";
import { isFollowing } from "../../services/following";
import { statusIdAt } from "../../db/status-ids";
import { notify } from "../../services/notifications";
import { resolveStatus, visibilityOf } from "../../services/remote-statuses";
import { objectId } from "../schemas";
import type { InboxContext } from "./index";

/**
 * Announce (boost). Recorded when it boosts a local post, or comes from an account the owner follows;
 * the boosted object is fetched from its own origin, never trusted from the Announce.
 */
export async function handleAnnounce({ ctx, activity, actor, local }: InboxContext): Promise<void> {
  const target = objectId(activity.object);
  if (!target) return;
  const existing = await ctx.db
    .select({ id: statuses.id })
    .from(statuses)
    .where(eq(statuses.uri, activity.id))
    .limit(1);
  if (existing.length > 0) return;
  const isLocal = target.startsWith(`${local.owner.uri}/`);
  if (!isLocal && !(await isFollowing(ctx, local.owner.id, actor.id))) return;
  const boosted = await resolveStatus(ctx, target);
  if (boosted.deletedAt || (boosted.visibility !== "public" && boosted.visibility !== "unlisted")) return;
  const to = activity.to ?? [];
  const cc = activity.cc ?? [];
  const counts = statusInsertCounts(ctx, { uri: activity.id, accountId: actor.id, reblogOfId: boosted.id });
  const results = await ctx.db.batch([
    ...counts.before,
    ctx.db
      .insert(statuses)
      .values({
        id: statusIdAt(Date.now()) as unknown as string,
        uri: activity.id,
        accountId: actor.id,
        local: false,
        visibility: visibilityOf(to, cc, actor.followersUrl),
        reblogOfId: boosted.id,
        audience: { to, cc },
        publishedAt: new Date().toISOString(),
      })
      .onConflictDoNothing({ target: statuses.uri })
      .returning({ id: statuses.id }),
    ...counts.after,
  ]);
  const inserted = results[counts.before.length] as Pick<Status, "id">[];
  if (inserted.length > 0 && boosted.accountId === local.owner.id) {
    await notify(ctx, {
      type: "reblog",
      fromAccountId: actor.id,
      status: { id: boosted.id },
      key: "reblog-",
      activityUri: activity.id,
    });
  }
}
