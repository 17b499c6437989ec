/**
 * What happens to statuses and the owner: favourites and reactions, bookmarks, pins, notifications
 * and direct-message conversations.
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

/** Likes and emoji reactions (`emoji` null for a plain Like). */
export const favourites = sqliteTable(
  "favourites",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    statusId: text("status_id").notNull(),
    uri: text("uri").notNull(),
    emoji: text("emoji"),
    /** A custom emoji's image (an http(s) URL from the reaction's `Emoji` tag). */
    emojiUrl: text("emoji_url"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("favourites_uri").on(t.uri), index("favourites_status").on(t.statusId)],
);

/** The owner's bookmarks; `id` orders the bookmarks list. */
export const bookmarks = sqliteTable(
  "bookmarks",
  {
    id: text("id").primaryKey(),
    statusId: text("status_id").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("bookmarks_status").on(t.statusId)],
);

/** Pinned posts (the `featured` collection), for the owner and remote accounts. */
export const pins = sqliteTable(
  "pins",
  {
    accountId: text("account_id").notNull(),
    statusId: text("status_id").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.statusId] })],
);

export type NotificationType =
  | "mention"
  | "status"
  | "reblog"
  | "follow"
  | "follow_request"
  | "favourite"
  | "poll"
  | "update"
  | "move"
  | "admin.sign_up"
  | "admin.report"
  | "severed_relationships"
  | "moderation_warning"
  /** An emoji reaction to the owner's post (Pleroma's type, which Pleroma-style clients show). */
  | "pleroma:emoji_reaction";

/** The owner's notifications. `groupKey` groups them for the v2 API (e.g. `favourite-<statusId>`). */
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    type: text("type").$type<NotificationType>().notNull(),
    fromAccountId: text("from_account_id").notNull(),
    statusId: text("status_id"),
    groupKey: text("group_key").notNull(),
    /** The activity that caused it, so a redelivered or undone activity finds its notification. */
    activityUri: text("activity_uri"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("notifications_group").on(t.groupKey, t.id)],
);

/** Direct-message threads for the conversations API, keyed by the thread's root status URI. */
export const conversations = sqliteTable("conversations", {
  id: text("id").primaryKey(),
  rootUri: text("root_uri").notNull().unique(),
  lastStatusId: text("last_status_id").notNull(),
  unread: integer("unread", { mode: "boolean" }).notNull().default(true),
  updatedAt: text("updated_at").notNull().default(now),
});
