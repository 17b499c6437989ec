import { eq, inArray, or } from "drizzle-orm";
import type { Ctx } from "../context";
import { d1Of, type Account, type Status } from "../db/client";
import { accounts, settings, statuses } from "../db/schema";
import { findAccountByUri, resolveAccount, resolveHandleOrUrl } from "./accounts";
import { findStatusByUri, resolveStatus } from "./remote-statuses";
import { normalizeTag } from "./tags";

/*
 * Full-text search over stored statuses with D1's FTS5 (status_search). The indexer adds statuses in
 * bulk after the fact (at each search and from the cron), so storing a status costs nothing extra.
 * An FTS row's rowid is its status's rowid: re-indexing and joining are lookups by primary key.
 */

const CURSOR_KEY = "search_index";

interface Cursor {
  /** Highest statuses.rowid looked at. */
  rowid: number;
  /** Highest status_edits.id looked at (remote edits). */
  editId: string;
  /** Latest edited_at of the owner's statuses looked at (local edits). */
  localEditedAt: string;
}

async function loadCursor(ctx: Ctx): Promise<Cursor> {
  const row = (await ctx.db.select().from(settings).where(eq(settings.key, CURSOR_KEY)).limit(1))[0];
  const v = (row?.value ?? {}) as Partial<Cursor>;
  return {
    rowid: typeof v.rowid === "number" ? v.rowid : 0,
    editId: typeof v.editId === "string" ? v.editId : "",
    localEditedAt: typeof v.localEditedAt === "string" ? v.localEditedAt : "",
  };
}

interface IndexRow {
  rid: number;
  id: string;
  spoiler_text: string;
  content: string;
  attachments: string;
  poll: string | null;
  reblog_of_id: string | null;
  deleted_at: string | null;
  edited_at: string | null;
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, e: string) => {
    if (e[0] === "#") {
      const n = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : whole;
    }
    return NAMED[e.toLowerCase()] ?? whole;
  });
}

/** HTML to the words a search matches: tags out, entities decoded. */
export function htmlToPlain(html: string): string {
  return decodeEntities(
    html
      .replace(/<br\s*\/?>/gi, "\n")
      .replace(/<\/p>/gi, "\n\n")
      .replace(/<[^>]*>/g, ""),
  ).trim();
}

/** What a status is found by: content warning, text, poll options and media descriptions. */
export function searchableText(
  row: Pick<IndexRow, "spoiler_text" | "content" | "attachments" | "poll">,
): string {
  const parts = [row.spoiler_text, htmlToPlain(row.content)];
  try {
    const poll = row.poll ? (JSON.parse(row.poll) as { options?: { name?: string }[] }) : null;
    for (const o of poll?.options ?? []) if (o.name) parts.push(o.name);
  } catch {
    // not a poll we can read
  }
  try {
    for (const a of JSON.parse(row.attachments || "[]") as { name?: string }[])
      if (a.name) parts.push(a.name);
  } catch {
    // no readable attachments
  }
  return parts.filter((p) => p && p.trim()).join("\n");
}

const COLUMNS =
  "rowid AS rid, id, spoiler_text, content, attachments, poll, reblog_of_id, deleted_at, edited_at";

/**
 * Adds statuses not yet indexed (up to `limit` of them) and re-indexes edited ones, in one D1 batch
 * with the cursor (settings "search_index"), so a failure leaves the index as it was. Boosts and
 * deleted statuses are not indexed (a deleted one is removed). Answers how many rows were written.
 */
export async function indexStatuses(ctx: Ctx, limit = 500): Promise<number> {
  const d1 = d1Of(ctx.db);
  const cursor = await loadCursor(ctx);
  const { owner } = await ctx.instance();
  const [fresh, edits, localEdits] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(`SELECT ${COLUMNS} FROM statuses WHERE rowid > ? ORDER BY rowid LIMIT ?`)
      .bind(cursor.rowid, limit),
    d1
      .prepare("SELECT id, status_id FROM status_edits WHERE id > ? ORDER BY id LIMIT ?")
      .bind(cursor.editId, limit),
    d1
      .prepare(
        `SELECT ${COLUMNS} FROM statuses WHERE account_id = ? AND edited_at > ? AND rowid <= ? ORDER BY edited_at LIMIT ?`,
      )
      .bind(owner.id, cursor.localEditedAt, cursor.rowid, limit),
  ]);
  const newRows = (fresh?.results ?? []) as unknown as IndexRow[];
  const editRows = (edits?.results ?? []) as unknown as { id: string; status_id: string }[];
  const localRows = (localEdits?.results ?? []) as unknown as IndexRow[];
  const next: Cursor = { ...cursor };
  const todo = new Map<number, IndexRow>();
  for (const r of newRows) todo.set(r.rid, r);
  const lastNew = newRows.at(-1);
  if (lastNew) next.rowid = lastNew.rid;
  for (const r of localRows) todo.set(r.rid, r);
  const lastLocal = localRows.at(-1);
  if (lastLocal?.edited_at) next.localEditedAt = lastLocal.edited_at;
  const lastEdit = editRows.at(-1);
  if (lastEdit) {
    next.editId = lastEdit.id;
    const ids = [...new Set(editRows.map((e) => e.status_id))];
    for (let i = 0; i < ids.length; i += 90) {
      const chunk = ids.slice(i, i + 90);
      const { results } = await d1
        .prepare(`SELECT ${COLUMNS} FROM statuses WHERE id IN (${chunk.map(() => "?").join(",")})`)
        .bind(...chunk)
        .all<IndexRow>();
      for (const r of results) if (r.rid <= cursor.rowid || r.rid <= next.rowid) todo.set(r.rid, r);
    }
  }
  if (todo.size === 0 && !lastEdit && !lastLocal && !lastNew) return 0;
  // Multi-row statements (D1 binds at most 100 parameters each) keep a batch to a few dozen queries.
  const statements: D1PreparedStatement[] = [];
  const rids = [...todo.keys()];
  for (let i = 0; i < rids.length; i += 100) {
    const chunk = rids.slice(i, i + 100);
    statements.push(
      d1
        .prepare(`DELETE FROM status_search WHERE rowid IN (${chunk.map(() => "?").join(",")})`)
        .bind(...chunk),
    );
  }
  const inserts: [number, string, string][] = [];
  for (const r of todo.values()) {
    if (r.deleted_at || r.reblog_of_id) continue;
    const text = searchableText(r);
    if (text) inserts.push([r.rid, r.id, text]);
  }
  for (let i = 0; i < inserts.length; i += 33) {
    const chunk = inserts.slice(i, i + 33);
    statements.push(
      d1
        .prepare(
          `INSERT INTO status_search (rowid, status_id, text) VALUES ${chunk.map(() => "(?, ?, ?)").join(", ")}`,
        )
        .bind(...chunk.flat()),
    );
  }
  const written = inserts.length;
  statements.push(
    d1
      .prepare(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .bind(CURSOR_KEY, JSON.stringify(next)),
  );
  await d1.batch(statements);
  return written;
}

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
 * by, favourited or bookmarked them. Nothing from blocked accounts or domains.
 */
