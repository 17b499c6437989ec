import { and, eq, or, sql } from "drizzle-orm";
import { accounts, blocks, favourites, follows, pins, remoteKeys, statuses } from "../../db/schema";
import { forgetAccount } from "../../services/accounts";
import {
  favouriteRemovalCount,
  followRemovalCounts,
  lastStatusAt,
  statusRemovalCounts,
} from "../../services/counters";
import { objectId } from "../schemas";
import type { InboxContext } from "./index";

/**
 * Delete of a note (it becomes a tombstone) or of the actor itself (everything Perch holds of that
 * account is removed). Only the author may delete a note.
 */
export async function handleDelete({ ctx, activity, actor }: InboxContext): Promise<void> {
  const id = objectId(activity.object);
  if (!id) return;
  const db = ctx.db;
  if (id === actor.uri) {
    forgetAccount(ctx, actor.uri);
    // What its posts, favourites and follows counted elsewhere (parents, originals, the owner) goes
    // with them; its own counts go with its row.
    await db.batch([
      ...statusRemovalCounts(ctx, (s) => sql`${s}.account_id = ${actor.id}`),
      db.delete(statuses).where(eq(statuses.accountId, actor.id)),
      favouriteRemovalCount(ctx, (f) => sql`${f}.account_id = ${actor.id}`),
      db.delete(favourites).where(eq(favourites.accountId, actor.id)),
      ...followRemovalCounts(
        ctx,
        (f) => sql`(${f}.account_id = ${actor.id} OR ${f}.target_account_id = ${actor.id})`,
      ),
      db.delete(follows).where(or(eq(follows.accountId, actor.id), eq(follows.targetAccountId, actor.id))),
      db.delete(blocks).where(or(eq(blocks.accountId, actor.id), eq(blocks.targetAccountId, actor.id))),
      db.delete(pins).where(eq(pins.accountId, actor.id)),
      db.delete(remoteKeys).where(eq(remoteKeys.ownerUri, actor.uri)),
      db.delete(accounts).where(and(eq(accounts.id, actor.id), eq(accounts.local, false))),
    ]);
    return;
  }
  await db.batch([
    ...statusRemovalCounts(
      ctx,
      (s) => sql`${s}.uri = ${id} AND ${s}.account_id = ${actor.id} AND ${s}.local = 0`,
    ),
    db
      .update(statuses)
      .set({ deletedAt: new Date().toISOString(), content: "", attachments: [], poll: null })
      .where(and(eq(statuses.uri, id), eq(statuses.accountId, actor.id), eq(statuses.local, false))),
    lastStatusAt(ctx, actor.id),
  ]);
}
