/** Deleting a local post: it becomes a tombstone, and a Delete is federated. */
import { eq, sql } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { mediaAttachments, pins, statusTags, statuses } from "../db/schema";
import { uris } from "../federation/uris";
import { lastStatusAt, statusRemovalCounts } from "./counters";
import { deliver } from "./delivery";
import { mentionedAccounts, ownLiveStatus } from "./post-content";

/**
 * Deletes a local status: it becomes a tombstone (410), leaves the pinned posts and tag timelines,
 * and a Delete is federated. Its media rows stay, for delete-and-redraft.
 */
export async function deleteNote(ctx: Ctx, id: string): Promise<Status> {
  const status = await ownLiveStatus(ctx, id);
  const now = new Date().toISOString();
  await ctx.db.batch([
    ...statusRemovalCounts(ctx, (s) => sql`${s}.id = ${id}`),
    ctx.db.update(statuses).set({ deletedAt: now, content: "", source: null }).where(eq(statuses.id, id)),
    lastStatusAt(ctx, status.accountId),
    ctx.db.delete(pins).where(eq(pins.statusId, id)),
    ctx.db.delete(statusTags).where(eq(statusTags.statusId, id)),
    ctx.db.update(mediaAttachments).set({ statusId: null }).where(eq(mediaAttachments.statusId, id)),
  ]);
  const u = uris(ctx.config);
  await deliver(
    ctx,
    {
      id: `${status.uri}#delete`,
      type: "Delete",
      actor: u.actor,
      to: status.audience.to,
      cc: status.audience.cc,
      object: { id: status.uri, type: "Tombstone" },
    },
    { followers: status.visibility !== "direct", accounts: await mentionedAccounts(ctx, status) },
  );
  return status;
}
