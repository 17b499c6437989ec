/**
 * Relay subscriptions, their hourly counts and the lean posts they bring, and the R2 cache of remote
 * media.
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Attachment, Mention, Poll, Tag } from "./statuses";
import { now } from "./defaults";

export type RelayProtocol = "mastodon" | "litepub";

export type RelayState = "pending" | "accepted" | "rejected";

/**
 * Relays the owner subscribed to (FEP-ae0c), Mastodon style (the instance actor's Follow of the Public
 * collection sent to the relay's inbox) or LitePub style (the instance actor follows the relay actor).
 * The budget columns are the owner's; defaults are sized for the Free plan (services/relay-budgets.ts).
 */
export const relays = sqliteTable(
  "relays",
  {
    id: text("id").primaryKey(),
    /** What the owner typed, normalized: the relay's inbox (Mastodon style) or actor. */
    url: text("url").notNull(),
    host: text("host").notNull(),
    protocol: text("protocol").$type<RelayProtocol>().notNull(),
    /** The relay's actor, when it has one that could be looked up. */
    actorUri: text("actor_uri"),
    inbox: text("inbox").notNull(),
    /** The id of the Follow Perch sent, which the relay's Accept or Reject refers to. */
    followId: text("follow_id").notNull(),
    state: text("state").$type<RelayState>().notNull().default("pending"),
    stateChangedAt: text("state_changed_at").notNull().default(now),
    /** Why the relay refused, as it said it (a Reject's summary or content), cleaned. */
    rejectReason: text("reject_reason"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** Posts stored per UTC day at most. */
    dailyCap: integer("daily_cap").notNull(),
    /** Activities taken per minute at most. */
    rateCap: integer("rate_cap").notNull(),
    /** Keep only posts in these languages (ISO 639-1); empty keeps all. */
    languages: text("languages", { mode: "json" }).$type<string[]>().notNull().default([]),
    /** Keep only posts carrying one of these (normalized) tags; empty keeps all. */
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
    /** Spread the daily cap over the day by keeping a deterministic sample when ahead of pace. */
    sampling: integer("sampling", { mode: "boolean" }).notNull().default(true),
    lastActivityAt: text("last_activity_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("relays_follow_id").on(t.followId)],
);

/**
 * Every relayed activity, counted into exactly one bucket, per relay per UTC hour (`hour` is
 * "YYYY-MM-DDTHH"). WITHOUT ROWID (migration 0007): one row written per counter update.
 */
export const relayStats = sqliteTable(
  "relay_stats",
  {
    relayId: text("relay_id").notNull(),
    hour: text("hour").notNull(),
    stored: integer("stored").notNull().default(0),
    duplicate: integer("duplicate").notNull().default(0),
    filtered: integer("filtered").notNull().default(0),
    sampled: integer("sampled").notNull().default(0),
    capped: integer("capped").notNull().default(0),
    unauthenticated: integer("unauthenticated").notNull().default(0),
    invalid: integer("invalid").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.relayId, t.hour] })],
);

/**
 * Posts that arrived through a relay and nobody has interacted with: one lean row each, kept apart
 * from `statuses` so that the home timeline never walks them and a stored post costs two rows written
 * (WITHOUT ROWID, migration 0007: the row, and the uri index that deduplicates). Its id is taken
 * from when it arrived, so the cron's counts and pruning are range scans. A post the owner opens,
 * favourites, boosts, bookmarks or answers moves to `statuses` with the same id (services/relay-posts.ts).
 */
export const relayPosts = sqliteTable(
  "relay_posts",
  {
    id: text("id").primaryKey(),
    uri: text("uri").notNull(),
    url: text("url"),
    accountId: text("account_id").notNull(),
    relayId: text("relay_id").notNull(),
    type: text("type").notNull().default("Note"),
    visibility: text("visibility").$type<"public" | "unlisted">().notNull(),
    content: text("content").notNull().default(""),
    spoilerText: text("spoiler_text").notNull().default(""),
    sensitive: integer("sensitive", { mode: "boolean" }).notNull().default(false),
    language: text("language"),
    inReplyToUri: text("in_reply_to_uri"),
    mentions: text("mentions", { mode: "json" }).$type<Mention[]>().notNull().default([]),
    tags: text("tags", { mode: "json" }).$type<Tag[]>().notNull().default([]),
    attachments: text("attachments", { mode: "json" }).$type<Attachment[]>().notNull().default([]),
    poll: text("poll", { mode: "json" }).$type<Poll>(),
    publishedAt: text("published_at").notNull(),
    editedAt: text("edited_at"),
  },
  (t) => [uniqueIndex("relay_posts_uri").on(t.uri)],
);

/**
 * Remote media kept in R2 after someone looked at it, under a byte budget: least recently used first
 * out. Keyed by the SHA-256 of the remote URL (hex).
 */
export const mediaCache = sqliteTable(
  "media_cache",
  {
    urlHash: text("url_hash").primaryKey(),
    url: text("url").notNull(),
    contentType: text("content_type").notNull(),
    bytes: integer("bytes").notNull(),
    lastUsedAt: text("last_used_at").notNull().default(now),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("media_cache_last_used").on(t.lastUsedAt)],
);
