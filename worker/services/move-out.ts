/**
 * Moving the owner to another account (Move out), and taking the redirect back. The rules are
 * Mastodon's: the target, fetched fresh, must list this actor in `alsoKnownAs`; a move is refused
 * while the previous one is less than 30 days old (taking the redirect back does not reset that);
 * followers are sent a Move (actor = object = the owner, target = the new account) whose servers
 * then follow the new account.
 * https://docs.joinmastodon.org/spec/activitypub/#Move
 * https://docs.joinmastodon.org/user/moving/#migration
 */
import { desc, eq } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Account } from "../db/client";
import { accountMoves, accounts } from "../db/schema";
import { uris } from "../federation/uris";
import { newId } from "../lib/ids";
import { deliver } from "./delivery";
import { MovingError, resolveNamedAccount } from "./moving";
import { publishProfile } from "./profile";

export const MOVE_COOLDOWN_MS = 30 * 24 * 60 * 60 * 1000;

export interface MoveState {
  /** The account the owner moved to, or null. */
  movedTo: string | null;
  /** When the last move was made, and until when another one is refused. */
  lastMoveAt: string | null;
  cooldownUntil: string | null;
}

export async function moveState(ctx: Ctx): Promise<MoveState> {
  const { owner } = await ctx.instance();
  const last = await lastMove(ctx);
  const until = last ? Date.parse(last.createdAt) + MOVE_COOLDOWN_MS : 0;
  return {
    movedTo: owner.movedTo,
    lastMoveAt: last?.createdAt ?? null,
    cooldownUntil: until > Date.now() ? new Date(until).toISOString() : null,
  };
}

async function lastMove(ctx: Ctx) {
  return (await ctx.db.select().from(accountMoves).orderBy(desc(accountMoves.id)).limit(1))[0];
}

/** The Move sent to the followers (Mastodon's shape: no addressing, the owner as actor and object). */
export function moveActivity(ctx: Ctx, id: string, target: string): Record<string, unknown> {
  const u = uris(ctx.config);
  return { id: `${u.actor}#moves/${id}`, type: "Move", actor: u.actor, object: u.actor, target };
}

/**
 * Moves the owner to the account named by handle or URL: checks the cooldown and the target's
 * alias, records the move and `movedTo` in one batch, then queues an Update of the actor and the
 * Move for every follower's (shared) inbox. Returns the target and how many inboxes were queued.
 */
export async function moveTo(ctx: Ctx, input: string): Promise<{ target: Account; inboxes: number }> {
  const { cooldownUntil } = await moveState(ctx);
  if (cooldownUntil)
    throw new MovingError(
      422,
      `This account moved less than 30 days ago; it can move again after ${cooldownUntil}`,
      "cooldown",
    );
  const { owner } = await ctx.instance();
  const target = await resolveNamedAccount(ctx, input, { refresh: true });
  const actor = uris(ctx.config).actor;
  if (!target.alsoKnownAs.includes(actor))
    throw new MovingError(
      422,
      `${target.username}@${target.domain} does not list this account (${actor}) as an alias; add it there first`,
      "missing_alias",
    );
  if (owner.movedTo === target.uri)
    throw new MovingError(422, "This account has already moved to that account", "already_moved");
  const id = newId();
  await ctx.db.batch([
    ctx.db.insert(accountMoves).values({ id, targetUri: target.uri, followersCount: owner.followersCount }),
    ctx.db
      .update(accounts)
      .set({ movedTo: target.uri, updatedAt: new Date().toISOString() })
      .where(eq(accounts.id, owner.id)),
  ]);
  await publishProfile(ctx);
  const inboxes = await deliver(ctx, moveActivity(ctx, id, target.uri), { followers: true });
  return { target, inboxes };
}

/**
 * Takes the redirect back: `movedTo` is cleared and the actor federated again. Followers already
 * gone to the new account stay there; the cooldown still counts from the move.
 */
export async function cancelMove(ctx: Ctx): Promise<boolean> {
  const { owner } = await ctx.instance();
  if (!owner.movedTo) return false;
  await ctx.db
    .update(accounts)
    .set({ movedTo: null, updatedAt: new Date().toISOString() })
    .where(eq(accounts.id, owner.id));
  await publishProfile(ctx);
  return true;
}
