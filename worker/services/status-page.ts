import { getTableColumns, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import { accounts, mediaAttachments, statuses } from "../db/schema";

/**
 * Everything a page of statuses is shown with, beyond the rows themselves: the boosted originals not
 * on the page, authors and mentioned accounts, and the owner's favourites, boosts, bookmarks, pins,
 * poll votes, emoji reactions and media rows. It is read in ONE statement whatever the page size (D1
 * bills each statement of a batch as a query), each part a subquery returning JSON, and each part asks
 * only about the statuses that can have an answer: counts kept on the rows say which were favourited
 * or boosted at all, only the owner's posts have pins and reactions, only polls have votes.
 */
export interface StatusPage {
  /** The page's rows and the boosted originals, by id. */
  byId: Map<string, Status>;
  /** Authors (of the page and of the originals), accounts they answer and accounts they mention. */
  accounts: Account[];
  favourited: Set<string>;
  reblogged: Set<string>;
  bookmarked: Set<string>;
  pinned: Set<string>;
  reactions: ReactionRow[];
  votes: { statusId: string; choice: number }[];
  media: (typeof mediaAttachments.$inferSelect)[];
}

/** Emoji reactions of one status and emoji: how many, whether the owner's, the first and its image. */
export interface ReactionRow {
  id: string;
  emoji: string | null;
  n: number;
  mine: number;
  first: string | null;
  url: string | null;
}

export async function loadStatusPage(ctx: Ctx, rows: Status[], ownerId: string): Promise<StatusPage> {
  const byId = new Map(rows.map((s) => [s.id, s]));
  const origIds = [...new Set(rows.map((s) => s.reblogOfId).filter((id): id is string => !!id))].filter(
    (id) => !byId.has(id),
  );
  // The statuses whose own fields are shown: those on the page that are not boosts, and originals.
  const shown = [...byId.values()].filter((s) => !s.reblogOfId);
  const known = (test: (s: Status) => boolean) => shown.filter(test).map((s) => s.id);
  const accountIds = [
    ...new Set(rows.flatMap((s) => [s.accountId, s.inReplyToAccountId]).filter((id): id is string => !!id)),
  ];
  const mentionUris = [...new Set(rows.flatMap((s) => s.mentions.map((m) => m.uri)))];

  // Ids are written into the SQL (checked to be ids) as a VALUES table each part joins by primary
  // key: D1 counts a row read for each element of an `IN (…)` list (it becomes a table SQLite walks)
  // but none for the rows of VALUES, and none for a probe that finds nothing, so a part costs the rows
  // it finds. (Bound parameters stop at 100 a statement; D1 refuses more than a few UNION terms.)
  const ids = (list: string[]) =>
    sql.raw(`(VALUES ${[...new Set(list)].map((id) => `(${idLiteral(id)})`).join(", ")})`);
  const hasOrig = origIds.length > 0;
  // Ids known to need a part, and every original (not loaded yet, so not known not to).
  const ask = (list: string[]) => (hasOrig ? [...list, ...origIds] : list);
  const part = (list: string[], query: (values: SQL) => SQL) =>
    list.length ? sql`(${query(ids(list))})` : sql`'[]'`;

  const json = jsonRow(accounts, "a");
  const accountParts: SQL[] = [];
  if (accountIds.length)
    accountParts.push(
      sql`SELECT ${json} AS j FROM ${ids(accountIds)} v CROSS JOIN accounts a ON a.id = v.column1`,
    );
  if (mentionUris.length)
    accountParts.push(
      sql`SELECT ${json} AS j FROM accounts a WHERE a.uri IN (SELECT value FROM json_each(${JSON.stringify(mentionUris)}))`,
    );
  if (hasOrig) {
    // The originals' authors, the accounts they answer and those they mention, duplicates and all
    // (UNION ALL walks no temporary table; the accounts are told apart below).
    const origs = ids(origIds);
    accountParts.push(
      sql`SELECT ${json} AS j FROM ${origs} v CROSS JOIN statuses o ON o.id = v.column1
        CROSS JOIN accounts a ON a.id = o.account_id`,
      sql`SELECT ${json} AS j FROM ${origs} v CROSS JOIN statuses o ON o.id = v.column1
        CROSS JOIN accounts a ON a.id = o.in_reply_to_account_id`,
      sql`SELECT ${json} AS j FROM ${origs} v CROSS JOIN statuses o ON o.id = v.column1
        CROSS JOIN json_each(o.mentions) m CROSS JOIN accounts a ON a.uri = json_extract(m.value, '$.uri')`,
    );
  }
  const accountsSql = accountParts.length
    ? sql`(SELECT json_group_array(json(j)) FROM (${sql.join(accountParts, sql` UNION ALL `)}))`
    : sql`'[]'`;

  const query = sql`SELECT
    ${
      hasOrig
        ? sql`(SELECT json_group_array(json(${jsonRow(statuses, "o")}))
            FROM ${ids(origIds)} v CROSS JOIN statuses o ON o.id = v.column1)`
        : sql`'[]'`
    } AS originals,
    ${accountsSql} AS accounts,
    ${part(
      ask(known((s) => s.favouritesCount > 0)),
      (v) => sql`SELECT json_group_array(f.status_id) FROM ${v} v CROSS JOIN favourites f
        ON f.status_id = v.column1 AND f.account_id = ${ownerId} AND f.emoji IS NULL`,
    )} AS favourited,
    ${part(
      // On the boosts' index (unary + keeps SQLite off the owner's index, which would walk every
      // post of the owner's).
      ask(known((s) => s.reblogsCount > 0)),
      (v) => sql`SELECT json_group_array(b.reblog_of_id) FROM ${v} v CROSS JOIN statuses b
        ON b.reblog_of_id = v.column1 AND +b.account_id = ${ownerId} AND b.deleted_at IS NULL`,
    )} AS reblogged,
    ${bookmarksSql(shown, origIds, ids)} AS bookmarked,
    ${part(
      ask(known((s) => s.accountId === ownerId)),
      (v) => sql`SELECT json_group_array(p.status_id) FROM ${v} v CROSS JOIN pins p
        ON p.account_id = ${ownerId} AND p.status_id = v.column1`,
    )} AS pinned,
    ${part(
      // Reactions arrive only on the owner's posts (federation/inbox/like.ts).
      ask(known((s) => s.accountId === ownerId)),
      (v) => sql`SELECT json_group_array(json_object('id', status_id, 'emoji', emoji, 'n', n, 'mine', mine,
          'first', first, 'url', url))
        FROM (SELECT f.status_id, f.emoji, count(*) AS n, max(f.account_id = ${ownerId}) AS mine, min(f.id) AS first,
          max(f.emoji_url) AS url FROM ${v} v CROSS JOIN favourites f ON f.status_id = v.column1
          WHERE f.emoji IS NOT NULL GROUP BY f.status_id, f.emoji)`,
    )} AS reactions,
    ${part(
      ask(known((s) => !!s.poll)),
      (v) => sql`SELECT json_group_array(json_object('statusId', pv.status_id, 'choice', pv.choice))
        FROM ${v} v CROSS JOIN poll_votes pv ON pv.status_id = v.column1 AND pv.account_id = ${ownerId}`,
    )} AS votes,
    ${part(
      ask(known((s) => s.local && s.attachments.some((a) => a.mediaId))),
      (v) => sql`SELECT json_group_array(json(${jsonRow(mediaAttachments, "m")}))
        FROM ${v} v CROSS JOIN media_attachments m ON m.status_id = v.column1`,
    )} AS media`;

  const [result] = await ctx.db.all<Record<string, string>>(query);
  const parsed = (k: string) => JSON.parse(result?.[k] ?? "[]") as unknown[];
  for (const o of parsed("originals")) {
    const s = fromJson<Status>(statuses, o);
    byId.set(s.id, s);
  }
  return {
    byId,
    accounts: [
      ...new Map(
        parsed("accounts").map((a) => {
          const account = fromJson<Account>(accounts, a);
          return [account.id, account] as const;
        }),
      ).values(),
    ],
    favourited: new Set(parsed("favourited") as string[]),
    reblogged: new Set(parsed("reblogged") as string[]),
    bookmarked: new Set(parsed("bookmarked") as string[]),
    pinned: new Set(parsed("pinned") as string[]),
    reactions: parsed("reactions") as ReactionRow[],
    votes: parsed("votes") as StatusPage["votes"],
    media: parsed("media").map((m) => fromJson<StatusPage["media"][number]>(mediaAttachments, m)),
  };
}

/**
 * The owner's bookmarks among the statuses shown. Any status may be one, so each would cost an index
 * probe (a row read even when absent); bookmarks on the page lie between its smallest and largest ids
 * (ids are text of equal length), and one range of the unique index reads just those. Originals, from
 * anywhere, are probed.
 */
function bookmarksSql(shown: Status[], origIds: string[], values: (ids: string[]) => SQL): SQL {
  const ids = shown.map((s) => s.id).sort();
  const parts: SQL[] = [];
  if (ids.length)
    parts.push(
      sql`SELECT status_id FROM bookmarks WHERE status_id BETWEEN ${ids[0]} AND ${ids[ids.length - 1]}`,
    );
  if (origIds.length)
    parts.push(
      sql`SELECT bo.status_id FROM ${values(origIds)} v CROSS JOIN bookmarks bo ON bo.status_id = v.column1`,
    );
  if (!parts.length) return sql`'[]'`;
  return sql`(SELECT json_group_array(status_id) FROM (${sql.join(parts, sql` UNION `)}))`;
}

const ID = /^\d{1,20}$/;

/** An id as an SQL literal; anything else is a bug upstream, never written into SQL. */
function idLiteral(id: string): string {
  if (!ID.test(id)) throw new Error(`not an id: ${JSON.stringify(id)}`);
  return `'${id}'`;
}

/** A row of `table` as a JSON object keyed by column name (`t` the name it goes by). */
function jsonRow(table: SQLiteTable, t: string): SQL {
  const columns = Object.values(getTableColumns(table)).map((c) => `'${c.name}', ${t}."${c.name}"`);
  return sql.raw(`json_object(${columns.join(", ")})`);
}

/** A JSON object from jsonRow back to the row drizzle would have read (booleans, JSON columns). */
function fromJson<T>(table: SQLiteTable, value: unknown): T {
  const raw = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const v = raw[column.name];
    out[key] = v === null || v === undefined ? null : column.mapFromDriverValue(v);
  }
  return out as T;
}
