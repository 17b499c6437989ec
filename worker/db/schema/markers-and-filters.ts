/**
 * The owner's reading state: read positions per timeline, and filters with their keywords and statuses.
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

/** Read positions per timeline ("home", "notifications"), as the markers API keeps them. */
export const markers = sqliteTable("markers", {
  timeline: text("timeline").primaryKey(),
  lastReadId: text("last_read_id").notNull(),
  version: integer("version").notNull().default(1),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Filters v2: a title, where it applies, what it does, and its keywords and statuses. */
export const filters = sqliteTable("filters", {
  id: text("id").primaryKey(),
  title: text("title").notNull(),
  context: text("context", { mode: "json" }).$type<string[]>().notNull(),
  action: text("action").$type<"warn" | "hide" | "blur">().notNull().default("warn"),
  expiresAt: text("expires_at"),
  createdAt: text("created_at").notNull().default(now),
});

export const filterKeywords = sqliteTable(
  "filter_keywords",
  {
    id: text("id").primaryKey(),
    filterId: text("filter_id").notNull(),
    keyword: text("keyword").notNull(),
    wholeWord: integer("whole_word", { mode: "boolean" }).notNull().default(true),
  },
  (t) => [index("filter_keywords_filter").on(t.filterId)],
);

export const filterStatuses = sqliteTable(
  "filter_statuses",
  {
    id: text("id").primaryKey(),
    filterId: text("filter_id").notNull(),
    statusId: text("status_id").notNull(),
  },
  (t) => [index("filter_statuses_filter").on(t.filterId)],
);
