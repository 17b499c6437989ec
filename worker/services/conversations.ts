import { eq, inArray } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { conversations, statuses } from "../db/schema";
import { newId } from "../lib/ids";

/**
 * Records a direct status (local or received) in its conversation: a reply joins the conversation of
 * its parent when the parent is known to be in one, otherwise the status starts a conversation keyed
 * by its thread's root URI. A received status marks the conversation unread; the owner's own does not.
 */
export async function recordConversation(ctx: Ctx, status: Status): Promise<void> {
  if (status.visibility !== "direct" || status.reblogOfId) return;
  let rootUri = status.inReplyToUri ?? status.uri;
  if (status.inReplyToUri) {
    // The parent may itself be a reply: its conversation (if any) is found through its own last
    // status or root; look the parent's conversation up by the parent being a conversation's root or
    // its latest status.
    const parent = (
      await ctx.db.select().from(statuses).where(eq(statuses.uri, status.inReplyToUri)).limit(1)
    )[0];
    if (parent) {
      const found = (
        await ctx.db
          .select()
          .from(conversations)
          .where(inArray(conversations.rootUri, [parent.uri, parent.inReplyToUri ?? parent.uri]))
          .limit(1)
      )[0];
      const byLast = found
        ? undefined
        : (
            await ctx.db
              .select()
              .from(conversations)
              .where(eq(conversations.lastStatusId, parent.id))
              .limit(1)
          )[0];
      rootUri = (found ?? byLast)?.rootUri ?? parent.uri;
    }
  }
  const now = new Date().toISOString();
  await ctx.db
    .insert(conversations)
    .values({ id: newId(), rootUri, lastStatusId: status.id, unread: !status.local, updatedAt: now })
    .onConflictDoUpdate({
      target: conversations.rootUri,
      set: { lastStatusId: status.id, unread: !status.local, updatedAt: now },
    });
}
