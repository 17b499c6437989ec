import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import { relayPosts, settings, statuses, type Tag } from "../db/schema";
import { PUBLIC } from "../federation/jsonld";
import type { Note } from "../federation/schemas";
import { minIdAt, newId } from "../lib/ids";
import { statusInsertCounts } from "./counters";
import { noteToStatus, tagInserts } from "./remote-statuses";
import { pageOrder, pageRows, pageWhere, type Page } from "../api/pagination";
import { normalizeTag } from "../lib/text/hashtags";
import { hiddenAccountSql } from "./visibility";

/**
 * Posts that came through a relay, one lean row each in `relay_posts` (see
 * db/schema/relays-and-media-cache.ts). A row is what display needs and nothing else: no tags table, no
 * search index, no media, no counts. When the owner opens one, answers, favourites, boosts or bookmarks it,
 * it moves to `statuses` (same id) and is from then on a post like any other, never pruned.
 */

export type RelayPost = typeof relayPosts.$inferSelect;

/** Days a relayed post nobody interacted with is kept, unless the owner sets otherwise. */
export const DEFAULT_RETENTION_DAYS = 7;
export const RETENTION_KEY = "relay_retention_days";

/** The row for a relayed note, or null when it is not public or unlisted (relays carry nothing else). */
export async function relayPostValues(
  note: Note,
  author: Account,
  relayId: string,
): Promise<RelayPost | null> {
  const v = await noteToStatus(note, author);
  if (v.visibility !== "public" && v.visibility !== "unlisted") return null;
  return {
    // When it arrived, not when it says it was written: the cron's counts and pruning are then
    // range scans of the primary key, and a post backdated by its sender cannot hide in the past.
    id: newId(),
    uri: v.uri,
    url: v.url ?? null,
    accountId: author.id,
    relayId,
    type: v.type ?? "Note",
    visibility: v.visibility,
    content: v.content ?? "",
    spoilerText: v.spoilerText ?? "",
    sensitive: v.sensitive ?? false,
    language: v.language ?? null,
    inReplyToUri: v.inReplyToUri ?? null,
    mentions: v.mentions ?? [],
    // With each tag's normalized name (`key`): relayed posts have no tags table, so the timelines and
    // trends match tags in this JSON, and SQLite cannot normalize as normalizeTag does.
    tags: (v.tags ?? []).map((t) => ({ ...t, key: normalizeTag(t.name) }) as Tag),
    attachments: v.attachments ?? [],
    poll: v.poll ?? null,
    publishedAt: v.publishedAt,
    editedAt: v.editedAt ?? null,
  };
}

/**
 * Stores a relayed post unless the same post is already stored here or in `statuses` (the uri index
 * of each answers; nothing else is written for deduplication). True when it was stored.
 */
export async function insertRelayPost(ctx: Ctx, p: RelayPost): Promise<boolean> {
  const r = await ctx.db.run(sql`INSERT INTO relay_posts (id, uri, url, account_id, relay_id, type,
      visibility, content, spoiler_text, sensitive, language, in_reply_to_uri, mentions, tags,
      attachments, poll, published_at, edited_at)
    SELECT ${p.id}, ${p.uri}, ${p.url}, ${p.accountId}, ${p.relayId}, ${p.type}, ${p.visibility},
      ${p.content}, ${p.spoilerText}, ${p.sensitive ? 1 : 0}, ${p.language}, ${p.inReplyToUri},
      ${JSON.stringify(p.mentions)}, ${JSON.stringify(p.tags)}, ${JSON.stringify(p.attachments)},
      ${p.poll ? JSON.stringify(p.poll) : null}, ${p.publishedAt}, ${p.editedAt}
    WHERE NOT EXISTS (SELECT 1 FROM statuses WHERE uri = ${p.uri})
    ON CONFLICT (uri) DO NOTHING`);
  return r.meta.changes > 0;
}

