import { and, eq, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, Follow } from "../db/client";
import { follows, listAccounts } from "../db/schema";
import { uris } from "../federation/uris";
import { newId } from "../lib/ids";
import { resolveHandleOrUrl } from "./accounts";
import { followAcceptCounts, followRemovalCounts } from "./counters";
import { deliver } from "./delivery";

export class FollowError extends Error {
  override name = "FollowError";
}

/** Follows a remote account by handle or URL. The follow stays pending until the peer's Accept. */
export async function follow(ctx: Ctx, handleOrUrl: string): Promise<{ account: Account; follow: Follow }> {
  const target = await resolveHandleOrUrl(ctx, handleOrUrl);
  return { account: target, follow: await followAccount(ctx, target) };
}

/** What the owner chooses for a follow: boosts at home, a notification per post, languages shown. */
export interface FollowOptions {
  reblogs?: boolean;
  notify?: boolean;
  /** null shows every language. */
  languages?: string[] | null;
}

/**
 * Follows a stored account (sending the Follow), or updates the options of an existing follow or
 * pending request without sending anything, as Mastodon does.
 */
export async function followAccount(ctx: Ctx, target: Account, options: FollowOptions = {}): Promise<Follow> {
  const { owner } = await ctx.instance();
  if (target.local || target.id === owner.id) throw new FollowError("You cannot follow yourself");
  const set = {
    ...(options.reblogs !== undefined ? { showReblogs: options.reblogs } : {}),
    ...(options.notify !== undefined ? { notify: options.notify } : {}),
    ...(options.languages !== undefined ? { languages: options.languages } : {}),
  };
  const existing = await findFollow(ctx, owner.id, target.id);
  if (existing) {
    if (Object.keys(set).length === 0) return existing;
    const [updated] = await ctx.db.update(follows).set(set).where(eq(follows.id, existing.id)).returning();
    return updated ?? existing;
  }
  const id = newId();
  const uri = uris(ctx.config).activity(id);
  const [row] = await ctx.db
    .insert(follows)
    .values({ id, accountId: owner.id, targetAccountId: target.id, uri, accepted: false, ...set })
    .onConflictDoNothing()
    .returning();
  if (!row) {
    // A concurrent request made the same follow: that one sent the Follow.
    const again = await findFollow(ctx, owner.id, target.id);
    if (!again) throw new Error("insert returned no follow");
    return again;
  }
  await deliver(ctx, followActivity(ctx, row, target), { accounts: [inboxOnly(target)] });
  return row;
}

/** Withdraws a follow (or a pending request) with an Undo that embeds the original Follow. */
export async function unfollow(ctx: Ctx, target: Account): Promise<boolean> {
  const { owner } = await ctx.instance();
  const existing = await findFollow(ctx, owner.id, target.id);
  if (!existing) return false;
  // Lists hold only followed accounts, as on Mastodon: an unfollow takes the account out of them.
  await ctx.db.batch([
    ...followRemovalCounts(ctx, (f) => sql`${f}.id = ${existing.id}`),
    ctx.db.delete(follows).where(eq(follows.id, existing.id)),
    ctx.db.delete(listAccounts).where(eq(listAccounts.accountId, target.id)),
  ]);
  const u = uris(ctx.config);
  await deliver(
    ctx,
    {
      id: `${existing.uri}/undo`,
      type: "Undo",
      actor: u.actor,
      object: followActivity(ctx, existing, target),
    },
    { accounts: [inboxOnly(target)] },
  );
  return true;
}

/** Accepts or rejects a pending follow request from a remote account (when the owner approves manually). */
export async function answerFollowRequest(ctx: Ctx, follower: Account, accept: boolean): Promise<boolean> {
  const { owner } = await ctx.instance();
  const request = await findFollow(ctx, follower.id, owner.id);
  if (!request || request.accepted) return false;
  // A pending request counts nowhere: only its acceptance changes the counts.
  if (accept)
    await ctx.db.batch([
      ...followAcceptCounts(ctx, (f) => sql`${f}.id = ${request.id}`),
      ctx.db.update(follows).set({ accepted: true }).where(eq(follows.id, request.id)),
    ]);
  else await ctx.db.delete(follows).where(eq(follows.id, request.id));
  await sendFollowAnswer(ctx, request, follower, accept ? "Accept" : "Reject");
  return true;
}

/** Accept or Reject embedding the Follow with its original id, as Mastodon expects. */
export async function sendFollowAnswer(
  ctx: Ctx,
  request: Pick<Follow, "id" | "uri">,
  follower: Account,
  type: "Accept" | "Reject",
) {
  const u = uris(ctx.config);
  await deliver(
    ctx,
    {
      id: `${u.actor}#${type.toLowerCase()}s/follows/${request.id}`,
      type,
      actor: u.actor,
      object: { id: request.uri, type: "Follow", actor: follower.uri, object: u.actor },
    },
    { accounts: [inboxOnly(follower)] },
  );
}

export async function findFollow(ctx: Ctx, accountId: string, targetId: string): Promise<Follow | undefined> {
  return (
    await ctx.db
      .select()
      .from(follows)
      .where(and(eq(follows.accountId, accountId), eq(follows.targetAccountId, targetId)))
      .limit(1)
  )[0];
}

/** Whether `accountId` follows `targetId` with an accepted follow. */
export async function isFollowing(ctx: Ctx, accountId: string, targetId: string): Promise<boolean> {
  const row = await findFollow(ctx, accountId, targetId);
  return row?.accepted === true;
}

export function followActivity(ctx: Ctx, row: Follow, target: Account) {
  return { id: row.uri, type: "Follow", actor: uris(ctx.config).actor, object: target.uri };
}

/** Follow traffic goes to the personal inbox: some servers route it only from there. */
export function inboxOnly(account: Account): Account {
  return { ...account, sharedInbox: null };
}
