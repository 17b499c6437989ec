import { and, count, countDistinct, eq, gte, inArray, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import type { BatchItem } from "drizzle-orm/batch";
import { featuredTags, followedTags, settings, statuses, statusTags } from "../db/schema";
import { uris } from "../federation/uris";
import { unprocessable } from "../lib/errors";
import { minIdAt, newId } from "../lib/ids";
import { isTagName, normalizeTag } from "../lib/text/hashtags";

/**
 * A hashtag name someone typed (a route, a search, a tag to follow or feature), with or without `#`,
 * as stored: normalized as Mastodon does (lib/text/hashtags). Null when it is no hashtag name (empty,
 * digits only, too long, or with characters no tag has, such as `a-b`), as Mastodon answers 404.
 */
export function typedTagName(name: string): string | null {
  const typed = name.trim().replace(/^[#＃]/, "");
  if (!isTagName(typed)) return null;
  const n = normalizeTag(typed);
  return isTagName(n) ? n : null;
}

/** A tag name to store or look up; HttpError 422 when it is none. */
function tagKey(name: string): string {
  const n = typedTagName(name);
  if (!n) throw unprocessable("Validation failed: Tag is invalid");
  return n;
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * Tags as Mastodon's Tag entity, with seven days of history (uses and distinct accounts per day,
 * newest first) from the statuses Perch stores, and whether the owner follows and features each.
 */
export async function presentTags(ctx: Ctx, names: string[]) {
  const list = [...new Set(names.map((n) => normalizeTag(n)).filter(Boolean))];
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
  await ctx.db
    .insert(followedTags)
    .values({ name: tagKey(name), id: newId() })
    .onConflictDoNothing();
}

export async function unfollowTag(ctx: Ctx, name: string): Promise<void> {
  await ctx.db.delete(followedTags).where(eq(followedTags.name, tagKey(name)));
}

/** Stops featuring a hashtag by name; not featured is not an error. */
export async function unfeatureTagByName(ctx: Ctx, name: string): Promise<void> {
  await ctx.db.delete(featuredTags).where(eq(featuredTags.name, tagKey(name)));
}

const RENORMALIZED_KEY = "tags_renormalized";

/**
 * Brings tag names stored before Mastodon's normalization was applied (lower-cased only: `café`, or
 * a full-width `ｃａｆｅ`) to their normalized form, a chunk of distinct names per cron run, so that
 * old posts stay on their tag's timeline. Only names with a non-ASCII character can change (ASCII ones
 * were already lower case and tag characters only), so the scan is over those, after a cursor kept in
 * settings; once it reaches the end it is marked done and never runs again.
 */
export async function renormalizeStoredTags(ctx: Ctx, chunk = 200): Promise<number> {
  const state = (
    await ctx.db.select({ value: settings.value }).from(settings).where(eq(settings.key, RENORMALIZED_KEY))
  )[0]?.value as { after?: string; done?: boolean } | undefined;
  if (state?.done) return 0;
  const after = state?.after ?? "";
  const names = (
    await ctx.db
      .selectDistinct({ name: statusTags.name })
      .from(statusTags)
      .where(sql`${statusTags.name} > ${after} AND ${statusTags.name} GLOB '*[^ -~]*'`)
      .orderBy(statusTags.name)
      .limit(chunk)
  ).map((r) => r.name);
  const writes: BatchItem<"sqlite">[] = [];
  let changed = 0;
  for (const old of names) {
    const name = normalizeTag(old);
    if (!name || name === old) continue;
    changed++;
    writes.push(
      ctx.db
        .insert(statusTags)
        .select(
          ctx.db
            .select({ name: sql<string>`${name}`.as("name"), statusId: statusTags.statusId })
            .from(statusTags)
            .where(eq(statusTags.name, old)),
        )
        .onConflictDoNothing(),
      ctx.db.delete(statusTags).where(eq(statusTags.name, old)),
    );
  }
  if (!after) {
    // The owner's followed and featured tags are few: all of them in the first run.
    for (const t of await ctx.db.select().from(followedTags)) {
      const name = normalizeTag(t.name);
      if (!name || name === t.name) continue;
      writes.push(
        ctx.db
          .insert(followedTags)
          .values({ ...t, name })
          .onConflictDoNothing(),
        ctx.db.delete(followedTags).where(eq(followedTags.name, t.name)),
      );
    }
    for (const t of await ctx.db.select().from(featuredTags)) {
      const name = normalizeTag(t.name);
      if (!name || name === t.name) continue;
      writes.push(
        ctx.db.delete(featuredTags).where(eq(featuredTags.id, t.id)),
        ctx.db
          .insert(featuredTags)
          .values({ ...t, name })
          .onConflictDoNothing(),
      );
    }
  }
  const next = names.length < chunk ? { done: true } : { after: names[names.length - 1] };
  writes.push(
    ctx.db
      .insert(settings)
      .values({ key: RENORMALIZED_KEY, value: next })
      .onConflictDoUpdate({ target: settings.key, set: { value: next } }),
  );
  await ctx.db.batch(writes as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  return changed;
}
