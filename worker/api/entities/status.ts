import { and, count, eq, inArray, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Ctx } from "../../context";
import type { Account, Status } from "../../db/client";
import {
  accounts,
  bookmarks,
  favourites,
  mediaAttachments,
  pins,
  pollVotes,
  statuses,
  type Poll,
} from "../../db/schema";
import { uris } from "../../federation/uris";
import { normalizeTag } from "../../lib/text/hashtags";
import { chunks, inChunks } from "../../db/chunks";
import { groupReactions, reactionCounts, type StatusReaction } from "./reactions";
import { combineCounts, countQueries } from "../../services/counts";
import {
  activeFilters,
  filterResults,
  hiddenByFilters,
  type FilterContext,
  type LoadedFilter,
} from "../../services/filters";
import { proxiedMediaUrls, type MediaUrls } from "../../services/media-proxy-urls";
import { accountImages, movedTargets, serializeAccount, type SerializedAccount } from "./account";
import { serializeAttachment, serializeMediaRow } from "./media";

type Item = BatchItem<"sqlite">;
interface Handle<R> {
  index: number;
  /** Phantom: the row type of the handle's query. */
  rows?: R;
}

/**
 * Collects queries (each split so no IN list binds more than 90 parameters) and runs them all as one
 * D1 batch. `add` returns a handle to read the rows back after `run`.
 */
function queryBatch(ctx: Ctx) {
  const items: Item[] = [];
  const slots: [number, number][] = [];
  return {
    add<T, Q extends Item>(list: T[], build: (chunk: T[]) => Q): Handle<Awaited<Q>> {
      const parts = list.length ? chunks(list) : [];
      slots.push([items.length, parts.length]);
      for (const c of parts) items.push(build(c));
      return { index: slots.length - 1 };
    },
    /** Queries that are already chunked; their results come back as one list per query. */
    addMany(queries: Item[]): Handle<unknown[][]> {
      slots.push([items.length, -queries.length]);
      items.push(...queries);
      return { index: slots.length - 1 };
    },
    async run() {
      const results = (items.length ? await ctx.db.batch(items as [Item, ...Item[]]) : []) as unknown[][];
      return <R>(h: Handle<R>): R => {
        const [start, n] = slots[h.index] as [number, number];
        if (n < 0) return results.slice(start, start - n) as R;
        return results.slice(start, start + n).flat() as R;
      };
    },
  };
}

export interface PresentOptions {
  /** Where the statuses are shown, for filters v2 (`filtered`); none means no filtering. */
  filterContext?: FilterContext;
}

export type SerializedStatus = Record<string, unknown> & { id: string };

/**
 * Serializes statuses as Mastodon's Status entity, in order, with everything loaded in a fixed number
 * of grouped queries whatever the page size: authors, boosted originals, counts, the owner's
 * favourites, boosts, bookmarks, pins and poll votes, media rows and mentioned accounts.
 * https://docs.joinmastodon.org/entities/Status/
 */
