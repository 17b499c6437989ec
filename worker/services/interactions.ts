import { and, count, eq, isNull, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { favourites, pins, statuses } from "../db/schema";
import { PUBLIC } from "../federation/jsonld";
import { renderAnnounce } from "../federation/note";
import { uris } from "../federation/uris";
import { newId } from "../lib/ids";
import { findAccountById } from "./accounts";
import {
  favouriteInsertCount,
  favouriteRemovalCount,
  lastStatusAt,
  statusInsertCounts,
  statusRemovalCounts,
} from "./counters";
import { deliver } from "./delivery";
import { resolveStatus } from "./remote-statuses";

export class InteractionError extends Error {
  override name = "InteractionError";
}

async function authorOf(ctx: Ctx, status: Status) {
  const author = await findAccountById(ctx, status.accountId);
  if (!author) throw new Error(`status ${status.id} has no author row`);
  return author;
}

/** Likes a status by URI (fetched if unknown); the Like goes to its author. */
export async function like(ctx: Ctx, statusUri: string): Promise<Status> {
  const { owner } = await ctx.instance();
  const status = await resolveStatus(ctx, statusUri);
  if (status.deletedAt) throw new InteractionError("That post was deleted");
  const existing = await findLike(ctx, owner.id, status.id);
  if (existing) return status;
  const id = newId();
  const uri = uris(ctx.config).activity(id);
  await ctx.db.batch([
    favouriteInsertCount(ctx, { statusId: status.id, uri }),
    ctx.db.insert(favourites).values({ id, accountId: owner.id, statusId: status.id, uri }),
  ]);
  const author = await authorOf(ctx, status);
  await deliver(
    ctx,
    { id: uri, type: "Like", actor: uris(ctx.config).actor, object: status.uri },
    { accounts: [author] },
  );
  return status;
}

export async function unlike(ctx: Ctx, statusUri: string): Promise<boolean> {
  const { owner } = await ctx.instance();
  const status = await resolveStatus(ctx, statusUri);
  const existing = await findLike(ctx, owner.id, status.id);
  if (!existing) return false;
  await ctx.db.batch([
    favouriteRemovalCount(ctx, (f) => sql`${f}.id = ${existing.id}`),
    ctx.db.delete(favourites).where(eq(favourites.id, existing.id)),
  ]);
  const actor = uris(ctx.config).actor;
  await deliver(
    ctx,
    {
      id: `${existing.uri}/undo`,
      type: "Undo",
      actor,
      object: { id: existing.uri, type: "Like", actor, object: status.uri },
    },
    { accounts: [await authorOf(ctx, status)] },
  );
  return true;
}

/** Boosts a public or unlisted status: an Announce to the owner's followers and the author. */
export async function announce(
  ctx: Ctx,
  statusUri: string,
  visibility: "public" | "unlisted" | "private" = "public",
): Promise<Status> {
  const { owner } = await ctx.instance();
  const target = await resolveStatus(ctx, statusUri);
  if (target.deletedAt) throw new InteractionError("That post was deleted");
  if (target.reblogOfId) throw new InteractionError("A boost cannot be boosted");
  // Mastodon lets the author boost their own followers-only post to the same followers.
  const ownPrivate = target.visibility === "private" && target.accountId === owner.id;
  if (target.visibility !== "public" && target.visibility !== "unlisted" && !ownPrivate) {
    throw new InteractionError("Only public and unlisted posts can be boosted");
  }
  if (ownPrivate) visibility = "private";
  const existing = await findBoost(ctx, owner.id, target.id);
  if (existing) return existing;
  const u = uris(ctx.config);
  const id = newId();
  const uri = u.statusActivity(id);
  const counts = statusInsertCounts(ctx, { uri, accountId: owner.id, reblogOfId: target.id });
  const audience = boostAudience(
    u.followers,
    visibility,
    target.local ? [] : [(await authorOf(ctx, target)).uri],
  );
  const results = await ctx.db.batch([
    ...counts.before,
    ctx.db
      .insert(statuses)
      .values({
        id,
        uri,
        accountId: owner.id,
        local: true,
        visibility,
        reblogOfId: target.id,
        audience,
        publishedAt: new Date().toISOString(),
      })
      .returning(),
    ...counts.after,
  ]);
  const inserted = results[counts.before.length] as Status[];
  const boost = inserted[0];
  if (!boost) throw new Error("insert returned no boost");
  const author = await authorOf(ctx, target);
  await deliver(ctx, renderAnnounce(ctx.config, boost, target.uri), { followers: true, accounts: [author] });
  return boost;
}

export async function unannounce(ctx: Ctx, statusUri: string): Promise<boolean> {
  const { owner } = await ctx.instance();
  const target = await resolveStatus(ctx, statusUri);
  const boost = await findBoost(ctx, owner.id, target.id);
  if (!boost) return false;
  await ctx.db.batch([
    ...statusRemovalCounts(ctx, (b) => sql`${b}.id = ${boost.id}`, { replies: false }),
    ctx.db.delete(statuses).where(eq(statuses.id, boost.id)),
    lastStatusAt(ctx, owner.id),
  ]);
  const u = uris(ctx.config);
  await deliver(
    ctx,
    {
      id: `${boost.uri}/undo`,
      type: "Undo",
      actor: u.actor,
      object: renderAnnounce(ctx.config, boost, target.uri),
    },
    { followers: true, accounts: [await authorOf(ctx, target)] },
  );
  return true;
}

function boostAudience(followers: string, visibility: "public" | "unlisted" | "private", author: string[]) {
  if (visibility === "public") return { to: [PUBLIC], cc: [followers, ...author] };
  if (visibility === "unlisted") return { to: [followers], cc: [PUBLIC, ...author] };
  return { to: [followers], cc: author };
}

/** The owner's most pinned posts, as Mastodon allows. */
export const MAX_PINS = 5;

/**
 * Pins one of the owner's public or unlisted posts to the profile and federates an Add to the
 * featured collection. Pinning a pinned post again changes nothing.
 */
export async function pin(ctx: Ctx, status: Status): Promise<void> {
  const { owner } = await ctx.instance();
  if (status.accountId !== owner.id || status.reblogOfId || status.deletedAt) {
    throw new InteractionError("Validation failed: only your own posts can be pinned");
  }
  if (status.visibility !== "public" && status.visibility !== "unlisted") {
    throw new InteractionError("Validation failed: only public and unlisted posts can be pinned");
  }
  const [pinned] = await ctx.db.select({ n: count() }).from(pins).where(eq(pins.accountId, owner.id));
  const already = await ctx.db
    .select()
    .from(pins)
    .where(and(eq(pins.accountId, owner.id), eq(pins.statusId, status.id)))
    .limit(1);
  if (already.length) return;
  if ((pinned?.n ?? 0) >= MAX_PINS) {
    throw new InteractionError(`Validation failed: you can pin at most ${MAX_PINS} posts`);
  }
  await ctx.db.insert(pins).values({ accountId: owner.id, statusId: status.id }).onConflictDoNothing();
  await deliverFeatured(ctx, "Add", status);
}

export async function unpin(ctx: Ctx, status: Status): Promise<boolean> {
  const { owner } = await ctx.instance();
  const removed = await ctx.db
    .delete(pins)
    .where(and(eq(pins.accountId, owner.id), eq(pins.statusId, status.id)))
    .returning();
  if (removed.length === 0) return false;
  await deliverFeatured(ctx, "Remove", status);
  return true;
}

async function deliverFeatured(ctx: Ctx, type: "Add" | "Remove", status: Status) {
  const u = uris(ctx.config);
  await deliver(
    ctx,
    {
      id: u.activity(newId()),
      type,
      actor: u.actor,
      to: [PUBLIC],
      cc: [u.followers],
      object: status.uri,
      target: u.featured,
    },
    { followers: true },
  );
}

async function findLike(ctx: Ctx, accountId: string, statusId: string) {
  return (
    await ctx.db
      .select()
      .from(favourites)
      .where(
        and(eq(favourites.accountId, accountId), eq(favourites.statusId, statusId), isNull(favourites.emoji)),
      )
      .limit(1)
  )[0];
}

async function findBoost(ctx: Ctx, accountId: string, statusId: string) {
  return (
    await ctx.db
      .select()
      .from(statuses)
      .where(and(eq(statuses.accountId, accountId), eq(statuses.reblogOfId, statusId)))
      .limit(1)
  )[0];
}
