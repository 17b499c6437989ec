import { eq } from "drizzle-orm";
import { accounts } from "../../db/schema";
import { resolveAccount } from "../../services/accounts";
import { findFollow, follow, unfollow } from "../../services/following";
import { notify } from "../../services/notifications";
import { IdRef, objectId } from "../schemas";
import { PermanentError, type InboxContext } from "./index";

/**
 * Move of an account the owner follows: the owner follows the new account, but only if the new account
 * lists the old one in `alsoKnownAs` (fetched fresh from its origin), then unfollows the old one. When
 * the new account is the owner (moving from an old account onto Perch), the old follow is just dropped.
 * https://docs.joinmastodon.org/spec/activitypub/#Move
 */
export async function handleMove({ ctx, activity, actor, local }: InboxContext): Promise<void> {
  if (objectId(activity.object) !== actor.uri) throw new PermanentError("an account can only move itself");
  const targetRef = IdRef.safeParse(activity.target);
  if (!targetRef.success) throw new PermanentError("Move has no target");
  const target = await resolveAccount(ctx, targetRef.data, { refresh: true });
  if (!target.alsoKnownAs.includes(actor.uri))
    throw new PermanentError("target does not list the old account in alsoKnownAs");
  await ctx.db.update(accounts).set({ movedTo: target.uri }).where(eq(accounts.id, actor.id));
  const following = await findFollow(ctx, local.owner.id, actor.id);
  if (!following) return;
  if (target.local) {
    // The owner's old account moved here: there is nobody new to follow, only the old follow to drop.
    await unfollow(ctx, actor);
    return;
  }
  await notify(ctx, {
    type: "move",
    fromAccountId: actor.id,
    key: `move-${actor.id}-${target.id}`,
    unique: true,
    activityUri: activity.id,
  });
  await follow(ctx, target.uri);
  await unfollow(ctx, actor);
}
