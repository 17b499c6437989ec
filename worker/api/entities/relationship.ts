import { and, eq, inArray, or } from "drizzle-orm";
import type { Ctx } from "../../context";
import type { Account } from "../../db/client";
import { accountNotes, blocks, domainBlocks, endorsements, follows, mutes } from "../../db/schema";
import { unexpiredMute } from "../../services/relationships";

/** https://docs.joinmastodon.org/entities/Relationship/ */
export interface SerializedRelationship {
  id: string;
  following: boolean;
  showing_reblogs: boolean;
  notifying: boolean;
  languages: string[] | null;
  followed_by: boolean;
  blocking: boolean;
  blocked_by: boolean;
  muting: boolean;
  muting_notifications: boolean;
  muting_expires_at: string | null;
  requested: boolean;
  requested_by: boolean;
  domain_blocking: boolean;
  endorsed: boolean;
  note: string;
}

export function emptyRelationship(id: string): SerializedRelationship {
  return {
    id,
    following: false,
    showing_reblogs: false,
    notifying: false,
    languages: null,
    followed_by: false,
    blocking: false,
    blocked_by: false,
    muting: false,
    muting_notifications: false,
    muting_expires_at: null,
    requested: false,
    requested_by: false,
    domain_blocking: false,
    endorsed: false,
    note: "",
  };
}

/**
 * The owner's relationships with the accounts, in order, loaded in one batch of grouped queries per
 * 45 accounts whatever their number.
 */
export async function presentRelationships(ctx: Ctx, list: Account[]): Promise<SerializedRelationship[]> {
  const { owner } = await ctx.instance();
  const out = new Map<string, SerializedRelationship>();
  const others = [...new Map(list.filter((a) => a.id !== owner.id).map((a) => [a.id, a])).values()];
  for (let i = 0; i < others.length; i += 45) {
    const chunk = others.slice(i, i + 45);
    const ids = chunk.map((a) => a.id);
    const domains = [...new Set(chunk.filter((a) => !a.local).map((a) => a.domain.toLowerCase()))];
    const [followRows, blockRows, muteRows, domainRows, endorsed, notes] = await ctx.db.batch([
      ctx.db
        .select()
        .from(follows)
        .where(
          or(
            and(eq(follows.accountId, owner.id), inArray(follows.targetAccountId, ids)),
            and(inArray(follows.accountId, ids), eq(follows.targetAccountId, owner.id)),
          ),
        ),
      ctx.db
        .select()
        .from(blocks)
        .where(
          or(
            and(eq(blocks.accountId, owner.id), inArray(blocks.targetAccountId, ids)),
            and(inArray(blocks.accountId, ids), eq(blocks.targetAccountId, owner.id)),
          ),
        ),
      ctx.db
        .select()
        .from(mutes)
        .where(and(inArray(mutes.targetAccountId, ids), unexpiredMute())),
      ctx.db
        .select({ domain: domainBlocks.domain })
        .from(domainBlocks)
        .where(inArray(domainBlocks.domain, domains.length ? domains : [""])),
      ctx.db
        .select({ id: endorsements.targetAccountId })
        .from(endorsements)
        .where(inArray(endorsements.targetAccountId, ids)),
      ctx.db.select().from(accountNotes).where(inArray(accountNotes.targetAccountId, ids)),
    ]);
    const blockedDomains = new Set(domainRows.map((d) => d.domain));
    const endorsedIds = new Set(endorsed.map((e) => e.id));
    for (const a of chunk) {
      const mine = followRows.find((f) => f.accountId === owner.id && f.targetAccountId === a.id);
      const theirs = followRows.find((f) => f.accountId === a.id && f.targetAccountId === owner.id);
      const m = muteRows.find((r) => r.targetAccountId === a.id);
      out.set(a.id, {
        id: a.id,
        following: mine?.accepted === true,
        showing_reblogs: mine ? mine.showReblogs : false,
        notifying: mine ? mine.notify : false,
        languages: mine?.languages ?? null,
        followed_by: theirs?.accepted === true,
        blocking: blockRows.some((b) => b.accountId === owner.id && b.targetAccountId === a.id),
        blocked_by: blockRows.some((b) => b.accountId === a.id && b.targetAccountId === owner.id),
        muting: m !== undefined,
        muting_notifications: m?.notifications === true,
        muting_expires_at: m?.expiresAt ?? null,
        requested: mine !== undefined && !mine.accepted,
        requested_by: theirs !== undefined && !theirs.accepted,
        domain_blocking: !a.local && blockedDomains.has(a.domain.toLowerCase()),
        endorsed: endorsedIds.has(a.id),
        note: notes.find((n) => n.targetAccountId === a.id)?.note ?? "",
      });
    }
  }
  return list.map((a) => out.get(a.id) ?? emptyRelationship(a.id));
}

export async function presentRelationship(ctx: Ctx, account: Account): Promise<SerializedRelationship> {
  return (await presentRelationships(ctx, [account]))[0] as SerializedRelationship;
}
