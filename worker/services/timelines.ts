import { and, isNull, sql, type SQL } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { statuses } from "../db/schema";
import { pageOrder, pageRows, pageWhere, type Page } from "../api/pagination";
import { normalizeTag } from "../lib/text/hashtags";
import { directVisibleSql, row, statusShownSql, type Owner } from "./visibility";

/**
 * The timeline queries. Each is one SELECT over `statuses` walking the primary-key index from the
 * newest id (or from max_id/min_id) and testing each row against conditions whose subqueries are
 * either uncorrelated (built once per query as an ephemeral list: follows, mutes, blocks) or probe an
 * index by the row's own key, so a page costs about `limit` row visits when most stored statuses
 * belong at home, as they do on a single-user server. Who is hidden and who may see a direct post
 * are ./visibility.ts's rules, built the same way.
 */

/** The scanned row's name in the timeline queries; the home test also runs on a boost's original. */
const ROW = row("statuses");

const followed = (ownerId: string) =>
  sql`(SELECT target_account_id FROM follows WHERE account_id = ${ownerId} AND accepted = 1)`;

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
 * Home: the owner's statuses and boosts; those of accepted follows (their boosts unless
 * show_reblogs is off, in their chosen languages when set, not those of members of exclusive lists);
 * public posts carrying a followed tag. Replies only when they answer the owner, a followed account or
 * their own author (as Mastodon's FeedManager); direct statuses only to or from the owner. A boost of
 * a post already in the feed close above it is left out (see REBLOG_FALLOFF).
 */
export async function homeTimeline(ctx: Ctx, page: Page): Promise<Status[]> {
  return run(ctx, await homeWhere(ctx), page);
}

/** The home timeline's SQL, for EXPLAIN QUERY PLAN in tests and benchmarks. */
export async function homeTimelineSql(ctx: Ctx, page: Page) {
  return timelineSql.home(ctx, page);
}

/**
 * Mastodon does not add a boost to a home feed whose 40 newest entries hold its original
 * (FeedManager::REBLOG_FALLOFF): a boost of a recent post already shown would show it twice, while a
 * boost of an older one brings it back to the top.
 */
const REBLOG_FALLOFF = 40;

/** Whether the row `t` belongs at home by who wrote it, what it answers and who may see it. */
function homeConditions(owner: Owner, t: SQL): SQL {
  const o = owner.id;
  const fromFollowed = sql`(${t}.account_id IN ${followed(o)}
    AND ${t}.account_id NOT IN (SELECT la.account_id FROM list_accounts la JOIN lists l ON l.id = la.list_id WHERE l.exclusive = 1)
    AND (${t}.reblog_of_id IS NULL
      OR ${t}.account_id NOT IN (SELECT target_account_id FROM follows WHERE account_id = ${o} AND show_reblogs = 0))
    AND (${t}.reblog_of_id IS NOT NULL OR ${t}.language IS NULL
      OR ${t}.account_id NOT IN (SELECT target_account_id FROM follows WHERE account_id = ${o} AND languages IS NOT NULL AND json_array_length(languages) > 0)
      OR ${t}.language IN (SELECT j.value FROM follows f, json_each(f.languages) j WHERE f.account_id = ${o} AND f.target_account_id = ${t}.account_id)))`;
  const withFollowedTag = sql`(${t}.visibility = 'public' AND ${t}.reblog_of_id IS NULL
    AND EXISTS (SELECT 1 FROM followed_tags ft WHERE EXISTS (
      SELECT 1 FROM status_tags st WHERE st.name = ft.name AND st.status_id = ${t}.id)))`;
  const replyOk = sql`(${t}.in_reply_to_uri IS NULL OR ${t}.account_id = ${o}
    OR (${t}.in_reply_to_account_id IS NOT NULL AND (
      ${t}.in_reply_to_account_id = ${o} OR ${t}.in_reply_to_account_id = ${t}.account_id
      OR ${t}.in_reply_to_account_id IN ${followed(o)})))`;
  return sql`(${t}.account_id = ${o} OR ${fromFollowed} OR ${withFollowedTag})
    AND ${replyOk} AND ${directVisibleSql(owner, t)} AND ${statusShownSql(o, t)}`;
}

async function homeWhere(ctx: Ctx): Promise<SQL> {
  const { owner } = await ctx.instance();
  const o = owner.id;
  // A boost (the owner's or a followed account's) whose original is itself at home, with fewer than
  // REBLOG_FALLOFF of the owner's and followed accounts' statuses between them, is left out. The
  // test only runs for boost rows, and reads at most that many index entries past the original, so
  // it holds for every page whatever max_id, since_id or min_id bound it.
  const notShownAbove = sql`(statuses.reblog_of_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM statuses orig WHERE orig.id = statuses.reblog_of_id AND orig.deleted_at IS NULL
      AND ${homeConditions(owner, row("orig"))}
      AND NOT EXISTS (SELECT 1 FROM statuses h WHERE h.id > orig.id AND h.id < statuses.id
        AND h.deleted_at IS NULL AND (h.account_id = ${o} OR h.account_id IN ${followed(o)})
        ORDER BY h.id LIMIT 1 OFFSET ${REBLOG_FALLOFF - 1})))`;
  return sql`${homeConditions(owner, ROW)} AND ${notShownAbove}`;
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
  return run(ctx, await tagWhere(ctx, tag, opts), page);
}

async function tagWhere(ctx: Ctx, tag: string, opts: TagOptions): Promise<SQL> {
  const { owner } = await ctx.instance();
  // Tag names are matched as stored: normalized as Mastodon does (#Café, #cafe and #ｃａｆｅ are one tag).
  const anyOf = [...new Set([tag, ...(opts.any ?? [])].map(normalizeTag))];
  const parts: SQL[] = [
    sql`statuses.id IN (SELECT status_id FROM status_tags WHERE name IN (${sql.join(
      anyOf.map((t) => sql`${t}`),
      sql`, `,
    )}))`,
    publicWhere(owner.id, opts),
  ];
  for (const t of new Set((opts.all ?? []).map(normalizeTag)))
    parts.push(sql`EXISTS (SELECT 1 FROM status_tags WHERE name = ${t} AND status_id = statuses.id)`);
  for (const t of new Set((opts.none ?? []).map(normalizeTag)))
    parts.push(sql`NOT EXISTS (SELECT 1 FROM status_tags WHERE name = ${t} AND status_id = statuses.id)`);
  return sql.join(parts, sql` AND `);
}

/**
 * A list: statuses and boosts of its members (boosts as at home), replies per the list's
 * replies_policy: "followed" to anyone the owner follows, "list" to members, "none" only self-replies.
 */
export async function listTimeline(ctx: Ctx, list: ListRef, page: Page): Promise<Status[]> {
  return run(ctx, await listWhere(ctx, list), page);
}

export interface ListRef {
  id: string;
  repliesPolicy: "followed" | "list" | "none";
}

async function listWhere(ctx: Ctx, list: ListRef): Promise<SQL> {
  const { owner } = await ctx.instance();
  const o = owner.id;
  const members = sql`(SELECT account_id FROM list_accounts WHERE list_id = ${list.id})`;
  const replyTargets =
    list.repliesPolicy === "followed"
      ? sql` OR statuses.in_reply_to_account_id = ${o} OR statuses.in_reply_to_account_id IN ${followed(o)}`
      : list.repliesPolicy === "list"
        ? sql` OR statuses.in_reply_to_account_id IN ${members}`
        : sql``;
  const where = sql`statuses.account_id IN ${members}
    AND (statuses.reblog_of_id IS NULL
      OR statuses.account_id NOT IN (SELECT target_account_id FROM follows WHERE account_id = ${o} AND show_reblogs = 0))
    AND (statuses.in_reply_to_uri IS NULL OR (statuses.in_reply_to_account_id IS NOT NULL AND (
      statuses.in_reply_to_account_id = statuses.account_id${replyTargets})))
    AND ${directVisibleSql(owner, ROW)} AND ${statusShownSql(o, ROW)}`;
  return where;
}

/** Each timeline's SQL, for EXPLAIN QUERY PLAN and row counts in tests and benchmarks. */
export const timelineSql = {
  home: async (ctx: Ctx, page: Page) => query(ctx, await homeWhere(ctx), page).toSQL(),
  public: async (ctx: Ctx, page: Page, opts: PublicOptions = {}) =>
    query(ctx, await publicTimelineWhere(ctx, opts), page).toSQL(),
  tag: async (ctx: Ctx, tag: string, page: Page, opts: TagOptions = {}) =>
    query(ctx, await tagWhere(ctx, tag, opts), page).toSQL(),
  list: async (ctx: Ctx, list: ListRef, page: Page) => query(ctx, await listWhere(ctx, list), page).toSQL(),
};