export async function presentStatuses(
  ctx: Ctx,
  rows: Status[],
  opts: PresentOptions = {},
): Promise<SerializedStatus[]> {
  if (rows.length === 0) return [];
  const { owner } = await ctx.instance();

  // Boosts show their original: load the originals that are not already on the page.
  const byId = new Map(rows.map((s) => [s.id, s]));
  const missing = [...new Set(rows.map((s) => s.reblogOfId).filter((id): id is string => !!id))].filter(
    (id) => !byId.has(id),
  );
  for (const s of await inChunks(missing, (ids) =>
    ctx.db.select().from(statuses).where(inArray(statuses.id, ids)),
  ))
    byId.set(s.id, s);

  const all = [...byId.values()];
  const ids = all.map((s) => s.id);
  const accountIds = [
    ...new Set([...all.map((s) => s.accountId), ...all.map((s) => s.inReplyToAccountId)]),
  ].filter((id): id is string => !!id);
  const mentionUris = [...new Set(all.flatMap((s) => s.mentions.map((m) => m.uri)))];
  const localIds = all.filter((s) => s.local).map((s) => s.id);

  // Everything below in one D1 batch: one round trip whatever the page size.
  const q = queryBatch(ctx);
  const hAuthors = q.add(accountIds, (c) => ctx.db.select().from(accounts).where(inArray(accounts.id, c)));
  const hCounts = q.addMany(countQueries(ctx, accountIds));
  const hMentions = q.add(mentionUris, (c) => ctx.db.select().from(accounts).where(inArray(accounts.uri, c)));
  const hFavCounts = q.add(ids, (c) =>
    ctx.db
      .select({ id: favourites.statusId, n: count() })
      .from(favourites)
      .where(and(inArray(favourites.statusId, c), isNull(favourites.emoji)))
      .groupBy(favourites.statusId),
  );
  // Boosts of these statuses, counted here and checked for the owner's: one query on the partial
  // reblog index (asking for the owner's separately made SQLite walk the owner's every post).
  const hBoosts = q.add(ids, (c) =>
    ctx.db
      .select({ id: statuses.reblogOfId, accountId: statuses.accountId })
      .from(statuses)
      .where(and(inArray(statuses.reblogOfId, c), isNull(statuses.deletedAt))),
  );
  const hReplies = q.add(
    all.map((s) => s.uri),
    (c) =>
      ctx.db
        .select({ id: statuses.inReplyToUri, n: count() })
        .from(statuses)
        .where(and(inArray(statuses.inReplyToUri, c), isNull(statuses.deletedAt)))
        .groupBy(statuses.inReplyToUri),
  );
  // Emoji reactions, counted per emoji in the same batch (Pleroma's emoji_reactions).
  const hReactions = q.add(ids, (c) => reactionCounts(ctx, c, owner.id));
  const hMyFavs = q.add(ids, (c) =>
    ctx.db
      .select({ id: favourites.statusId })
      .from(favourites)
      .where(
        and(inArray(favourites.statusId, c), eq(favourites.accountId, owner.id), isNull(favourites.emoji)),
      ),
  );
  const hBookmarks = q.add(ids, (c) =>
    ctx.db.select({ id: bookmarks.statusId }).from(bookmarks).where(inArray(bookmarks.statusId, c)),
  );
  const hPins = q.add(ids, (c) =>
    ctx.db
      .select({ id: pins.statusId })
      .from(pins)
      .where(and(inArray(pins.statusId, c), eq(pins.accountId, owner.id))),
  );
  const hVotes = q.add(
    all.filter((s) => s.poll).map((s) => s.id),
    (c) =>
      ctx.db
        .select()
        .from(pollVotes)
        .where(and(inArray(pollVotes.statusId, c), eq(pollVotes.accountId, owner.id))),
  );
  const hMedia = q.add(localIds, (c) =>
    ctx.db.select().from(mediaAttachments).where(inArray(mediaAttachments.statusId, c)),
  );
  const [res, filters] = await Promise.all([
    q.run(),
    opts.filterContext ? activeFilters(ctx, opts.filterContext) : Promise.resolve([]),
  ]);
  const authorRows = res(hAuthors);
  const counts = combineCounts(accountIds, res(hCounts));
  const mentionRows = res(hMentions);
  const favCounts = res(hFavCounts);
  const boosts = res(hBoosts);
  const replyCounts = res(hReplies);
  const reactionRows = res(hReactions);
  const myFavs = res(hMyFavs);
  const myBookmarks = res(hBookmarks);
  const myPins = res(hPins);
  const myVotes = res(hVotes);
  const media = res(hMedia);

  // Authors that moved show the account they moved to: one more round trip, only when one did.
  // Remote images, attachments and emoji go through the media proxy, their URLs signed here.
  const [moved, mediaUrls] = await Promise.all([
    movedTargets(ctx, authorRows),
    proxiedMediaUrls(ctx, [...accountImages(authorRows), ...remoteMedia(all, reactionRows)]),
  ]);
  const authors = new Map(
    authorRows.map((a) => [
      a.id,
      serializeAccount(
        ctx.config,
        mediaUrls,
        a,
        counts.get(a.id) ?? { followers: 0, following: 0, statuses: 0, lastStatusAt: null },
        a.movedTo ? moved.get(a.movedTo) : undefined,
      ),
    ]),
  );
  const accountByUri = new Map<string, Account>(mentionRows.map((a) => [a.uri, a]));
  accountByUri.set(owner.uri, owner);
  const favN = new Map(favCounts.map((r) => [r.id, r.n]));
  const boostN = new Map<string, number>();
  const boosted = new Set<string>();
  for (const b of boosts) {
    const id = b.id as string;
    boostN.set(id, (boostN.get(id) ?? 0) + 1);
    if (b.accountId === owner.id) boosted.add(id);
  }
  const reactions = groupReactions(reactionRows);
  const replyN = new Map(replyCounts.map((r) => [r.id as string, r.n]));
  const faved = new Set(myFavs.map((r) => r.id));
  const bookmarked = new Set(myBookmarks.map((r) => r.id));
  const pinned = new Set(myPins.map((r) => r.id));
  const mediaRows = new Map(media.map((m) => [m.id, m]));

  const base = uris(ctx.config).base;
  const one = (s: Status): SerializedStatus | null => {
    const account = authors.get(s.accountId);
    if (!account) return null;
    if (s.reblogOfId) {
      const original = byId.get(s.reblogOfId);
      const inner = original && !original.deletedAt ? one(original) : null;
      if (!inner) return null;
      return {
        ...shell(s, account),
        reblog: inner,
        favourited: inner.favourited,
        reblogged: inner.reblogged,
        bookmarked: inner.bookmarked,
        pinned: false,
        filtered: inner.filtered,
        pleroma: inner.pleroma,
        reactions: inner.reactions,
      };
    }
    const shown = (reactions.get(s.id) ?? []).map((r) => (r.url ? { ...r, url: mediaUrls(r.url) } : r));
    const ownVotes = myVotes.filter((v) => v.statusId === s.id).map((v) => v.choice);
    return {
      ...shell(s, account),
      in_reply_to_id: s.inReplyToId,
      in_reply_to_account_id: s.inReplyToAccountId,
      content: s.content,
      spoiler_text: s.spoilerText,
      sensitive: s.sensitive,
      language: s.language,
      edited_at: s.editedAt,
      reblogs_count: boostN.get(s.id) ?? 0,
      favourites_count: favN.get(s.id) ?? 0,
      replies_count: replyN.get(s.uri) ?? 0,
      quotes_count: 0,
      favourited: faved.has(s.id),
      reblogged: boosted.has(s.id),
      bookmarked: bookmarked.has(s.id),
      pinned: s.accountId === owner.id && !s.reblogOfId ? pinned.has(s.id) : false,
      muted: false,
      media_attachments: s.attachments.map((a, i) => {
        const row = a.mediaId ? mediaRows.get(a.mediaId) : undefined;
        return row
          ? serializeMediaRow(ctx.config, row)
          : proxied(mediaUrls, serializeAttachment(s.id, i, a, s.local));
      }),
      mentions: s.mentions.flatMap((m) => {
        const a = accountByUri.get(m.uri);
        if (!a) return [];
        return [
          {
            id: a.id,
            username: a.username,
            url: a.url ?? a.uri,
            acct: a.local ? a.username : `${a.username}@${a.domain}`,
          },
        ];
      }),
      tags: s.tags.map((t) => ({
        name: t.name,
        url: `${base}/tags/${encodeURIComponent(normalizeTag(t.name))}`,
      })),
      poll: s.poll ? serializePoll(s.id, s.poll, ownVotes, s.accountId === owner.id) : null,
      filtered: filters.length ? filterResults(filters, s) : [],
      ...(s.local ? { application: { name: "Perch", website: null } } : {}),
      // Emoji reactions as Pleroma and Akkoma show them, and as the top-level list some forks read.
      pleroma: { emoji_reactions: shown },
      reactions: shown,
    };
  };
  const hiding = filters.filter((f) => f.filter.action === "hide");
  const out: SerializedStatus[] = [];
  for (const s of rows) {
    const original = s.reblogOfId ? byId.get(s.reblogOfId) : s;
    if (hiding.length && original && hiddenByFilters(hiding, original)) continue;
    const r = one(s);
    if (r) out.push(r);
  }
  return out;
}

