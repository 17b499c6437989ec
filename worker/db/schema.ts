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
  type: string;
  mediaType?: string;
  url: string;
  name?: string;
  blurhash?: string;
  width?: number;
  height?: number;
}
export interface Poll {
  mode: "oneOf" | "anyOf";
  options: { name: string; votes: number }[];
  endTime?: string;
  closed?: string;
  votersCount?: number;
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
  },
  (t) => [uniqueIndex("statuses_uri").on(t.uri), index("statuses_account_id").on(t.accountId, t.id)],
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
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("follows_pair").on(t.accountId, t.targetAccountId),
    index("follows_target").on(t.targetAccountId, t.accepted),
    index("follows_uri").on(t.uri),
  ],
);

/** Likes and emoji reactions (`emoji` null for a plain Like). */
export const favourites = sqliteTable(
  "favourites",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    statusId: text("status_id").notNull(),
    uri: text("uri").notNull(),
    emoji: text("emoji"),
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

/** The owner's login secret as a slow salted hash (PBKDF2-SHA256), and failed-login throttling. */
export const ownerLogin = sqliteTable("owner_login", {
  id: integer("id").primaryKey(),
  salt: text("salt").notNull(),
  iterations: integer("iterations").notNull(),
  hash: text("hash").notNull(),
  failures: integer("failures").notNull().default(0),
  lockedUntil: text("locked_until"),
});