export async function searchStatuses(ctx: Ctx, s: StatusSearch): Promise<Status[]> {
  const match = ftsQuery(s.q);
  if (!match) return [];
  await indexStatuses(ctx, 300);
  const { owner } = await ctx.instance();
  const quotedOwner = JSON.stringify(owner.uri);
  const where: string[] = [
    "status_search MATCH ?1",
    "s.deleted_at IS NULL",
    "s.reblog_of_id IS NULL",
    `(s.visibility IN ('public', 'unlisted') OR s.account_id = ?2 OR instr(s.audience, ?3) > 0
      OR instr(s.mentions, ?3) > 0
      OR (s.visibility = 'private' AND EXISTS (SELECT 1 FROM follows f WHERE f.account_id = ?2
          AND f.target_account_id = s.account_id AND f.accepted = 1)))`,
    `(a.indexable = 1 OR s.account_id = ?2 OR instr(s.audience, ?3) > 0 OR instr(s.mentions, ?3) > 0
      OR EXISTS (SELECT 1 FROM favourites v WHERE v.status_id = s.id AND v.account_id = ?2)
      OR EXISTS (SELECT 1 FROM bookmarks b WHERE b.status_id = s.id))`,
    "NOT EXISTS (SELECT 1 FROM blocks k WHERE k.account_id = ?2 AND k.target_account_id = s.account_id)",
    "NOT EXISTS (SELECT 1 FROM domain_blocks d WHERE d.domain = a.domain)",
  ];
  const params: unknown[] = [match, owner.id, quotedOwner];
  if (s.accountId) {
    params.push(s.accountId);
    where.push(`s.account_id = ?${params.length}`);
  }
  if (s.maxId) {
    params.push(s.maxId);
    where.push(`s.id < ?${params.length}`);
  }
  if (s.minId) {
    params.push(s.minId);
    where.push(`s.id > ?${params.length}`);
  }
  params.push(s.limit, s.offset);
  const sqlText = `SELECT s.id FROM status_search JOIN statuses s ON s.rowid = status_search.rowid
    JOIN accounts a ON a.id = s.account_id
    WHERE ${where.join(" AND ")} ORDER BY s.id DESC LIMIT ?${params.length - 1} OFFSET ?${params.length}`;
  const { results } = await d1Of(ctx.db)
    .prepare(sqlText)
    .bind(...params)
    .all<{ id: string }>();
  const ids = results.map((r) => r.id);
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
  const where = [
    domain
      ? "(a.username LIKE ?1 ESCAPE '\\' AND lower(a.domain) LIKE ?2 ESCAPE '\\')"
      : "(a.username LIKE ?1 ESCAPE '\\' OR a.display_name LIKE ?1 ESCAPE '\\' OR a.domain LIKE ?1 ESCAPE '\\')",
    "NOT EXISTS (SELECT 1 FROM blocks k WHERE k.account_id = ?3 AND k.target_account_id = a.id)",
  ];
  if (s.following) {
    where.push(
      "EXISTS (SELECT 1 FROM follows f WHERE f.account_id = ?3 AND f.target_account_id = a.id AND f.accepted = 1)",
    );
  }
  const sqlText = `SELECT a.id FROM accounts a WHERE ${where.join(" AND ")}
    ORDER BY (lower(a.username) = lower(?4) AND (?5 IS NULL OR lower(a.domain) = ?5 OR (a.local = 1 AND ?5 = ?6))) DESC,
      (lower(a.username) = lower(?4)) DESC,
      (a.username LIKE ?7 ESCAPE '\\') DESC,
      a.local DESC, lower(a.username), a.domain
    LIMIT ?8 OFFSET ?9`;
  const { results } = await d1Of(ctx.db)
    .prepare(sqlText)
    .bind(
      pattern,
      domain ? likeAnywhere(domain) : null,
      owner.id,
      username,
      domain,
      ctx.config.accountDomain.toLowerCase(),
      `${username.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      s.limit,
      s.offset,
    )
    .all<{ id: string }>();
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
  const prefix = normalizeTag(q.trim());
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