/** The media URLs of statuses and of custom emoji reactions, for the proxy to sign (Perch's own are skipped). */
function remoteMedia(rows: Status[], reactionRows: { url: string | null }[]): string[] {
  const files = rows.flatMap((s) => s.attachments.flatMap((a) => [a.url, a.previewUrl]));
  return [...files, ...reactionRows.map((r) => r.url)].filter((u): u is string => !!u);
}

/** A stored attachment with its files through the media proxy; `remote_url` keeps the original. */
function proxied(media: MediaUrls, m: ReturnType<typeof serializeAttachment>) {
  return { ...m, url: media(m.url), preview_url: media(m.preview_url) };
}

/** The fields a boost and its original share (the boost's own id, author, time and visibility). */
function shell(s: Status, account: SerializedAccount) {
  return {
    id: s.id,
    uri: s.uri,
    url: s.reblogOfId ? null : (s.url ?? s.uri),
    account,
    created_at: s.publishedAt,
    visibility: s.visibility,
    in_reply_to_id: null as string | null,
    in_reply_to_account_id: null as string | null,
    reblog: null as SerializedStatus | null,
    content: "",
    spoiler_text: "",
    sensitive: false,
    language: null as string | null,
    edited_at: null as string | null,
    reblogs_count: 0,
    favourites_count: 0,
    replies_count: 0,
    quotes_count: 0,
    favourited: false as unknown,
    reblogged: false as unknown,
    bookmarked: false as unknown,
    pinned: false as unknown,
    muted: false,
    media_attachments: [] as unknown[],
    mentions: [] as unknown[],
    tags: [] as unknown[],
    emojis: [],
    card: null,
    poll: null as unknown,
    filtered: [] as unknown,
    pleroma: { emoji_reactions: [] as StatusReaction[] },
    reactions: [] as StatusReaction[],
  };
}

