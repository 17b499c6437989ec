import { and, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, Follow } from "../db/client";
import {
  accountNotes,
  accounts,
  blocks,
  domainBlocks,
  endorsements,
  follows,
  mutes,
  notifications,
} from "../db/schema";
import { uris } from "../federation/uris";
import { HttpError } from "../lib/errors";
import { newId } from "../lib/ids";
import { followRemovalCounts } from "./counters";
import { deliver } from "./delivery";
import { followActivity, inboxOnly, sendFollowAnswer } from "./following";
import {
  domainIsBlocked,
  isMuted as isMutedIn,
  loadBlockedDomains,
  loadRelations,
  muteActiveSql,
  withinDomainSql,
} from "./visibility";

/** A relationship change the owner may not make (self, unknown domain …): answered as 422. */
export class RelationshipError extends HttpError {
  constructor(message: string) {
    super(422, message, "relationship");
  }
}

/** Mastodon's limit on the private note about an account. */
export const MAX_NOTE_LENGTH = 2000;

/** The activities that end follows between the owner and `other`, in both directions. */
function endFollowActivities(ctx: Ctx, ownerId: string, other: Account, rows: Follow[]) {
  const sends: Promise<unknown>[] = [];
  for (const f of rows) {
    if (f.accountId === ownerId) {
      // The owner's follow (or request): withdrawn with an Undo embedding the Follow.
      sends.push(
        deliver(
          ctx,
          {
            id: `${f.uri}/undo`,
            type: "Undo",
            actor: uris(ctx.config).actor,
            object: followActivity(ctx, f, other),
          },
          { accounts: [inboxOnly(other)] },
        ),
      );
    } else {
      // Their follow of the owner (accepted or pending): rejected.
      sends.push(sendFollowAnswer(ctx, f, other, "Reject"));
    }
  }
  return sends;
}

async function followsBetween(ctx: Ctx, ownerId: string, otherIds: string[]): Promise<Follow[]> {
  if (otherIds.length === 0) return [];
  return ctx.db
    .select()
    .from(follows)
    .where(
      or(
        and(eq(follows.accountId, ownerId), inArray(follows.targetAccountId, otherIds)),
        and(inArray(follows.accountId, otherIds), eq(follows.targetAccountId, ownerId)),
      ),
    );
}

function notOwner(owner: Account, target: Account, what: string) {
  if (target.local || target.id === owner.id) throw new RelationshipError(`You cannot ${what} yourself`);
}

/**
 * Blocks an account: follows in both directions end (Undo Follow for the owner's, Reject for theirs,
 * as Mastodon sends them), the owner stops endorsing it, its notifications are cleared, and a Block
 * is delivered to it.
 */
export async function block(ctx: Ctx, target: Account): Promise<void> {
  const { owner } = await ctx.instance();
  notOwner(owner, target, "block");
  const existing = await ctx.db
    .select()
    .from(blocks)
    .where(and(eq(blocks.accountId, owner.id), eq(blocks.targetAccountId, target.id)))
    .limit(1);
  const ended = await followsBetween(ctx, owner.id, [target.id]);
  const uri = existing[0]?.uri ?? uris(ctx.config).activity(newId());
  await ctx.db.batch([
    ctx.db
      .insert(blocks)
      .values({ accountId: owner.id, targetAccountId: target.id, uri })
      .onConflictDoNothing(),
    ...followRemovalCounts(
      ctx,
      (f) => sql`((${f}.account_id = ${owner.id} AND ${f}.target_account_id = ${target.id})
        OR (${f}.account_id = ${target.id} AND ${f}.target_account_id = ${owner.id}))`,
    ),
    ctx.db
      .delete(follows)
      .where(
        or(
          and(eq(follows.accountId, owner.id), eq(follows.targetAccountId, target.id)),
          and(eq(follows.accountId, target.id), eq(follows.targetAccountId, owner.id)),
        ),
      ),
    ctx.db.delete(endorsements).where(eq(endorsements.targetAccountId, target.id)),
    // As Mastodon's AfterBlockService: the blocked account's notifications go too.
    ctx.db.delete(notifications).where(eq(notifications.fromAccountId, target.id)),
  ]);
  await Promise.all(endFollowActivities(ctx, owner.id, target, ended));
  if (existing[0]) return;
  await deliver(ctx, blockActivity(ctx, uri, target), { accounts: [inboxOnly(target)] });
}

function blockActivity(ctx: Ctx, uri: string, target: Account) {
  return { id: uri, type: "Block", actor: uris(ctx.config).actor, object: target.uri };
}

