import type { Context } from "hono";
import { and, asc, desc, gt, lt, type SQL, type SQLWrapper } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { badRequest } from "../lib/errors";
import { toInteger } from "./input";

/**
 * Mastodon's id pagination. `max_id` pages back (older than), `since_id` bounds from below and keeps
 * the newest first, `min_id` pages forward (the oldest newer than it first, then returned newest
 * first). https://docs.joinmastodon.org/api/guidelines/#pagination
 */
export interface Page {
  maxId?: string;
  sinceId?: string;
  minId?: string;
  limit: number;
  offset?: number;
}

const ID = /^\d{1,20}$/;

export function readPage(c: Context, opts: { defaultLimit?: number; maxLimit?: number } = {}): Page {
  const q = new URL(c.req.url).searchParams;
  const page: Page = { limit: opts.defaultLimit ?? 20 };
  for (const [param, key] of [
    ["max_id", "maxId"],
    ["since_id", "sinceId"],
    ["min_id", "minId"],
  ] as const) {
    const v = q.get(param);
    if (v === null || v === "") continue;
    // Clients sometimes page with ids they did not get from us (another server's, an old cache):
    // anything that is not an id is refused rather than compared as a string.
    if (!ID.test(v)) throw badRequest(`${param} must be an id`);
    page[key] = v;
  }
  const limit = q.get("limit");
  if (limit !== null && limit !== "") {
    const n = toInteger(limit);
    if (n === null || n < 1) throw badRequest("limit must be a positive integer");
    page.limit = Math.min(n, opts.maxLimit ?? 40);
  }
  const offset = q.get("offset");
  if (offset !== null && offset !== "") {
    const n = toInteger(offset);
    if (n === null || n < 0 || n > 10_000) throw badRequest("offset must be an integer from 0");
    page.offset = n;
  }
  return page;
}

/**
 * Ids are numeric strings of the same length for the life of the server (see lib/ids.ts), but an id a
 * client sends may be shorter (another server's numbering): compared numerically through CAST would
 * lose the index, so shorter ids are padded with leading zeros, which sort first as strings.
 */
function norm(id: string): string {
  return id.length < 18 ? id.padStart(18, "0") : id;
}

/** The WHERE conditions a page puts on an id column. */
export function pageWhere(column: SQLiteColumn | SQLWrapper, page: Page): SQL | undefined {
  const conds: SQL[] = [];
  if (page.maxId) conds.push(lt(column as SQLiteColumn, norm(page.maxId)));
  if (page.sinceId) conds.push(gt(column as SQLiteColumn, norm(page.sinceId)));
  if (page.minId) conds.push(gt(column as SQLiteColumn, norm(page.minId)));
  return conds.length ? and(...conds) : undefined;
}

/** The ORDER BY for a page: oldest first when paging forward with min_id, newest first otherwise. */
export function pageOrder(column: SQLiteColumn | SQLWrapper, page: Page): SQL {
  return page.minId && !page.maxId ? asc(column as SQLiteColumn) : desc(column as SQLiteColumn);
}

/** Rows fetched in `pageOrder`, returned newest first as clients expect. */
export function pageRows<T>(rows: T[], page: Page): T[] {
  return page.minId && !page.maxId ? [...rows].reverse() : rows;
}

/**
 * Sets the Link header for a page whose items (newest first) have the given pagination ids: `next`
 * pages back from the last, `prev` forward from the first. Nothing is set for an empty page.
 */
export function setLink(c: Context, ids: string[]): void {
  const first = ids[0];
  const last = ids[ids.length - 1];
  if (!first || !last) return;
  const url = new URL(c.req.url);
  const forwarded = c.req.header("x-forwarded-proto");
  if (forwarded === "http" || forwarded === "https") url.protocol = `${forwarded}:`;
  const link = (param: string, id: string) => {
    const u = new URL(url);
    u.searchParams.delete("max_id");
    u.searchParams.delete("since_id");
    u.searchParams.delete("min_id");
    u.searchParams.delete("offset");
    u.searchParams.set(param, id);
    return u.toString();
  };
  c.header("Link", `<${link("max_id", last)}>; rel="next", <${link("min_id", first)}>; rel="prev"`);
}

/** Link header for offset-paged lists (search, suggestions-like lists). */
export function setOffsetLink(c: Context, page: Page, count: number): void {
  if (count < page.limit) return;
  const u = new URL(c.req.url);
  u.searchParams.set("offset", String((page.offset ?? 0) + count));
  c.header("Link", `<${u.toString()}>; rel="next"`);
}
