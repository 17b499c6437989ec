import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { d1Of } from "../db/client";
import { settings } from "../db/schema";

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