/** A poll as Mastodon's Poll entity; its id is its status's id. */
export function serializePoll(statusId: string, poll: Poll, ownVotes: number[], own: boolean) {
  const expiresAt = poll.endTime ?? poll.closed ?? null;
  const expired = !!poll.closed || (expiresAt !== null && Date.parse(expiresAt) <= Date.now());
  const votes = poll.options.reduce((n, o) => n + o.votes, 0);
  return {
    id: statusId,
    expires_at: expiresAt,
    expired,
    multiple: poll.mode === "anyOf",
    votes_count: votes,
    voters_count: poll.mode === "anyOf" ? (poll.votersCount ?? null) : (poll.votersCount ?? votes),
    // With hide_totals, others see the counts only once the poll has ended (Mastodon sends null).
    options: poll.options.map((o) => ({
      title: o.name,
      votes_count: poll.hideTotals && !own && !expired ? null : o.votes,
    })),
    emojis: [],
    voted: own || ownVotes.length > 0,
    own_votes: ownVotes,
  };
}

export async function presentStatus(
  ctx: Ctx,
  row: Status,
  opts: PresentOptions = {},
): Promise<SerializedStatus> {
  const [s] = await presentStatuses(ctx, [row], opts);
  if (!s) throw new Error(`status ${row.id} could not be presented (author missing)`);
  return s;
}

export type { LoadedFilter };
