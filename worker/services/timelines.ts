import { and, eq, getTableColumns, isNull, sql, type SQL } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { homeFeed, statuses, statusTags } from "../db/schema";
import { pageOrder, pageRows, pageWhere, type Page } from "../api/pagination";
import { normalizeTag } from "../lib/text/hashtags";
import { directVisibleSql, followedSql, row, statusShownSql } from "./visibility";

/**
 * The timeline queries. Home walks `home_feed` (the statuses that arrived at home, kept by triggers)
 * newest first and joins each entry's status by primary key; the others walk the primary-key index of
 * `statuses` from the newest id (or from max_id/min_id). Each row is tested against conditions whose
 * subqueries are either uncorrelated (built once per query as an ephemeral list: mutes, blocks,
 * members of lists) or probe an index by the row's own key, so a page costs about `limit` row visits
 * (home, whatever else is stored; the others when most stored statuses qualify). Who is hidden and
 * who may see a direct post are ./visibility.ts's rules, built the same way.
 */

/** The scanned row's name in the timeline queries; the home test also runs on a boost's original. */
const ROW = row("statuses");

function query(ctx: Ctx, where: SQL, page: Page) {
  return ctx.db
    .select()
    .from(statuses)
    .where(and(isNull(statuses.deletedAt), where, pageWhere(statuses.id, page)))
    .orderBy(pageOrder(statuses.id, page))
    .limit(page.limit);
}

async function run(ctx: Ctx, where: SQL, page: Page): Promise<Status[]> {
  return pageRows(await query(ctx, where, page), page);
}

/**
 * Home: the entries of `home_feed` (db/schema/statuses.ts: the owner's statuses and boosts, those of accepted
 * follows, public posts carrying a followed tag, kept by triggers as they arrive, with Mastodon's
 * REBLOG_FALLOFF applied to boosts), newest first, each tested against what may have changed since it
 * arrived: boosts of a follow whose show_reblogs is off, languages chosen for a follow, members of exclusive
 * lists, replies (only those answering the owner, a followed account or their own author, as Mastodon's
 * FeedManager), direct statuses only to or from the owner, and hidden accounts.
 */
export async function homeTimeline(ctx: Ctx, page: Page): Promise<Status[]> {
  return pageRows(await feedQuery(ctx, await homeWhere(ctx), page), page);
}

/** The home timeline's SQL, for EXPLAIN QUERY PLAN in tests and benchmarks. */
export async function homeTimelineSql(ctx: Ctx, page: Page) {
  return timelineSql.home(ctx, page);
}

/** Entries of home_feed newest first (or from max_id/min_id), each with its status, that pass `where`. */
function feedQuery(ctx: Ctx, where: SQL, page: Page) {
  return ctx.db
    .select(getTableColumns(statuses))
    .from(homeFeed)
    .innerJoin(statuses, eq(statuses.id, homeFeed.statusId))
    .where(and(isNull(statuses.deletedAt), where, pageWhere(homeFeed.statusId, page)))
    .orderBy(pageOrder(homeFeed.statusId, page))
    .limit(page.limit);
}

/**
 * Each subquery probes an index by the entry's own key (its author's memberships of exclusive lists,
 * the follow of its author when that follow hides boosts or chooses languages, through partial
 * indexes, the follow of the account a reply answers, blocks and mutes of its author): D1 counts no
 * row read for a probe that finds nothing, so a page reads about two rows per entry (the entry and its
 * status) whatever the number of follows, blocks or mutes.
 */
