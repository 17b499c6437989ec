import { inArray } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { filterKeywords, filters, filterStatuses } from "../db/schema";

export type FilterContext = "home" | "notifications" | "public" | "thread" | "account";
export const FILTER_CONTEXTS: readonly FilterContext[] = [
  "home",
  "notifications",
  "public",
  "thread",
  "account",
];

export type FilterRow = typeof filters.$inferSelect;
export type KeywordRow = typeof filterKeywords.$inferSelect;
export type FilterStatusRow = typeof filterStatuses.$inferSelect;

export interface LoadedFilter {
  filter: FilterRow;
  keywords: KeywordRow[];
  statuses: FilterStatusRow[];
  /** One regular expression per keyword, built once per request. */
  matchers: { keyword: string; re: RegExp }[];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A keyword matcher as Mastodon builds it: case-insensitive; a whole-word keyword must not touch a
 * word character on either side (so "cat" does not match "concatenate").
 */
export function keywordRegExp(keyword: string, wholeWord: boolean): RegExp {
  const body = escapeRegExp(keyword.trim());
  if (!wholeWord) return new RegExp(body, "iu");
  const start = /^[\p{L}\p{N}_]/u.test(keyword.trim()) ? "(?<![\\p{L}\\p{N}_])" : "";
  const end = /[\p{L}\p{N}_]$/u.test(keyword.trim()) ? "(?![\\p{L}\\p{N}_])" : "";
  return new RegExp(`${start}${body}${end}`, "iu");
}

/** The owner's unexpired filters for a context, with their keywords and statuses. */
export async function activeFilters(ctx: Ctx, context: FilterContext): Promise<LoadedFilter[]> {
  const all = await loadFilters(ctx);
  const now = Date.now();
  return all.filter(
    (f) =>
      f.filter.context.includes(context) && (!f.filter.expiresAt || Date.parse(f.filter.expiresAt) > now),
  );
}

/** Every filter with its keywords and statuses, in three queries. */
export async function loadFilters(ctx: Ctx, ids?: string[]): Promise<LoadedFilter[]> {
  const rows = ids
    ? await ctx.db.select().from(filters).where(inArray(filters.id, ids))
    : await ctx.db.select().from(filters);
  if (rows.length === 0) return [];
  const filterIds = rows.map((r) => r.id);
  const [kws, sts] = await ctx.db.batch([
    ctx.db.select().from(filterKeywords).where(inArray(filterKeywords.filterId, filterIds)),
    ctx.db.select().from(filterStatuses).where(inArray(filterStatuses.filterId, filterIds)),
  ]);
  return rows
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((filter) => {
      const keywords = kws.filter((k) => k.filterId === filter.id);
      return {
        filter,
        keywords,
        statuses: sts.filter((s) => s.filterId === filter.id),
        matchers: keywords.map((k) => ({ keyword: k.keyword, re: keywordRegExp(k.keyword, k.wholeWord) })),
      };
    });
}

/** The text a filter looks at: the content without markup, the content warning, media descriptions. */
export function filterableText(s: Status): string {
  const content = s.content
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/p>/gi, "\n\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
  return [
    s.spoilerText,
    content,
    ...s.attachments.map((a) => a.name ?? ""),
    ...(s.poll?.options.map((o) => o.name) ?? []),
  ]
    .filter(Boolean)
    .join("\n");
}

/** Mastodon's Filter entity. https://docs.joinmastodon.org/entities/Filter/ */
export function serializeFilter(f: LoadedFilter) {
  return {
    id: f.filter.id,
    title: f.filter.title,
    context: f.filter.context,
    expires_at: f.filter.expiresAt,
    filter_action: f.filter.action,
    keywords: f.keywords.map(serializeKeyword),
    statuses: f.statuses.map(serializeFilterStatus),
  };
}

export function serializeKeyword(k: KeywordRow) {
  return { id: k.id, keyword: k.keyword, whole_word: k.wholeWord };
}

export function serializeFilterStatus(s: FilterStatusRow) {
  return { id: s.id, status_id: s.statusId };
}

/** FilterResult entities for a status: which filters matched, by keyword or by status. */
export function filterResults(loaded: LoadedFilter[], s: Status) {
  const out: {
    filter: ReturnType<typeof serializeFilter>;
    keyword_matches: string[] | null;
    status_matches: string[] | null;
  }[] = [];
  let text: string | undefined;
  for (const f of loaded) {
    const statusMatches = f.statuses.filter((x) => x.statusId === s.id).map((x) => x.id);
    let keywordMatches: string[] = [];
    if (f.matchers.length) {
      text ??= filterableText(s);
      keywordMatches = f.matchers.filter((m) => m.re.test(text as string)).map((m) => m.keyword);
    }
    if (statusMatches.length || keywordMatches.length) {
      out.push({
        filter: serializeFilter(f),
        keyword_matches: keywordMatches.length ? keywordMatches : null,
        status_matches: statusMatches.length ? statusMatches : null,
      });
    }
  }
  return out;
}

/** True when a status must be left out entirely (a matching filter with action "hide"). */
export function hiddenByFilters(loaded: LoadedFilter[], s: Status): boolean {
  return (
    filterResults(
      loaded.filter((f) => f.filter.action === "hide"),
      s,
    ).length > 0
  );
}
