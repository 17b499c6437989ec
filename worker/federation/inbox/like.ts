import { favourites } from "../../db/schema";
import { newId } from "../../lib/ids";
import { notify } from "../../services/notifications";
import { findStatusByUri } from "../../services/remote-statuses";
import { objectId } from "../schemas";
import type { InboxContext } from "./index";

/** Like of a local post: recorded (the owner sees who liked it). Likes of other posts are ignored. */
export async function handleLike(ic: InboxContext): Promise<void> {
  await recordReaction(ic, null);
}

/** EmojiReact (Misskey, Pleroma): a Like with an emoji in `content` or `name`. */
export async function handleEmojiReact(ic: InboxContext): Promise<void> {
  const a = ic.activity as { content?: unknown; name?: unknown };
  const emoji = typeof a.content === "string" ? a.content : typeof a.name === "string" ? a.name : null;
  if (!emoji || emoji.length > 100) return;
  await recordReaction(ic, emoji);
}

async function recordReaction({ ctx, activity, actor, local }: InboxContext, emoji: string | null) {
  const target = objectId(activity.object);
  if (!target) return;
  const status = await findStatusByUri(ctx, target);
  if (!status || status.accountId !== local.owner.id || status.deletedAt) return;
  const inserted = await ctx.db
    .insert(favourites)
    .values({ id: newId(), accountId: actor.id, statusId: status.id, uri: activity.id, emoji })
    .onConflictDoNothing()
    .returning({ id: favourites.id });
  // Mastodon has no notification for emoji reactions; a plain Like notifies once.
  if (inserted.length > 0 && emoji === null) {
    await notify(ctx, {
      type: "favourite",
      fromAccountId: actor.id,
      status: { id: status.id },
      key: "favourite-",
      activityUri: activity.id,
    });
  }
}
