import { and, eq, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../context";
import { filterKeywords, filters, filterStatuses, statuses } from "../db/schema";
import { HttpError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import {
  type FilterContext,
  FILTER_CONTEXTS,
  type FilterRow,
  type KeywordRow,
  type FilterStatusRow,
  type LoadedFilter,
  loadFilters,
} from "./filters";

/** Writing filters: the filters API, v2 and the legacy v1 mapping onto it. */

const invalid = (message: string) => new HttpError(422, `Validation failed: ${message}`, "validation");

export const MAX_FILTER_TITLE = 256;
export const MAX_KEYWORD = 512;
export const FILTER_ACTIONS = ["warn", "hide", "blur"] as const;
export type FilterAction = (typeof FILTER_ACTIONS)[number];

/** A keyword change as `keywords_attributes[]` carries it (Rails nested attributes). */
export interface KeywordAttributes {
  id?: string;
  keyword?: string;
  wholeWord?: boolean;
  destroy?: boolean;
}

export interface FilterInput {
  title?: string;
  context?: string[];
  action?: FilterAction;
  /** Seconds from now; null for no expiry; undefined leaves it as it is. */
  expiresIn?: number | null;
  keywords?: KeywordAttributes[];
}

function expiresAt(expiresIn: number | null): string | null {
  return expiresIn === null ? null : new Date(Date.now() + expiresIn * 1000).toISOString();
}

function checkTitle(title: string): string {
  const t = title.trim();
  if (!t) throw invalid("Title can't be blank");
  if (t.length > MAX_FILTER_TITLE)
    throw invalid(`Title is too long (maximum is ${MAX_FILTER_TITLE} characters)`);
  return t;
}

function checkContext(context: string[]): FilterContext[] {
  const list = [...new Set(context.map((c) => c.trim()).filter(Boolean))];
  if (list.length === 0) throw invalid("Context can't be blank");
  if (list.some((c) => !(FILTER_CONTEXTS as readonly string[]).includes(c)))
    throw invalid("Context contains one or more invalid context values");
  return list as FilterContext[];
}

function checkKeyword(keyword: string): string {
  const k = keyword.trim();
  if (!k) throw invalid("Keyword can't be blank");
  if (k.length > MAX_KEYWORD) throw invalid(`Keyword is too long (maximum is ${MAX_KEYWORD} characters)`);
  return k;
}

/** One filter with its keywords and statuses; 404 when there is none with this id. */
export async function findFilter(ctx: Ctx, id: string): Promise<LoadedFilter> {
  const [f] = await loadFilters(ctx, [id]);
  if (!f) throw notFound();
  return f;
}

/** Creates a filter and its keywords in one batch (all or nothing). */
export async function createFilter(ctx: Ctx, input: FilterInput): Promise<LoadedFilter> {
  const title = checkTitle(input.title ?? "");
  const context = checkContext(input.context ?? []);
  const keywords = (input.keywords ?? []).filter((k) => !k.destroy && k.keyword !== undefined);
  if (input.keywords?.some((k) => k.id)) throw notFound();
  const id = newId();
  const insertFilter = ctx.db.insert(filters).values({
    id,
    title,
    context,
    action: input.action ?? "warn",
    expiresAt: input.expiresIn === undefined ? null : expiresAt(input.expiresIn),
  });
  const insertKeywords = keywords.map((k) =>
    ctx.db.insert(filterKeywords).values({
      id: newId(),
      filterId: id,
      keyword: checkKeyword(k.keyword ?? ""),
      wholeWord: k.wholeWord ?? true,
    }),
  );
  await ctx.db.batch([insertFilter, ...insertKeywords]);
  return findFilter(ctx, id);
}

/**
 * Updates a filter's fields and, through `keywords`, adds, changes and removes its keywords, all in
 * one batch. A keyword id that is not this filter's is 404, as Rails' nested attributes answer.
 */
export async function updateFilter(ctx: Ctx, id: string, input: FilterInput): Promise<LoadedFilter> {
  const current = await findFilter(ctx, id);
  const set: Partial<FilterRow> = {};
  if (input.title !== undefined) set.title = checkTitle(input.title);
  if (input.context !== undefined) set.context = checkContext(input.context);
  if (input.action !== undefined) set.action = input.action;
  if (input.expiresIn !== undefined) set.expiresAt = expiresAt(input.expiresIn);
  const writes: BatchItem<"sqlite">[] = [];
  if (Object.keys(set).length) writes.push(ctx.db.update(filters).set(set).where(eq(filters.id, id)));
  for (const k of input.keywords ?? []) {
    if (k.id) {
      if (!current.keywords.some((x) => x.id === k.id)) throw notFound();
      if (k.destroy) {
        writes.push(ctx.db.delete(filterKeywords).where(eq(filterKeywords.id, k.id)));
        continue;
      }
      const change: Partial<KeywordRow> = {};
      if (k.keyword !== undefined) change.keyword = checkKeyword(k.keyword);
      if (k.wholeWord !== undefined) change.wholeWord = k.wholeWord;
      if (Object.keys(change).length)
        writes.push(ctx.db.update(filterKeywords).set(change).where(eq(filterKeywords.id, k.id)));
    } else if (!k.destroy && k.keyword !== undefined) {
      writes.push(
        ctx.db.insert(filterKeywords).values({
          id: newId(),
          filterId: id,
          keyword: checkKeyword(k.keyword),
          wholeWord: k.wholeWord ?? true,
        }),
      );
    }
  }
  const [first, ...rest] = writes;
  if (first) await ctx.db.batch([first, ...rest]);
  return findFilter(ctx, id);
}

/** Deletes a filter with its keywords and statuses. */
export async function deleteFilter(ctx: Ctx, id: string): Promise<void> {
  await findFilter(ctx, id);
  await ctx.db.batch([
    ctx.db.delete(filterKeywords).where(eq(filterKeywords.filterId, id)),
    ctx.db.delete(filterStatuses).where(eq(filterStatuses.filterId, id)),
    ctx.db.delete(filters).where(eq(filters.id, id)),
  ]);
}

export async function findKeyword(ctx: Ctx, id: string): Promise<KeywordRow> {
  const row = (await ctx.db.select().from(filterKeywords).where(eq(filterKeywords.id, id)).limit(1))[0];
  if (!row) throw notFound();
  return row;
}

export async function addKeyword(
  ctx: Ctx,
  filterId: string,
  input: { keyword: string; wholeWord?: boolean },
): Promise<KeywordRow> {
  await findFilter(ctx, filterId);
  const [row] = await ctx.db
    .insert(filterKeywords)
    .values({
      id: newId(),
      filterId,
      keyword: checkKeyword(input.keyword),
      wholeWord: input.wholeWord ?? true,
    })
    .returning();
  return row as KeywordRow;
}

export async function updateKeyword(
  ctx: Ctx,
  id: string,
  input: { keyword?: string; wholeWord?: boolean },
): Promise<KeywordRow> {
  const current = await findKeyword(ctx, id);
  const change: Partial<KeywordRow> = {};
  if (input.keyword !== undefined) change.keyword = checkKeyword(input.keyword);
  if (input.wholeWord !== undefined) change.wholeWord = input.wholeWord;
  if (Object.keys(change).length === 0) return current;
  const [row] = await ctx.db.update(filterKeywords).set(change).where(eq(filterKeywords.id, id)).returning();
  return (row ?? current) as KeywordRow;
}

export async function deleteKeyword(ctx: Ctx, id: string): Promise<void> {
  await findKeyword(ctx, id);
  await ctx.db.delete(filterKeywords).where(eq(filterKeywords.id, id));
}

export async function findFilterStatus(ctx: Ctx, id: string): Promise<FilterStatusRow> {
  const row = (await ctx.db.select().from(filterStatuses).where(eq(filterStatuses.id, id)).limit(1))[0];
  if (!row) throw notFound();
  return row;
}

/** Adds a status to a filter: it must be a stored, undeleted status, and not in the filter already. */
export async function addFilterStatus(
  ctx: Ctx,
  filterId: string,
  statusId: string,
): Promise<FilterStatusRow> {
  const f = await findFilter(ctx, filterId);
  const status = (
    await ctx.db
      .select({ id: statuses.id })
      .from(statuses)
      .where(and(eq(statuses.id, statusId), isNull(statuses.deletedAt)))
      .limit(1)
  )[0];
  if (!status) throw invalid("Status must exist");
  if (f.statuses.some((s) => s.statusId === statusId)) throw invalid("Status has already been taken");
  const [row] = await ctx.db.insert(filterStatuses).values({ id: newId(), filterId, statusId }).returning();
  return row as FilterStatusRow;
}

export async function deleteFilterStatus(ctx: Ctx, id: string): Promise<void> {
  await findFilterStatus(ctx, id);
  await ctx.db.delete(filterStatuses).where(eq(filterStatuses.id, id));
}

// ——— The legacy v1 API: one V1Filter per keyword ———

export interface V1FilterInput {
  phrase?: string;
  context?: string[];
  irreversible?: boolean;
  wholeWord?: boolean;
  expiresIn?: number | null;
}

/** Mastodon's V1Filter entity, made of a keyword and its filter. */
export function serializeV1Filter(filter: FilterRow, k: KeywordRow) {
  return {
    id: k.id,
    phrase: k.keyword,
    context: filter.context,
    whole_word: k.wholeWord,
    expires_at: filter.expiresAt,
    irreversible: filter.action === "hide",
  };
}

/** Every keyword of every filter, as V1Filters. */
export async function listV1Filters(ctx: Ctx) {
  const all = await loadFilters(ctx);
  return all.flatMap((f) => f.keywords.map((k) => serializeV1Filter(f.filter, k)));
}

export async function findV1Filter(ctx: Ctx, keywordId: string) {
  const k = await findKeyword(ctx, keywordId);
  const f = await findFilter(ctx, k.filterId);
  return { filter: f, keyword: k };
}

/** A v1 filter is a new filter titled by its phrase, with that one keyword. */
export async function createV1Filter(ctx: Ctx, input: V1FilterInput) {
  const phrase = checkKeyword(input.phrase ?? "");
  const created = await createFilter(ctx, {
    title: phrase,
    context: input.context ?? [],
    action: input.irreversible ? "hide" : "warn",
    expiresIn: input.expiresIn,
    keywords: [{ keyword: phrase, wholeWord: input.wholeWord ?? true }],
  });
  return serializeV1Filter(created.filter, created.keywords[0] as KeywordRow);
}

/**
 * Updates a v1 filter: the keyword, and the filter's title, context, action and expiry. As on
 * Mastodon, a filter with several keywords cannot have its shared fields changed this way.
 */
export async function updateV1Filter(ctx: Ctx, keywordId: string, input: V1FilterInput) {
  const { filter, keyword } = await findV1Filter(ctx, keywordId);
  const set: Partial<FilterRow> = {};
  if (input.phrase !== undefined && checkTitle(input.phrase) !== filter.filter.title)
    set.title = checkTitle(input.phrase);
  if (input.context !== undefined) {
    const context = checkContext(input.context);
    if (context.join() !== filter.filter.context.join()) set.context = context;
  }
  if (input.irreversible !== undefined) {
    const action = input.irreversible
      ? "hide"
      : filter.filter.action === "hide"
        ? "warn"
        : filter.filter.action;
    if (action !== filter.filter.action) set.action = action;
  }
  if (input.expiresIn !== undefined) set.expiresAt = expiresAt(input.expiresIn);
  if (Object.keys(set).length && filter.keywords.length > 1)
    throw invalid(
      "this filter has several keywords, so its title, context, action and expiry can only be changed through the v2 filters API",
    );
  const change: Partial<KeywordRow> = {};
  if (input.phrase !== undefined) change.keyword = checkKeyword(input.phrase);
  if (input.wholeWord !== undefined) change.wholeWord = input.wholeWord;
  const writes: BatchItem<"sqlite">[] = [];
  if (Object.keys(set).length)
    writes.push(ctx.db.update(filters).set(set).where(eq(filters.id, filter.filter.id)));
  if (Object.keys(change).length)
    writes.push(ctx.db.update(filterKeywords).set(change).where(eq(filterKeywords.id, keyword.id)));
  const [first, ...rest] = writes;
  if (first) await ctx.db.batch([first, ...rest]);
  const after = await findV1Filter(ctx, keywordId);
  return serializeV1Filter(after.filter.filter, after.keyword);
}
