import { and, asc, count, desc, eq, inArray, isNull, max, notInArray } from "drizzle-orm";
import type { Ctx } from "../context";
import { featuredTags, statuses, statusTags } from "../db/schema";
import { uris } from "../federation/uris";
import { HttpError } from "../lib/errors";
import { newId } from "../lib/ids";
import { typedTagName } from "./tags";

/** Mastodon's limit on featured hashtags. */
export const MAX_FEATURED_TAGS = 10;

export type FeaturedTagRow = typeof featuredTags.$inferSelect;

/** The owner's featured hashtags as FeaturedTag entities, with their use in the owner's posts. */
export async function presentFeaturedTags(ctx: Ctx, rows: FeaturedTagRow[]) {
  if (rows.length === 0) return [];
  const { owner } = await ctx.instance();
  const usage = await ctx.db
    .select({ name: statusTags.name, n: count(), last: max(statuses.publishedAt) })
    .from(statusTags)
    .innerJoin(statuses, eq(statuses.id, statusTags.statusId))
    .where(
      and(
        inArray(
          statusTags.name,
          rows.map((r) => r.name),
        ),
        eq(statuses.accountId, owner.id),
        isNull(statuses.deletedAt),
        isNull(statuses.reblogOfId),
      ),
    )
    .groupBy(statusTags.name);
  const u = uris(ctx.config);
  return rows.map((r) => {
    const use = usage.find((x) => x.name === r.name);
    return {
      id: r.id,
      name: r.name,
      url: `${u.profileUrl}/tagged/${encodeURIComponent(r.name)}`,
      statuses_count: String(use?.n ?? 0),
      last_status_at: use?.last ? use.last.slice(0, 10) : null,
    };
  });
}

export async function listFeaturedTags(ctx: Ctx): Promise<FeaturedTagRow[]> {
  return ctx.db.select().from(featuredTags).orderBy(asc(featuredTags.name));
}

/** Features a hashtag (422 for an invalid name or past the limit); featuring it again changes nothing. */
export async function featureTag(ctx: Ctx, input: string): Promise<FeaturedTagRow> {
  const name = typedTagName(input);
  if (!name) throw new HttpError(422, "Validation failed: Tag is invalid", "validation");
  const existing = await ctx.db.select().from(featuredTags).where(eq(featuredTags.name, name)).limit(1);
  if (existing[0]) return existing[0];
  const [n] = await ctx.db.select({ n: count() }).from(featuredTags);
  if ((n?.n ?? 0) >= MAX_FEATURED_TAGS)
    throw new HttpError(
      422,
      `Validation failed: You cannot feature more than ${MAX_FEATURED_TAGS} hashtags`,
      "validation",
    );
  const [row] = await ctx.db
    .insert(featuredTags)
    .values({ id: newId(), name })
    .onConflictDoNothing()
    .returning();
  if (row) return row;
  const again = await ctx.db.select().from(featuredTags).where(eq(featuredTags.name, name)).limit(1);
  if (!again[0]) throw new Error("featured tag vanished");
  return again[0];
}

/** Stops featuring a hashtag by its FeaturedTag id; false when there is no such id. */
export async function unfeatureTag(ctx: Ctx, id: string): Promise<boolean> {
  const rows = await ctx.db.delete(featuredTags).where(eq(featuredTags.id, id)).returning();
  return rows.length > 0;
}

/** The hashtags the owner uses most that are not featured yet, most used first. */
export async function suggestedFeaturedTags(ctx: Ctx, limit = 10): Promise<string[]> {
  const { owner } = await ctx.instance();
  const featured = (await listFeaturedTags(ctx)).map((r) => r.name);
  const rows = await ctx.db
    .select({ name: statusTags.name, n: count() })
    .from(statusTags)
    .innerJoin(statuses, eq(statuses.id, statusTags.statusId))
    .where(
      and(
        eq(statuses.accountId, owner.id),
        isNull(statuses.deletedAt),
        featured.length ? notInArray(statusTags.name, featured) : undefined,
      ),
    )
    .groupBy(statusTags.name)
    .orderBy(desc(count()), asc(statusTags.name))
    .limit(limit);
  return rows.map((r) => r.name);
}
