import { and, eq } from "drizzle-orm";
import { blocks, favourites, follows, statuses } from "../../db/schema";
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
  const undo = {
    Follow: () => db.delete(follows).where(and(eq(follows.uri, id), eq(follows.accountId, actor.id))),
    Like: () => db.delete(favourites).where(and(eq(favourites.uri, id), eq(favourites.accountId, actor.id))),
    Announce: () =>
      db
        .delete(statuses)
        .where(and(eq(statuses.uri, id), eq(statuses.accountId, actor.id), eq(statuses.local, false))),
    Block: () => db.delete(blocks).where(and(eq(blocks.uri, id), eq(blocks.accountId, actor.id))),
  };
  if (type === "Follow" && embedded.object === local.owner.uri) {
    // Some servers send a fresh id for the embedded Follow: the pair identifies it as well.
    await db
      .delete(follows)
      .where(and(eq(follows.accountId, actor.id), eq(follows.targetAccountId, local.owner.id)));
    return;
  }
  if (type === "EmojiReact") {
    await undo.Like();
    return;
  }
  if (type && type in undo) {
    await undo[type as keyof typeof undo]();
    return;
  }
  await db.batch([undo.Follow(), undo.Like(), undo.Announce(), undo.Block()]);
}
