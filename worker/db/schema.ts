/**
 * The single source of truth for Perch's D1 schema. `npm run db:generate` turns changes here into
 * numbered SQL files in migrations/, which wrangler and the tests apply.
 *
 * Ids are numeric strings that sort by time (see lib/ids.ts), stored as TEXT so that JavaScript never
 * rounds them. Every index costs a row written per insert on D1, so indexes are added only for a query
 * that needs them.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/**
 * One row: the identity this server federates as, and its keys. The identity is recorded on first start
 * and locked once the server has federated (see services/instance.ts).
 */
export const instance = sqliteTable("instance", {
  id: integer("id").primaryKey(),
  accountDomain: text("account_domain").notNull(),
  webDomain: text("web_domain").notNull(),
  username: text("username").notNull(),
  ownerId: text("owner_id").notNull(),
  federatedAt: text("federated_at"),
  /** RSA-2048 (RSASSA-PKCS1-v1_5) keys, SPKI PEM public and PKCS#8 base64 private, for the owner. */
  rsaPublicKeyPem: text("rsa_public_key_pem").notNull(),
  rsaPrivateKey: text("rsa_private_key").notNull(),
  /** Ed25519 keys for FEP-8b32 proofs, as Multikey multibase (FEP-521a). */
  ed25519PublicKey: text("ed25519_public_key").notNull(),
  ed25519PrivateKey: text("ed25519_private_key").notNull(),
  /** The instance actor's own RSA keys, used for signed fetches. */
  appRsaPublicKeyPem: text("app_rsa_public_key_pem").notNull(),
  appRsaPrivateKey: text("app_rsa_private_key").notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/** Local and remote accounts. The owner is the one row with `local = true`. */
export const accounts = sqliteTable(
  "accounts",
  {
    id: text("id").primaryKey(),
    uri: text("uri").notNull(),
    url: text("url"),
    local: integer("local", { mode: "boolean" }).notNull().default(false),
    type: text("type").notNull().default("Person"),
    username: text("username").notNull(),
    domain: text("domain").notNull(),
    displayName: text("display_name").notNull().default(""),
    note: text("note").notNull().default(""),
    avatarUrl: text("avatar_url"),
    headerUrl: text("header_url"),
    inbox: text("inbox"),
    sharedInbox: text("shared_inbox"),
    outbox: text("outbox"),
    followersUrl: text("followers_url"),
    followingUrl: text("following_url"),
    featuredUrl: text("featured_url"),
    manuallyApprovesFollowers: integer("manually_approves_followers", { mode: "boolean" })
      .notNull()
      .default(false),
    discoverable: integer("discoverable", { mode: "boolean" }).notNull().default(true),
    indexable: integer("indexable", { mode: "boolean" }).notNull().default(true),
    /** PropertyValue fields: [{ name, value }] with value as sanitized HTML. */
    fields: text("fields", { mode: "json" }).$type<{ name: string; value: string }[]>().notNull().default([]),
    alsoKnownAs: text("also_known_as", { mode: "json" }).$type<string[]>().notNull().default([]),
    movedTo: text("moved_to"),
    fetchedAt: text("fetched_at"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at"),
    /**
     * Counts as Perch knows them (exact for the owner), kept up to date in the same D1 batch as the
     * write they count, so showing an account reads one row instead of counting thousands
     * (migration 0008 backfills them): accepted follows in each direction, statuses not deleted, and
     * the time of the newest one.
     */
    followersCount: integer("followers_count").notNull().default(0),
    followingCount: integer("following_count").notNull().default(0),
    statusesCount: integer("statuses_count").notNull().default(0),
    lastStatusAt: text("last_status_at"),
  },
  (t) => [uniqueIndex("accounts_uri").on(t.uri)],
);

/** Public keys of remote actors, cached by key id (draft-cavage keyId, RFC 9421 keyid, proof method). */
export const remoteKeys = sqliteTable("remote_keys", {
  keyId: text("key_id").primaryKey(),
  ownerUri: text("owner_uri").notNull(),
  /** "rsa" (SPKI PEM) or "ed25519" (raw key, base64url). */
  kind: text("kind").notNull(),
  material: text("material").notNull(),
  fetchedAt: text("fetched_at").notNull().default(now),
});

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

/** Activity ids the inbox has accepted, so a redelivered activity is not processed twice. */
export const inboxSeen = sqliteTable("inbox_seen", {
  activityId: text("activity_id").primaryKey(),
  receivedAt: text("received_at").notNull().default(now),
});

/** Per remote host: the delivery breaker and the signature format it accepts. */
export const hosts = sqliteTable("hosts", {
  host: text("host").primaryKey(),
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  /**
   * When the current run of failures began (null while the host is healthy): the breaker measures an
   * outage by its duration, not by how many messages happened to fail during it.
   */
  failingSince: text("failing_since"),
  /** While in the future, deliveries to this host wait instead of being sent. */
  openUntil: text("open_until"),
  /** "cavage" or "rfc9421": set to rfc9421 after a cavage-signed request got 401 and 9421 worked. */
  signatureScheme: text("signature_scheme").notNull().default("cavage"),
  lastKeyRefetchAt: text("last_key_refetch_at"),
  updatedAt: text("updated_at").notNull().default(now),
});

/** What finally failed: deliveries and incoming activities, kept for the owner to see and retry. */
export const deadLetters = sqliteTable("dead_letters", {
  id: text("id").primaryKey(),
  kind: text("kind").$type<"delivery" | "inbox">().notNull(),
  target: text("target").notNull(),
  payload: text("payload").notNull(),
  error: text("error").notNull(),
  attempts: integer("attempts").notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/** OAuth client applications registered through POST /api/v1/apps. */
export const oauthApps = sqliteTable(
  "oauth_apps",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    website: text("website"),
    redirectUris: text("redirect_uris", { mode: "json" }).$type<string[]>().notNull(),
    scopes: text("scopes").notNull(),
    clientId: text("client_id").notNull(),
    /** SHA-256 of the client secret, hex: the secret itself is shown once and never stored. */
    clientSecretHash: text("client_secret_hash").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("oauth_apps_client_id").on(t.clientId)],
);

/** Authorization codes, single use and short-lived, stored by hash. */
export const oauthCodes = sqliteTable("oauth_codes", {
  codeHash: text("code_hash").primaryKey(),
  appId: text("app_id").notNull(),
  scopes: text("scopes").notNull(),
  redirectUri: text("redirect_uri").notNull(),
  codeChallenge: text("code_challenge"),
  codeChallengeMethod: text("code_challenge_method"),
  expiresAt: text("expires_at").notNull(),
  /** Set when the code is exchanged; a second exchange then revokes the token (RFC 6749 §4.1.2). */
  usedAt: text("used_at"),
  /** The hash of the token the code was exchanged for. */
  tokenHash: text("token_hash"),
});

/** Access tokens, stored by hash. `userToken` is false for client_credentials tokens (app only). */
export const oauthTokens = sqliteTable("oauth_tokens", {
  tokenHash: text("token_hash").primaryKey(),
  appId: text("app_id").notNull(),
  scopes: text("scopes").notNull(),
  userToken: integer("user_token", { mode: "boolean" }).notNull(),
  createdAt: text("created_at").notNull().default(now),
  lastUsedAt: text("last_used_at"),
});

/** The owner's login secret as a slow salted hash (PBKDF2-SHA256). */
export const ownerLogin = sqliteTable("owner_login", {
  id: integer("id").primaryKey(),
  salt: text("salt").notNull(),
  iterations: integer("iterations").notNull(),
  hash: text("hash").notNull(),
});

/**
 * Password-check throttling, one row per key: "global" for every attempt, and "client:<hash>" per
 * client address. An attempt is counted before the password is checked, in one atomic statement.
 */
export const loginThrottle = sqliteTable("login_throttle", {
  key: text("key").primaryKey(),
  /** Attempts not (yet) followed by a success. */
  failures: integer("failures").notNull().default(0),
  lockedUntil: text("locked_until"),
  updatedAt: text("updated_at").notNull().default(now),
});

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

/** Idempotency-Key of status creation: a retried POST returns the status it already made. */
export const idempotencyKeys = sqliteTable("idempotency_keys", {
  key: text("key").primaryKey(),
  statusId: text("status_id").notNull(),
  createdAt: text("created_at").notNull().default(now),
});

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

/** Direct-message threads for the conversations API, keyed by the thread's root status URI. */
export const conversations = sqliteTable("conversations", {
  id: text("id").primaryKey(),
  rootUri: text("root_uri").notNull().unique(),
  lastStatusId: text("last_status_id").notNull(),
  unread: integer("unread", { mode: "boolean" }).notNull().default(true),
  updatedAt: text("updated_at").notNull().default(now),
});

/** A private note the owner keeps about an account (Relationship.note). */
export const accountNotes = sqliteTable("account_notes", {
  targetAccountId: text("target_account_id").primaryKey(),
  note: text("note").notNull(),
});

/** Key/value settings of the owner (preferences, search index position, and so on). */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).notNull(),
});

/**
 * The owner's sessions on Perch's own web pages (relays, dashboard, imports, settings), by the hash of
 * the cookie's token. `csrfToken` is echoed in every owner form and checked on every POST.
 */
export const ownerSessions = sqliteTable("owner_sessions", {
  tokenHash: text("token_hash").primaryKey(),
  csrfToken: text("csrf_token").notNull(),
  createdAt: text("created_at").notNull().default(now),
  expiresAt: text("expires_at").notNull(),
  lastSeenAt: text("last_seen_at").notNull().default(now),
  /** The browser's user agent when signing in, shown on the sessions list. */
  userAgent: text("user_agent"),
});

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

/**
 * What Perch itself metered of what the platform bills, per UTC hour ("YYYY-MM-DDTHH"): gathered per
 * isolate and written as one upsert per hour every few seconds (services/usage.ts). WITHOUT ROWID
 * (migration 0008): one row written per update.
 */
export const usageHours = sqliteTable("usage_hours", {
  hour: text("hour").primaryKey(),
  /** Worker invocations: HTTP requests, queue batches, cron runs. */
  requests: integer("requests").notNull().default(0),
  queueBatches: integer("queue_batches").notNull().default(0),
  subrequests: integer("subrequests").notNull().default(0),
  d1Queries: integer("d1_queries").notNull().default(0),
  d1RowsRead: integer("d1_rows_read").notNull().default(0),
  d1RowsWritten: integer("d1_rows_written").notNull().default(0),
  /** Queue operations as billed: one per 64 KB written, read or deleted. */
  queueOps: integer("queue_ops").notNull().default(0),
  /** R2 class A (writes, lists) and class B (reads) operations. */
  r2ClassA: integer("r2_class_a").notNull().default(0),
  r2ClassB: integer("r2_class_b").notNull().default(0),
  /** The most any one invocation of the hour made of each per-invocation limit. */
  maxSubrequests: integer("max_subrequests").notNull().default(0),
  maxD1Queries: integer("max_d1_queries").notNull().default(0),
});

/** Messages per queue per UTC hour: sent, processed (acked), retried, failed (dead letters). WITHOUT ROWID. */
export const queueStats = sqliteTable(
  "queue_stats",
  {
    queue: text("queue").notNull(),
    hour: text("hour").notNull(),
    sent: integer("sent").notNull().default(0),
    processed: integer("processed").notNull().default(0),
    retried: integer("retried").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    /** The oldest message seen by a consumer this hour: how far behind the queue ran (ms). */
    maxLagMs: integer("max_lag_ms").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.queue, t.hour] })],
);
