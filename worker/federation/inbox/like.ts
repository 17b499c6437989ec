import { z } from "zod";
import { favourites } from "../../db/schema";
import { newId } from "../../lib/ids";
import { batchOf, favouriteInsertCount } from "../../services/counters";
import { notify } from "../../services/notifications";
import { findStatusByUri } from "../../services/remote-statuses";
import { objectId, Url, validEntries } from "../schemas";
import type { InboxContext } from "./index";

/** Where a reaction's emoji is: Misskey's `_misskey_reaction`, then `content` (Pleroma, Misskey), then `name`. */
const ReactionFields = z.looseObject({
  _misskey_reaction: z.string().optional().catch(undefined),
  content: z.string().optional().catch(undefined),
  name: z.string().optional().catch(undefined),
});

/** `Emoji` tags (custom emoji), whose icon must be an http(s) URL or the tag is dropped. */
const EmojiTags = validEntries(
  z.looseObject({
    type: z.literal("Emoji"),
    name: z.string().max(100),
    icon: z.looseObject({ url: Url }).transform((i) => i.url),
  }),
);

const CUSTOM = /^:([\w+-]{1,64})(?:@[a-z0-9.-]{1,253})?:$/i;
const EMOJI =
  /^[\p{Extended_Pictographic}\p{Emoji_Component}\p{Emoji_Presentation}\u200d\ufe0f\u20e3]{1,32}$/u;
const PICTURE = /[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]/u;

/**
 * The reaction an activity carries, as stored: a Unicode emoji, or a custom emoji's `:shortcode:`
 * (without the `@host` Misskey may add). Null when there is none or it is not an emoji, so that
 * free text never becomes a "reaction".
 */
export function reactionOf(activity: unknown): string | null {
  const f = ReactionFields.safeParse(activity);
  if (!f.success) return null;
  const raw = (f.data._misskey_reaction ?? f.data.content ?? f.data.name ?? "").trim();
  const custom = CUSTOM.exec(raw);
  if (custom) return `:${custom[1]}:`;
  return EMOJI.test(raw) && PICTURE.test(raw) ? raw : null;
}

/**
 * Like of a local post: a favourite, as Mastodon counts it, even when it carries a reaction (Misskey
 * sends every reaction as a Like with `_misskey_reaction`, and Mastodon shows them as favourites, which
 * is what Mastodon apps understand). Likes of other posts are ignored.
 */
export async function handleLike(ic: InboxContext): Promise<void> {
  await recordReaction(ic, null);
}

/** EmojiReact (Pleroma, Akkoma): a reaction with its emoji in `content` or `name`. */
export async function handleEmojiReact(ic: InboxContext): Promise<void> {
  const emoji = reactionOf(ic.activity);
  if (!emoji) return;
  await recordReaction(ic, { emoji, url: customEmojiUrl(ic.activity, emoji) });
}

/** The image of a custom emoji reaction (`:blob:`), from the activity's `Emoji` tag of that name. */
export function customEmojiUrl(activity: unknown, emoji: string): string | null {
  if (!emoji.startsWith(":")) return null;
  const tags = EmojiTags.safeParse((activity as { tag?: unknown } | null)?.tag);
  if (!tags.success) return null;
  const tag = tags.data.find((t) => `:${t.name.replace(/^:|:$/g, "").replace(/@.*$/, "")}:` === emoji);
  return tag?.icon ?? null;
}

/**
 * Records the favourite or reaction, once per activity, and notifies the owner once: a favourite as
 * Mastodon does, a reaction as Pleroma does (`pleroma:emoji_reaction`, its emoji read back from the
 * favourites row by the activity's id).
 */
async function recordReaction(
  { ctx, activity, actor, local }: InboxContext,
  reaction: { emoji: string; url: string | null } | null,
) {
  const emoji = reaction?.emoji ?? null;
  const target = objectId(activity.object);
  if (!target) return;
  const status = await findStatusByUri(ctx, target);
  if (!status || status.accountId !== local.owner.id || status.deletedAt) return;
  const results = await batchOf(ctx, [
    // A reaction is not a favourite: only a plain Like counts.
    ...(emoji === null ? [favouriteInsertCount(ctx, { statusId: status.id, uri: activity.id })] : []),
    ctx.db
      .insert(favourites)
      .values({
        id: newId(),
        accountId: actor.id,
        statusId: status.id,
        uri: activity.id,
        emoji,
        emojiUrl: reaction?.url ?? null,
      })
      // A second copy of the same activity adds nothing; any other conflict is an error, not a no-op.
      .onConflictDoNothing({ target: favourites.uri })
      .returning({ id: favourites.id }),
  ]);
  const inserted = results[results.length - 1] as { id: string }[];
  if (inserted.length === 0) return;
  await notify(ctx, {
    type: emoji === null ? "favourite" : "pleroma:emoji_reaction",
    fromAccountId: actor.id,
    status: { id: status.id },
    key: emoji === null ? "favourite-" : "emoji_reaction-",
    activityUri: activity.id,
  });
}