/** Whether a post is already held, as a relayed post or a status: one query on the two uri indexes. */
export async function isHeld(ctx: Ctx, uri: string): Promise<boolean> {
  const row = await ctx.db.get<{ held: number }>(
    sql`SELECT EXISTS (SELECT 1 FROM relay_posts WHERE uri = ${uri})
      OR EXISTS (SELECT 1 FROM statuses WHERE uri = ${uri}) AS held`,
  );
  return !!row?.held;
}

export async function findRelayPostByUri(ctx: Ctx, uri: string): Promise<RelayPost | undefined> {
  return (await ctx.db.select().from(relayPosts).where(eq(relayPosts.uri, uri)).limit(1))[0];
}

/** Deletes a relayed post on its author's word. True when there was one. */
export async function deleteRelayPost(ctx: Ctx, uri: string, authorId: string): Promise<boolean> {
  const r = await ctx.db.run(sql`DELETE FROM relay_posts WHERE uri = ${uri} AND account_id = ${authorId}`);
  return r.meta.changes > 0;
}

/** Applies an edit by its author to a relayed post. True when there was one to edit. */
export async function updateRelayPost(ctx: Ctx, next: RelayPost): Promise<boolean> {
  const r = await ctx.db
    .update(relayPosts)
    .set({
      content: next.content,
      spoilerText: next.spoilerText,
      sensitive: next.sensitive,
      language: next.language,
      mentions: next.mentions,
      tags: next.tags,
      attachments: next.attachments,
      poll: next.poll,
      editedAt: next.editedAt ?? new Date().toISOString(),
    })
    .where(sql`${relayPosts.uri} = ${next.uri} AND ${relayPosts.accountId} = ${next.accountId}`);
  return r.meta.changes > 0;
}

/** A relayed post in the shape of a `statuses` row, for the same serializers and filters. */
export function relayPostAsStatus(p: RelayPost): Status {
  return {
    id: p.id,
    uri: p.uri,
    url: p.url,
    accountId: p.accountId,
    local: false,
    type: p.type,
    visibility: p.visibility,
    content: p.content,
    source: null,
    spoilerText: p.spoilerText,
    sensitive: p.sensitive,
    language: p.language,
    inReplyToUri: p.inReplyToUri,
    inReplyToId: null,
    inReplyToAccountId: null,
    reblogOfId: null,
    audience: p.visibility === "public" ? { to: [PUBLIC], cc: [] } : { to: [], cc: [PUBLIC] },
    mentions: p.mentions,
    tags: p.tags,
    attachments: p.attachments,
    poll: p.poll,
    publishedAt: p.publishedAt,
    editedAt: p.editedAt,
    deletedAt: null,
    createdAt: p.publishedAt,
    // Nobody here has interacted with it: the first interaction makes it a status.
    repliesCount: 0,
    reblogsCount: 0,
    favouritesCount: 0,
  };
}

/**
 * Moves a relayed post into `statuses` (same id, its tags indexed) because someone interacted with
 * it, in one batch: copy, tags, delete. Returns the status, or undefined when there is no such
 * relayed post. Already moved (a race) → the stored status.
 */
