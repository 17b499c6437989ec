import { eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Ctx } from "../context";
import { d1Of, type Account, type Status } from "../db/client";
import { accounts, statuses } from "../db/schema";
import { findAccountByUri, resolveAccount, resolveHandleOrUrl } from "./accounts";
import { findStatusByUri, resolveStatus } from "./remote-statuses";
import { indexStatuses } from "./search-index";
import { typedTagName } from "./tags";
import { addressedSql, blockedSql, followedSql, hiddenAccountSql, row } from "./visibility";

/*
 * Search: posts by full text (FTS5 over what ./search-index.ts has indexed, brought up to date before
 * each search), accounts by name and handle, hashtags by prefix, and URLs or handles resolved.
 */

/** User input as an FTS5 query of quoted terms (all must match), so no input is a syntax error. */
export function ftsQuery(q: string): string | null {
  const terms = q
    .split(/\s+/)
    .map((t) => t.replace(/[\u0000-\u001f]/g, ""))
    .filter((t) => /[\p{L}\p{N}]/u.test(t))
    .slice(0, 16);
  if (terms.length === 0) return null;
  return terms.map((t) => `"${t.replace(/"/g, '""')}"`).join(" ");
}

/** A LIKE pattern matching `text` anywhere, with %, _ and the escape character escaped. */
function likeAnywhere(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export interface StatusSearch {
  q: string;
  limit: number;
  offset: number;
  accountId?: string;
  maxId?: string;
  minId?: string;
}

/**
 * Statuses matching `q`, newest first: not deleted, not boosts, and only those the owner may see
 * (public or unlisted, the owner's own, addressed to the owner, or followers-only from an account the
 * owner follows), from authors who allow search (indexable) unless the owner wrote, was addressed
 * by, favourited or bookmarked them. Nothing from accounts hidden from the owner (./visibility.ts).
 */
export async function searchStatuses(ctx: Ctx, s: StatusSearch): Promise<Status[]> {
  const match = ftsQuery(s.q);
  if (!match) return [];
  await indexStatuses(ctx, 300);
  const { owner } = await ctx.instance();
  const t = row("s");
  const where: SQL[] = [
    sql`status_search MATCH ${match}`,
    sql`s.deleted_at IS NULL`,
    sql`s.reblog_of_id IS NULL`,
    sql`(s.visibility IN ('public', 'unlisted') OR s.account_id = ${owner.id} OR ${addressedSql(owner, t)}
      OR (s.visibility = 'private' AND ${followedSql(owner.id, sql`s.account_id`)}))`,
    sql`(a.indexable = 1 OR s.account_id = ${owner.id} OR ${addressedSql(owner, t)}
      OR EXISTS (SELECT 1 FROM favourites v WHERE v.status_id = s.id AND v.account_id = ${owner.id})
      OR EXISTS (SELECT 1 FROM bookmarks b WHERE b.status_id = s.id))`,
    sql`NOT ${hiddenAccountSql(owner.id, sql`s.account_id`, { domain: sql`a.domain` })}`,
  ];
  if (s.accountId) where.push(sql`s.account_id = ${s.accountId}`);
  if (s.maxId) where.push(sql`s.id < ${s.maxId}`);
  if (s.minId) where.push(sql`s.id > ${s.minId}`);
  const found = await ctx.db.all<{ id: string }>(sql`SELECT s.id FROM status_search
    JOIN statuses s ON s.rowid = status_search.rowid JOIN accounts a ON a.id = s.account_id
    WHERE ${sql.join(where, sql` AND `)} ORDER BY s.id DESC LIMIT ${s.limit} OFFSET ${s.offset}`);
  const ids = found.map((r) => r.id);
  if (ids.length === 0) return [];
  const rows = await ctx.db.select().from(statuses).where(inArray(statuses.id, ids));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is Status => !!r);
}

export interface AccountSearch {
  q: string;
  limit: number;
  offset: number;
  following: boolean;
}

/**
 * A handle in q (`user@host`, `@user@host`, `@user`), split, or null. The host may carry a port and
 * may be an IPv4 address (a loopback test instance); whether it may be contacted is for the remote
 * fetch checks to decide, not the parser.
 */