async function homeWhere(ctx: Ctx): Promise<SQL> {
  const { owner } = await ctx.instance();
  const o = owner.id;
  const t = ROW;
  const prefs = sql`(NOT EXISTS (SELECT 1 FROM list_accounts la JOIN lists l ON l.id = la.list_id
      WHERE la.account_id = ${t}.account_id AND l.exclusive = 1)
    AND (${t}.reblog_of_id IS NULL OR NOT EXISTS (SELECT 1 FROM follows
      WHERE account_id = ${o} AND target_account_id = ${t}.account_id AND show_reblogs = 0))
    AND (${t}.reblog_of_id IS NOT NULL OR ${t}.language IS NULL OR NOT EXISTS (SELECT 1 FROM follows f
      WHERE f.account_id = ${o} AND f.target_account_id = ${t}.account_id AND f.languages IS NOT NULL
        AND json_array_length(f.languages) > 0
        AND ${t}.language NOT IN (SELECT j.value FROM json_each(f.languages) j))))`;
  const replyOk = sql`(${t}.in_reply_to_uri IS NULL OR ${t}.account_id = ${o}
    OR (${t}.in_reply_to_account_id IS NOT NULL AND (
      ${t}.in_reply_to_account_id = ${o} OR ${t}.in_reply_to_account_id = ${t}.account_id
      OR ${followedSql(o, sql`${t}.in_reply_to_account_id`)})))`;
  return sql`(${t}.account_id = ${o} OR ${prefs})
    AND ${replyOk} AND ${directVisibleSql(owner, t)} AND ${statusShownSql(o, t)}`;
}

export interface PublicOptions {
  local?: boolean;
  remote?: boolean;
  onlyMedia?: boolean;
}

function publicWhere(ownerId: string, opts: PublicOptions): SQL {
  const parts: SQL[] = [
    sql`statuses.visibility = 'public'`,
    sql`statuses.reblog_of_id IS NULL`,
    statusShownSql(ownerId, ROW),
  ];
  if (opts.local) parts.push(sql`statuses.local = 1`);
  else if (opts.remote) parts.push(sql`statuses.local = 0`);
  if (opts.onlyMedia) parts.push(sql`statuses.attachments <> '[]'`);
  return sql.join(parts, sql` AND `);
}

/**
 * The public (federated) timeline: public posts, no boosts, not from hidden accounts, and no replies
 * other than an author's replies to itself (Mastodon's PublicFeed without_replies_scope).
 */
export async function publicTimeline(ctx: Ctx, page: Page, opts: PublicOptions): Promise<Status[]> {
  return run(ctx, await publicTimelineWhere(ctx, opts), page);
}

async function publicTimelineWhere(ctx: Ctx, opts: PublicOptions): Promise<SQL> {
  const { owner } = await ctx.instance();
  const noReplies = sql`(statuses.in_reply_to_uri IS NULL OR statuses.in_reply_to_account_id = statuses.account_id)`;
  return sql`${publicWhere(owner.id, opts)} AND ${noReplies}`;
}

export interface TagOptions extends PublicOptions {
  any?: string[];
  all?: string[];
  none?: string[];
}

/** Public posts tagged `tag` (or any of `any`), having all of `all` and none of `none`. */
export async function tagTimeline(ctx: Ctx, tag: string, page: Page, opts: TagOptions): Promise<Status[]> {
  return pageRows(await tagQuery(ctx, await tagWhere(ctx, tag, opts), tag, opts, page), page);
}

/**
 * One tag walks its own entries of status_tags (primary key: name, then status id) newest first, each
 * status by its primary key, so a page reads about its own rows however many posts carry the tag.
 * Several (`any`) walk `statuses`, testing each row against the list of their posts.
 */
function tagQuery(ctx: Ctx, where: SQL, tag: string, opts: TagOptions, page: Page) {
  if (tagNames(tag, opts).length > 1) return query(ctx, where, page);
  return ctx.db
    .select(getTableColumns(statuses))
    .from(statusTags)
    .innerJoin(statuses, eq(statuses.id, statusTags.statusId))
    .where(
      and(
        eq(statusTags.name, normalizeTag(tag)),
        isNull(statuses.deletedAt),
        where,
        pageWhere(statusTags.statusId, page),
      ),
    )
    .orderBy(pageOrder(statusTags.statusId, page))
    .limit(page.limit);
}

