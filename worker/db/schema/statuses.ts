/**
 * Statuses and what belongs to each: tags, uploaded media, earlier versions, poll votes, and the
 * home feed that indexes those at home. Also the JSON shapes stored inside a status.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

export type Visibility = "public" | "unlisted" | "private" | "direct";

export interface Mention {
  uri: string;
  name: string;
  url?: string;
}

export interface Tag {
  name: string;
  href?: string;
}

export interface Attachment {
  /** For the owner's uploads: the media_attachments row it came from. */
  mediaId?: string;
  type: string;
  mediaType?: string;
  url: string;
  name?: string;
  blurhash?: string;
  width?: number;
  height?: number;
  /** Focal point, -1..1 on both axes (Mastodon's `toot:focalPoint`). */
  focus?: { x: number; y: number };
  previewUrl?: string;
}

export interface Poll {
  mode: "oneOf" | "anyOf";
  options: { name: string; votes: number }[];
  endTime?: string;
  closed?: string;
  votersCount?: number;
  /** The owner's polls only: per-option counts are hidden from others until the poll ends. */
  hideTotals?: boolean;
  /** Imported from an archive: it ended on the old server, so nobody is notified that it ended. */
  imported?: boolean;
}

/** Posts (Note, Question, Article), local and remote, and boosts (`reblogOfId` set). */
export const statuses = sqliteTable(
  "statuses",
  {
    id: text("id").primaryKey(),
    uri: text("uri").notNull(),
    url: text("url"),
    accountId: text("account_id").notNull(),
    local: integer("local", { mode: "boolean" }).notNull().default(false),
    type: text("type").notNull().default("Note"),
    visibility: text("visibility").$type<Visibility>().notNull(),
    /** Sanitized HTML. */
    content: text("content").notNull().default(""),
    /** For local posts: what the owner typed. */
    source: text("source"),
    spoilerText: text("spoiler_text").notNull().default(""),
    sensitive: integer("sensitive", { mode: "boolean" }).notNull().default(false),
    language: text("language"),
    inReplyToUri: text("in_reply_to_uri"),
    /** The parent's local row id and author, when the parent is stored (for context and threads). */
    inReplyToId: text("in_reply_to_id"),
    inReplyToAccountId: text("in_reply_to_account_id"),
    reblogOfId: text("reblog_of_id"),
    /** Addressing as it was federated: { to, cc }. */
    audience: text("audience", { mode: "json" }).$type<{ to: string[]; cc: string[] }>().notNull(),
    mentions: text("mentions", { mode: "json" }).$type<Mention[]>().notNull().default([]),
    tags: text("tags", { mode: "json" }).$type<Tag[]>().notNull().default([]),
    attachments: text("attachments", { mode: "json" }).$type<Attachment[]>().notNull().default([]),
    poll: text("poll", { mode: "json" }).$type<Poll>(),
    publishedAt: text("published_at").notNull(),
    editedAt: text("edited_at"),
    /** Set when deleted: the object then answers 410 with a Tombstone. */
    deletedAt: text("deleted_at"),
    createdAt: text("created_at").notNull().default(now),
    /**
     * Maintained like the account counts: replies and boosts not deleted, favourites (not emoji
     * reactions) stored here.
     */
    repliesCount: integer("replies_count").notNull().default(0),
    reblogsCount: integer("reblogs_count").notNull().default(0),
    favouritesCount: integer("favourites_count").notNull().default(0),
  },
  (t) => [
    uniqueIndex("statuses_uri").on(t.uri),
    index("statuses_account_id").on(t.accountId, t.id),
    // Partial indexes: only replies and boosts pay for them on insert.
    index("statuses_in_reply_to_uri")
      .on(t.inReplyToUri)
      .where(sql`in_reply_to_uri IS NOT NULL`),
    index("statuses_reblog_of_id")
      .on(t.reblogOfId)
      .where(sql`reblog_of_id IS NOT NULL`),
    // Tombstones per account, so a post count is two index-only counts (all minus deleted) instead
    // of reading every row of the account.
    index("statuses_deleted")
      .on(t.accountId)
      .where(sql`deleted_at IS NOT NULL`),
  ],
);

/** Tags of stored statuses (lower-cased name), for tag timelines, followed tags and trends. */
export const statusTags = sqliteTable(
  "status_tags",
  {
    name: text("name").notNull(),
    statusId: text("status_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.statusId] })],
);

/** Media the owner uploaded, stored in R2 under `key`; attached to a status once posted. */
export const mediaAttachments = sqliteTable(
  "media_attachments",
  {
    id: text("id").primaryKey(),
    statusId: text("status_id"),
    /** image, gifv, video, audio or unknown, as Mastodon's MediaAttachment.type. */
    type: text("type").notNull(),
    mimeType: text("mime_type").notNull(),
    key: text("key").notNull(),
    size: integer("size").notNull(),
    width: integer("width"),
    height: integer("height"),
    description: text("description"),
    focus: text("focus", { mode: "json" }).$type<{ x: number; y: number }>(),
    blurhash: text("blurhash"),
    thumbnailKey: text("thumbnail_key"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("media_status").on(t.statusId)],
);

/** Earlier versions of edited statuses (local and remote), for the edit history. */
export const statusEdits = sqliteTable(
  "status_edits",
  {
    id: text("id").primaryKey(),
    statusId: text("status_id").notNull(),
    content: text("content").notNull(),
    spoilerText: text("spoiler_text").notNull().default(""),
    sensitive: integer("sensitive", { mode: "boolean" }).notNull().default(false),
    attachments: text("attachments", { mode: "json" }).$type<Attachment[]>().notNull().default([]),
    poll: text("poll", { mode: "json" }).$type<Poll>(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("status_edits_status").on(t.statusId, t.id)],
);

/** Poll votes: the owner's on remote polls, and remote accounts' on the owner's polls. */
export const pollVotes = sqliteTable(
  "poll_votes",
  {
    statusId: text("status_id").notNull(),
    accountId: text("account_id").notNull(),
    choice: integer("choice").notNull(),
    uri: text("uri"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.statusId, t.accountId, t.choice] })],
);

/**
 * The statuses that belong at home, by id: the owner's, those of accounts the owner follows
 * (accepted), and public posts carrying a followed tag. It is kept by triggers (migration 0009), so
 * every way a status, a follow or a followed tag is written keeps it: a new status is added when its
 * author is followed (a boost unless its original is among the 40 newest entries, Mastodon's
 * REBLOG_FALLOFF), a tag when followed, and a follow's recent statuses are merged when it is accepted
 * and removed when it ends; tombstones and deleted statuses leave. The home timeline walks it, newest
 * first, instead of every stored status (most of which, with relays, are not at home), and tests the
 * rules that can change after a status arrived (mutes, blocks, show_reblogs, languages, exclusive
 * lists, replies) on each entry (services/timelines.ts).
 */
export const homeFeed = sqliteTable("home_feed", {
  statusId: text("status_id").primaryKey(),
});
