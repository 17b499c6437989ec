/** The owner's moves to other accounts (Move out), kept for the cooldown between two moves. */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

/**
 * One row per move the owner made: where to, and how many followers were told. Rows are never
 * deleted, not even when the owner takes the redirect back, because the cooldown counts from the
 * last move made (services/move-out.ts), as Mastodon's does.
 */
export const accountMoves = sqliteTable("account_moves", {
  id: text("id").primaryKey(),
  targetUri: text("target_uri").notNull(),
  followersCount: integer("followers_count").notNull().default(0),
  createdAt: text("created_at").notNull().default(now),
});
