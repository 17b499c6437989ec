import type { Ctx } from "../../context";
import type { Account, Status } from "../../db/client";
import type { Poll } from "../../db/schema";
import { uris } from "../../federation/uris";
import { normalizeTag } from "../../lib/text/hashtags";
import { groupReactions, type StatusReaction } from "./reactions";
import { loadStatusPage } from "../../services/status-page";
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

export interface PresentOptions {
  /** Where the statuses are shown, for filters v2 (`filtered`); none means no filtering. */
  filterContext?: FilterContext;
}

export type SerializedStatus = Record<string, unknown> & { id: string };

/**
 * Serializes statuses as Mastodon's Status entity, in order, with everything loaded in one statement
 * whatever the page size (services/status-page.ts), the filters beside it: authors, boosted
 * originals, the owner's favourites, boosts, bookmarks, pins and poll votes, media rows and mentioned
 * accounts. Counts are those kept on the rows. https://docs.joinmastodon.org/entities/Status/
 */
export async function presentStatuses(
  ctx: Ctx,
  rows: Status[],
  opts: PresentOptions = {},
): Promise<SerializedStatus[]> {
  if (rows.length === 0) return [];
  const { owner } = await ctx.instance();

  const [page, filters] = await Promise.all([
    loadStatusPage(ctx, rows, owner.id),
    opts.filterContext ? activeFilters(ctx, opts.filterContext) : Promise.resolve([]),
  ]);
  const { byId, favourited: faved, reblogged: boosted, bookmarked, pinned, votes: myVotes, media } = page;
  const reactionRows = page.reactions;
  const all = [...byId.values()];
  const authorIds = new Set(all.flatMap((s) => [s.accountId, s.inReplyToAccountId]));
  const authorRows = page.accounts.filter((a) => authorIds.has(a.id));

  // Authors that moved show the account they moved to: one more round trip, only when one did.
  // Remote images, attachments and emoji go through the media proxy, their URLs signed here.
  const [moved, mediaUrls] = await Promise.all([
    movedTargets(ctx, authorRows),
    proxiedMediaUrls(ctx, [...accountImages(authorRows), ...remoteMedia(all, reactionRows)]),
  ]);
  const authors = new Map(
    authorRows.map((a) => [
      a.id,
      serializeAccount(ctx.config, mediaUrls, a, a.movedTo ? moved.get(a.movedTo) : undefined),
    ]),
  );
  const accountByUri = new Map<string, Account>(page.accounts.map((a) => [a.uri, a]));
  accountByUri.set(owner.uri, owner);
  const reactions = groupReactions(reactionRows);
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
      reblogs_count: s.reblogsCount,
      favourites_count: s.favouritesCount,
      replies_count: s.repliesCount,
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