export async function promoteRelayPost(
  ctx: Ctx,
  by: { id: string } | { uri: string },
): Promise<Status | undefined> {
  const where = "id" in by ? eq(relayPosts.id, by.id) : eq(relayPosts.uri, by.uri);
  const post = (await ctx.db.select().from(relayPosts).where(where).limit(1))[0];
  if (!post) return undefined;
  const row = relayPostAsStatus(post);
  const insert = (id: string) =>
    ctx.db
      .insert(statuses)
      .values({
        ...row,
        id,
        createdAt: new Date().toISOString(),
        inReplyToId: row.inReplyToUri
          ? (sql`(SELECT id FROM statuses WHERE uri = ${row.inReplyToUri})` as unknown as string)
          : null,
        inReplyToAccountId: row.inReplyToUri
          ? (sql`(SELECT account_id FROM statuses WHERE uri = ${row.inReplyToUri})` as unknown as string)
          : null,
      })
      .onConflictDoNothing({ target: statuses.uri });
  // Counted from here on as any stored status: its author's, its parent's, and replies to it that
  // were stored before it.
  const counts = statusInsertCounts(ctx, {
    uri: row.uri,
    accountId: row.accountId,
    inReplyToUri: row.inReplyToUri,
    mayHaveReplies: true,
  });
  const rest = [
    ...tagInserts(ctx, row.uri, row.tags),
    ctx.db.delete(relayPosts).where(eq(relayPosts.id, post.id)),
    ...counts.after,
  ];
  try {
    await ctx.db.batch([...counts.before, insert(post.id), ...rest]);
  } catch {
    // Its id was taken in `statuses` (ids made in two isolates can meet, rarely): a new one.
    await ctx.db.batch([...counts.before, insert(newId()), ...rest]);
  }
  return (await ctx.db.select().from(statuses).where(eq(statuses.uri, row.uri)).limit(1))[0];
}

export async function retentionDays(ctx: Ctx): Promise<number> {
  const row = (await ctx.db.select().from(settings).where(eq(settings.key, RETENTION_KEY)).limit(1))[0];
  const n = typeof row?.value === "number" ? row.value : DEFAULT_RETENTION_DAYS;
  return Math.max(1, Math.min(365, Math.floor(n)));
}

export async function setRetentionDays(ctx: Ctx, days: number): Promise<void> {
  const value = Math.max(1, Math.min(365, Math.floor(days)));
  await ctx.db
    .insert(settings)
    .values({ key: RETENTION_KEY, value })
    .onConflictDoUpdate({ target: settings.key, set: { value } });
}

/**
 * Prunes relayed posts older than the retention (by arrival: a range of the primary key), in
 * chunks so one cron run stays within its limits. Posts someone interacted with are in `statuses`
 * by then and untouched. Returns how many were removed.
 */
export async function pruneRelayPosts(
  ctx: Ctx,
  opts: { now?: Date; maxRows?: number } = {},
): Promise<number> {
  const days = await retentionDays(ctx);
  const cutoff = minIdAt((opts.now ?? new Date()).getTime() - days * 86_400_000);
  const max = opts.maxRows ?? 10_000;
  let removed = 0;
  while (removed < max) {
    const r = await ctx.db.run(
      sql`DELETE FROM relay_posts WHERE id IN (SELECT id FROM relay_posts WHERE id < ${cutoff} LIMIT 1000)`,
    );
    removed += r.meta.changes;
    if (r.meta.changes < 1000) break;
  }
  return removed;
}

export interface RelayPageOptions {
  /** Posts carrying any of these (normalized) tags. */
  anyTags?: string[];
  allTags?: string[];
  noneTags?: string[];
  onlyMedia?: boolean;
}

/**
 * A page of relayed posts for the federated and hashtag timelines: walking the primary key from the
 * page's bound, hidden authors left out by the same rule as everywhere (services/visibility.ts), no
 * replies to others, and none also held as a status (that copy is shown instead). Tags are matched
 * in the row's own JSON (relayed posts have no tags table: it would cost rows per tag), so a rare tag
 * reads the relayed posts kept, which retention bounds.
 */
