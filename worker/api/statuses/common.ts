import type { Context } from "hono";
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { AppEnv } from "../../app";
import type { Ctx } from "../../context";
import type { Status } from "../../db/client";
import { relayPosts, settings, statuses } from "../../db/schema";
import { promoteRelayPost, relayPostAsStatus } from "../../services/relay-posts";
import { notFound } from "../../lib/errors";
import { requireToken } from "../../oauth/middleware";
import { presentStatuses, type PresentOptions, type SerializedStatus } from "../entities/status";

/**
 * True when the request carries a valid token with `scope` (the owner is looking); false when it
 * carries none. A token that is present but invalid or lacks the scope is refused (401/403), as on
 * Mastodon, rather than silently treated as anonymous.
 */
export async function ownerViewing(c: Context<AppEnv>, scope = "read:statuses"): Promise<boolean> {
  if (!c.req.header("authorization")) return false;
  await requireToken(scope, { user: true })(c, async () => {});
  return true;
}

/** May this status be shown: the owner sees everything stored, anyone else public and unlisted posts. */
export function canSee(s: Status, owner: boolean): boolean {
  if (s.deletedAt) return false;
  return owner || s.visibility === "public" || s.visibility === "unlisted";
}

/** A stored, live status by id that the viewer may see, else 404 (never revealing that it exists). */
export async function findVisible(ctx: Ctx, id: string, owner: boolean): Promise<Status> {
  if (!/^\d{1,20}$/.test(id)) throw notFound();
  const row =
    (await ctx.db.select().from(statuses).where(eq(statuses.id, id)).limit(1))[0] ??
    (await relayedById(ctx, id, owner));
  if (!row || !canSee(row, owner)) throw notFound();
  if (row.reblogOfId) {
    const original = (
      await ctx.db.select().from(statuses).where(eq(statuses.id, row.reblogOfId)).limit(1)
    )[0];
    if (!original || !canSee(original, owner)) throw notFound();
  }
  return row;
}

/**
 * A relayed post by id: when the owner opens or acts on it, it becomes a status (it is wanted now, and
 * favourites, boosts and replies need a status row); anyone else sees it as it is, nothing written.
 */
async function relayedById(ctx: Ctx, id: string, owner: boolean): Promise<Status | undefined> {
  if (owner) return promoteRelayPost(ctx, { id });
  const post = (await ctx.db.select().from(relayPosts).where(eq(relayPosts.id, id)).limit(1))[0];
  return post ? relayPostAsStatus(post) : undefined;
}

/** The original a boost points at (or the status itself), live. */
export async function originalOf(ctx: Ctx, s: Status): Promise<Status> {
  if (!s.reblogOfId) return s;
  const row = (
    await ctx.db
      .select()
      .from(statuses)
      .where(and(eq(statuses.id, s.reblogOfId), isNull(statuses.deletedAt)))
      .limit(1)
  )[0];
  if (!row) throw notFound();
  return row;
}

export const MUTED_CONVERSATIONS = "muted_conversations";

/** Thread root URIs of the conversations the owner muted (settings "muted_conversations"). */
export async function mutedRoots(ctx: Ctx): Promise<Set<string>> {
  const row = (await ctx.db.select().from(settings).where(eq(settings.key, MUTED_CONVERSATIONS)).limit(1))[0];
  return new Set(
    Array.isArray(row?.value) ? (row.value as unknown[]).filter((x) => typeof x === "string") : [],
  );
}

export async function saveMutedRoots(ctx: Ctx, roots: Set<string>): Promise<void> {
  const value = [...roots].slice(-1000);
  await ctx.db
    .insert(settings)
    .values({ key: MUTED_CONVERSATIONS, value })
    .onConflictDoUpdate({ target: settings.key, set: { value } });
}

/** The stored ancestors of a status, nearest first (at most `max`), by walking in_reply_to_uri up. */
export async function ancestorsOf(ctx: Ctx, s: Status, max = 40): Promise<Status[]> {
  const out: Status[] = [];
  const seen = new Set([s.uri]);
  let uri = s.inReplyToUri;
  while (uri && out.length < max && !seen.has(uri)) {
    seen.add(uri);
    const parent = (await ctx.db.select().from(statuses).where(eq(statuses.uri, uri)).limit(1))[0];
    if (!parent) break;
    out.push(parent);
    uri = parent.inReplyToUri;
  }
  return out;
}

/**
 * The URI a thread is known by: its root's, or, when the root is not stored, the URI the topmost
 * stored post replies to (so the whole thread still shares one key).
 */
export async function threadRootUri(ctx: Ctx, s: Status): Promise<string> {
  const ancestors = await ancestorsOf(ctx, s, 100);
  const top = ancestors[ancestors.length - 1] ?? s;
  return top.inReplyToUri ?? top.uri;
}

/**
 * Presents statuses and sets `muted` for those in a conversation the owner muted (what
 * presentStatuses does not know about).
 */
export async function present(
  ctx: Ctx,
  rows: Status[],
  opts: PresentOptions = {},
): Promise<SerializedStatus[]> {
  const out = await presentStatuses(ctx, rows, opts);
  const muted = await mutedRoots(ctx);
  if (muted.size === 0) return out;
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const s of out) {
    const row = byId.get(s.id);
    if (!row) continue;
    const target = row.reblogOfId ? await originalOf(ctx, row).catch(() => undefined) : row;
    if (!target) continue;
    const isMuted = muted.has(await threadRootUri(ctx, target));
    const inner = (s.reblog as SerializedStatus | null) ?? s;
    inner.muted = isMuted;
  }
  return out;
}

export async function presentOne(
  ctx: Ctx,
  row: Status,
  opts: PresentOptions = {},
): Promise<SerializedStatus> {
  const [s] = await present(ctx, [row], opts);
  if (!s) throw notFound();
  return s;
}

/** Rows by id, in the order given. */
export async function rowsByIds(ctx: Ctx, ids: string[]): Promise<Status[]> {
  if (ids.length === 0) return [];
  const rows = await ctx.db.select().from(statuses).where(inArray(statuses.id, ids));
  return ids.map((id) => rows.find((r) => r.id === id)).filter((r): r is Status => !!r);
}
