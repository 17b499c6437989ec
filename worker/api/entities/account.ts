import type { Config } from "../../config";
import type { Ctx } from "../../context";
import type { Account } from "../../db/client";
import { countsFor } from "../../services/counts";
import { uris } from "../../federation/uris";

export type SerializedAccount = ReturnType<typeof serializeAccount>;

/** Counts shown on an account, computed by the caller. */
export interface AccountCounts {
  followers: number;
  following: number;
  statuses: number;
  lastStatusAt: string | null;
}

/** The stand-in image Mastodon also serves when an account has no avatar or header. */
export const MISSING_IMAGE_PATH = "/avatars/original/missing.png";

/** An account as Mastodon's Account entity. https://docs.joinmastodon.org/entities/Account/ */
export function serializeAccount(config: Config, a: Account, counts: AccountCounts) {
  const missing = `${uris(config).base}${MISSING_IMAGE_PATH}`;
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
    avatar: a.avatarUrl ?? missing,
    avatar_static: a.avatarUrl ?? missing,
    header: a.headerUrl ?? missing,
    header_static: a.headerUrl ?? missing,
    followers_count: counts.followers,
    following_count: counts.following,
    statuses_count: counts.statuses,
    last_status_at: counts.lastStatusAt ? counts.lastStatusAt.slice(0, 10) : null,
    hide_collections: false,
    noindex: !a.indexable,
    emojis: [],
    roles: [],
    fields: a.fields.map((f) => ({ name: f.name, value: f.value, verified_at: null })),
    ...(a.movedTo ? { moved: null } : {}),
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
  counts: AccountCounts,
  followRequests: number,
  prefs: { privacy: string; sensitive: boolean; language: string | null; hideCollections: boolean },
) {
  return {
    ...serializeAccount(config, a, counts),
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
 * Serializes accounts with their counts in a few grouped queries (not three per account), for lists
 * and timelines. Counts are what Perch knows: exact for the owner, stored posts and known follows for
 * remote accounts.
 */
export async function presentAccounts(ctx: Ctx, list: Account[]): Promise<Map<string, SerializedAccount>> {
  const out = new Map<string, SerializedAccount>();
  const counts = await countsFor(
    ctx,
    list.map((a) => a.id),
  );
  for (const a of list) {
    const c = counts.get(a.id);
    if (c) out.set(a.id, serializeAccount(ctx.config, a, c));
  }
  return out;
}

export async function presentAccount(ctx: Ctx, a: Account): Promise<SerializedAccount> {
  return (await presentAccounts(ctx, [a])).get(a.id) as SerializedAccount;
}
