/**
 * Who relates to whom: follows, blocks, mutes, blocked domains, the owner's notes on accounts, lists,
 * endorsements, and featured and followed hashtags.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { now } from "./defaults";

/**
 * Follow relationships in both directions. `accepted` is false while a follow request is pending.
 * `uri` is the Follow activity's id, which Accept/Reject/Undo refer to.
 */
export const follows = sqliteTable(
  "follows",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    targetAccountId: text("target_account_id").notNull(),
    uri: text("uri").notNull(),
    accepted: integer("accepted", { mode: "boolean" }).notNull().default(false),
    /** For the owner's follows: show their boosts at home, notify on each post. */
    showReblogs: integer("show_reblogs", { mode: "boolean" }).notNull().default(true),
    notify: integer("notify", { mode: "boolean" }).notNull().default(false),
    languages: text("languages", { mode: "json" }).$type<string[] | null>(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("follows_pair").on(t.accountId, t.targetAccountId),
    index("follows_target").on(t.targetAccountId, t.accepted),
    index("follows_uri").on(t.uri),
    // The home timeline probes, per entry, the follow of its author for hidden boosts or chosen
    // languages: these partial indexes hold only such follows, so for the rest the probe reads nothing.
    index("follows_no_reblogs")
      .on(t.accountId, t.targetAccountId)
      .where(sql`show_reblogs = 0`),
    index("follows_languages")
      .on(t.accountId, t.targetAccountId)
      .where(sql`languages IS NOT NULL`),
  ],
);

export const blocks = sqliteTable(
  "blocks",
  {
    accountId: text("account_id").notNull(),
    targetAccountId: text("target_account_id").notNull(),
    uri: text("uri"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.targetAccountId] })],
);

/** Accounts the owner muted (optionally until `expiresAt`). */
export const mutes = sqliteTable("mutes", {
  targetAccountId: text("target_account_id").primaryKey(),
  id: text("id").notNull(),
  notifications: integer("notifications", { mode: "boolean" }).notNull().default(true),
  expiresAt: text("expires_at"),
  createdAt: text("created_at").notNull().default(now),
});

/** Domains the owner blocked: nothing from them is shown or accepted. */
export const domainBlocks = sqliteTable("domain_blocks", {
  domain: text("domain").primaryKey(),
  id: text("id").notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/** A private note the owner keeps about an account (Relationship.note). */
export const accountNotes = sqliteTable("account_notes", {
  targetAccountId: text("target_account_id").primaryKey(),
  note: text("note").notNull(),
});

export const lists = sqliteTable("lists", {
  id: text("id").primaryKey(),
  title: text("title").notNull(),
  repliesPolicy: text("replies_policy").$type<"followed" | "list" | "none">().notNull().default("list"),
  exclusive: integer("exclusive", { mode: "boolean" }).notNull().default(false),
  createdAt: text("created_at").notNull().default(now),
});

export const listAccounts = sqliteTable(
  "list_accounts",
  {
    listId: text("list_id").notNull(),
    accountId: text("account_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.listId, t.accountId] }), index("list_accounts_account").on(t.accountId)],
);

/** Accounts the owner features on their profile (endorsements). */
export const endorsements = sqliteTable("endorsements", {
  targetAccountId: text("target_account_id").primaryKey(),
  id: text("id").notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/** Hashtags the owner features on their profile. */
export const featuredTags = sqliteTable("featured_tags", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  createdAt: text("created_at").notNull().default(now),
});

/** Hashtags the owner follows: their posts appear at home. */
export const followedTags = sqliteTable("followed_tags", {
  name: text("name").primaryKey(),
  id: text("id").notNull(),
  createdAt: text("created_at").notNull().default(now),
});
