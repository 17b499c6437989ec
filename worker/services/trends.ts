import { and, desc, eq, gte, isNull, sql, type SQL } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { accounts, statuses, statusTags } from "../db/schema";
import { minIdAt } from "../lib/ids";
import { hiddenAccountSql } from "./visibility";

/**
 * Trends computed from what Perch stores, without review: a single-user server sees only its own
 * corner of the fediverse, so these are "what is going on around me" rather than server-wide trends.
 */

const DAY = 24 * 60 * 60 * 1000;

/** Days of posts a tag's trend counts. */
export const TAG_TREND_DAYS = 7;
/** Days of posts considered for trending statuses. */
export const STATUS_TREND_DAYS = 3;
/** Most recent candidates scored for trending statuses. */
const STATUS_CANDIDATES = 500;

/** Public, undeleted, not a boost, and by an account not hidden from the owner (./visibility.ts). */
function visibleOriginal(ownerId: string): SQL {
  return sql`${statuses.visibility} = 'public' AND ${statuses.deletedAt} IS NULL AND ${statuses.reblogOfId} IS NULL
    AND NOT ${hiddenAccountSql(ownerId, statuses.accountId, { domain: accounts.domain })}`;
}

/**
 * Tag names ranked by how many distinct accounts used them in public posts over the last
 * TAG_TREND_DAYS days, then by uses, then by name.
 */
export async function trendingTagNames(ctx: Ctx, opts: { limit: number; offset: number }): Promise<string[]> {
  const { owner } = await ctx.instance();
  const since = minIdAt(Date.now() - TAG_TREND_DAYS * DAY);
  // Stored statuses through status_tags, and relayed posts through the tags in their row (they have
  // no tags table); a relayed post also held as a status counts once. The relayed ones read are
  // those of the last TAG_TREND_DAYS days that retention kept.
  const rows = await ctx.db.all<{ name: string }>(sql`SELECT name, count(DISTINCT account_id) AS accounts,
      count(*) AS uses FROM (
        SELECT ${statusTags.name} AS name, ${statuses.accountId} AS account_id FROM ${statusTags}
          JOIN ${statuses} ON ${statuses.id} = ${statusTags.statusId}
          JOIN ${accounts} ON ${accounts.id} = ${statuses.accountId}
          WHERE ${statusTags.statusId} >= ${since} AND ${statuses.id} >= ${since} AND ${visibleOriginal(owner.id)}
        UNION ALL
        SELECT json_extract(jt.value, '$.key') AS name, r.account_id AS account_id
          FROM relay_posts r, json_each(r.tags) jt
          WHERE r.id >= ${since} AND r.visibility = 'public' AND json_extract(jt.value, '$.key') IS NOT NULL
            AND NOT ${hiddenAccountSql(owner.id, sql`r.account_id`)}
            AND NOT EXISTS (SELECT 1 FROM statuses s2 WHERE s2.uri = r.uri)
      ) GROUP BY name ORDER BY accounts DESC, uses DESC, name ASC LIMIT ${opts.limit} OFFSET ${opts.offset}`);
  return rows.map((r) => r.name);
}

/**
 * Public statuses of the last STATUS_TREND_DAYS days by discoverable accounts, ranked by the
 * favourites and boosts Perch knows of, discounted by age (Hacker News style gravity), so a newer post
 * with fewer interactions can outrank an older one. Statuses nobody interacted with do not trend.
 */
export async function trendingStatuses(ctx: Ctx, opts: { limit: number; offset: number }): Promise<Status[]> {
  const { owner } = await ctx.instance();
  const since = minIdAt(Date.now() - STATUS_TREND_DAYS * DAY);
  const favs = sql<number>`(SELECT count(*) FROM favourites f WHERE f.status_id = ${statuses.id} AND f.emoji IS NULL)`;
  const boosts = sql<number>`(SELECT count(*) FROM statuses b WHERE b.reblog_of_id = ${statuses.id} AND b.deleted_at IS NULL)`;
  const rows = await ctx.db
    .select({ status: statuses, favs, boosts })
    .from(statuses)
    .innerJoin(accounts, eq(accounts.id, statuses.accountId))
    .where(
      and(
        gte(statuses.id, since),
        isNull(statuses.deletedAt),
        eq(accounts.discoverable, true),
        visibleOriginal(owner.id),
        sql`(${favs} + ${boosts}) > 0`,
      ),
    )
    .orderBy(desc(statuses.id))
    .limit(STATUS_CANDIDATES);
  const now = Date.now();
  const scored = rows.map((r) => {
    const ageHours = Math.max(0, now - Date.parse(r.status.publishedAt)) / 3_600_000;
    return { status: r.status, score: (Number(r.favs) + Number(r.boosts)) / Math.pow(ageHours + 2, 1.5) };
  });
  scored.sort((a, b) => b.score - a.score || (a.status.id < b.status.id ? 1 : -1));
  return scored.slice(opts.offset, opts.offset + opts.limit).map((s) => s.status);
}