export async function relayTimeline(ctx: Ctx, page: Page, opts: RelayPageOptions = {}): Promise<Status[]> {
  const { owner } = await ctx.instance();
  const t = sql.raw("relay_posts");
  const parts: SQL[] = [
    sql`NOT ${hiddenAccountSql(owner.id, sql`${t}.account_id`)}`,
    sql`${t}.visibility = 'public'`,
    sql`${t}.in_reply_to_uri IS NULL`,
    sql`NOT EXISTS (SELECT 1 FROM statuses s WHERE s.uri = ${t}.uri)`,
  ];
  const hasTag = (name: string) =>
    sql`EXISTS (SELECT 1 FROM json_each(${t}.tags) jt WHERE json_extract(jt.value, '$.key') = ${name})`;
  const any = [...new Set((opts.anyTags ?? []).map(normalizeTag).filter(Boolean))];
  if (any.length) parts.push(sql`(${sql.join(any.map(hasTag), sql` OR `)})`);
  for (const name of new Set((opts.allTags ?? []).map(normalizeTag))) parts.push(hasTag(name));
  for (const name of new Set((opts.noneTags ?? []).map(normalizeTag))) parts.push(sql`NOT ${hasTag(name)}`);
  if (opts.onlyMedia) parts.push(sql`${t}.attachments <> '[]'`);
  const found = await ctx.db
    .select()
    .from(relayPosts)
    .where(and(sql.join(parts, sql` AND `), pageWhere(relayPosts.id, page)))
    .orderBy(pageOrder(relayPosts.id, page))
    .limit(page.limit);
  return pageRows(found, page).map(relayPostAsStatus);
}

/**
 * Merges a page of statuses with a page of relayed posts under the same bounds: newest first, at
 * most `limit`, as one timeline (with min_id, the ones nearest above it).
 */
export function mergePages(a: Status[], b: Status[], page: Page): Status[] {
  const all = [...a, ...b].sort((x, y) => (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
  return page.minId && !page.maxId ? all.slice(-page.limit) : all.slice(0, page.limit);
}

/** Relayed posts a search looks through at most: the newest, so a search reads a bounded number of rows. */
export const RELAY_SEARCH_WINDOW = 5000;

/**
 * Relayed posts matching every word of `q`, newest first, among the newest RELAY_SEARCH_WINDOW
 * (relayed posts are not in the full-text index: indexing costs rows written for posts that mostly
 * nobody reads). Only authors who allow search (indexable), none hidden from the owner.
 */
export async function searchRelayPosts(
  ctx: Ctx,
  q: string,
  opts: { limit: number; offset: number; accountId?: string; maxId?: string; minId?: string },
): Promise<Status[]> {
  const words = q
    .split(/\s+/)
    .map((w) => w.trim().toLowerCase())
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, 8);
  if (words.length === 0) return [];
  const { owner } = await ctx.instance();
  const like = (w: string) => `%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const where: SQL[] = [
    ...words.map(
      (w) =>
        sql`(lower(r.content) LIKE ${like(w)} ESCAPE '\\' OR lower(r.spoiler_text) LIKE ${like(w)} ESCAPE '\\')`,
    ),
    sql`EXISTS (SELECT 1 FROM accounts a WHERE a.id = r.account_id AND a.indexable = 1)`,
    sql`NOT ${hiddenAccountSql(owner.id, sql`r.account_id`)}`,
    sql`NOT EXISTS (SELECT 1 FROM statuses s WHERE s.uri = r.uri)`,
  ];
  if (opts.accountId) where.push(sql`r.account_id = ${opts.accountId}`);
  if (opts.maxId) where.push(sql`r.id < ${opts.maxId}`);
  if (opts.minId) where.push(sql`r.id > ${opts.minId}`);
  const found = await ctx.db.all<Record<string, unknown>>(sql`SELECT r.* FROM
    (SELECT * FROM relay_posts ORDER BY id DESC LIMIT ${RELAY_SEARCH_WINDOW}) r
    WHERE ${sql.join(where, sql` AND `)} ORDER BY r.id DESC LIMIT ${opts.limit} OFFSET ${opts.offset}`);
  const ids = found.map((r) => String(r.id));
  if (ids.length === 0) return [];
  const rows = await ctx.db.select().from(relayPosts).where(inArray(relayPosts.id, ids));
  return rows.sort((a, b) => (a.id < b.id ? 1 : -1)).map(relayPostAsStatus);
}
