import { eq } from "drizzle-orm";
import type { Ctx } from "../context";
import type { Status } from "../db/client";
import { bookmarks } from "../db/schema";
import { newId } from "../lib/ids";

/** Bookmarks a status for the owner; bookmarking it again changes nothing. */
export async function bookmark(ctx: Ctx, status: Status): Promise<void> {
  await ctx.db.insert(bookmarks).values({ id: newId(), statusId: status.id }).onConflictDoNothing();
}

export async function unbookmark(ctx: Ctx, statusId: string): Promise<void> {
  await ctx.db.delete(bookmarks).where(eq(bookmarks.statusId, statusId));
}
