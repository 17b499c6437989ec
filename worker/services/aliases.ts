/**
 * The owner's aliases: the accounts listed in the actor's `alsoKnownAs`, which a move from one of
 * them to Perch needs (the old server checks that the target names it), as Mastodon's aliases do.
 * https://docs.joinmastodon.org/user/moving/#migration
 */
import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import { accounts } from "../db/schema";
import { MovingError, resolveNamedAccount } from "./moving";
import { publishProfile } from "./profile";

/** As many as the owner could mean; a longer list would only make the actor document heavier. */
export const MAX_ALIASES = 20;

export async function listAliases(ctx: Ctx): Promise<string[]> {
  return (await ctx.instance()).owner.alsoKnownAs;
}

/**
 * Adds the account named by handle or URL, resolved and stored as its actor URI, then federates the
 * changed actor (an Update to the followers, through the delivery queue). Adding one twice is a
 * no-op. Returns the aliases.
 */
export async function addAlias(ctx: Ctx, input: string): Promise<string[]> {
  const current = await listAliases(ctx);
  const account = await resolveNamedAccount(ctx, input);
  if (current.includes(account.uri)) return current;
  if (current.length >= MAX_ALIASES)
    throw new MovingError(422, `At most ${MAX_ALIASES} aliases can be listed`, "too_many");
  return saveAliases(ctx, [...current, account.uri]);
}

/**
 * Removes an alias given as it is stored (the actor URI), or by handle or URL, which is resolved
 * only when it is not a stored URI (an old account may be gone by now).
 */
export async function removeAlias(ctx: Ctx, input: string): Promise<string[]> {
  const current = await listAliases(ctx);
  const typed = input.trim();
  let uri = current.includes(typed) ? typed : undefined;
  if (!uri) uri = (await resolveNamedAccount(ctx, typed).catch(() => undefined))?.uri;
  if (!uri || !current.includes(uri))
    throw new MovingError(404, `${typed || "That account"} is not an alias of this account`, "not_alias");
  return saveAliases(
    ctx,
    current.filter((a) => a !== uri),
  );
}

async function saveAliases(ctx: Ctx, aliases: string[]): Promise<string[]> {
  const { owner } = await ctx.instance();
  await ctx.db
    .update(accounts)
    .set({ alsoKnownAs: aliases, updatedAt: new Date().toISOString() })
    .where(eq(accounts.id, owner.id));
  const fresh = await publishProfile(ctx);
  return fresh.alsoKnownAs;
}