// Tag names are matched as stored: normalized as Mastodon does (#Café, #cafe and #ｃａｆｅ are one tag).
function tagNames(tag: string, opts: TagOptions): string[] {
  return [...new Set([tag, ...(opts.any ?? [])].map(normalizeTag))];
}

async function tagWhere(ctx: Ctx, tag: string, opts: TagOptions): Promise<SQL> {
  const { owner } = await ctx.instance();
  const anyOf = tagNames(tag, opts);
  const parts: SQL[] = [publicWhere(owner.id, opts)];
  if (anyOf.length > 1)
    parts.push(
      sql`statuses.id IN (SELECT status_id FROM status_tags WHERE name IN (${sql.join(
        anyOf.map((t) => sql`${t}`),
        sql`, `,
      )}))`,
    );
  for (const t of new Set((opts.all ?? []).map(normalizeTag)))
    parts.push(sql`EXISTS (SELECT 1 FROM status_tags WHERE name = ${t} AND status_id = statuses.id)`);
  for (const t of new Set((opts.none ?? []).map(normalizeTag)))
    parts.push(sql`NOT EXISTS (SELECT 1 FROM status_tags WHERE name = ${t} AND status_id = statuses.id)`);
  return sql.join(parts, sql` AND `);
}

/**
 * A list: statuses and boosts of its members (boosts as at home), replies per the list's
 * replies_policy: "followed" to anyone the owner follows, "list" to members, "none" only self-replies.
 * Members are accounts the owner follows (services/lists.ts), whose statuses are home_feed's: the list
 * walks the feed, as home does, testing each entry's author against the list's members (one probe of
 * list_accounts' primary key, no row read when it is not one), rather than every stored status.
 */
export async function listTimeline(ctx: Ctx, list: ListRef, page: Page): Promise<Status[]> {
  return pageRows(await feedQuery(ctx, await listWhere(ctx, list), page), page);
}

export interface ListRef {
  id: string;
  repliesPolicy: "followed" | "list" | "none";
}

async function listWhere(ctx: Ctx, list: ListRef): Promise<SQL> {
  const { owner } = await ctx.instance();
  const o = owner.id;
  const member = (accountId: SQL) =>
    sql`EXISTS (SELECT 1 FROM list_accounts WHERE list_id = ${list.id} AND account_id = ${accountId})`;
  const replyTargets =
    list.repliesPolicy === "followed"
      ? sql` OR statuses.in_reply_to_account_id = ${o} OR ${followedSql(o, sql`statuses.in_reply_to_account_id`)}`
      : list.repliesPolicy === "list"
        ? sql` OR ${member(sql`statuses.in_reply_to_account_id`)}`
        : sql``;
  const where = sql`${member(sql`statuses.account_id`)}
    AND (statuses.reblog_of_id IS NULL OR NOT EXISTS (SELECT 1 FROM follows
      WHERE account_id = ${o} AND target_account_id = statuses.account_id AND show_reblogs = 0))
    AND (statuses.in_reply_to_uri IS NULL OR (statuses.in_reply_to_account_id IS NOT NULL AND (
      statuses.in_reply_to_account_id = statuses.account_id${replyTargets})))
    AND ${directVisibleSql(owner, ROW)} AND ${statusShownSql(o, ROW)}`;
  return where;
}

/** Each timeline's SQL, for EXPLAIN QUERY PLAN and row counts in tests and benchmarks. */
export const timelineSql = {
  home: async (ctx: Ctx, page: Page) => feedQuery(ctx, await homeWhere(ctx), page).toSQL(),
  public: async (ctx: Ctx, page: Page, opts: PublicOptions = {}) =>
    query(ctx, await publicTimelineWhere(ctx, opts), page).toSQL(),
  tag: async (ctx: Ctx, tag: string, page: Page, opts: TagOptions = {}) =>
    tagQuery(ctx, await tagWhere(ctx, tag, opts), tag, opts, page).toSQL(),
  list: async (ctx: Ctx, list: ListRef, page: Page) =>
    feedQuery(ctx, await listWhere(ctx, list), page).toSQL(),
};
