import { and, eq } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account, Follow } from "../db/client";
import { follows } from "../db/schema";
import { uris } from "../federation/uris";
import { newId } from "../lib/ids";
import { resolveHandleOrUrl } from "./accounts";
import { deliver } from "./delivery";

export class FollowError extends Error {
  override name = "FollowError";
}

/** Follows a remote account by handle or URL. The follow stays pending until the peer's Accept. */
export async function follow(ctx: Ctx, handleOrUrl: string): Promise<{ account: Account; follow: Follow }> {
  const { owner } = await ctx.instance();
  const target = await resolveHandleOrUrl(ctx, handleOrUrl);
  if (target.local) throw new FollowError("You cannot follow yourself");
  const existing = await findFollow(ctx, owner.id, target.id);
  if (existing) return { account: target, follow: existing };
  const id = newId();
  const uri = uris(ctx.config).activity(id);
  const [row] = await ctx.db
    .insert(follows)
    .values({ id, accountId: owner.id, targetAccountId: target.id, uri, accepted: false })
    .returning();
  if (!row) throw new Error("insert returned no follow");
  await deliver(ctx, followActivity(ctx, row, target), { accounts: [inboxOnly(target)] });
  return { account: target, follow: row };
}

/** Withdraws a follow (or a pending request) with an Undo that embeds the original Follow. */
export async function unfollow(ctx: Ctx, target: Account): Promise<boolean> {
  const { owner } = await ctx.instance();
  const existing = await findFollow(ctx, owner.id, target.id);
  if (!existing) return false;
  await ctx.db.delete(follows).where(eq(follows.id, existing.id));
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
  if (accept) await ctx.db.update(follows).set({ accepted: true }).where(eq(follows.id, request.id));
  else await ctx.db.delete(follows).where(eq(follows.id, request.id));
  await sendFollowAnswer(ctx, request, follower, accept ? "Accept" : "Reject");
  return true;
}

/** Accept or Reject embedding the Follow with its original id, as Mastodon expects. */
export async function sendFollowAnswer(
  ctx: Ctx,
  request: Follow,
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

function followActivity(ctx: Ctx, row: Follow, target: Account) {
  return { id: row.uri, type: "Follow", actor: uris(ctx.config).actor, object: target.uri };
}

/** Follow traffic goes to the personal inbox: some servers route it only from there. */
function inboxOnly(account: Account): Account {
  return { ...account, sharedInbox: null };
}
