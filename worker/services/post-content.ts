/**
 * The parts a local post is built from, shared by publishing, editing and deleting: its addressing,
 * the accounts it mentions, its media and poll, and the owner's live status being changed.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, Status } from "../db/client";
import {
  accounts,
  mediaAttachments,
  statuses,
  type Attachment,
  type Poll,
  type Visibility,
} from "../db/schema";
import { mediaUrl } from "../api/entities/media";
import { PUBLIC } from "../federation/jsonld";
import { extractEntities, mentionKey, type MentionTarget } from "../lib/text/format";
import { findAccountByUri, resolveHandleOrUrl } from "./accounts";
import { PostingError, type PollInput } from "./post-input";

/**
 * Addressing as Mastodon does it (ActivityPub::TagManager): public goes to Public with followers in
 * cc; unlisted the reverse; followers-only to the followers collection; direct only to the mentioned.
 */
export function addressing(followersUrl: string, visibility: Visibility, mentioned: string[]) {
  switch (visibility) {
    case "public":
      return { to: [PUBLIC], cc: [followersUrl, ...mentioned] };
    case "unlisted":
      return { to: [followersUrl], cc: [PUBLIC, ...mentioned] };
    case "private":
      return { to: [followersUrl], cc: mentioned };
    case "direct":
      return { to: mentioned, cc: [] };
  }
}

/** The accounts the text mentions, resolved (unresolvable mentions are left out, not an error). */
export async function textMentions(ctx: Ctx, text: string, owner: Account): Promise<Map<string, Account>> {
  const out = new Map<string, Account>();
  const local = new Set([ctx.config.accountDomain, ctx.config.webDomain].map((d) => d.toLowerCase()));
  for (const e of extractEntities(text)) {
    if (e.kind !== "mention") continue;
    const key = mentionKey(e.username, e.domain);
    if (out.has(key) || out.size >= 50) continue;
    const domain = e.domain?.toLowerCase() ?? null;
    if (!domain || local.has(domain)) {
      if (e.username.toLowerCase() === owner.username.toLowerCase()) out.set(key, owner);
      continue;
    }
    const known = (
      await ctx.db
        .select()
        .from(accounts)
        .where(
          and(
            sql`lower(${accounts.username}) = ${e.username.toLowerCase()}`,
            sql`lower(${accounts.domain}) = ${domain}`,
          ),
        )
        .limit(1)
    )[0];
    if (known) {
      out.set(key, known);
      continue;
    }
    try {
      out.set(key, await resolveHandleOrUrl(ctx, `${e.username}@${domain}`));
    } catch {
      // Mastodon leaves a mention it cannot resolve as plain text.
    }
  }
  return out;
}

export function mentionTargets(found: Map<string, Account>): Map<string, MentionTarget> {
  return new Map([...found].map(([k, a]) => [k, { url: a.url ?? a.uri, username: a.username }]));
}

export async function resolveMentions(ctx: Ctx, handles: string[]): Promise<Account[]> {
  const out: Account[] = [];
  for (const h of handles.slice(0, 50)) {
    const a = await resolveHandleOrUrl(ctx, h);
    if (!out.some((o) => o.id === a.id)) out.push(a);
  }
  return out;
}

export async function mentionedAccounts(ctx: Ctx, status: Status): Promise<Account[]> {
  const found = await Promise.all(status.mentions.map((m) => findAccountByUri(ctx, m.uri)));
  return found.filter((a): a is Account => a !== undefined);
}

const ATTACHMENT_TYPE: Record<string, string> = {
  image: "Image",
  gifv: "Video",
  video: "Video",
  audio: "Audio",
};

type MediaRow = typeof mediaAttachments.$inferSelect;

export function attachmentOf(ctx: Ctx, m: MediaRow): Attachment {
  return {
    mediaId: m.id,
    type: ATTACHMENT_TYPE[m.type] ?? "Document",
    mediaType: m.mimeType,
    url: mediaUrl(ctx.config, m.key),
    ...(m.description ? { name: m.description } : {}),
    ...(m.width ? { width: m.width } : {}),
    ...(m.height ? { height: m.height } : {}),
    ...(m.focus ? { focus: m.focus } : {}),
    ...(m.blurhash ? { blurhash: m.blurhash } : {}),
    ...(m.thumbnailKey ? { previewUrl: mediaUrl(ctx.config, m.thumbnailKey) } : {}),
  };
}

/** The owner's media rows by id, in the order given; each must exist and be free or on `statusId`. */
export async function loadMedia(ctx: Ctx, ids: string[], statusId?: string): Promise<MediaRow[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  if (unique.length > 4) throw new PostingError("Validation failed: Media attachments limited to 4");
  const rows = await ctx.db.select().from(mediaAttachments).where(inArray(mediaAttachments.id, unique));
  return unique.map((id) => {
    const row = rows.find((r) => r.id === id);
    if (!row || (row.statusId !== null && row.statusId !== statusId)) {
      throw new PostingError(`Validation failed: media ${id} does not exist or is already attached`);
    }
    return row;
  });
}

export function newPoll(input: PollInput): Poll {
  return {
    mode: input.multiple ? "anyOf" : "oneOf",
    options: input.options.map((name) => ({ name, votes: 0 })),
    endTime: new Date(Date.now() + input.expiresIn * 1000).toISOString(),
    votersCount: 0,
    ...(input.hideTotals ? { hideTotals: true } : {}),
  };
}

export async function ownLiveStatus(ctx: Ctx, id: string): Promise<Status> {
  const { owner } = await ctx.instance();
  const status = (
    await ctx.db
      .select()
      .from(statuses)
      .where(and(eq(statuses.id, id), eq(statuses.accountId, owner.id), isNull(statuses.deletedAt)))
      .limit(1)
  )[0];
  if (!status || status.reblogOfId) throw new PostingError("No such post");
  return status;
}