/** Lifts a block, sending an Undo that embeds the original Block. */
export async function unblock(ctx: Ctx, target: Account): Promise<void> {
  const { owner } = await ctx.instance();
  const [row] = await ctx.db
    .delete(blocks)
    .where(and(eq(blocks.accountId, owner.id), eq(blocks.targetAccountId, target.id)))
    .returning();
  if (!row || target.local) return;
  const uri = row.uri ?? uris(ctx.config).activity(newId());
  await deliver(
    ctx,
    {
      id: `${uri}/undo`,
      type: "Undo",
      actor: uris(ctx.config).actor,
      object: blockActivity(ctx, uri, target),
    },
    { accounts: [inboxOnly(target)] },
  );
}

/** Mutes an account (and by default its notifications), for `durationSeconds` or (0, absent) for good. */
export async function mute(
  ctx: Ctx,
  target: Account,
  opts: { notifications?: boolean; durationSeconds?: number } = {},
): Promise<void> {
  const { owner } = await ctx.instance();
  notOwner(owner, target, "mute");
  const expiresAt = opts.durationSeconds
    ? new Date(Date.now() + opts.durationSeconds * 1000).toISOString()
    : null;
  const notifications = opts.notifications ?? true;
  await ctx.db
    .insert(mutes)
    .values({ targetAccountId: target.id, id: newId(), notifications, expiresAt })
    .onConflictDoUpdate({ target: mutes.targetAccountId, set: { notifications, expiresAt } });
}

export async function unmute(ctx: Ctx, target: Account): Promise<void> {
  await ctx.db.delete(mutes).where(eq(mutes.targetAccountId, target.id));
}

/** Features a followed account on the owner's profile; Mastodon only endorses accounts one follows. */
export async function endorse(ctx: Ctx, target: Account): Promise<void> {
  const { owner } = await ctx.instance();
  notOwner(owner, target, "endorse");
  const [f] = await ctx.db
    .select({ accepted: follows.accepted })
    .from(follows)
    .where(and(eq(follows.accountId, owner.id), eq(follows.targetAccountId, target.id)))
    .limit(1);
  if (!f?.accepted) throw new RelationshipError("You must be following the account to endorse it");
  await ctx.db.insert(endorsements).values({ targetAccountId: target.id, id: newId() }).onConflictDoNothing();
}

export async function unendorse(ctx: Ctx, target: Account): Promise<void> {
  await ctx.db.delete(endorsements).where(eq(endorsements.targetAccountId, target.id));
}

/** Sets the owner's private note about an account; an empty note removes it. */
export async function setNote(ctx: Ctx, target: Account, note: string): Promise<void> {
  if (note.length > MAX_NOTE_LENGTH)
    throw new RelationshipError(`The note is longer than ${MAX_NOTE_LENGTH} characters`);
  if (note === "") {
    await ctx.db.delete(accountNotes).where(eq(accountNotes.targetAccountId, target.id));
    return;
  }
  await ctx.db
    .insert(accountNotes)
    .values({ targetAccountId: target.id, note })
    .onConflictDoUpdate({ target: accountNotes.targetAccountId, set: { note } });
}

/** Removes an account from the owner's followers (a Reject of its Follow tells its server). */
export async function removeFromFollowers(ctx: Ctx, follower: Account): Promise<boolean> {
  const { owner } = await ctx.instance();
  const counts = followRemovalCounts(
    ctx,
    (f) => sql`${f}.account_id = ${follower.id} AND ${f}.target_account_id = ${owner.id}`,
  );
  const results = await ctx.db.batch([
    ...counts,
    ctx.db
      .delete(follows)
      .where(and(eq(follows.accountId, follower.id), eq(follows.targetAccountId, owner.id)))
      .returning(),
  ]);
  const row = (results[counts.length] as Follow[])[0];
  if (!row) return false;
  if (!follower.local) await sendFollowAnswer(ctx, row, follower, "Reject");
  return true;
}

/** A domain as Mastodon stores it: lower case, no scheme, path or port, punycode left as given. */
export function normalizeDomain(input: string): string | null {
  let d = input.trim().toLowerCase();
  if (/^https?:\/\//.test(d)) {
    try {
      d = new URL(d).hostname;
    } catch {
      return null;
    }
  }
  d = d.replace(/\.$/, "");
  return /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)+$/.test(
    d,
  )
    ? d
    : null;
}

