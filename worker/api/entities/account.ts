import { inArray } from "drizzle-orm";
import type { Config } from "../../config";
import type { Ctx } from "../../context";
import type { Account } from "../../db/client";
import { inChunks } from "../../db/chunks";
import { accounts } from "../../db/schema";
import { proxiedMediaUrls, type MediaUrls } from "../../services/media-proxy-urls";
import { uris } from "../../federation/uris";
import { MISSING_AVATAR_PATH, MISSING_HEADER_PATH } from "../default-images";

export type SerializedAccount = AccountEntity;

/** Counts shown on an account: those kept on its row (services/counters.ts). */
export interface AccountCounts {
  followers: number;
  following: number;
  statuses: number;
  lastStatusAt: string | null;
}

export function countsOf(
  a: Pick<Account, "followersCount" | "followingCount" | "statusesCount" | "lastStatusAt">,
): AccountCounts {
  return {
    followers: a.followersCount,
    following: a.followingCount,
    statuses: a.statusesCount,
    lastStatusAt: a.lastStatusAt,
  };
}

interface AccountEntity {
  id: string;
  username: string;
  acct: string;
  display_name: string;
  locked: boolean;
  bot: boolean;
  discoverable: boolean;
  indexable: boolean;
  group: boolean;
  created_at: string;
  note: string;
  url: string;
  uri: string;
  avatar: string;
  avatar_static: string;
  header: string;
  header_static: string;
  followers_count: number;
  following_count: number;
  statuses_count: number;
  last_status_at: string | null;
  hide_collections: boolean;
  noindex: boolean;
  emojis: never[];
  roles: never[];
  fields: { name: string; value: string; verified_at: null }[];
  moved?: AccountEntity;
}

/** The images of accounts, for `proxiedMediaUrls` to sign before serializing them. */
export function accountImages(list: Account[]): string[] {
  return list.flatMap((a) => [a.avatarUrl, a.headerUrl]).filter((u): u is string => !!u);
}

/**
 * An account as Mastodon's Account entity. https://docs.joinmastodon.org/entities/Account/
 * Its counts are those kept on the row: what Perch knows, exact for the owner. `moved` is the serialized account it moved to (`movedTo`), when that account is stored; without
 * it the field is left out, as Mastodon does when the target is unknown. Remote images go through
 * the media proxy (`media`, signed for `accountImages`); the default images stay as they are.
 */
export function serializeAccount(
  config: Config,
  media: MediaUrls,
  a: Account,
  moved?: SerializedAccount,
): AccountEntity {
  const base = uris(config).base;
  const avatar = a.avatarUrl ? media(a.avatarUrl) : `${base}${MISSING_AVATAR_PATH}`;
  const header = a.headerUrl ? media(a.headerUrl) : `${base}${MISSING_HEADER_PATH}`;
  return {
    id: a.id,
    username: a.username,
    acct: a.local ? a.username : `${a.username}@${a.domain}`,
    display_name: a.displayName,
    locked: a.manuallyApprovesFollowers,
    bot: a.type === "Service" || a.type === "Application",
    discoverable: a.discoverable,
    indexable: a.indexable,
    group: a.type === "Group",
    created_at: new Date(a.createdAt).toISOString().replace(/T.*/, "T00:00:00.000Z"),
    note: a.note,
    url: a.url ?? a.uri,
    uri: a.uri,
    avatar,
    avatar_static: avatar,
    header,
    header_static: header,
    followers_count: a.followersCount,
    following_count: a.followingCount,
    statuses_count: a.statusesCount,
    last_status_at: a.lastStatusAt ? a.lastStatusAt.slice(0, 10) : null,
    hide_collections: false,
    noindex: !a.indexable,
    emojis: [],
    roles: [],
    fields: a.fields.map((f) => ({ name: f.name, value: f.value, verified_at: null })),
    ...(a.movedTo && moved ? { moved } : {}),
  };
}

/** Profile HTML back to the plain text the owner typed (for `source`). */
function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/g, "\n")
    .replace(/<\/p><p>/g, "\n\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&amp;/g, "&");
}

/**
 * The owner's own account, with `source` (posting defaults from the preferences) and `role`, for
 * verify_credentials and update_credentials.
 */
export function serializeCredentialAccount(
  config: Config,
  a: Account,
  followRequests: number,
  prefs: { privacy: string; sensitive: boolean; language: string | null; hideCollections: boolean },
  moved?: SerializedAccount,
) {
  return {
    // The owner's images are uploads served here (services/profile.ts), never proxied.
    ...serializeAccount(config, (url) => url, a, moved),
    hide_collections: prefs.hideCollections,
    source: {
      privacy: prefs.privacy,
      sensitive: prefs.sensitive,
      language: prefs.language,
      note: htmlToText(a.note),
      fields: a.fields.map((f) => ({
        name: f.name,
        value: htmlToText(f.value),
        verified_at: null,
      })),
      follow_requests_count: followRequests,
      hide_collections: prefs.hideCollections,
      discoverable: a.discoverable,
      indexable: a.indexable,
    },
    role: { id: "-99", name: "", permissions: "0", color: "", highlighted: false },
  };
}

/**
 * Serializes accounts for lists and timelines, their counts from their rows: no query, unless one
 * moved (its target is loaded).
 */
export async function presentAccounts(ctx: Ctx, list: Account[]): Promise<Map<string, SerializedAccount>> {
  const out = new Map<string, SerializedAccount>();
  const [moved, media] = await Promise.all([
    movedTargets(ctx, list),
    proxiedMediaUrls(ctx, accountImages(list)),
  ]);
  for (const a of list) {
    out.set(a.id, serializeAccount(ctx.config, media, a, a.movedTo ? moved.get(a.movedTo) : undefined));
  }
  return out;
}

/**
 * The stored accounts that accounts of a list moved to (`movedTo`), serialized and keyed by URI: one
 * query per 90 targets, nothing for a list without moves. The targets are not given their own
 * `moved`, as Mastodon does not nest it.
 */
export async function movedTargets(ctx: Ctx, list: Account[]): Promise<Map<string, SerializedAccount>> {
  const uris = [...new Set(list.map((a) => a.movedTo).filter((u): u is string => !!u))];
  const out = new Map<string, SerializedAccount>();
  if (uris.length === 0) return out;
  const rows = await inChunks(uris, (c) => ctx.db.select().from(accounts).where(inArray(accounts.uri, c)));
  if (rows.length === 0) return out;
  const media = await proxiedMediaUrls(ctx, accountImages(rows));
  for (const a of rows) out.set(a.uri, serializeAccount(ctx.config, media, a));
  return out;
}

export async function presentAccount(ctx: Ctx, a: Account): Promise<SerializedAccount> {
  return (await presentAccounts(ctx, [a])).get(a.id) as SerializedAccount;
}
