import { and, count, inArray, isNotNull, max, min, sql } from "drizzle-orm";
import type { Ctx } from "../../context";
import { favourites } from "../../db/schema";

/** One emoji's reactions to a status, as Pleroma's `emoji_reactions` entries. */
export interface StatusReaction {
  name: string;
  count: number;
  /** Whether the owner is among them. */
  me: boolean;
  /** A custom emoji's image. */
  url?: string;
}

/**
 * The emoji reactions of some statuses, counted per status and emoji (favourites rows with an
 * emoji), not yet run: for the status serializer's batch.
 */
export function reactionCounts(ctx: Ctx, statusIds: string[], ownerId: string) {
  return ctx.db
    .select({
      id: favourites.statusId,
      emoji: favourites.emoji,
      n: count(),
      mine: sql<number>`max(${favourites.accountId} = ${ownerId})`,
      first: min(favourites.id),
      url: max(favourites.emojiUrl),
    })
    .from(favourites)
    .where(and(inArray(favourites.statusId, statusIds), isNotNull(favourites.emoji)))
    .groupBy(favourites.statusId, favourites.emoji);
}

/** Reactions per status: the most used emoji first, then the one first used. */
export function groupReactions(
  rows: Awaited<ReturnType<typeof reactionCounts>>,
): Map<string, StatusReaction[]> {
  const sorted = [...rows].sort((a, b) => b.n - a.n || (a.first ?? "").localeCompare(b.first ?? ""));
  const out = new Map<string, StatusReaction[]>();
  for (const r of sorted) {
    if (!r.emoji) continue;
    const list = out.get(r.id) ?? [];
    list.push({ name: r.emoji, count: r.n, me: r.mine === 1, ...(r.url ? { url: r.url } : {}) });
    out.set(r.id, list);
  }
  return out;
}