/**
 * Blocks a whole domain: its follows with the owner end in both directions (Undo Follow for the
 * owner's, Reject for theirs), notifications from it are cleared and nothing from it is shown. Its
 * accounts are not told of the block.
 */
export async function blockDomain(ctx: Ctx, input: string): Promise<string> {
  const domain = normalizeDomain(input);
  if (!domain) throw new RelationshipError("Domain is not a valid domain name");
  if (domain === ctx.config.accountDomain.toLowerCase() || domain === ctx.config.webDomain.toLowerCase())
    throw new RelationshipError("You cannot block your own domain");
  const { owner } = await ctx.instance();
  // Its subdomains' accounts too: the block hides them all (./visibility.ts). Never the owner, whose
  // domain may sit under the blocked one.
  const covered = and(eq(accounts.local, false), withinDomainSql(accounts.domain, domain));
  const onDomain = await ctx.db.select().from(accounts).where(covered);
  const byId = new Map(onDomain.map((a) => [a.id, a]));
  const ended: Follow[] = [];
  for (let i = 0; i < onDomain.length; i += 45) {
    ended.push(
      ...(await followsBetween(
        ctx,
        owner.id,
        onDomain.slice(i, i + 45).map((a) => a.id),
      )),
    );
  }
  await ctx.db.batch([
    ctx.db.insert(domainBlocks).values({ domain, id: newId() }).onConflictDoNothing(),
    ...ended.flatMap((f) => [
      ...followRemovalCounts(ctx, (r) => sql`${r}.id = ${f.id}`),
      ctx.db.delete(follows).where(eq(follows.id, f.id)),
    ]),
    // Notifications from the domain's accounts go, as on Mastodon.
    ctx.db
      .delete(notifications)
      .where(
        inArray(
          notifications.fromAccountId,
          ctx.db.select({ id: accounts.id }).from(accounts).where(covered),
        ),
      ),
  ]);
  const sends = ended.flatMap((f) => {
    const other = byId.get(f.accountId === owner.id ? f.targetAccountId : f.accountId);
    return other ? endFollowActivities(ctx, owner.id, other, [f]) : [];
  });
  await Promise.all(sends);
  return domain;
}

export async function unblockDomain(ctx: Ctx, input: string): Promise<void> {
  const domain = normalizeDomain(input);
  if (!domain) throw new RelationshipError("Domain is not a valid domain name");
  await ctx.db.delete(domainBlocks).where(eq(domainBlocks.domain, domain));
}

/** Whether the owner blocks the account. */
export async function isBlocking(ctx: Ctx, accountId: string): Promise<boolean> {
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ id: blocks.targetAccountId })
    .from(blocks)
    .where(and(eq(blocks.accountId, owner.id), eq(blocks.targetAccountId, accountId)))
    .limit(1);
  return rows.length > 0;
}

/** Whether the account blocks the owner (a Block received from it). */
export async function isBlockedBy(ctx: Ctx, accountId: string): Promise<boolean> {
  const { owner } = await ctx.instance();
  const rows = await ctx.db
    .select({ id: blocks.accountId })
    .from(blocks)
    .where(and(eq(blocks.accountId, accountId), eq(blocks.targetAccountId, owner.id)))
    .limit(1);
  return rows.length > 0;
}

/** The owner's unexpired mute of the account, if any. */
export async function activeMute(ctx: Ctx, accountId: string) {
  const rows = await ctx.db
    .select()
    .from(mutes)
    .where(and(eq(mutes.targetAccountId, accountId), unexpiredMute()))
    .limit(1);
  return rows[0];
}

export async function isMuted(ctx: Ctx, accountId: string): Promise<boolean> {
  return (await activeMute(ctx, accountId)) !== undefined;
}

/** Whether notifications from the account are muted (an unexpired mute with `notifications`). */
export async function isMutingNotifications(ctx: Ctx, accountId: string): Promise<boolean> {
  return (await activeMute(ctx, accountId))?.notifications === true;
}

/** Account ids the owner blocks or mutes (unexpired): left out of timelines. */
export async function hiddenAccountIds(ctx: Ctx): Promise<Set<string>> {
  const r = await loadRelations(ctx);
  return new Set([...r.blocked, ...[...r.mutes.keys()].filter((id) => isMutedIn(r, id))]);
}

/** A mute that has not expired (the rule lives in ./visibility.ts). */
export function unexpiredMute(): SQL {
  return muteActiveSql(mutes.expiresAt);
}

export { loadBlockedDomains as blockedDomains, domainIsBlocked };
