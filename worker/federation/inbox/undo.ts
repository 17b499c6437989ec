import { and, eq, sql } from "drizzle-orm";
import { blocks, favourites, follows, notifications, statuses } from "../../db/schema";
import {
  batchOf,
  favouriteRemovalCount,
  followRemovalCounts,
  lastStatusAt,
  statusRemovalCounts,
} from "../../services/counters";
import { unnotifyAnnounce, unnotifyFollow, unnotifyLike } from "../../services/notifications";
import { objectId } from "../schemas";
import type { InboxContext } from "./index";

/**
 * Undo of a Follow, Like, EmojiReact, Announce or Block. The undone activity is found by its id and
 * must be the same actor's; an embedded object's type says where to look, a bare id is tried in each.
 */
export async function handleUndo({ ctx, activity, actor, local }: InboxContext): Promise<void> {
  const id = objectId(activity.object);
  if (!id) return;
  const embedded =
    activity.object && typeof activity.object === "object"
      ? (activity.object as Record<string, unknown>)
      : {};
  const type = typeof embedded.type === "string" ? embedded.type : undefined;
  const db = ctx.db;
  // Each undo with the counts it changes, counted before the rows go.
  const undo = {
    Follow: () => [
      ...followRemovalCounts(ctx, (f) => sql`${f}.uri = ${id} AND ${f}.account_id = ${actor.id}`),
      db.delete(follows).where(and(eq(follows.uri, id), eq(follows.accountId, actor.id))),
    ],
    Like: () => [
      favouriteRemovalCount(ctx, (f) => sql`${f}.uri = ${id} AND ${f}.account_id = ${actor.id}`),
      db.delete(favourites).where(and(eq(favourites.uri, id), eq(favourites.accountId, actor.id))),
    ],
    Announce: () => [
      ...statusRemovalCounts(
        ctx,
        (s) => sql`${s}.uri = ${id} AND ${s}.account_id = ${actor.id} AND ${s}.local = 0`,
        { replies: false },
      ),
      db
        .delete(statuses)
        .where(and(eq(statuses.uri, id), eq(statuses.accountId, actor.id), eq(statuses.local, false))),
      lastStatusAt(ctx, actor.id),
    ],
    Block: () => [db.delete(blocks).where(and(eq(blocks.uri, id), eq(blocks.accountId, actor.id)))],
  };
  if (type === "Follow" && embedded.object === local.owner.uri) {
    // Some servers send a fresh id for the embedded Follow: the pair identifies it as well.
    await db.batch([
      ...followRemovalCounts(
        ctx,
        (f) => sql`${f}.account_id = ${actor.id} AND ${f}.target_account_id = ${local.owner.id}`,
      ),
      db
        .delete(follows)
        .where(and(eq(follows.accountId, actor.id), eq(follows.targetAccountId, local.owner.id))),
      unnotifyFollow(ctx, actor.id),
    ]);
    return;
  }
  // Notifications go first: they are found through the rows being removed.
  const unnotify = {
    Follow: () => unnotifyFollowIfGone(),
    Like: () => unnotifyLike(ctx, id, actor.id),
    Announce: () => unnotifyAnnounce(ctx, id, actor.id),
  };
  // A follow notification is removed only when the undone Follow was of the owner.
  const unnotifyFollowIfGone = () =>
    db.delete(notifications).where(sql`group_key >= 'follow' AND group_key < 'followa'
      AND from_account_id = ${actor.id} AND type IN ('follow', 'follow_request')
      AND EXISTS (SELECT 1 FROM follows WHERE uri = ${id} AND account_id = ${actor.id} AND target_account_id = ${local.owner.id})`);
  if (type === "EmojiReact") {
    await db.batch([unnotify.Like(), ...undo.Like()]);
    return;
  }
  if (type === "Follow" || type === "Like" || type === "Announce") {
    await db.batch([unnotify[type](), ...undo[type]()]);
    return;
  }
  if (type && type in undo) {
    await batchOf(ctx, undo[type as keyof typeof undo]());
    return;
  }
  await db.batch([
    unnotify.Follow(),
    unnotify.Like(),
    unnotify.Announce(),
    ...undo.Follow(),
    ...undo.Like(),
    ...undo.Announce(),
    ...undo.Block(),
  ]);
}