export function parseHandle(q: string): { username: string; domain: string | null } | null {
  const m =
    /^@?([a-z0-9_][a-z0-9_.-]*)(?:@((?:[a-z0-9.-]+\.[a-z]{2,}|localhost|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?))?$/i.exec(
      q.trim(),
    );
  return m ? { username: m[1] as string, domain: m[2]?.toLowerCase() ?? null } : null;
}

/**
 * Stored accounts whose username, display name or domain contains q; the exact handle first, then
 * usernames starting with q, then the rest by username.
 */
export async function searchAccounts(ctx: Ctx, s: AccountSearch): Promise<Account[]> {
  const q = s.q.trim().replace(/^@/, "");
  if (!q) return [];
  const { owner } = await ctx.instance();
  const handle = parseHandle(q);
  const username = handle?.username ?? q;
  const domain = handle?.domain ?? null;
  const pattern = likeAnywhere(handle ? username : q);
  const where: SQL[] = [
    domain
      ? sql`(a.username LIKE ${pattern} ESCAPE '\\' AND lower(a.domain) LIKE ${likeAnywhere(domain)} ESCAPE '\\')`
      : sql`(a.username LIKE ${pattern} ESCAPE '\\' OR a.display_name LIKE ${pattern} ESCAPE '\\' OR a.domain LIKE ${pattern} ESCAPE '\\')`,
    // Blocked accounts are not offered; muted ones are, so that they can be found and unmuted.
    sql`NOT ${blockedSql(owner.id, sql`a.id`)}`,
  ];
  if (s.following) {
    where.push(followedSql(owner.id, sql`a.id`));
  }
  const localDomain = ctx.config.accountDomain.toLowerCase();
  const prefix = `${username.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const results = await ctx.db.all<{
    id: string;
  }>(sql`SELECT a.id FROM accounts a WHERE ${sql.join(where, sql` AND `)}
    ORDER BY (lower(a.username) = lower(${username})
        AND (${domain} IS NULL OR lower(a.domain) = ${domain} OR (a.local = 1 AND ${domain} = ${localDomain}))) DESC,
      (lower(a.username) = lower(${username})) DESC,
      (a.username LIKE ${prefix} ESCAPE '\\') DESC,
      a.local DESC, lower(a.username), a.domain
    LIMIT ${s.limit} OFFSET ${s.offset}`);
  const ids = results.map((r) => r.id);
  if (ids.length === 0) return [];
  const rows = await ctx.db.select().from(accounts).where(inArray(accounts.id, ids));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is Account => !!r);
}

/**
 * Hashtags that exist and start with q: used by a stored status, featured on the profile, or (for
 * the signed-in owner) followed. The exact tag comes first when it exists, then the others by name;
 * a word nobody tagged is not offered as a tag.
 */
export async function searchHashtags(
  ctx: Ctx,
  q: string,
  limit: number,
  offset: number,
  opts: { followed: boolean } = { followed: true },
): Promise<string[]> {
  const prefix = typedTagName(q.trim());
  if (!prefix) return [];
  const upper = `${prefix}\u{10ffff}`;
  const want = limit + offset;
  // A skip scan over status_tags' primary key: one index lookup per distinct name, however many
  // statuses carry each tag.
  const d1 = d1Of(ctx.db);
  const [used, followed, featured] = await d1.batch<{ name: string }>([
    d1
      .prepare(
        `WITH RECURSIVE t(name, n) AS (
           SELECT (SELECT min(name) FROM status_tags WHERE name >= ?1 AND name < ?2), 1
           UNION ALL
           SELECT (SELECT min(name) FROM status_tags WHERE name > t.name AND name < ?2), n + 1
           FROM t WHERE t.name IS NOT NULL AND n < ?3
         ) SELECT name FROM t WHERE name IS NOT NULL`,
      )
      .bind(prefix, upper, want),
    d1
      .prepare("SELECT name FROM followed_tags WHERE name >= ?1 AND name < ?2 ORDER BY name LIMIT ?3")
      .bind(prefix, upper, opts.followed ? want : 0),
    d1
      .prepare("SELECT name FROM featured_tags WHERE name >= ?1 AND name < ?2 ORDER BY name LIMIT ?3")
      .bind(prefix, upper, want),
  ]);
  const names = [
    ...new Set([
      ...(used?.results ?? []).map((r) => r.name),
      ...(followed?.results ?? []).map((r) => r.name),
      ...(featured?.results ?? []).map((r) => r.name),
    ]),
  ].sort();
  const exact = names.indexOf(prefix);
  if (exact > 0) names.unshift(...names.splice(exact, 1));
  return names.slice(offset, offset + limit);
}

/**
 * Whether q is a URL search looks up: https, or http too in loopback federation mode (two local
 * instances federating over plain http); the remote fetch checks still decide what may be contacted.
 */
export function isSearchUrl(ctx: Ctx, q: string): boolean {
  return ctx.config.allowLoopback ? /^https?:\/\//i.test(q.trim()) : /^https:\/\//i.test(q.trim());
}

/**
 * Fetches what q names from its server: an account for a handle, an account or status for a URL.
 * Failures are no results, as in Mastodon. Only for a signed-in owner who asked (resolve=true).
 */
export async function resolveRemote(ctx: Ctx, q: string): Promise<{ account?: Account; status?: Status }> {
  const text = q.trim();
  if (isSearchUrl(ctx, text)) {
    const stored = await findStored(ctx, text);
    if (stored.account || stored.status) return stored;
    try {
      return { account: await resolveAccount(ctx, text) };
    } catch {
      // not an actor: maybe a post
    }
    try {
      return { status: await resolveStatus(ctx, text) };
    } catch {
      return {};
    }
  }
  const handle = parseHandle(text);
  if (!handle?.domain) return {};
  try {
    return { account: await resolveHandleOrUrl(ctx, `${handle.username}@${handle.domain}`) };
  } catch {
    return {};
  }
}

/** An account or status already stored under a URL (its id or its web address). */
export async function findStored(ctx: Ctx, url: string): Promise<{ account?: Account; status?: Status }> {
  const account =
    (await findAccountByUri(ctx, url)) ??
    (await ctx.db.select().from(accounts).where(eq(accounts.url, url)).limit(1))[0];
  if (account) return { account };
  const status =
    (await findStatusByUri(ctx, url)) ??
    (
      await ctx.db
        .select()
        .from(statuses)
        .where(or(eq(statuses.url, url), eq(statuses.uri, url)))
        .limit(1)
    )[0];
  if (status && !status.deletedAt) return { status };
  return {};
}
