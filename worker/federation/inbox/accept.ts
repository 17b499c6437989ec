import { and, eq } from "drizzle-orm";
import { follows } from "../../db/schema";
import { objectId } from "../schemas";
import type { InboxContext } from "./index";

/** The owner's follow request, identified by the Follow id the peer echoes back. */
function followWhere({ activity, actor, local }: InboxContext) {
  const followId = objectId(activity.object);
  if (!followId) return undefined;
  return and(
    eq(follows.uri, followId),
    eq(follows.accountId, local.owner.id),
    eq(follows.targetAccountId, actor.id),
  );
}

/** Accept of our Follow: only the followed account can accept it. */
export async function handleAccept(ic: InboxContext): Promise<void> {
  const where = followWhere(ic);
  if (where) await ic.ctx.db.update(follows).set({ accepted: true }).where(where);
}

/** Reject of our Follow (or removal of us as a follower later): the follow is gone. */
export async function handleReject(ic: InboxContext): Promise<void> {
  const where = followWhere(ic);
  if (where) await ic.ctx.db.delete(follows).where(where);
}
