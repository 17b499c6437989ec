import { and, count, countDistinct, eq, gte, inArray, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import { featuredTags, followedTags, statuses, statusTags } from "../db/schema";
import { uris } from "../federation/uris";
import { minIdAt, newId } from "../lib/ids";

/** A hashtag as stored: lower case, no `#`, letters, digits, underscores and middle dots. */
export function normalizeTag(name: string): string | null {
  const n = name.replace(/^#/, "").trim().toLowerCase().normalize("NFKC");
  return /^[\p{L}\p{N}_\u00b7\u200c]{1,100}$/u.test(n) && !/^\d+$/.test(n) ? n : null;
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * Tags as Mastodon's Tag entity, with seven days of history (uses and distinct accounts per day,
 * newest first) from the statuses Perch stores, and whether the owner follows and features each.
 */
export async function presentTags(ctx: Ctx, names: string[]) {
  const list = [...new Set(names.map((n) => n.toLowerCase()))];
  if (list.length === 0) return [];
  const today = Math.floor(Date.now() / DAY) * DAY;
  const since = minIdAt(today - 6 * DAY);
  const day = sql<string>`substr(${statuses.publishedAt}, 1, 10)`;
  const [usage, followed, featured] = await Promise.all([
    ctx.db
      .select({ name: statusTags.name, day, uses: count(), accounts: countDistinct(statuses.accountId) })
      .from(statusTags)
      .innerJoin(statuses, sql`${statuses.id} = ${statusTags.statusId}`)
      .where(and(inArray(statusTags.name, list.slice(0, 90)), gte(statusTags.statusId, since)))
      .groupBy(statusTags.name, day),
    ctx.db
      .select()
      .from(followedTags)
      .where(inArray(followedTags.name, list.slice(0, 90))),
    ctx.db
      .select()
      .from(featuredTags)
      .where(inArray(featuredTags.name, list.slice(0, 90))),
  ]);
  const base = uris(ctx.config).base;
  return list.map((name) => ({
    id: name,
    name,
    url: `${base}/tags/${encodeURIComponent(name)}`,
    history: Array.from({ length: 7 }, (_, i) => {
      const d = new Date(today - i * DAY);
      const key = d.toISOString().slice(0, 10);
      const row = usage.find((u) => u.name === name && u.day === key);
      return {
        day: String(Math.floor(d.getTime() / 1000)),
        uses: String(row?.uses ?? 0),
        accounts: String(row?.accounts ?? 0),
      };
    }),
    following: followed.some((f) => f.name === name),
    featuring: featured.some((f) => f.name === name),
  }));
}

/** Follows a hashtag: its posts then reach the home timeline. Following it again changes nothing. */
export async function followTag(ctx: Ctx, name: string): Promise<void> {
  await ctx.db.insert(followedTags).values({ name, id: newId() }).onConflictDoNothing();
}

export async function unfollowTag(ctx: Ctx, name: string): Promise<void> {
  await ctx.db.delete(followedTags).where(eq(followedTags.name, name));
}

/** Stops featuring a hashtag by name; not featured is not an error. */
export async function unfeatureTagByName(ctx: Ctx, name: string): Promise<void> {
  await ctx.db.delete(featuredTags).where(eq(featuredTags.name, name));
}
